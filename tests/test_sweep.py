"""Sweeps: grid x seeds, common random numbers, parallel = serial = Dask, resumable CSV."""

from __future__ import annotations

import argparse
import csv
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labkit.knobs import KnobError
from labkit.sim import simulate
from labkit.sweep import SweepError, SweepSpec, flatten_summary, parse_grid, run_sweep
from labkit.tdist import t_quantile

SMALL = {"load.duration_s": 5.0, "load.rate_rps": 20.0}
GRID = {"model.replicas": [1, 2], "cache.enabled": [False, True]}


@pytest.fixture(scope="module")
def serial():
    return run_sweep(GRID, seeds=3, fixed=SMALL)


# --- grid input -----------------------------------------------------------------------

def test_parse_grid_types_values() -> None:
    assert parse_grid("model.replicas=1,2,4") == ("model.replicas", (1, 2, 4))
    assert parse_grid("cache.enabled=true,false") == ("cache.enabled", (True, False))
    assert parse_grid("retry.jitter=none, full") == ("retry.jitter", ("none", "full"))
    assert parse_grid("fallback.chain=small_model,safe_message;") == (
        "fallback.chain", (("small_model", "safe_message"), ()))


@pytest.mark.parametrize("text, message", [
    ("model.replicas", "--grid takes KNOB=V1,V2,..., got 'model.replicas'"),
    ("model.replica=1,2", "unknown knob 'model.replica'; did you mean 'model.replicas'?"),
    ("model.replicas=1,x", "model.replicas must be a whole number, got 'x'"),
    ("model.replicas=0,2", "model.replicas must be >= 1, got 0"),
    ("model.replicas=", "--grid model.replicas needs values like model.replicas=V1,V2, got "
                        "'model.replicas='"),
    ("retry.jitter=none,sometimes", "retry.jitter must be one of none, full, equal, "
                                    "decorrelated, got 'sometimes'"),
])
def test_bad_grid_names_knob_and_value(text: str, message: str) -> None:
    with pytest.raises(KnobError) as info:
        parse_grid(text)
    assert str(info.value) == message


@pytest.mark.parametrize("kwargs, message", [
    ({"grid": {}}, "a sweep needs at least one --grid KNOB=V1,V2,..."),
    ({"grid": ["model.replicas=1,2", "model.replicas=3"]},
     "model.replicas appears twice in the grid; give its values once"),
    ({"grid": ["model.replicas=2,2"]}, "model.replicas repeats a value in the grid: [2, 2]"),
    ({"grid": GRID, "fixed": {"model.replicas": 3}},
     "model.replicas is both swept (--grid) and fixed (--set); pick one"),
    ({"grid": GRID, "seeds": 0}, "--seeds must be >= 1, got 0"),
    ({"grid": GRID, "seeds": [1, 1]}, "seeds must not repeat, got [1, 1]"),
    ({"grid": GRID, "seeds": [-1]}, "seeds must be whole numbers >= 0, got [-1]"),
    ({"grid": GRID, "preset": "nope"}, "unknown preset 'nope'; known: "),
    ({"grid": {"retry.base_ms": [100, 5000]}},
     "grid point retry.base_ms=5000: retry.cap_ms must be >= retry.base_ms (5000), got 2000"),
])
def test_bad_sweeps_are_refused_before_running(kwargs: dict, message: str) -> None:
    kwargs = {"seeds": 2, **kwargs}
    with pytest.raises(SweepError) as info:
        SweepSpec.build(kwargs.pop("grid"), kwargs.pop("seeds"), **kwargs)
    assert str(info.value).startswith(message)


# --- the table ------------------------------------------------------------------------

def test_rows_are_grid_times_seeds_in_order(serial) -> None:
    assert [(r["model.replicas"], r["cache.enabled"], r["seed"]) for r in serial.rows] == [
        (n, c, s) for n in (1, 2) for c in (False, True) for s in (1, 2, 3)]
    assert serial.columns[:3] == ("model.replicas", "cache.enabled", "seed")
    for name in ("latency_ms.p95", "outcomes.ok", "cost.per_1k", "budgets.p95_ms.pass",
                 "all_budgets_pass", "requests"):
        assert name in serial.metrics


def test_a_row_is_the_flattened_summary_of_that_run(serial) -> None:
    row = serial.rows[7]                       # replicas=2, cache off, seed 2
    assert (row["model.replicas"], row["cache.enabled"], row["seed"]) == (2, False, 2)
    expected = flatten_summary(simulate({**SMALL, "model.replicas": 2, "cache.enabled": False},
                                        seed=2).summary)
    assert {k: row[k] for k in expected} == expected
    assert row["budgets.p95_ms.pass"] in (0, 1)


