"""Real o2c processes for the reliability tests: ``o2c serve`` on free ports, the
``o2c projections run`` worker, and one-shot CLI commands, each with its output
in a log file the test can show when it fails.

Processes are started with this interpreter (``python -m o2c.cli``), so they run
the code under test, and stopped only by their own pid (``kill`` / ``kill -9``).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

#: Seconds a server may take to answer its first request.
START_SECONDS = 60.0


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on (now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def o2c_env(database_url: str, **more: str) -> dict[str, str]:
    """The environment of an o2c process on ``database_url`` (O2C_* from the caller's
    environment are dropped: the test says what it wants)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("O2C_")}
    env.update({"O2C_DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1"})
    env.update(more)
    return env


class Process:
    """One o2c command running in the background, its output in ``log``."""

    def __init__(self, args: Sequence[str], env: Mapping[str, str], log: Path) -> None:
        self.args = list(args)
        self.env = dict(env)
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        with self.log.open("ab") as out:
            out.write(f"\n--- start {self.starts + 1}: o2c {' '.join(self.args)}\n".encode())
            out.flush()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "o2c.cli", *self.args], env=self.env,
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.starts += 1

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill9(self) -> None:
        """``kill -9``: no clean-up, no flushing, nothing."""
        if self.alive():
            assert self.process is not None
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM, then SIGKILL if it has not gone after ``timeout`` seconds."""
        if not self.alive():
            return
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill9()

    def output(self, tail: int = 4000) -> str:
        """The end of what it printed (all its starts)."""
        try:
            return self.log.read_text(errors="replace")[-tail:]
        except FileNotFoundError:
            return ""


class Server(Process):
    """``o2c serve`` on a free loopback port."""

    def __init__(self, env: Mapping[str, str], log: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        super().__init__(["serve", "--host", "127.0.0.1", "--port", str(self.port)], env, log)

    def start(self, wait: bool = True) -> None:
        super().start()
        if wait:
            self.wait_ready()

    def wait_ready(self, seconds: float = START_SECONDS) -> None:
        """Waits until it answers HTTP (any status: the server is up)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not self.alive():
                code = self.process and self.process.returncode
                raise RuntimeError(f"o2c serve exited with {code}:\n{self.output()}")
            try:
                httpx.get(self.base + "/openapi.json", timeout=2)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.kill9()
        raise RuntimeError(f"o2c serve did not answer within {seconds} s:\n{self.output()}")


def run_cli(args: Sequence[str], env: Mapping[str, str], timeout: float = 120.0
            ) -> subprocess.CompletedProcess[str]:
    """Runs one o2c command to its end; returns its exit status and output."""
    return subprocess.run(
        [sys.executable, "-m", "o2c.cli", *args], env=dict(env), capture_output=True,
        text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL)
