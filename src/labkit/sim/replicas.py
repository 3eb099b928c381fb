"""Model replicas and the dynamic batcher in front of them.

A :class:`ReplicaPool` is a set of identical servers fed by one FIFO queue.
Each replica serves one *batch* at a time.  The batcher follows NVIDIA
Triton's dynamic batcher: when a replica is free it takes up to ``max_size``
queued requests; if fewer are waiting and ``max_wait_s`` is positive, it holds
the incomplete batch until the oldest request has waited ``max_wait_s`` or
the batch fills, whichever comes first.  With ``max_wait_s = 0`` it never
waits, and with ``max_size = 1`` there is no batching at all.

A batch of b requests takes ``service * (1 + per_item_fraction * (b - 1))``
seconds of work, where ``service`` is drawn for the batch's first request
(exponential, deterministic or lognormal around the mean).  Work progresses
at the speed given by a :class:`SpeedProfile`: zero during a hanging outage,
``1 / factor`` during a slowdown.  The completion time is computed once, so
a batch costs exactly one simulation event however the speed changes.

A server that abandons timed-out work (``model.cancel_on_timeout``) drops a
queued job at once, and stops a batch in service when nobody waits for any
of its jobs any more (:meth:`ReplicaPool.abort`).

Replicas can be added (after a cold start, paying from the moment they start)
and retired by the autoscaler.  Busy and provisioned replica-seconds are
integrated exactly, for utilisation and cost.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import Any

import simpy

__all__ = ["SpeedProfile", "Job", "Batch", "ReplicaPool"]


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
        for seg_start, seg_end, speed in self.segments:
            if seg_end <= t:
                continue
            span = seg_end - t
            if speed > 0 and span * speed >= left:
                return t + left / speed
            left -= span * speed
            t = seg_end
        return math.inf  # pragma: no cover - the last segment is unbounded at speed 1


class Job:
    """One request waiting for (or in) service: an attempt at a model call."""

    __slots__ = ("owner", "enq_s", "alive", "factor", "start_s", "end_s", "batch_size",
                 "work_s", "closed", "n", "timer_s", "result", "batch")

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
        self.n = 0
        self.timer_s = 0.0
        self.result = ""
        self.batch: Batch | None = None  # the batch it is served in, once started


class Batch:
    """Jobs served together by one replica; ``aborted`` once the server gave up on it."""

    __slots__ = ("jobs", "aborted")

    def __init__(self, jobs: list[Job]):
        self.jobs = jobs
        self.aborted = False


class ReplicaPool:
    """Replicas behind one queue with a Triton-style dynamic batcher."""

    def __init__(self, env: simpy.Environment, *, replicas: int, service_s: float,
                 per_item_fraction: float, max_size: int, max_wait_s: float,
                 on_done: Callable[[list[Job], float], None],
                 speed: SpeedProfile | None = None):
        self.env = env
        self.service_s = service_s
        self.per_item = per_item_fraction
        self.max_size = max_size
        self.max_wait_s = max_wait_s
        self.on_done = on_done
        self.speed = speed or SpeedProfile()
        self.queue: deque[Job] = deque()
        self.live = 0                 # jobs queued and not cancelled
        self.idle = replicas          # ready replicas with nothing to do
        self.busy = 0
        self.ready = replicas
        self.starting = 0
        self.to_retire = 0
        self._timer_at = math.inf
        self._t_last = 0.0
        self.busy_s = 0.0             # integral of busy replicas over time
        self.provisioned_s = 0.0      # integral of provisioned (ready + starting) replicas
        self.served = 0               # jobs that received service
        self.batches = 0
        self.wait_sum_s = 0.0         # queueing delay of every served job


    # --- bookkeeping -------------------------------------------------------
    def _advance(self) -> None:
        now = self.env.now
        dt = now - self._t_last
        if dt:
            self.busy_s += self.busy * dt
            self.provisioned_s += (self.ready + self.starting) * dt
            self._t_last = now

    @property
    def provisioned(self) -> int:
        return self.ready + self.starting

    def utilisation_integrals(self) -> tuple[float, float]:
        self._advance()
        return self.busy_s, self.provisioned_s

    # --- queue -------------------------------------------------------------
    def submit(self, job: Job) -> None:
        self.queue.append(job)
        self.live += 1
        if self.idle:
            self._dispatch()

    def cancel(self, job: Job) -> None:
        """Drop a queued job (the batcher skips it); no effect once in service."""
        if job.alive and job.start_s < 0:
            job.alive = False
            self.live -= 1

    def drain(self) -> list[Job]:
        """Remove and return every live queued job."""
        jobs = [j for j in self.queue if j.alive]
        for job in jobs:
            job.alive = False
        self.queue.clear()
        self.live = 0
        return jobs

    def _dispatch(self) -> None:
        queue = self.queue
        env = self.env
        while self.idle and self.live:
            while not queue[0].alive:
                queue.popleft()
            if self.live < self.max_size and self.max_wait_s > 0:
                due = queue[0].enq_s + self.max_wait_s
                if env.now < due:
                    if due < self._timer_at:
                        self._timer_at = due
                        env.timeout(due - env.now).callbacks.append(self._on_timer)
                    return
            batch = []
            while len(batch) < self.max_size and queue:
                job = queue.popleft()
                if job.alive:
                    batch.append(job)
            self.live -= len(batch)
            self._start(batch)

    def _on_timer(self, _event: Any) -> None:
        self._timer_at = math.inf
        if self.idle:
            self._dispatch()

    def _start(self, batch: list[Job]) -> None:
        self._advance()
        self.idle -= 1
        self.busy += 1
        now = self.env.now
        b = len(batch)
        work = self.service_s * batch[0].factor * (1.0 + self.per_item * (b - 1))
        end = self.speed.finish_s(now, work)
        record = Batch(batch)
        for job in batch:
            job.start_s = now
            job.batch_size = b
            job.work_s = work / b
            job.batch = record
            self.wait_sum_s += now - job.enq_s
        self.batches += 1
        self.served += b
        self.env.timeout(end - now).callbacks.append(lambda _e: self._finish(record))

    def _release_replica(self) -> None:
        self._advance()
        self.busy -= 1
        if self.to_retire:
            self.to_retire -= 1
            self.ready -= 1
        else:
            self.idle += 1

    def _finish(self, record: Batch) -> None:
        if record.aborted:
            return
        self._release_replica()
        now = self.env.now
        batch = record.jobs
        for job in batch:
            job.end_s = now
        self.on_done(batch, now)
        if self.idle and self.live:
            self._dispatch()

    def abort(self, job: Job) -> bool:
        """Stop serving ``job``'s batch if every job in it was abandoned; True if stopped.

        The replica is free at once and the batch never completes.  A batch
        with a job someone still waits for goes on.
        """
        record = job.batch
        if record is None or record.aborted or not all(j.closed for j in record.jobs):
            return False
        record.aborted = True
        self._release_replica()
        now = self.env.now
        for j in record.jobs:
            j.end_s = now
        if self.idle and self.live:
            self._dispatch()
        return True

    # --- scaling -----------------------------------------------------------
    def add_replicas(self, count: int, cold_start_s: float) -> None:
        """Start ``count`` replicas; each serves after ``cold_start_s`` and costs from now."""
        self._advance()
        self.starting += count
        self.env.timeout(cold_start_s).callbacks.append(lambda _e: self._warm(count))

    def _warm(self, count: int) -> None:
        self._advance()
        self.starting -= count
        self.ready += count
        self.idle += count
        if self.live:
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
