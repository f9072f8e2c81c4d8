"""schemathesis against the app's own OpenAPI spec: no 5xx, no answer that breaks the spec.

Three runs over the same in-process app (ASGI, no network):

- positive and negative cases per operation (``test_api_conforms_to_its_spec``);
- negative cases only (``test_negative_inputs_are_refused``): every input that
  breaks the spec is refused with 4xx (schemathesis' ``negative_data_rejection``);
- stateful sequences (``test_stateful_sequences``): schemathesis infers links
  from the spec (an id a command answers feeds the operations that take it)
  and runs chains of calls, e.g. place an order, then confirm, ship, pay it.

In all three, any 4xx answer must have recorded nothing (the log's head does not
move), and at the end every DESIGN.md invariant holds over the whole log
(``support.books``). The schema is loaded when the module is collected
(schemathesis' lazy ``from_fixture`` does not run under pytest 9), so the app is
built here on a temporary SQLite store, and closed and removed when the module's
tests end. ``O2C_SCHEMATHESIS_EXAMPLES`` raises the examples per operation, and
``O2C_SCHEMATHESIS_STATEFUL`` the stateful scenarios (scripts/reliability does).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance

from o2c.api import create_app
from o2c.application import Context
from o2c.bootstrap import build_app
from o2c.config import Settings
from support.books import Books

TOKEN = "schemathesis-admin-token"
EXAMPLES = int(os.environ.get("O2C_SCHEMATHESIS_EXAMPLES", "10"))
STATEFUL = int(os.environ.get("O2C_SCHEMATHESIS_STATEFUL", "10"))
#: Negative examples per operation (fewer by default: each is refused at the door).
NEGATIVE = int(os.environ.get("O2C_SCHEMATHESIS_NEGATIVE", str(max(3, EXAMPLES // 2))))
_folder = Path(tempfile.mkdtemp(prefix="o2c-schemathesis-"))
atexit.register(shutil.rmtree, _folder, ignore_errors=True)  # also when no test here runs
#: Another store to run against (a fresh, empty PostgreSQL schema, say); SQLite by default.
_url = os.environ.get("O2C_SCHEMATHESIS_DATABASE_URL") or f"sqlite:///{_folder / 'api.sqlite3'}"
_app = build_app(Settings(database_url=_url, bootstrap_token=TOKEN, server_projector=False))
# Some data to find: a stocked SKU, a customer, an order in progress.
_ctx = Context(actor="schemathesis-setup")
_app.register_stock_item(_ctx, "NT-SENSOR-100", "Sensor")
_app.receive_stock(_ctx, "NT-SENSOR-100", "1000", "42.00")
_customer = _app.register_customer(_ctx, "Nimbus", "ap@nimbus.example").id
_order = _app.place_sales_order(_ctx, _customer, [
    {"sku": "NT-SENSOR-100", "quantity": "5", "unit_price": "89.00"}]).id
_app.confirm_order(_ctx, _order)

# The token goes in through the spec's own bearer scheme, so schemathesis knows which
# requests carry it (and checks that requests without it are refused).
_api = create_app(_app.settings, app=_app)


def _config(**generation: object) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict({"auth": {"openapi": {"bearer": {"bearer": TOKEN}}},
                                         **({"generation": generation} if generation else {})})


schema = schemathesis.openapi.from_asgi("/openapi.json", _api, config=_config())
negative = schemathesis.openapi.from_asgi("/openapi.json", _api,
                                          config=_config(mode="negative"))
_answers: Counter[int] = Counter()
_refused: Counter[int] = Counter()
_steps: Counter[int] = Counter()


def _call(case: schemathesis.Case[Any], counter: Counter[int]) -> None:
    """Calls and validates a case; a refusal must have recorded nothing."""
    head = _app.db.head()
    # Not checked: that every schema-valid body is accepted. The domain refuses some on
    # purpose (an amount finer than the book currency, an e-mail without a domain, an
    # unknown SKU, a stock count below what is reserved), with 4xx and a reason.
    response = case.call_and_validate(excluded_checks=[positive_data_acceptance])
    counter[response.status_code // 100] += 1
    if response.status_code >= 400:
        assert _app.db.head() == head, f"{case.operation.label} refused but recorded"


@pytest.fixture(scope="module", autouse=True)
def _cleanup() -> Iterator[None]:
    yield
    _app.close()
    shutil.rmtree(_folder, ignore_errors=True)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_api_conforms_to_its_spec(case: schemathesis.Case[Any]) -> None:
    _call(case, _answers)


@negative.parametrize()
@settings(max_examples=NEGATIVE, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_negative_inputs_are_refused(case: schemathesis.Case[Any]) -> None:
    _call(case, _refused)


class Workflow(schema.as_state_machine()):  # type: ignore[misc]
    """Chains of calls along the links schemathesis infers from the spec."""

    def step(self, input: Any) -> Any:
        head = _app.db.head()
        output = super().step(input)
        status = output.response.status_code
        _steps[status // 100] += 1
        if status >= 400:
            assert _app.db.head() == head, f"{input.case.operation.label} refused but recorded"
        return output

    def validate_response(self, response: Any, case: schemathesis.Case[Any],
                          additional_checks: Any = None, **kwargs: Any) -> None:
        case.validate_response(response, excluded_checks=[positive_data_acceptance])


def test_stateful_sequences() -> None:
    Workflow.run(settings=settings(
        max_examples=STATEFUL, stateful_step_count=8, deadline=None,
        suppress_health_check=list(HealthCheck)))
    assert _steps[2] > 0, _steps
    assert _steps[5] == 0, _steps


def test_schemathesis_got_through() -> None:
    """The run above was authenticated and reached the domain, not only the 401 door."""
    if not _answers:
        pytest.skip("run together with test_api_conforms_to_its_spec")
    assert _answers[2] >= 30, _answers
    assert _answers[5] == 0, _answers


def test_negative_run_was_refused() -> None:
    """The negative run reached every kind of refusal and nothing else."""
    if not _refused:
        pytest.skip("run together with test_negative_inputs_are_refused")
    assert _refused[4] >= 20, _refused
    assert _refused[5] == 0, _refused


def test_the_books_hold_after_all_of_it() -> None:
    """Whatever the runs above recorded, every DESIGN.md invariant holds over the log."""
    books = Books(_app)
    books.check()
    books.check_read_models(rebuilt=True)
