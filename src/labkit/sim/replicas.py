"""Model replicas: servers that each serve one batch at a time.

A :class:`ReplicaPool` is a set of identical servers fed by a
:class:`~labkit.sim.batcher.Batcher` (one FIFO queue, Triton's dynamic
batching rule).  A batch of b calls takes ``service * (1 + per_item_fraction
* (b - 1))`` seconds of work, where ``service`` is drawn for the batch's
first call (its ``factor``: exponential, deterministic or lognormal around
the mean).  Work progresses at the speed given by a :class:`SpeedProfile`:
zero during a hanging outage, ``1 / factor`` during a slowdown.  The
completion time is computed once, so a batch costs exactly one simulation
event however the speed changes.

A server that abandons timed-out work (``model.cancel_on_timeout``) drops a
queued call at once, and stops a batch in service when nobody waits for any
of its calls any more (:meth:`ReplicaPool.abort`).

Replicas can be added (after a cold start, paying from the moment they start)
and retired by the autoscaler.  Busy and provisioned replica-seconds are
integrated exactly, for utilisation and cost (:class:`~labkit.sim.accounting.Accounting`,
the base every pool shares).  The same pool serves the
small fallback model and the human reviewers of write actions.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, Protocol

import simpy

from labkit.sim.accounting import Accounting
from labkit.sim.batcher import Batcher

__all__ = ["SpeedProfile", "Call", "Batch", "ReplicaPool", "Pool", "imbalance"]


def imbalance(busy_s: Sequence[float], ready_s: Sequence[float]) -> float:
    """The busiest replica's utilisation over the mean utilisation of the replicas that
    were ever ready (1 = perfectly even).

    >>> round(imbalance([1.0, 3.0], [10.0, 10.0]), 6)
    1.5
    """
    util = [b / r for b, r in zip(busy_s, ready_s, strict=True) if r > 0]
    mean = sum(util) / len(util) if util else 0.0
    return max(util) / mean if mean > 0 else 1.0


class SpeedProfile:
    """Piecewise-constant service speed over time (1 = normal, 0 = hung)."""

    def __init__(self, windows: list[tuple[float, float, float]] | None = None):
        # windows: (start_s, end_s, speed); later windows win where they overlap.
        points = {0.0}
        for start, end, _ in windows or ():
            points.update((start, end))
        edges = sorted(points)
        self.segments: list[tuple[float, float, float]] = []
        for i, start in enumerate(edges):
            end = edges[i + 1] if i + 1 < len(edges) else math.inf
            speed = 1.0
            for w_start, w_end, w_speed in windows or ():
                if w_start <= start < w_end:
                    speed = w_speed
            self.segments.append((start, end, speed))
        self.constant = not windows

    def finish_s(self, start_s: float, work_s: float) -> float:
        """When ``work_s`` seconds of full-speed work started at ``start_s`` completes."""
        if self.constant:
            return start_s + work_s
        t, left = start_s, work_s
        for _seg_start, seg_end, speed in self.segments:
            if seg_end <= t:
                continue
            span = seg_end - t
            if speed > 0 and span * speed >= left:
                return t + left / speed
            left -= span * speed
            t = seg_end
        return math.inf  # pragma: no cover - the last segment is unbounded at speed 1

    def work_done(self, start_s: float, end_s: float) -> float:
        """Full-speed seconds of work done between ``start_s`` and ``end_s``."""
        if self.constant:
            return end_s - start_s
        work = 0.0
        for seg_start, seg_end, speed in self.segments:
            lo, hi = max(seg_start, start_s), min(seg_end, end_s)
            if hi > lo:
                work += (hi - lo) * speed
        return work


class Call:
    """One piece of work for a pool, waiting or in service: a model call, a review.

    ``attempt`` is the attempt number of a primary-model call; ``resume_at``
    is where a small-model call's fallback chain goes on if it is cut short.
    """

    __slots__ = ("owner", "enq_s", "alive", "factor", "start_s", "end_s", "batch_size",
                 "work_s", "closed", "attempt", "resume_at", "batch", "seq", "lane")

    def __init__(self, owner: Any, enq_s: float, factor: float):
        self.owner = owner
        self.enq_s = enq_s
        self.factor = factor
        self.alive = True       # False once cancelled: the batcher skips it
        self.closed = False     # True once the client stopped waiting or got its answer
        self.start_s = -1.0
        self.end_s = -1.0
        self.batch_size = 0
        self.work_s = 0.0
        self.attempt = 0
        self.resume_at = 0
        self.batch: Batch | None = None  # the batch it is served in, once started
        self.seq: Any = None    # token mode: its labkit.sim.tokenpool.Seq
        self.lane: Any = None   # stateful mode: its labkit.sim.sessions.Lane


class Batch:
    """Calls served together by one replica; ``aborted`` once the server gave up on it."""

    __slots__ = ("calls", "aborted", "replica")

    def __init__(self, calls: list[Call], replica: int = -1):
        self.calls = calls
        self.aborted = False
        self.replica = replica    # which replica serves it (for per-replica load)


class Pool(Protocol):
    """What the engine, autoscaler, kill switch and recorder need of a pool of replicas:
    :class:`ReplicaPool`, or token mode's :class:`~labkit.sim.tokenpool.TokenPool`."""

    ready: int
    busy: int
    starting: int
    served: int
    wait_sum_s: float

    @property
    def provisioned(self) -> int: ...
    @property
    def queued(self) -> int: ...
    def submit(self, call: Call) -> None: ...
    def cancel(self, call: Call) -> None: ...
    def abort(self, call: Call) -> bool: ...
    def drain(self) -> list[Call]: ...
    def utilisation_integrals(self) -> tuple[float, float]: ...
    def add_replicas(self, count: int, cold_start_s: float) -> None: ...
    def remove_replicas(self, count: int, keep_ready: int = 1) -> None: ...
    def lose_replica(self) -> None: ...


