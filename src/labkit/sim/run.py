"""One run API for every front end: :func:`simulate`.

Notebooks, widgets, the CLI, grading tests, sweeps and benchmarks all call
this function, so the same knobs and seed give the same numbers everywhere.
A run has three phases: *build* (validate the scenario, draw the workload
from the seed's named streams, wire the components), *run* (the SimPy event
loop until every request has its outcome) and *collect* (freeze records and
totals into a :class:`~labkit.sim.result.Result`).

>>> r = simulate({"load.rate_rps": 20, "load.duration_s": 10}, seed=3)
>>> sum(r.summary["outcomes"].values()) == r.summary["requests"]
True
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping
from typing import Any

import numpy as np

from labkit.knobs import KnobError
from labkit.sim.engine import Engine
from labkit.sim.load import draw_workload
from labkit.sim.presets import PRESETS
from labkit.sim.result import ATTEMPT_DTYPE, RECORD_DTYPE, Result
from labkit.sim.scenario import Scenario
from labkit.streams import Streams

__all__ = ["simulate", "STREAMS"]

#: The run's random streams, one per purpose.  Append-only: a new purpose goes at the
#: end, so the streams before it keep their draws for every seed.
STREAMS: tuple[str, ...] = (
    "arrivals", "prompts", "validity", "service", "errors", "cache", "retry",
    "fallback", "faults", "steps", "boundary", "autoscale", "review", "guardrail",
    "throttle",
)

# Request attribute -> record column, read in one C-level pass per request.
_ROW_FIELDS = (("reason", "reason"), ("path", "path"), ("attempts", "attempts"),
               ("calls", "model_calls"), ("cache", "cache"), ("batch", "batch_size"),
               ("cost", "cost"), ("quality", "quality"), ("stale", "stale"),
               ("lag", "freshness_lag_s"), ("leak", "leak"), ("harm", "harm_score"))
_ROW = operator.attrgetter(*(attr for attr, _ in _ROW_FIELDS))
_ROW_DTYPE = np.dtype([(col, RECORD_DTYPE[col]) for _, col in _ROW_FIELDS])


def simulate(scenario: Scenario | Mapping[str, Any] | None = None, seed: int = 1, *,
             preset: str | None = None) -> Result:
    """Run one scenario with one seed and return its :class:`Result`.

    ``scenario`` may be a :class:`Scenario` or a mapping of dotted knob names;
    ``preset`` starts from a named scenario and applies the mapping on top.
    """
    scenario = _resolve(scenario, preset)
    streams = Streams(seed, STREAMS)
    workload = draw_workload(scenario.load, streams)
    engine = Engine(scenario, workload, streams)
    engine.run()
    return _collect(engine, scenario, int(seed))


def _resolve(scenario: Scenario | Mapping[str, Any] | None, preset: str | None) -> Scenario:
    if preset is not None:
        if preset not in PRESETS:
            raise KnobError(f"unknown preset {preset!r}; known: {', '.join(PRESETS)}")
        base = Scenario.from_knobs(PRESETS[preset])
        if isinstance(scenario, Scenario):
            raise KnobError("give either a Scenario or a preset with knob overrides, not both")
        return base.with_knobs(scenario or {})
    if isinstance(scenario, Scenario):
        return scenario
    if scenario is None or isinstance(scenario, Mapping):
        return Scenario.from_knobs(scenario or {})
    raise KnobError(f"scenario must be a Scenario or a mapping of knob names, got "
                    f"{type(scenario).__name__}")


def _collect(engine: Engine, sc: Scenario, seed: int) -> Result:
    reqs = engine.out
    n = len(reqs)
    rec = np.zeros(n, dtype=RECORD_DTYPE)
    if n:
        rec["id"] = np.arange(n)
        rec["arrival_s"] = engine.w.arrival_s
        rec["end_s"] = engine.out_end
        rec["latency_ms"] = (engine.out_end - engine.w.arrival_s) * 1000.0
        rec["outcome"] = engine.out_outcome
        rows = np.array(list(map(_ROW, reqs)), dtype=_ROW_DTYPE)
        for name in _ROW_DTYPE.names:
            rec[name] = rows[name]
        rec["write"] = engine.w.write
        rec["unauthorised"] = engine.unauthorised
        rec["review_wait_s"] = engine.review_wait
        rec["prompt"] = engine.w.prompt
        rec["harmful"] = engine.harmful
    rec.flags.writeable = False
    att = np.array(engine.att, dtype=ATTEMPT_DTYPE) if engine.att else np.zeros(0, ATTEMPT_DTYPE)
    att.flags.writeable = False
    samples = np.array(engine.samples, dtype=float).reshape(-1, 5)
    samples.flags.writeable = False
    pool = engine.pool
    busy_s, provisioned_s = engine.pool_integrals
    horizon = max(engine.samples[-1][0], sc.load.duration_s)
    served = pool.served
    job_cost = 0.0
    if sc.serving.pattern == "batch":
        job_cost = math.ceil(sc.load.duration_s / sc.serving.batch_interval_s) * \
            sc.serving.batch_job_cost
    elif sc.serving.pattern == "rag" or sc.retrieval.enabled:
        # Keeping a retrieval index fresh is a scheduled job too.
        job_cost = math.ceil(sc.load.duration_s / sc.retrieval.index_refresh_s) * \
            sc.retrieval.index_rebuild_cost
    model_cost = engine.model_cost
    totals = {
        "model_served": served, "model_wait_s": pool.wait_sum_s, "busy_seconds": busy_s,
        "replica_seconds": provisioned_s, "horizon_s": horizon, "job_cost": job_cost,
        "retries": engine.retries, "fallback_calls": engine.fallback_calls,
        "wasted_s": engine.wasted_s, "wasted_calls": engine.wasted_calls,
        "breaker_opens": len(engine.breaker.opens) if engine.breaker else 0,
        "model_cost": model_cost, "steps_cost": engine.steps_cost,
        "fallback_cost": engine.fallback_cost, "steps_calls": dict(engine.steps_calls),
        "autoscale_decisions": len(engine.autoscale_log),
    }
    return Result(scenario=sc, seed=seed, records=rec, attempts=att, samples=samples,
                  totals=totals)
