"""Scheduled changes: knobs that take a new value in the middle of a run.

A real service is not configured once: an on-call engineer pushes a config, rolls a release
back or adds replicas while traffic flows, and what the users see afterwards depends on the
backlog, the retries and the cold starts the change meets.  A :class:`Change` says that at
``at_s`` seconds of simulated time the listed knobs take their new values for the rest of
the run:

>>> Change(at_s=300.0, knobs={"retrieval.latency_ms": 900})
Change(at_s=300.0, knobs={'retrieval.latency_ms': 900.0})

Only knobs declared ``live=True`` (:func:`labkit.knobs.knob`) may change; their components
read the value at the moment they use it.  Every other knob holds for the whole run, and a
change to one is refused with the live knobs listed:

>>> Change(at_s=10.0, knobs={"cache.enabled": True})
Traceback (most recent call last):
...
labkit.knobs.KnobError: cache.enabled cannot change mid-run; live knobs are load.prompt_tokens, \
retrieval.latency_ms, retrieval.run_fraction, model.replicas, model.error_rate, model.version, \
model.upstream_tpm, fallback.chain; got True

:func:`schedule` builds the scenario in force after each change with the scenario's own
rules before the run starts (:meth:`Scenario.with_knobs <labkit.knobs.ConfigSet.with_knobs>`),
so a change that breaks a rule (a prompt longer than the KV cache, say) is refused before
anything is simulated.  A change at or after ``load.duration_s`` is refused too: the run's
last arrivals come before it, and a change that only touches the drain would look like a no-op
while not being one.  The run's random streams do not depend on the changes, so a run with a
change at ``t`` equals the run without it for every request that ends before ``t``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from labkit.knobs import KnobError

if TYPE_CHECKING:
    from labkit.sim.scenario import Scenario

__all__ = ["Change", "schedule"]


@dataclass(frozen=True, kw_only=True)
class Change:
    """At ``at_s`` (simulated seconds, >= 0) the ``knobs`` (dotted live knob names) take the
    given values for the rest of the run.  Values are checked like any knob value."""

    at_s: float
    knobs: Mapping[str, Any]

    def __post_init__(self) -> None:
        from labkit.sim.scenario import CATALOGUE

        at = self.at_s
        if isinstance(at, bool) or not isinstance(at, (int, float)) or not math.isfinite(at) \
                or at < 0:
            raise KnobError(f"Change.at_s must be a finite number of seconds >= 0, got {at!r}")
        if not isinstance(self.knobs, Mapping) or not self.knobs:
            raise KnobError(f"Change.knobs must be a non-empty mapping of live knob names to "
                            f"values, got {self.knobs!r}")
        checked: dict[str, Any] = {}
        for name, value in self.knobs.items():
            knob = CATALOGUE.get_knob(name)
            if not knob.live:
                raise KnobError(f"{name} cannot change mid-run; live knobs are "
                                f"{', '.join(CATALOGUE.live())}; got {value!r}")
            checked[name] = knob.check(value)
        object.__setattr__(self, "at_s", float(at))
        object.__setattr__(self, "knobs", MappingProxyType(checked))

    def __repr__(self) -> str:
        return f"Change(at_s={self.at_s!r}, knobs={dict(self.knobs)!r})"

    def __hash__(self) -> int:
        return hash((self.at_s, tuple(self.knobs.items())))

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Change) and self.at_s == other.at_s
                and dict(self.knobs) == dict(other.knobs))


def schedule(scenario: Scenario, changes: Sequence[Change]) -> list[tuple[float, Scenario]]:
    """The scenario in force after each change, in time order (ties: as given).

    Each is ``scenario`` with every change up to it applied, built and checked with the
    scenario's rules; a change at or after ``load.duration_s`` or one that breaks a rule is
    refused with its time named.
    """
    if isinstance(changes, (Change, str, Mapping)) or not isinstance(changes, Sequence):
        raise KnobError(f"changes must be a list of Change, got {type(changes).__name__}")
    for c in changes:
        if not isinstance(c, Change):
            raise KnobError(f"changes must be a list of Change, got an item of type "
                            f"{type(c).__name__}")
    duration = scenario.load.duration_s
    out: list[tuple[float, Scenario]] = []
    current = scenario
    for c in sorted(changes, key=lambda c: c.at_s):
        if c.at_s >= duration:
            raise KnobError(f"Change.at_s must be < load.duration_s ({duration:g}) so that "
                            f"requests still arrive after it, got {c.at_s:g}")
        try:
            current = current.with_knobs(c.knobs)
        except KnobError as err:
            raise KnobError(f"change at {c.at_s:g} s: {err}") from None
        out.append((c.at_s, current))
    return out
