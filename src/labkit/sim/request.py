"""A request in flight, and the simulation clock the arrival replay moves.

:class:`Request` holds what the engine learns about one request while it
moves along the path (attempts, cost, quality, the stages it passed); when it
ends, :meth:`labkit.sim.engine.Engine.finish` freezes it into a record.
"""

from __future__ import annotations

import simpy

from labkit.sim.codes import PATH_BITS as _P

__all__ = ["Request", "_Environment"]


class _Environment(simpy.Environment):
    """A SimPy environment whose clock the arrival replay may move forward."""

    def advance_to(self, t: float) -> None:
        if t < self._now:  # pragma: no cover - arrivals are replayed in time order
            raise ValueError(f"time must not go backwards: {t} < {self._now}")
        self._now = t


class Request:
    """Mutable state of one request while it is in flight."""

    __slots__ = ("id", "arrival", "prompt", "write", "deadline", "attempts", "calls", "path",
                 "cache", "cost", "quality", "stale", "lag", "batch", "prev_backoff",
                 "reason", "leak", "done", "harm")

    def __init__(self, rid: int, arrival: float, prompt: int, write: bool, deadline: float):
        self.id = rid
        self.arrival = arrival
        self.prompt = prompt
        self.write = write
        self.deadline = deadline
        self.attempts = 0
        self.calls = 0
        self.path = _P["gateway"]
        self.cache = 0
        self.cost = 0.0
        self.quality = 0.0
        self.stale = False
        self.lag = 0.0
        self.batch = 0
        self.prev_backoff = 0.0
        self.reason = 0
        self.leak = False
        self.done = False
        self.harm = -1.0  # guardrail harm score of the model's answer (-1: none)
