"""A request in flight, and the simulation clock the arrival replay moves.

:class:`Request` holds what the components learn about one request while it
moves along the path (attempts, cost, quality, the stages it passed, how it
ended); :class:`~labkit.sim.recorder.Recorder` turns the finished requests
into the run's records.  :class:`ReplayEnvironment` is a SimPy environment
whose clock the arrival replay may move straight to the next arrival.
"""

from __future__ import annotations

import math

import simpy

from labkit.sim.codes import Path, Reason

__all__ = ["Request", "ReplayEnvironment"]


class ReplayEnvironment(simpy.Environment):
    """A SimPy environment whose clock the arrival replay may move forward."""

    def advance_to(self, t: float) -> None:
        """Move the clock to ``t`` (no event is due before it; the caller made sure)."""
        # SimPy has no public way to move the clock; this subclass owns its ``_now``.
        if t < self._now:  # pragma: no cover - arrivals are replayed in time order
            raise ValueError(f"time must not go backwards: {t} < {self._now}")
        self._now = t


class Request:
    """Mutable state of one request while it is in flight, and how it ended."""

    end: float        # set once, by Recorder.finish, with outcome
    outcome: int
    __slots__ = ("id", "prompt", "write", "deadline", "attempts", "calls", "path",
                 "cache", "cost", "quality", "stale", "lag", "batch", "prev_backoff",
                 "reason", "leak", "done", "harm", "harmful", "unauthorised", "review_wait",
                 "end", "outcome")

    def __init__(self, rid: int, prompt: int, write: bool, deadline: float):
        self.id = rid
        self.prompt = prompt
        self.write = write
        self.deadline = deadline
        self.attempts = 0        # attempts at the primary model
        self.calls = 0           # of them, calls that reached it
        self.path = Path.GATEWAY
        self.cache = 0           # a CacheState code
        self.cost = 0.0
        self.quality = 0.0       # the gain from retrieval/reranking until an answer is given
        self.stale = False
        self.lag = 0.0
        self.batch = 0
        self.prev_backoff = 0.0
        self.reason = Reason.NONE
        self.leak = False
        self.done = False
        self.harm = -1.0         # guardrail harm score of the model's answer (-1: none)
        self.harmful = False     # a harmful answer reached the user
        self.unauthorised = False
        self.review_wait = math.nan
        # ``end`` and ``outcome`` are set once, by Recorder.finish.
