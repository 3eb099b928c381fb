"""The data path before the model: batch store, embedding, retrieval, reranking.

Scaling data can hurt more than scaling models: every step here runs per
request, adds latency and cost, and can fail.

* **Batch store** (``serving.pattern = batch``): a scheduled job precomputes
  answers; a request reads one in ``serving.store_ms``.  Answers computed
  before ``world.change_at_s`` are stale until the next job run.
* **Embedding, retrieval, reranking**: each with its own latency, cost, error
  rate and quality gain; ``run_fraction`` gates a step to a share of
  requests.  Retrieval checks permissions (``permission_ms``) or, without the
  check, leaks a restricted document now and then.  The index is rebuilt
  every ``index_refresh_s``; after a world change answers stay stale until
  the next rebuild.  ``steps.skip_when_degraded`` skips them while the
  primary is struggling (breaker open, upstream throttling).
* **Capacity**: a step with ``servers`` set serves that many calls at once;
  the rest wait in a first-come, first-served queue (a retrieval holds its
  server for the lookup and the permission check), so a step can top out at
  ``servers / latency`` calls per second and become the bottleneck.  A
  request whose deadline has passed when its turn comes skips the steps
  still ahead (the model side then sends it to the fallbacks).  Without
  capacity a step is a pure delay.  ``steps.service_dist`` makes each call's
  time exponential around ``latency_ms`` (drawn per request from the run's
  ``datapath`` stream, so a change of capacity leaves every draw in place).
* **Scheduled jobs** cost money whether or not a request needs them: the
  batch precompute runs, or the index rebuilds while retrieval is on.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from labkit.sim.codes import Path
from labkit.sim.request import Request

if TYPE_CHECKING:
    import simpy

    from labkit.sim.config import EmbedConfig, RerankConfig, RetrievalConfig, ServingConfig, StepsConfig
    from labkit.sim.recorder import Recorder

__all__ = ["DataPath", "Hop", "HOPS"]

#: The pre-model steps, in request-path order (the index of a stage's step).
HOPS: tuple[str, ...] = ("embed", "retrieval", "rerank")
_EMBED, _RETRIEVAL, _RERANK = range(3)

# One stage of a request's plan: (hop index, ms, cost, path bit, a call of the hop, check
# the index's freshness when it ends).  Retrieval's permission check is a stage of its own.
Stage = tuple[int, float, float, int, bool, bool]


class Hop:
    """One step's servers: ``servers`` calls at a time (None: unlimited), a FIFO queue.

    A job is ``(start, seconds)``: ``start(now)`` runs when a server takes it,
    returning False to give the server back at once (nothing to do any more);
    the server is then held for ``seconds``, after which ``done(now)`` runs.
    Waits, calls and busy time are kept for the run's summary.
    """

    def __init__(self, env: simpy.Environment, servers: int | None):
        self.env, self.servers = env, servers
        self.busy = 0
        self.queue: deque[tuple[float, Callable[[float], bool], float, Callable[[float], None]]]
        self.queue = deque()
        self.waits: list[float] = []     # seconds each call waited for a server
        self.busy_s = 0.0                # server-seconds of work done

    def submit(self, start: Callable[[float], bool], seconds: float,
               done: Callable[[float], None]) -> None:
        """Serve a call now if a server is free, else queue it."""
        now = self.env.now
        if self.servers is None or self.busy < self.servers:
            self._run(now, now, start, seconds, done)
        else:
            self.queue.append((now, start, seconds, done))

    def _run(self, now: float, since: float, start: Callable[[float], bool], seconds: float,
             done: Callable[[float], None]) -> None:
        if not start(now):
            return
        self.busy += 1
        self.waits.append(now - since)
        self.busy_s += seconds
        self.env.timeout(seconds).callbacks.append(partial(self._finish, done))

    def _finish(self, done: Callable[[float], None], _event: object = None) -> None:
        now = self.env.now
        self.busy -= 1
        done(now)
        queue = self.queue
        while queue and (self.servers is None or self.busy < self.servers):
            self._run(now, *queue.popleft())

    def stats(self) -> dict[str, Any]:
        """Servers (None: unlimited), each served call's wait (s), busy server-seconds."""
        return {"servers": self.servers, "waits_s": list(self.waits), "busy_s": self.busy_s}


