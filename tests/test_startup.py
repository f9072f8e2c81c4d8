"""Starting: several processes opening one fresh store at the same moment all start;
``o2c serve`` checks everything it needs before it listens."""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from typer.testing import CliRunner

from o2c.bootstrap import build_app
from o2c.cli import cli
from o2c.config import Settings
from o2c.domain.ledger_account import DEFAULT_CHART
from o2c.projections import Projector

#: What a fresh store records on its first start: the book currency, the default chart
#: and the periods record.
OPENING = len(DEFAULT_CHART) + 2


def _start(url: str) -> None:
    app = build_app(Settings(database_url=url, pool_size=1))
    Projector(app.db, app.settings)
    app.close()


def test_concurrent_start_on_a_fresh_store(database_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_start, args=(database_url,)) for _ in range(5)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [p.exitcode for p in processes] == [0] * 5
    app = build_app(Settings(database_url=database_url))
    try:
        assert app.db.head() == OPENING  # the book currency, the chart, the periods: once
    finally:
        app.close()


# o2c serve: everything it needs is checked before it listens ------------------------------



STRONG = "a-bootstrap-token-long-enough"


@contextmanager
def taken_port(host: str) -> Iterator[int]:
    """A port something else is listening on."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as holder:
        holder.bind((host, 0))
        holder.listen()
        yield int(holder.getsockname()[1])


def serve(url: str, *args: str, **env: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["serve", *args],
                                env={"O2C_DATABASE_URL": url, "O2C_BOOTSTRAP_TOKEN": "",
                                     **env})
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        result.exception)
    return result.exit_code, result.stderr


def test_serve_on_a_taken_port_is_one_line_and_exit_2(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/o2c.sqlite3"
    for host in ("127.0.0.1", "localhost"):
        with taken_port("127.0.0.1") as port:
            code, err = serve(url, "--host", host, "--port", str(port))
        assert code == 2, err
        assert err == f"o2c: cannot listen on {host}:{port}: address already in use\n"


def test_serve_beyond_loopback_needs_a_token(database_url: str) -> None:
    with taken_port("0.0.0.0") as port:
        args = ("--host", "0.0.0.0", "--port", str(port))
        code, err = serve(database_url, *args)
        assert code == 2
        assert err.count("\n") == 1
        assert "refusing to listen on 0.0.0.0, which is not a loopback address" in err
        assert "no API token exists" in err
        # With a bootstrap token, or a stored one, it gets as far as the port.
        code, err = serve(database_url, *args, O2C_BOOTSTRAP_TOKEN=STRONG)
        assert (code, "address already in use" in err) == (2, True), err
        created = CliRunner().invoke(cli, ["tokens", "create", "--role", "auditor"],
                                     env={"O2C_DATABASE_URL": database_url,
                                          "O2C_BOOTSTRAP_TOKEN": ""})
        assert created.exit_code == 0, created.stderr
        code, err = serve(database_url, *args)
        assert (code, "address already in use" in err) == (2, True), err


def test_serve_refuses_a_bad_port_or_host(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/o2c.sqlite3"
    code, err = serve(url, "--port", "70000")
    assert (code, err) == (2, "o2c: --port must be 0 to 65535, not 70000\n")
    code, err = serve(url, "--host", "no-such-host.invalid", "--port", "0")
    assert code == 2
    assert "no such host" in err


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_listens_on_the_socket_it_checked_and_stops_cleanly(tmp_path: object) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("O2C_")}
    env["O2C_DATABASE_URL"] = f"sqlite:///{tmp_path}/o2c.sqlite3"
    server = subprocess.Popen([sys.executable, "-m", "o2c.cli", "serve", "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, server.communicate()[1]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/openapi.json",
                                            timeout=5) as answer:
                    assert answer.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, "the server never answered"
                time.sleep(0.2)
        # A second server on the same port is refused at once, in one line.
        second = subprocess.run([sys.executable, "-m", "o2c.cli", "serve", "--port",
                                 str(port)], env=env, capture_output=True, text=True,
                                timeout=90, check=False)
        assert second.returncode == 2
        assert second.stderr == (f"o2c: cannot listen on 127.0.0.1:{port}: "
                                 "address already in use\n")
    finally:
        server.send_signal(signal.SIGINT)  # Ctrl-C: how a server in a terminal stops
        _, err = server.communicate(timeout=60)
    assert server.returncode == 0, err
    assert "Traceback" not in err


@pytest.mark.parametrize("variable", ["O2C_TAX_RATE", "O2C_CURRENCY"])
def test_serve_with_a_bad_setting_never_listens(tmp_path: object, variable: str) -> None:
    port = _free_port()
    code, err = serve(f"sqlite:///{tmp_path}/o2c.sqlite3", "--port", str(port),
                      **{variable: "8" if variable == "O2C_TAX_RATE" else "EURO"})
    assert code == 2
    assert err.startswith(f"o2c: {variable}: ")
    assert err.count("\n") == 1
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # still free: nothing listened on it


def test_a_database_outlives_the_application_it_came_from(database_url: str) -> None:
    """Commands that keep only ``app.db`` (a projector, a token lookup) must not find its
    pool closed when the application object is collected (eventsourcing's ``__del__``)."""
    import gc

    db = build_app(Settings(database_url=database_url, pool_size=1)).db
    gc.collect()
    assert db.head() == OPENING
