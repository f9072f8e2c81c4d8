"""A throwaway PostgreSQL cluster: its own data directory under a temporary folder,
its own port, started and stopped by the test (``initdb`` / ``pg_ctl``), so a test
can take the database away without touching the shared server.

PostgreSQL refuses to run as root; when the tests run as root (CI does), the
cluster's commands run as the ``postgres`` system user, which owns the folder.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from support.processes import free_port

BIN = Path(os.environ.get("O2C_PG_BIN", "/usr/lib/postgresql/15/bin"))


def available() -> str | None:
    """Why no throwaway cluster can be made here (None when it can)."""
    if not (BIN / "initdb").exists():
        return f"no initdb in {BIN} (set O2C_PG_BIN)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres user to run initdb as"
        if shutil.which("runuser") is None:
            return "running as root without runuser"
    return None


class Cluster:
    """One PostgreSQL server of our own: ``start``, ``stop``, ``url``, ``remove``."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="o2c-pgcluster-"))
        self.data = self.folder / "data"
        self.logfile = self.folder / "server.log"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._as: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.folder, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        self._run([str(BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                   "--auth=trust", "-E", "UTF8", "--no-sync"])

    def _run(self, args: list[str], timeout: float = 120) -> None:
        done = subprocess.run([*self._as, *args], capture_output=True, text=True,
                              timeout=timeout, check=False, cwd=self.folder)
        if done.returncode:
            raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}): "
                               f"{done.stdout[-2000:]}{done.stderr[-2000:]}\n{self.log()}")

    def start(self) -> None:
        """Starts the server and waits until it accepts connections."""
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 "
                   f"-c unix_socket_directories={self.folder} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run([str(BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.logfile),
                   "-o", options, "-w", "-t", "60", "start"])

    def stop(self, mode: str = "fast") -> None:
        """Stops it: ``fast`` (sessions ended, clean shutdown) or ``immediate`` (as a
        crash: no shutdown checkpoint, recovery on the next start)."""
        self._run([str(BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60",
                   "stop"])

    def running(self) -> bool:
        done = subprocess.run([*self._as, str(BIN / "pg_ctl"), "-D", str(self.data),
                               "status"], capture_output=True, check=False)
        return done.returncode == 0

    def wait_gone(self, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while self.running() and time.monotonic() < deadline:
            time.sleep(0.1)

    def log(self) -> str:
        try:
            return self.logfile.read_text(errors="replace")[-3000:]
        except (FileNotFoundError, PermissionError):
            return ""

    def remove(self) -> None:
        """Stops the server if it runs and deletes its folder."""
        try:
            if self.running():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
