"""The runner: a cache keyed by scenario and seed, budgets re-judged without a new run,
quick runs inline and slow runs in a worker process that can be cancelled."""

from __future__ import annotations

import pytest

from labkit.sim import Scenario, simulate
from labkit.ui.runner import Runner, _worker, expected_requests, sim_key

SMALL = {"load.duration_s": 10.0}


def test_budgets_do_not_change_what_the_service_does():
    # The runner's re-judging shortcut rests on this: same records whatever the budgets.
    a = simulate({**SMALL, "budget.p95_ms": 100.0}, seed=3)
    b = simulate({**SMALL, "budget.p95_ms": 900.0, "budget.cost_per_1k": 0.1}, seed=3)
    # bytes, not ==: unused fields hold NaN, which is never equal to itself
    assert a.records.tobytes() == b.records.tobytes()
    assert a.attempts.tobytes() == b.attempts.tobytes()


def test_cache_returns_the_same_result_and_rejudges_budgets():
    runner = Runner()
    sc = Scenario.from_knobs(SMALL)
    first = runner.run_inline(sc, 1)
    assert runner.lookup(sc, 1) is first
    assert runner.lookup(sc, 2) is None                       # another seed is another run
    strict = sc.with_knobs({"budget.p95_ms": 1.0})
    rejudged = runner.lookup(strict, 1)
    assert rejudged is not None and rejudged.records is first.records
    assert rejudged.scenario == strict
    assert not rejudged.summary["budgets"]["p95_ms"]["pass"]
    assert first.summary["budgets"]["p95_ms"]["pass"]
    assert sim_key(strict, 1) == sim_key(sc, 1)


def test_cache_forgets_the_least_recently_used():
    runner = Runner(cache_size=2)
    scs = [Scenario.from_knobs({**SMALL, "model.replicas": n}) for n in (2, 3, 4)]
    for sc in scs:
        runner.run_inline(sc, 1)
    assert runner.lookup(scs[0], 1) is None and runner.lookup(scs[2], 1) is not None
    with pytest.raises(ValueError, match="cache_size must be >= 1, got 0"):
        Runner(cache_size=0)


def test_estimates_scale_with_expected_requests():
    spike = Scenario.from_knobs({"load.rate_rps": 10.0, "load.duration_s": 100.0,
                                 "load.pattern": "spike", "load.spike_multiplier": 3.0,
                                 "load.spike_start_s": 20.0, "load.spike_duration_s": 10.0})
    assert expected_requests(spike) == 10 * 100 + 10 * 2 * 10
    runner = Runner(inline_limit_s=0.5)
    runner.per_request_s = 1e-4
    assert runner.estimate_s(spike) == pytest.approx(0.12)
    assert runner.is_quick(spike)
    assert not runner.is_quick(spike.with_knobs({"load.duration_s": 10_000.0}))


def test_background_run_gives_the_same_numbers_as_inline():
    runner = Runner()
    sc = Scenario.from_knobs(SMALL)
    job = runner.run_background(sc, 5, on_done=lambda job: None)
    assert job.wait(60.0)
    assert job.error is None
    inline = simulate(sc, seed=5)
    assert job.result.records.tobytes() == inline.records.tobytes()
    assert runner.lookup(sc, 5) is job.result


def test_cancel_stops_the_worker_and_delivers_nothing():
    runner = Runner()
    done = []
    long = Scenario.from_knobs({"load.duration_s": 86400.0, "load.rate_rps": 200.0})
    job = runner.run_background(long, 1, on_done=done.append)
    job.cancel()
    assert job.finished.is_set() and job.cancelled
    assert done == [] and job.result is None
    assert not job._process.is_alive()


def test_worker_reports_errors_as_messages():
    class Pipe:
        sent: list = []

        def send(self, item):
            self.sent.append(item)

        def close(self):
            pass

    import os
    saved = os.dup(2)
    try:
        _worker(Pipe(), {"autoscale.enabled": True, "model.replicas": 50}, 1)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    kind, message = Pipe.sent[0]
    assert kind == "error"
    assert message.startswith("KnobError: model.replicas must lie within autoscale.min_replicas")