class DataPath:
    """The batch store and the pre-model steps of one run.

    ``degraded(now)`` says whether the primary is struggling right now;
    ``world_change_s`` is when stored answers go stale (``inf``: never);
    ``model_quality`` and ``stale_quality`` score fresh and stale stored
    answers.  Calls and cost of the steps go to ``recorder``.  With capacity
    on a step or exponential step times (``queued``), requests go through
    :meth:`start` on ``env`` with per-request time factors ``factors(i)``.
    """

    def __init__(self, *, serving: ServingConfig, embed: EmbedConfig, retrieval: RetrievalConfig,
                 rerank: RerankConfig, steps: StepsConfig, world_change_s: float,
                 model_quality: float, stale_quality: float, uniform: Callable[[], float],
                 degraded: Callable[[float], bool], recorder: Recorder,
                 env: simpy.Environment | None = None,
                 factors: Callable[[], float] | None = None):
        self.serving, self.embed, self.retrieval, self.rerank = serving, embed, retrieval, rerank
        self.skip_when_degraded = steps.skip_when_degraded
        self.world_change = world_change_s
        self.model_quality, self.stale_quality = model_quality, stale_quality
        self.uniform = uniform
        self.degraded = degraded
        self.recorder = recorder
        self.from_batch_store = serving.pattern == "batch"
        self.rag = serving.pattern == "rag"
        self.any_step = self.rag or embed.enabled or retrieval.enabled or rerank.enabled
        capacity = (embed.servers, retrieval.servers, rerank.servers)
        self.exponential = steps.service_dist == "exponential"
        self.queued = self.any_step and (self.exponential or any(c is not None for c in capacity))
        self.hops: tuple[Hop, ...] = ()
        if self.queued:
            if env is None or (self.exponential and factors is None):
                raise ValueError("a data path with capacity or exponential step times needs env "
                                 "(and factors for exponential times)")
            self.hops = tuple(Hop(env, c) for c in capacity)
            recorder.hops = self.hops
        self.factors = factors

    def set_retrieval(self, retrieval: RetrievalConfig) -> None:
        """Retrieval's config from now on (a scheduled change of a live ``retrieval.*``
        knob): requests whose steps are planned from now on use it."""
        self.retrieval = retrieval

    def from_store(self, req: Request, now: float) -> float:
        """Answer ``req`` from the batch store; returns when the answer is ready."""
        sv = self.serving
        req.path |= Path.STORE
        last_job = math.floor(now / sv.batch_interval_s) * sv.batch_interval_s
        req.stale = last_job < self.world_change <= now
        if req.stale:
            req.lag = now - self.world_change
        req.quality = self.stale_quality if req.stale else self.model_quality
        return now + sv.store_ms / 1000.0

    def _plan(self, req: Request, now: float) -> list[Stage]:
        """Draw which steps ``req`` runs and how they go; leaves the quality they add in
        ``req.quality`` (the model's own is added when it answers) and any leak."""
        if not self.any_step:
            return []
        if self.skip_when_degraded and self.degraded(now):
            return []
        u = self.uniform
        stages: list[Stage] = []
        gain = 0.0
        rag, embed, r, rerank = self.rag, self.embed, self.retrieval, self.rerank
        run_retrieval = (rag or r.enabled) and u() < r.run_fraction
        if embed.enabled or (rag and run_retrieval):
            stages.append((_EMBED, embed.latency_ms, embed.cost_per_call, Path.EMBED, True, False))
            if embed.error_rate and u() < embed.error_rate:
                run_retrieval = False  # no query vector, no retrieval
        if run_retrieval:
            ok = u() >= r.error_rate
            checked = ok and r.permission_check
            stages.append((_RETRIEVAL, r.latency_ms, r.cost_per_call, Path.RETRIEVAL, True,
                           ok and not checked))
            if ok:
                gain += r.quality_gain
                if checked:
                    stages.append((_RETRIEVAL, r.permission_ms, 0.0, 0, False, True))
                elif u() < r.restricted_fraction:
                    req.leak = True
                if rerank.enabled and u() < rerank.run_fraction:
                    stages.append((_RERANK, rerank.latency_ms, rerank.cost_per_call, Path.RERANK,
                                   True, False))
                    if not (rerank.error_rate and u() < rerank.error_rate):
                        gain += rerank.quality_gain
        req.quality = gain
        return stages

    def _bill(self, req: Request, stage: Stage) -> None:
        """A stage starts: its call is counted and paid for."""
        hop, _, cost, path, call, _ = stage
        if call:
            req.cost += cost
            req.path |= path
            self.recorder.steps_calls[HOPS[hop]] += 1

    def _freshness(self, req: Request, at: float) -> None:
        """The retrieved documents, read at ``at``, predate a rebuild after the change?"""
        if at >= self.world_change:
            refresh = self.retrieval.index_refresh_s
            refreshed = math.floor(at / refresh) * refresh
            if refreshed < self.world_change:
                req.stale = True
                req.lag = at - self.world_change

    def prepare(self, req: Request, now: float) -> float:
        """Run the pre-model steps of ``req`` as pure delays; returns their total (s).

        Only for a data path that is not :attr:`queued`.
        """
        stages = self._plan(req, now)
        if not stages:
            return 0.0
        cost_before = req.cost
        delay = 0.0
        for stage in stages:
            self._bill(req, stage)
            delay += stage[1]
            if stage[5]:
                self._freshness(req, now + delay / 1000.0)
        self.recorder.steps_cost += req.cost - cost_before
        return delay / 1000.0

    def start(self, req: Request, now: float, then: Callable[[Request], None]) -> None:
        """Send ``req`` through the steps' servers (queued mode); ``then(req)`` when done."""
        stages = self._plan(req, now)
        holds: list[list[Stage]] = []
        for stage in stages:   # one hold of a server per hop (retrieval + permission check)
            if holds and holds[-1][0][0] == stage[0]:
                holds[-1].append(stage)
            else:
                holds.append([stage])
        # each hold's time is drawn now, in arrival order, so capacity changes no draw
        draw = self.factors if self.exponential else None
        seconds = [sum(s[1] for s in hold) / 1000.0 * (draw() if draw else 1.0) for hold in holds]
        self._next(req, holds, seconds, 0, then)

    def _next(self, req: Request, holds: list[list[Stage]], seconds: list[float], i: int,
              then: Callable[[Request], None]) -> None:
        if i == len(holds):
            return then(req)
        hold = holds[i]

        def start(now: float) -> bool:
            if now >= req.deadline:     # nobody waits for it any more: skip what is left
                then(req)
                return False
            cost_before = req.cost
            for stage in hold:
                self._bill(req, stage)
            self.recorder.steps_cost += req.cost - cost_before
            return True

        def done(now: float) -> None:
            if hold[-1][5]:
                self._freshness(req, now)
            self._next(req, holds, seconds, i + 1, then)

        self.hops[hold[0][0]].submit(start, seconds[i], done)

    def job_cost(self, duration_s: float) -> float:
        """What the scheduled jobs of a run of ``duration_s`` cost."""
        sv = self.serving
        if self.from_batch_store:
            return math.ceil(duration_s / sv.batch_interval_s) * sv.batch_job_cost
        if self.rag or self.retrieval.enabled:
            r = self.retrieval
            return math.ceil(duration_s / r.index_refresh_s) * r.index_rebuild_cost
        return 0.0
