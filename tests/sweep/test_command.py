"""``labkit sweep``: summary on stdout, progress on stderr, exit 2 on bad input, real Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from labkit.cli import main
from labkit.sweep import cores, runner
from labkit.sweep.executors import run_here

SMALL_SETS = ["--set", "load.duration_s=5", "--set", "load.rate_rps=20"]


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_summary_on_stdout_progress_on_stderr(tmp_path: Path, capsys) -> None:
    out = tmp_path / "r.csv"
    code, stdout, stderr = run_cli(
        ["sweep", "--grid", "model.replicas=1,2", "--seeds", "2", "--workers", "1",
         *SMALL_SETS, "-o", str(out)], capsys)
    assert code == 0
    assert "2/4 runs" in stderr and "4/4 runs" in stderr
    lines = stdout.splitlines()
    assert lines[0].split() == ["model.replicas", "n", "latency_ms.p95", "success_rate",
                                "cost.per_1k", "all_budgets_pass"]
    assert len(lines) == 1 + 2 + 2 and lines[-1] == f"4 runs in {out}"
    assert " ± " in lines[1]
    assert len(out.read_text().splitlines()) == 1 + 4


@pytest.mark.parametrize("argv, message", [
    (["--grid", "model.replicas=1,x"], "labkit sweep: model.replicas must be a whole number, "
                                       "got 'x'"),
    (["--grid", "model.replicas=1", "--seeds", "zero"],
     "labkit sweep: --seeds must be a whole number >= 1, got 'zero'"),
    (["--grid", "model.replicas=1", "--workers", "0"],
     "labkit sweep: --workers must be a whole number >= 1, got 0"),
    (["--grid", "model.replicas=1", "--workers", "two"],
     "labkit sweep: --workers must be a whole number >= 1, got 'two'"),
    (["--grid", "model.replicas=1", "--dask", "udp://h:1"],
     "labkit sweep: --dask takes 'local' or tcp://HOST:PORT, got 'udp://h:1'"),
    (["--grid", "model.replicas=1", "--dask", "tcp://127.0.0.1:9", "--workers", "4"],
     "labkit sweep: --workers sizes the process pool or --dask local; a tcp:// cluster has the "
     "workers it was started with, got --workers 4 with --dask tcp://127.0.0.1:9"),
])
def test_cli_bad_input_exits_2(argv: list[str], message: str, capsys) -> None:
    code, stdout, stderr = run_cli(["sweep", *argv], capsys)
    assert code == 2 and stdout == ""
    assert stderr.strip().splitlines()[-1] == message


@pytest.fixture
def three_cores(monkeypatch: pytest.MonkeyPatch) -> dict[str, list]:
    """usable_cores() says 3; the pool and Dask record the size asked for and run here."""
    calls: dict[str, list] = {"pool": [], "dask": []}

    @contextmanager
    def fake_client(address: str, *, workers: int | None = None):
        calls["dask"].append((address, workers))
        yield None

    monkeypatch.setattr(cores, "usable_cores", lambda: 3)
    monkeypatch.setattr(runner, "run_on_pool", lambda runs, accept, *, workers: (
        calls["pool"].append(workers), run_here(runs, accept)))
    monkeypatch.setattr(runner, "dask_client", fake_client)
    monkeypatch.setattr(runner, "run_on_dask", lambda runs, accept, *, client: run_here(
        runs, accept))
    return calls


@pytest.mark.parametrize("extra, pool, dask", [
    ([], [3], []),                                     # the pool defaults to the usable cores
    (["--workers", "2"], [2], []),
    (["--dask", "local"], [], [("local", 3)]),         # so does --dask local
    (["--dask", "local", "--workers", "2"], [], [("local", 2)]),
    (["--dask", "local", "--workers", "9"], [], [("local", 4)]),   # no more than the 4 runs
    (["--dask", "tcp://10.0.0.5:8786"], [], [("tcp://10.0.0.5:8786", None)]),
])
def test_cli_sizes_the_pool_and_dask_local_from_the_usable_cores(three_cores, capsys,
                                                                  extra: list[str], pool: list,
                                                                  dask: list) -> None:
    code, stdout, _ = run_cli(["sweep", "--grid", "model.replicas=1,2", "--seeds", "2",
                               *SMALL_SETS, *extra], capsys)
    assert code == 0 and stdout.startswith("model.replicas")
    assert three_cores == {"pool": pool, "dask": dask}


@pytest.mark.slow
@pytest.mark.parametrize("executor", [["--workers", "2"], ["--dask", "local", "--workers", "2"]],
                         ids=["pool", "dask-local"])
def test_ctrl_c_keeps_finished_rows_and_exits_cleanly(tmp_path: Path, executor: list[str]) -> None:
    """A real Ctrl-C (SIGINT to the whole process group, workers included) mid-sweep."""
    out = tmp_path / "r.csv"
    # runs of 600 simulated seconds (about half a second each here), so the sweep is still
    # running a few seconds after its third row even when the test process is slow to wake
    cmd = [sys.executable, "-m", "labkit.cli", "sweep", "--grid", "model.replicas=2,3,4,5",
           "--seeds", "6", *executor, "--set", "load.duration_s=600", "-o", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (
            not out.exists() or len(out.read_text().splitlines()) < 3):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    assert stderr.strip().splitlines()[-1] == (
        f"labkit sweep: interrupted; finished runs are saved in {out}: run again with --resume "
        "to finish")
    kept = len(out.read_text().splitlines()) - 1
    assert 2 <= kept < 24
    resumed = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert len(out.read_text().splitlines()) == 1 + 24
    counts = [int(n) for n in re.findall(r"(\d+)/24 runs", resumed.stderr)]
    assert counts == list(range(kept + 1, 25))        # only the missing runs were done
