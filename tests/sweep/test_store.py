"""The results CSV: appended and flushed run by run, read back exactly, guarded on resume.

The store needs only the grid knobs' names and the experiment's metadata, so these tests
give it hand-made rows: no simulation runs here.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from labkit.sweep.spec import SweepError
from labkit.sweep.store import CsvSink, csv_row, parse_row, run_key, write_csv

KNOBS = ("model.replicas", "cache.enabled")
META = {"preset": None, "knobs": list(KNOBS), "fixed": {"load.duration_s": "5"}}


def rows() -> list[dict]:
    return [{"model.replicas": n, "cache.enabled": c, "seed": s,
             "latency_ms.p95": 100.0 / n + s / 3, "requests": 90 + s, "cost.per_1k": 0.1 * s}
            for n in (1, 2) for c in (False, True) for s in (1, 2)]


def sink(path: Path, *, resume: bool = False, meta: dict = META,
         knobs: tuple[str, ...] = KNOBS) -> CsvSink:
    return CsvSink(path, knobs=knobs, meta=meta, resume=resume)


def test_run_key_formats_values_as_on_a_command_line() -> None:
    assert run_key({"model.replicas": 2, "cache.enabled": False, "seed": 3}, KNOBS) == (
        "2", "false", "3")
    assert run_key({"model.replicas": "2", "cache.enabled": "no", "seed": 3.0}, KNOBS) == (
        "2", "false", "3")


def test_a_row_written_and_read_back_is_the_same_row() -> None:
    row = {**rows()[3], "odd": 1 / 3, "negative": -7, "tiny": 5e-324}
    raw = {k: str(v) for k, v in csv_row(row, KNOBS).items()}
    assert raw["cache.enabled"] == "true" and raw["latency_ms.p95"] == repr(row["latency_ms.p95"])
    back = parse_row(raw, KNOBS)
    assert back == row
    assert [type(back[k]) for k in ("model.replicas", "cache.enabled", "seed", "requests")] == [
        int, bool, int, int]


def test_each_row_is_on_disk_as_soon_as_it_is_written(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    s = sink(out)
    for i, row in enumerate(rows()[:3], start=1):
        s.write(row)
        lines = out.read_text().splitlines()             # read while the file is still open
        assert len(lines) == 1 + i
    s.close()
    with out.open() as fh:
        table = list(csv.DictReader(fh))
    assert list(table[0]) == [*KNOBS, "seed", "latency_ms.p95", "requests", "cost.per_1k"]
    assert json.loads(out.with_name("r.csv.meta.json").read_text()) == META


def test_resume_reads_complete_rows_and_drops_a_cut_off_one(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    s = sink(out)
    for row in rows()[:5]:
        s.write(row)
    s.close()
    with out.open("a") as fh:
        fh.write("2,true,3,240,23")                      # cut off mid-write: no newline
    again = sink(out, resume=True)
    assert sorted(again.existing) == sorted(run_key(r, KNOBS) for r in rows()[:5])
    assert list(again.existing.values()) == rows()[:5]
    assert out.read_text().endswith("\n") and "240,23" not in out.read_text()
    for row in rows()[5:]:
        again.write(row)                                 # no second header
    again.close()
    with out.open() as fh:
        assert [parse_row(r, KNOBS) for r in csv.DictReader(fh)] == rows()


def test_a_malformed_row_is_skipped_so_it_runs_again(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    s = sink(out)
    for row in rows()[:2]:
        s.write(row)
    s.close()
    with out.open("a") as fh:
        fh.write("2,true,1\n")                           # too few fields
    assert list(sink(out, resume=True).existing.values()) == rows()[:2]


@pytest.mark.parametrize("kwargs, message", [
    ({"resume": False}, "r.csv already exists; add --resume to continue that sweep, or "
                        "choose another -o"),
    ({"knobs": ("model.replicas",)}, "r.csv holds a sweep over model.replicas, cache.enabled, "
                                     "not model.replicas; use another -o"),
    ({"meta": {**META, "fixed": {"load.duration_s": "6"}}},
     "r.csv was made with preset None and fixed knobs {'load.duration_s': '5'}; resume with "
     "the same --preset and --set, or use another -o"),
    ({"meta": {**META, "preset": "reference"}},
     "r.csv was made with preset None and fixed knobs"),
])
def test_resume_refuses_another_experiment(tmp_path: Path, kwargs: dict, message: str) -> None:
    out = tmp_path / "r.csv"
    s = sink(out)
    s.write(rows()[0])
    s.close()
    with pytest.raises(SweepError) as info:
        sink(out, **{"resume": True, **kwargs})
    assert message in str(info.value)


def test_an_unwritable_place_is_named(tmp_path: Path) -> None:
    with pytest.raises(SweepError, match=r"nowhere/r\.csv: cannot write the results \(No such "
                                         r"file or directory\)"):
        sink(tmp_path / "nowhere" / "r.csv")


def test_write_csv_matches_the_row_by_row_file(tmp_path: Path) -> None:
    s = sink(tmp_path / "a.csv")
    for row in rows():
        s.write(row)
    s.close()
    columns = [*KNOBS, "seed", "latency_ms.p95", "requests", "cost.per_1k"]
    write_csv(tmp_path / "b.csv", columns, rows(), KNOBS)
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()
    nan_row = {**rows()[0], "latency_ms.p95": math.nan}
    write_csv(tmp_path / "c.csv", columns, [nan_row], KNOBS)
    with (tmp_path / "c.csv").open() as fh:
        assert math.isnan(parse_row(next(csv.DictReader(fh)), KNOBS)["latency_ms.p95"])
