"""The dynamic batcher: which queued calls a free replica serves together, and when.

It follows NVIDIA Triton's dynamic batcher.  Calls wait in one FIFO queue.
When a replica is free it takes up to ``max_size`` of them; if fewer are
waiting and ``max_wait_s`` is positive, the incomplete batch is held until
the oldest call has waited ``max_wait_s`` or the batch fills, whichever
comes first.  With ``max_wait_s = 0`` it never waits, and with
``max_size = 1`` there is no batching at all.

A cancelled call stays in the queue, marked dead, and is skipped when a
batch is formed, so cancelling costs O(1).  The batcher costs no simulation
event except one timer while an incomplete batch is held.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import simpy

if TYPE_CHECKING:
    from labkit.sim.replicas import Call

__all__ = ["Batcher"]


class Batcher:
    """One FIFO queue of calls and the rule that turns it into batches."""

    def __init__(self, env: simpy.Environment, *, max_size: int, max_wait_s: float,
                 on_due: Callable[[], None]):
        self.env = env
        self.max_size = max_size
        self.max_wait_s = max_wait_s
        self.on_due = on_due          # called when a held batch may go (its wait is over)
        self.queue: deque[Call] = deque()
        self.live = 0                 # calls queued and not cancelled
        self._timer_at = math.inf

    def add(self, call: Call) -> None:
        """Queue a call."""
        self.queue.append(call)
        self.live += 1

    def cancel(self, call: Call) -> None:
        """Drop a queued call (it is skipped); no effect once in service."""
        if call.alive and call.start_s < 0:
            call.alive = False
            self.live -= 1

    def drain(self) -> list[Call]:
        """Remove and return every live queued call."""
        calls = [c for c in self.queue if c.alive]
        for call in calls:
            call.alive = False
        self.queue.clear()
        self.live = 0
        return calls

    def take(self) -> list[Call] | None:
        """The next batch for a free replica, or None while an incomplete one is held.

        Call only while ``live`` > 0.  When the batch is held, a timer calls
        ``on_due`` once the oldest call has waited ``max_wait_s``.
        """
        queue, env = self.queue, self.env
        while not queue[0].alive:
            queue.popleft()
        if self.live < self.max_size and self.max_wait_s > 0:
            due = queue[0].enq_s + self.max_wait_s
            if env.now < due:
                if due < self._timer_at:
                    self._timer_at = due
                    env.timeout(due - env.now).callbacks.append(self._on_timer)
                return None
        batch: list[Call] = []
        while len(batch) < self.max_size and queue:
            call = queue.popleft()
            if call.alive:
                batch.append(call)
        self.live -= len(batch)
        return batch

    def _on_timer(self, _event: Any) -> None:
        self._timer_at = math.inf
        self.on_due()
