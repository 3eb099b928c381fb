"""One run API for every front end: :func:`simulate`.

Notebooks, widgets, the CLI, grading tests, sweeps and benchmarks all call
this function, so the same knobs and seed give the same numbers everywhere.
A run has three phases: *build* (validate the scenario, draw the workload
from the seed's named streams, wire the components: :class:`~labkit.sim.engine.Engine`),
*run* (the SimPy event loop until every request has its outcome) and
*collect* (the :class:`~labkit.sim.recorder.Recorder` freezes records and
totals into a :class:`~labkit.sim.result.Result`).

>>> r = simulate({"load.rate_rps": 20, "load.duration_s": 10}, seed=3)
>>> sum(r.summary["outcomes"].values()) == r.summary["requests"]
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from labkit.knobs import KnobError
from labkit.sim.changes import Change, schedule
from labkit.sim.engine import Engine
from labkit.sim.load import draw_workload
from labkit.sim.presets import PRESETS
from labkit.sim.result import Result
from labkit.sim.scenario import Scenario
from labkit.streams import Streams

__all__ = ["simulate", "STREAMS"]

#: The run's random streams, one per purpose.  Append-only: a new purpose goes at the
#: end, so the streams before it keep their draws for every seed.
STREAMS: tuple[str, ...] = (
    "arrivals", "prompts", "validity", "service", "errors", "cache", "retry",
    "fallback", "faults", "steps", "boundary", "autoscale", "review", "guardrail",
    "throttle", "tokens", "agent", "router", "semcache", "sessions", "datapath",
)


def simulate(scenario: Scenario | Mapping[str, Any] | None = None, seed: int = 1, *,
             preset: str | None = None, changes: Sequence[Change] = ()) -> Result:
    """Run one scenario with one seed and return its :class:`Result`.

    ``scenario`` may be a :class:`Scenario` or a mapping of dotted knob names;
    ``preset`` starts from a named scenario and applies the mapping on top.
    ``changes`` are scheduled :class:`~labkit.sim.changes.Change` s of live knobs, each
    checked against the scenario's rules before the run starts; ``Result.changes`` keeps
    them and ``Result.scenario_at(t)`` gives the scenario in force at ``t``.
    """
    scenario = _resolve(scenario, preset)
    plan = schedule(scenario, changes)
    streams = Streams(seed, STREAMS)
    workload = draw_workload(scenario.load, streams)
    engine = Engine(scenario, workload, streams, plan)
    engine.run()
    result = engine.collect(streams.seed)
    if plan:
        result = dataclasses.replace(result, changes=tuple(sorted(changes,
                                                                  key=lambda c: c.at_s)))
    return result


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