def test_common_random_numbers_across_grid_points(serial) -> None:
    # Replicas and cache do not touch arrivals, so seed s sends the same requests at every
    # grid point, and different seeds send different ones.
    for seed in (1, 2, 3):
        counts = {r["requests"] for r in serial.rows if r["seed"] == seed}
        assert len(counts) == 1
    assert len({r["requests"] for r in serial.rows}) == 3


def test_summary_mean_and_t_interval(serial) -> None:
    summary = serial.summary(["latency_ms.p95"])
    assert len(summary) == 4 and all(e["n"] == 3 for e in summary)
    entry = summary[0]
    xs = [r["latency_ms.p95"] for r in serial.rows[:3]]
    mean = sum(xs) / 3
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / 2)
    assert entry["latency_ms.p95.mean"] == pytest.approx(mean, rel=1e-12)
    assert entry["latency_ms.p95.ci95"] == pytest.approx(t_quantile(0.975, 2) * sd / math.sqrt(3),
                                                         rel=1e-12)
    assert entry["latency_ms.p95.low"] < mean < entry["latency_ms.p95.high"]
    one = run_sweep({"model.replicas": [2]}, seeds=1, fixed=SMALL).summary(["success_rate"])
    assert math.isnan(one[0]["success_rate.ci95"])
    with pytest.raises(SweepError, match="no metric 'latency'"):
        serial.summary(["latency"])


def test_process_pool_gives_the_serial_table(serial) -> None:
    parallel = run_sweep(GRID, seeds=3, fixed=SMALL, workers=2)
    assert parallel.rows == serial.rows


# --- CSV, interruption and resume -----------------------------------------------------

