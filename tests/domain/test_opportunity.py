"""Opportunity: through the open stages, then won (into an order) or lost."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest
from refusal import refused, replayed

from o2c.domain.errors import InvalidAmountError, InvalidInputError, InvalidStateError
from o2c.domain.opportunity import LOST, OPEN_STAGES, WON, Opportunity

CUSTOMER = uuid.uuid4()


def opened() -> Opportunity:
    return Opportunity.open(CUSTOMER, "50 sensors", "12500.5", "2026-06-30")


def test_open_starts_at_prospecting() -> None:
    opp = opened()
    assert (opp.customer_id, opp.title, opp.amount, opp.expected_close_date) == (
        CUSTOMER, "50 sensors", Decimal("12500.50"), date(2026, 6, 30))
    assert (opp.stage, opp.probability, opp.is_open, opp.order_id) == (
        "prospecting", 10, True, None)
    assert [type(e) for e in opp.pending_events] == [Opportunity.Opened]


@pytest.mark.parametrize(("title", "amount", "close", "error"), [
    ("", "1.00", "2026-01-01", InvalidInputError),
    ("Deal", "-1.00", "2026-01-01", InvalidAmountError),
    ("Deal", "1.001", "2026-01-01", InvalidAmountError),
    ("Deal", "NaN", "2026-01-01", InvalidAmountError),
    ("Deal", 1.5, "2026-01-01", InvalidAmountError),
    ("Deal", "1.00", "2026-02-30", InvalidInputError),
    ("Deal", "1.00", "next week", InvalidInputError),
    ("Deal", "1.00", None, InvalidInputError),
])
def test_open_refuses_bad_fields(title: str, amount: object, close: object,
                                 error: type[Exception]) -> None:
    with pytest.raises(error):
        Opportunity.open(CUSTOMER, title, amount, close)


def test_a_zero_amount_deal_is_allowed() -> None:
    assert Opportunity.open(CUSTOMER, "Pilot", "0", date(2026, 1, 1)).amount == 0


def test_moving_through_the_open_stages_sets_their_probability() -> None:
    opp = opened()
    for stage, probability in [("qualification", 20), ("negotiation", 80), ("proposal", 50)]:
        opp.move_to(stage)
        assert (opp.stage, opp.probability) == (stage, probability)
        event = opp.pending_events[-1]
        assert isinstance(event, Opportunity.StageChanged)
        assert (event.stage, event.probability) == (stage, probability)


def test_moving_to_the_same_or_an_unknown_stage_is_refused() -> None:
    opp = opened()
    refused(opp, InvalidStateError, lambda: opp.move_to("prospecting"))
    for stage in ["won", "lost", "closing", "", None, 3]:
        refused(opp, InvalidInputError, lambda stage=stage: opp.move_to(stage))


@pytest.mark.parametrize("stage", [["proposal"], {"stage": "proposal"}])
def test_a_stage_that_is_not_text_is_invalid_input(stage: object) -> None:
    opp = opened()
    refused(opp, InvalidInputError, lambda: opp.move_to(stage))


def test_win_closes_the_deal_into_an_order() -> None:
    opp = opened()
    opp.move_to("negotiation")
    order = uuid.uuid4()
    opp.check_winnable()
    opp.win(order)
    assert (opp.stage, opp.probability, opp.order_id, opp.is_open) == (WON, 100, order, False)
    refused(opp, InvalidStateError, opp.check_winnable)
    refused(opp, InvalidStateError, lambda: opp.win(uuid.uuid4()))
    refused(opp, InvalidStateError, lambda: opp.lose("changed mind"))
    refused(opp, InvalidStateError, lambda: opp.move_to("proposal"))


def test_lose_closes_the_deal_with_a_reason() -> None:
    opp = opened()
    refused(opp, InvalidInputError, lambda: opp.lose(""))
    opp.lose("went with a competitor")
    assert (opp.stage, opp.probability, opp.lost_reason) == (LOST, 0, "went with a competitor")
    refused(opp, InvalidStateError, lambda: opp.win(uuid.uuid4()))
    refused(opp, InvalidStateError, lambda: opp.lose("again"))
    refused(opp, InvalidStateError, lambda: opp.move_to("proposal"))


def test_the_pipeline_replays() -> None:
    opp = opened()
    for stage in OPEN_STAGES:
        if stage != opp.stage:
            opp.move_to(stage)
    opp.win(uuid.uuid4())
    rebuilt = replayed(opp)
    assert (rebuilt.stage, rebuilt.probability, rebuilt.order_id) == (
        opp.stage, opp.probability, opp.order_id)