class ReplicaPool(Accounting):
    """Replicas behind one queue with a Triton-style dynamic batcher."""

    def __init__(self, env: simpy.Environment, *, replicas: int, service_s: float,
                 per_item_fraction: float, max_size: int, max_wait_s: float,
                 on_done: Callable[[list[Call], float], None],
                 speed: SpeedProfile | None = None):
        super().__init__(env, replicas)
        self.service_s = service_s
        self.per_item = per_item_fraction
        self.on_done = on_done
        self.speed = speed or SpeedProfile()
        self.batcher = Batcher(env, max_size=max_size, max_wait_s=max_wait_s,
                               on_due=self._dispatch)
        self.idle = replicas          # ready replicas with nothing to do
        self.to_retire = 0
        self.batches = 0
        # per replica (bookkeeping only: which idle replica takes a batch changes nothing)
        self.free: deque[int] = deque(range(replicas))   # idle replicas, first freed first
        self.busy_by: list[float] = [0.0] * replicas       # busy seconds
        self.ready_by: list[float] = [0.0] * replicas      # ready seconds, closed spans
        self.ready_since: list[float] = [0.0] * replicas   # -1 once retired
        self.running: list[Batch] = []

    # --- bookkeeping (replica counts and integrals: Accounting) ----------------
    @property
    def queued(self) -> int:
        """Calls waiting in the queue (not cancelled)."""
        return self.batcher.live

    # --- queue -------------------------------------------------------------
    def submit(self, call: Call) -> None:
        """Queue a call; a free replica takes it at once unless the batcher holds it."""
        self.batcher.add(call)
        if self.idle:
            self._dispatch()

    def cancel(self, call: Call) -> None:
        """Drop a queued call (the batcher skips it); no effect once in service."""
        self.batcher.cancel(call)

    def drain(self) -> list[Call]:
        """Remove and return every live queued call."""
        return self.batcher.drain()

    def _dispatch(self) -> None:
        batcher = self.batcher
        while self.idle and batcher.live:
            batch = batcher.take()
            if batch is None:
                return
            self._start(batch)

    def _start(self, batch: list[Call]) -> None:
        self._advance()
        self.idle -= 1
        self.busy += 1
        now = self.env.now
        b = len(batch)
        work = self.service_s * batch[0].factor * (1.0 + self.per_item * (b - 1))
        end = self.speed.finish_s(now, work)
        record = Batch(batch, self.free.popleft())
        self.running.append(record)
        for call in batch:
            call.start_s = now
            call.batch_size = b
            call.work_s = work / b
            call.batch = record
            self.wait_sum_s += now - call.enq_s
        self.batches += 1
        self.served += b
        self.env.timeout(end - now).callbacks.append(partial(self._finish, record))

    def _release_replica(self, record: Batch, lost: bool = False) -> None:
        self._advance()
        self.busy -= 1
        self.running.remove(record)
        rid, now = record.replica, self.env.now
        self.busy_by[rid] += now - record.calls[0].start_s
        if lost or self.to_retire:
            self.to_retire -= not lost
            self.ready -= 1
            self.ready_by[rid] += now - self.ready_since[rid]
            self.ready_since[rid] = -1.0
        else:
            self.idle += 1
            self.free.append(rid)

    def _finish(self, record: Batch, _event: object = None) -> None:
        if record.aborted:
            return
        self._release_replica(record)
        now = self.env.now
        batch = record.calls
        for call in batch:
            call.end_s = now
        self.on_done(batch, now)
        if self.idle and self.batcher.live:
            self._dispatch()

    def abort(self, call: Call) -> bool:
        """Stop serving ``call``'s batch if every call in it was abandoned; True if stopped.

        The replica is free at once and the batch never completes.  A batch
        with a call someone still waits for goes on.
        """
        record = call.batch
        if record is None or record.aborted or not all(c.closed for c in record.calls):
            return False
        record.aborted = True
        self._release_replica(record)
        now = self.env.now
        for c in record.calls:
            c.end_s = now
        if self.idle and self.batcher.live:
            self._dispatch()
        return True

    # --- scaling (add_replicas: Accounting) -----------------------------------
    def _warm(self, count: int, _event: object = None) -> None:
        self._advance()
        self.starting -= count
        self.ready += count
        self.idle += count
        first = len(self.busy_by)
        self.free.extend(range(first, first + count))
        self.busy_by += [0.0] * count
        self.ready_by += [0.0] * count
        self.ready_since += [self.env.now] * count
        if self.batcher.live:
            self._dispatch()

    def remove_replicas(self, count: int, keep_ready: int = 1) -> None:
        """Retire up to ``count`` ready replicas, keeping ``keep_ready``: idle ones at once,
        busy ones after their batch."""
        self._advance()
        count = max(0, min(count, self.ready - self.to_retire - max(1, keep_ready)))
        now_idle = min(count, self.idle)
        self.idle -= now_idle
        self.ready -= now_idle
        self.to_retire += count - now_idle
        for _ in range(now_idle):
            self._retire(self.free.pop())

    def _retire(self, rid: int) -> None:
        self.ready_by[rid] += self.env.now - self.ready_since[rid]
        self.ready_since[rid] = -1.0

    def lose_replica(self) -> None:
        """A replica crashes, if another stays ready: an idle one if any, else the one whose
        batch started first; that batch's calls still awaited queue again."""
        if self.ready - self.to_retire < 2:
            return
        self._advance()
        if self.idle:
            self.idle -= 1
            self.ready -= 1
            self._retire(self.free.pop())
            return
        record = self.running[0]
        record.aborted = True
        self._release_replica(record, lost=True)
        for call in record.calls:
            if not call.closed:
                call.start_s, call.batch, call.batch_size = -1.0, None, 0
                self.batcher.add(call)
        self._dispatch()

    def replica_stats(self) -> dict[str, float]:
        """Per-replica load: the busiest replica's utilisation over the mean."""
        now = self.env.now
        ready = [r + (now - s if s >= 0 else 0.0)
                 for r, s in zip(self.ready_by, self.ready_since, strict=True)]
        return {"replica_imbalance": imbalance(self.busy_by, ready)}