def test_csv_holds_every_row_exactly(serial, tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    table = run_sweep(GRID, seeds=3, fixed=SMALL, out=out)
    with out.open() as fh:
        lines = list(csv.reader(fh))
    assert lines[0] == list(table.columns)
    assert len(lines) == 1 + 12
    again = run_sweep(GRID, seeds=3, fixed=SMALL, out=out, resume=True)   # nothing to do
    assert again.rows == serial.rows                                     # floats round-trip
    assert table.to_csv(tmp_path / "copy.csv").read_text() == out.read_text()


def test_interrupted_sweep_keeps_rows_and_resume_runs_only_the_rest(serial,
                                                                    tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    seen: list[int] = []

    def stop_after_five(done: int, total: int) -> None:
        seen.append(done)
        if done == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(GRID, seeds=3, fixed=SMALL, out=out, on_row=stop_after_five)
    assert len(out.read_text().splitlines()) == 1 + 5
    with out.open("a") as fh:                  # a row cut off mid-write
        fh.write("2,true,3,240,23")
    progress: list[int] = []
    table = run_sweep(GRID, seeds=3, fixed=SMALL, out=out, resume=True,
                      on_row=lambda done, total: progress.append(done))
    assert progress == list(range(6, 13))      # only the 7 missing runs
    assert table.rows == serial.rows
    assert len(out.read_text().splitlines()) == 1 + 12


@pytest.mark.parametrize("kwargs, message", [
    ({"resume": False}, "r.csv already exists; add --resume to continue that sweep"),
    ({"grid": {"model.replicas": [1, 2]}}, "r.csv holds a sweep over model.replicas, "
                                           "cache.enabled, not model.replicas; use another -o"),
    ({"fixed": {**SMALL, "load.rate_rps": 30.0}},
     "r.csv was made with preset None and fixed knobs {'load.duration_s': '5', "
     "'load.rate_rps': '20'}; resume with the same --preset and --set"),
])
def test_resume_refuses_another_experiment(tmp_path: Path, kwargs: dict, message: str) -> None:
    out = tmp_path / "r.csv"
    run_sweep(GRID, seeds=1, fixed=SMALL, out=out)
    args = {"grid": GRID, "seeds": 1, "fixed": SMALL, "out": out, "resume": True, **kwargs}
    with pytest.raises(SweepError) as info:
        run_sweep(args.pop("grid"), **args)
    assert message in str(info.value)


def test_output_and_worker_errors(tmp_path: Path) -> None:
    with pytest.raises(SweepError, match=r"nowhere/r\.csv: cannot write the results"):
        run_sweep(GRID, seeds=1, fixed=SMALL, out=tmp_path / "nowhere" / "r.csv")
    with pytest.raises(SweepError, match="workers must be a whole number >= 1, got 0"):
        run_sweep(GRID, seeds=1, fixed=SMALL, workers=0)
    with pytest.raises(SweepError, match=r"resume needs the results file"):
        run_sweep(GRID, seeds=1, fixed=SMALL, resume=True)


# --- Dask -----------------------------------------------------------------------------

@pytest.mark.slow
def test_dask_local_cluster_matches_the_process_pool(serial) -> None:
    table = run_sweep(GRID, seeds=3, fixed=SMALL, dask="local")
    assert table.rows == serial.rows


@pytest.mark.slow
def test_dask_scheduler_address_matches_the_process_pool(serial, tmp_path: Path) -> None:
    """A running cluster reached by its tcp:// address (a real scheduler on loopback)."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=50) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        out = tmp_path / "r.csv"
        table = run_sweep(GRID, seeds=3, fixed=SMALL, dask=cluster.scheduler_address, out=out)
    assert table.rows == serial.rows
    assert len(out.read_text().splitlines()) == 1 + 12


@pytest.mark.slow
def test_unreachable_scheduler_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import labkit.sweep

    monkeypatch.setattr(labkit.sweep, "DASK_CONNECT_TIMEOUT_S", 1)
    with pytest.raises(SweepError, match=r"cannot reach the Dask scheduler at "
                                         r"tcp://127\.0\.0\.1:9: "):
        run_sweep(GRID, seeds=1, fixed=SMALL, dask="tcp://127.0.0.1:9")


def test_dask_address_is_checked() -> None:
    with pytest.raises(SweepError, match=r"--dask takes 'local' or tcp://HOST:PORT, got 'x:1'"):
        run_sweep(GRID, seeds=1, fixed=SMALL, dask="x:1")


# --- CLI ------------------------------------------------------------------------------

def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    from labkit.commands import sweep as command

    parser = argparse.ArgumentParser(prog="labkit")
    command.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    try:
        code = args.func(args)
    except KnobError as exc:               # what labkit.cli.main turns into exit 2
        print(f"labkit sweep: {exc}", file=sys.stderr)
        code = 2
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_summary_on_stdout_progress_on_stderr(tmp_path: Path, capsys) -> None:
    out = tmp_path / "r.csv"
    code, stdout, stderr = run_cli(
        ["sweep", "--grid", "model.replicas=1,2", "--seeds", "2", "--workers", "1",
         "--set", "load.duration_s=5", "--set", "load.rate_rps=20", "-o", str(out)], capsys)
    assert code == 0
    assert "2/4 runs" in stderr and "4/4 runs" in stderr
    lines = stdout.splitlines()
    assert lines[0].split() == ["model.replicas", "n", "latency_ms.p95", "success_rate",
                                "cost.per_1k", "all_budgets_pass"]
    assert len(lines) == 1 + 2 + 2 and lines[-1] == f"4 runs in {out}"
    assert " ± " in lines[1]


@pytest.mark.parametrize("argv, message", [
    (["--grid", "model.replicas=1,x"], "labkit sweep: model.replicas must be a whole number, "
                                       "got 'x'"),
    (["--grid", "model.replicas=1", "--seeds", "zero"],
     "labkit sweep: --seeds must be a whole number >= 1, got 'zero'"),
    (["--grid", "model.replicas=1", "--workers", "0"],
     "labkit sweep: --workers must be a whole number >= 1, got 0"),
    (["--grid", "model.replicas=1", "--dask", "udp://h:1"],
     "labkit sweep: --dask takes 'local' or tcp://HOST:PORT, got 'udp://h:1'"),
])
def test_cli_bad_input_exits_2(argv: list[str], message: str, capsys) -> None:
    code, stdout, stderr = run_cli(["sweep", *argv], capsys)
    assert code == 2 and stdout == ""
    assert stderr.strip().splitlines()[-1] == message


@pytest.mark.slow
def test_ctrl_c_keeps_finished_rows_and_exits_cleanly(tmp_path: Path) -> None:
    """A real Ctrl-C (SIGINT to the whole process group) in the middle of a CLI sweep."""
    out = tmp_path / "r.csv"
    cmd = [sys.executable, "-m", "labkit.cli", "sweep", "--grid", "model.replicas=2,3,4,5",
           "--seeds", "6", "--workers", "2", "--set", "load.duration_s=120", "-o", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (
            not out.exists() or len(out.read_text().splitlines()) < 3):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "interrupted; finished runs are saved in" in stderr
    kept = len(out.read_text().splitlines()) - 1
    assert 2 <= kept < 24
    resumed = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert len(out.read_text().splitlines()) == 1 + 24
    counts = [int(n) for n in re.findall(r"(\d+)/24 runs", resumed.stderr)]
    assert counts == list(range(kept + 1, 25))        # only the missing runs were done
