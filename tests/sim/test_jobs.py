"""Scheduled jobs cost money: batch precompute runs and retrieval index rebuilds."""

from __future__ import annotations

import math

import pytest

from labkit.sim import simulate


@pytest.mark.parametrize("refresh_s", [10.0, 45.0, 300.0])
def test_index_rebuilds_are_paid_once_per_refresh_interval(refresh_s: float) -> None:
    knobs = {"serving.pattern": "rag", "load.duration_s": 90.0,
             "retrieval.index_refresh_s": refresh_s, "retrieval.index_rebuild_cost": 0.25}
    cost = simulate(knobs, seed=3).summary["cost"]
    assert cost["jobs"] == pytest.approx(math.ceil(90.0 / refresh_s) * 0.25)
    parts = cost["calls"] + cost["steps"] + cost["fallback"] + cost["replicas"] + cost["jobs"]
    assert cost["total"] == pytest.approx(parts)


def test_a_fresher_index_costs_more_and_serves_fewer_stale_answers() -> None:
    base = {"serving.pattern": "rag", "load.duration_s": 120.0, "world.change_at_s": 30.0,
            "retrieval.index_rebuild_cost": 0.25}
    slow = simulate({**base, "retrieval.index_refresh_s": 100.0}, seed=1).summary
    fast = simulate({**base, "retrieval.index_refresh_s": 10.0}, seed=1).summary
    assert fast["cost"]["per_1k"] > slow["cost"]["per_1k"]
    assert fast["stale_answer_ratio"] < slow["stale_answer_ratio"]


def test_the_rebuild_cost_is_off_by_default_and_without_retrieval() -> None:
    assert simulate({"serving.pattern": "rag", "load.duration_s": 30.0},
                    seed=1).summary["cost"]["jobs"] == 0.0
    assert simulate({"retrieval.index_rebuild_cost": 1.0, "load.duration_s": 30.0},
                    seed=1).summary["cost"]["jobs"] == 0.0


def test_batch_jobs_are_paid_per_scheduled_run() -> None:
    knobs = {"serving.pattern": "batch", "serving.batch_interval_s": 20.0,
             "serving.batch_job_cost": 2.0, "load.duration_s": 70.0}
    assert simulate(knobs, seed=1).summary["cost"]["jobs"] == pytest.approx(4 * 2.0)
