"""Real ``dask scheduler`` / ``dask worker`` processes on 127.0.0.1 for the tests.

The sweep tests and the grading tests both need a Dask cluster reached at a tcp:// address,
started the way an instructor starts one.  ``DaskCluster`` starts the scheduler (on a free
port, writing its address to a scheduler file), then the workers, each process in a session of
its own so that ``stop`` ends it and everything it started.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

START_TIMEOUT_S = 120
STOP_TIMEOUT_S = 30


class DaskCluster:
    """Scheduler and worker processes started in ``folder`` (their logs go there too)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.procs: list[subprocess.Popen] = []

    def _spawn(self, argv: list[str], env: dict[str, str] | None, log: str) -> None:
        with (self.folder / log).open("w") as fh:
            self.procs.append(subprocess.Popen(argv, env=env, cwd=self.folder, stdout=fh,
                                               stderr=subprocess.STDOUT,
                                               start_new_session=True))

    def start_scheduler(self, prefix: list[str], env: dict[str, str] | None = None) -> str:
        """Start ``dask scheduler`` with ``prefix`` (a Python's argv) and return its address."""
        file = self.folder / "scheduler.json"
        self._spawn([*prefix, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                     "--port", "0", "--no-dashboard", "--dashboard-address", "127.0.0.1:0",
                     "--scheduler-file", str(file)], env, "scheduler.log")
        deadline = time.monotonic() + START_TIMEOUT_S
        while not file.exists() or not file.read_text().strip().endswith("}"):
            log = (self.folder / "scheduler.log").read_text()
            assert time.monotonic() < deadline, log
            assert self.procs[0].poll() is None, log
            time.sleep(0.1)
        return json.loads(file.read_text())["address"]

    def start_worker(self, address: str, prefix: list[str],
                     env: dict[str, str] | None = None) -> None:
        """Start one single-threaded ``dask worker`` for the scheduler at ``address``."""
        n = len(self.procs) - 1
        self._spawn([*prefix, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                     "--host", "127.0.0.1", "--no-dashboard"], env, f"worker{n}.log")

    def stop(self) -> None:
        """End every process (SIGTERM to its session, SIGKILL if it lingers)."""
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=STOP_TIMEOUT_S)
