"""run_sweep: grid x seeds with common random numbers, resumable CSV, Ctrl-C keeps rows."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from labkit.sim import simulate
from labkit.sweep import SweepError, SweepSpec, flatten_summary, run_sweep

SMALL = {"load.duration_s": 5.0, "load.rate_rps": 20.0}        # the `serial` fixture's sweep
GRID = {"model.replicas": [1, 2], "cache.enabled": [False, True]}


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


def test_more_replicas_wait_less_at_every_seed(serial) -> None:
    by_key = {(r["model.replicas"], r["cache.enabled"], r["seed"]): r for r in serial.rows}
    for cache in (False, True):
        for seed in (1, 2, 3):
            assert (by_key[2, cache, seed]["latency_ms.p95"]
                    <= by_key[1, cache, seed]["latency_ms.p95"])


def test_a_spec_and_its_parts_give_the_same_table(serial) -> None:
    spec = SweepSpec.build(GRID, 3, fixed=SMALL)
    assert run_sweep(spec).rows == serial.rows


def test_process_pool_gives_the_serial_table(serial) -> None:
    parallel = run_sweep(GRID, seeds=3, fixed=SMALL, workers=2)
    assert parallel.rows == serial.rows


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
    assert seen == [1, 2, 3, 4, 5]
    assert len(out.read_text().splitlines()) == 1 + 5
    with out.open("a") as fh:                  # a row cut off mid-write
        fh.write("2,true,3,240,23")
    progress: list[tuple[int, int]] = []
    table = run_sweep(GRID, seeds=3, fixed=SMALL, out=out, resume=True,
                      on_row=lambda done, total: progress.append((done, total)))
    assert progress == [(n, 12) for n in range(6, 13)]      # only the 7 missing runs
    assert table.rows == serial.rows
    assert len(out.read_text().splitlines()) == 1 + 12


def test_resume_with_fewer_seeds_uses_only_the_rows_it_asks_for(serial, tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    run_sweep(GRID, seeds=3, fixed=SMALL, out=out)
    calls: list[int] = []
    table = run_sweep(GRID, seeds=[2], fixed=SMALL, out=out, resume=True,
                      on_row=lambda done, total: calls.append(done))
    assert calls == []                          # every run was already in the file
    assert table.rows == tuple(r for r in serial.rows if r["seed"] == 2)


def test_a_finished_sweep_does_not_contact_the_cluster(serial, tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    serial.to_csv(out)
    table = run_sweep(GRID, seeds=3, fixed=SMALL, out=out, resume=True,
                      dask="tcp://127.0.0.1:9")   # nothing listens there; nothing to run
    assert table.rows == serial.rows


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


@pytest.mark.parametrize("kwargs, message", [
    ({"workers": 0}, "workers must be a whole number >= 1, got 0"),
    ({"workers": 2.0}, "workers must be a whole number >= 1, got 2.0"),
    ({"workers": True}, "workers must be a whole number >= 1, got True"),
    ({"resume": True}, "resume needs the results file of the sweep (-o results.csv)"),
    ({"dask": "x:1"}, "--dask takes 'local' or tcp://HOST:PORT, got 'x:1'"),
    ({"dask": "tcp://"}, "--dask takes 'local' or tcp://HOST:PORT, got 'tcp://'"),
    ({"dask": "tcp://127.0.0.1:9", "workers": 4},
     "workers sizes the process pool or dask='local'; the cluster at tcp://127.0.0.1:9 has the "
     "workers it was started with, got workers=4"),
])
def test_bad_options_are_refused_before_anything_runs(tmp_path: Path, kwargs: dict,
                                                      message: str) -> None:
    calls: list[int] = []
    with pytest.raises(SweepError) as info:
        run_sweep(GRID, seeds=1, fixed=SMALL, on_row=lambda d, t: calls.append(d), **kwargs)
    assert str(info.value) == message
    assert calls == []


def test_an_unwritable_results_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SweepError, match=r"nowhere/r\.csv: cannot write the results"):
        run_sweep(GRID, seeds=1, fixed=SMALL, out=tmp_path / "nowhere" / "r.csv")
