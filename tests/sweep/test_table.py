"""SweepTable: rows in grid order, per-point means with 95% Student-t intervals."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from labkit.sweep.spec import SweepError
from labkit.sweep.table import SweepTable, flatten_summary
from labkit.tdist import t_quantile

KNOBS = ("model.replicas",)


def test_flatten_summary_keeps_numbers_and_names_them_by_path() -> None:
    summary = {"latency_ms": {"p50": 4.0, "p95": np.float64(9.5)}, "requests": np.int64(12),
               "budgets": {"p95_ms": {"pass": True, "limit": 200}}, "note": "text",
               "missing": None, "all_budgets_pass": False}
    flat = flatten_summary(summary)
    assert flat == {"latency_ms.p50": 4.0, "latency_ms.p95": 9.5, "requests": 12,
                    "budgets.p95_ms.pass": 1, "budgets.p95_ms.limit": 200,
                    "missing": flat["missing"], "all_budgets_pass": 0}
    assert math.isnan(flat["missing"])
    assert type(flat["latency_ms.p95"]) is float and type(flat["requests"]) is int


def test_columns_are_knobs_seed_then_every_metric_seen() -> None:
    table = SweepTable.from_rows(KNOBS, [{"model.replicas": 1, "seed": 1, "a": 1.0},
                                         {"model.replicas": 1, "seed": 2, "a": 2.0, "b": 3}])
    assert table.columns == ("model.replicas", "seed", "a", "b")
    assert table.column("a") == [1.0, 2.0]
    b = table.column("b")
    assert math.isnan(b[0]) and b[1] == 3
    with pytest.raises(SweepError, match="no column 'c'; columns: model.replicas, seed, a, b"):
        table.column("c")


def test_summary_is_the_mean_and_the_t_interval_per_point() -> None:
    rng = np.random.default_rng(5)
    values = {2: rng.normal(50, 5, 4).tolist(), 4: rng.normal(20, 2, 4).tolist()}
    rows = [{"model.replicas": n, "seed": s + 1, "p95_ms": x}
            for n, xs in values.items() for s, x in enumerate(xs)]
    summary = SweepTable.from_rows(KNOBS, rows).summary()
    assert [(e["model.replicas"], e["n"]) for e in summary] == [(2, 4), (4, 4)]
    for entry, xs in zip(summary, values.values()):
        mean, sd = float(np.mean(xs)), float(np.std(xs, ddof=1))
        half = t_quantile(0.975, 3) * sd / math.sqrt(4)
        assert entry["p95_ms.mean"] == pytest.approx(mean, rel=1e-12)
        assert entry["p95_ms.ci95"] == pytest.approx(half, rel=1e-12)
        assert entry["p95_ms.low"] == pytest.approx(mean - half, rel=1e-12)
        assert entry["p95_ms.high"] == pytest.approx(mean + half, rel=1e-12)


def test_the_interval_covers_the_true_mean_about_95_percent_of_the_time() -> None:
    """Coverage over 1,000 experiments of 3 seeds each (binomial sd: 0.7 percentage points)."""
    rng = np.random.default_rng(11)
    rows = [{"model.replicas": i, "seed": s, "m": float(x)}
            for i in range(1000) for s, x in enumerate(rng.normal(10.0, 3.0, 3))]
    summary = SweepTable.from_rows(KNOBS, rows).summary(["m"])
    covered = sum(e["m.low"] <= 10.0 <= e["m.high"] for e in summary) / len(summary)
    assert 0.925 < covered < 0.975


def test_one_seed_has_no_interval_and_unknown_metrics_are_named() -> None:
    table = SweepTable.from_rows(KNOBS, [{"model.replicas": 2, "seed": 1, "m": 3.0}])
    entry = table.summary()[0]
    assert entry["m.mean"] == 3.0 and math.isnan(entry["m.ci95"])
    with pytest.raises(SweepError, match="no metric 'latency'; metrics: m"):
        table.summary(["latency"])


def test_to_csv_writes_every_row(tmp_path: Path) -> None:
    table = SweepTable.from_rows(("cache.enabled",), [
        {"cache.enabled": True, "seed": 1, "m": 0.1}, {"cache.enabled": False, "seed": 1,
                                                       "m": 1 / 3}])
    path = table.to_csv(tmp_path / "t.csv")
    assert path.read_text().splitlines() == ["cache.enabled,seed,m", "true,1,0.1",
                                             f"false,1,{1 / 3!r}"]
