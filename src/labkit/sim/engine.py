"""The request path of one simulated AI service, from user input to answer.

    user -> API layer (validation/auth, rate limit, shedding, deadline)
         -> cache -> [batch store] -> [embed, retrieval, rerank]
         -> primary model (retries, timeouts, breaker, upstream limit)
         -> fallback chain (small model, expired cache, safe message)
         -> [approval review for write actions] -> answer

The engine is event-driven with as little SimPy work per request as the
physics allows: arrivals replay a pre-drawn workload, merged into the event
loop without an event of their own; cache hits, gateway
rejections and fallbacks that need no queue are answered arithmetically,
with no event; a primary-model call costs one event per *batch*; timers
exist only for attempts that have a timeout or a deadline.  Every request
reaches :meth:`Engine.finish` exactly once, which writes its record.
"""

from __future__ import annotations

import math
from math import inf as _INF
from typing import Any

import numpy as np

from labkit.sim.actions import Actions
from labkit.sim.breaker import Breaker
from labkit.sim.cache import HIT, STALE, LRUCache
from labkit.sim.codes import ATTEMPT_CODE as _A
from labkit.sim.codes import CACHE_CODE as _C
from labkit.sim.codes import DEGRADED, OK, REJECTED
from labkit.sim.codes import PATH_BITS as _P
from labkit.sim.codes import REASON_CODE as _R
from labkit.sim.fallback import FallbackChain
from labkit.sim.gateway import TokenBucket
from labkit.sim.load import Workload
from labkit.sim.replicas import Job, ReplicaPool, SpeedProfile
from labkit.sim.request import Request, _Environment
from labkit.sim.retry import AdaptiveThrottle, RetryBudget, backoff_ms
from labkit.sim.steps import PipelineSteps
from labkit.streams import Streams

__all__ = ["Engine"]


class Engine(PipelineSteps, FallbackChain, Actions):
    """Builds the components of one scenario and runs it (see :func:`simulate`)."""

    def __init__(self, scenario: Any, workload: Workload, streams: Streams):
        sc = self.sc = scenario
        self.w = workload
        self.env = env = _Environment()
        self.u_retry = streams.pool("retry")
        self.u_steps = streams.pool("steps")
        self.u_boundary = streams.pool("boundary")
        self.u_faults = streams.pool("faults")
        self.u_guard = streams.pool("guardrail")
        self.harmful = np.zeros(len(workload), dtype=bool)
        self.validate_s = sc.gateway.validate_ms / 1000.0
        self.deadline_s = _INF if sc.gateway.deadline_ms is None else sc.gateway.deadline_ms / 1000.0
        self.timeout_s = _INF if sc.retry.timeout_ms is None else sc.retry.timeout_ms / 1000.0
        self.kill_at = _INF if sc.kill.at_s is None else sc.kill.at_s
        self.limiter = (TokenBucket(rate_per_s=sc.gateway.rate_limit_rps, burst=sc.gateway.burst)
                        if sc.gateway.rate_limit_rps is not None else None)
        self.upstream = (TokenBucket(rate_per_s=sc.model.upstream_limit_rps,
                                     burst=sc.model.upstream_burst)
                         if sc.model.upstream_limit_rps is not None else None)
        world = _INF if sc.world.change_at_s is None else sc.world.change_at_s
        self.world_change = world
        self.cache = (LRUCache(capacity_items=sc.cache.capacity_items, ttl_s=sc.cache.ttl_s,
                               content_change_s=sc.cache.content_change_s,
                               rng=streams.pool("cache"), world_change_s=world)
                      if sc.cache.enabled else None)
        self.budget = (RetryBudget(ratio=sc.retry.budget_ratio, window_s=sc.retry.budget_window_s)
                       if sc.retry.budget_ratio is not None else None)
        self.throttle = (AdaptiveThrottle(k=sc.retry.throttle_k, window_s=sc.retry.throttle_window_s,
                                          uniform=streams.pool("throttle"))
                         if sc.retry.adaptive_throttle else None)
        b = sc.breaker
        self.breaker = (Breaker(failure_rate=b.failure_rate, min_calls=b.min_calls,
                                window_s=b.window_s, open_s=b.open_s,
                                half_open_calls=b.half_open_calls) if b.enabled else None)
        f = sc.fault
        self.outage = (f.outage_start_s, f.outage_start_s + f.outage_duration_s)
        self.slow = (f.slowdown_start_s, f.slowdown_start_s + f.slowdown_duration_s)
        windows = []
        if f.slowdown_duration_s > 0:
            windows.append((self.slow[0], self.slow[1], 1.0 / f.slowdown_factor))
        if f.outage_duration_s > 0 and f.mode == "hang":
            windows.append((self.outage[0], self.outage[1], 0.0))
        self.error_outage = f.outage_duration_s > 0 and f.mode == "error"
        self.pool = ReplicaPool(env, replicas=sc.model.replicas,
                                service_s=sc.model.service_ms / 1000.0,
                                per_item_fraction=sc.model.per_item_fraction,
                                max_size=sc.batch.max_size, max_wait_s=sc.batch.max_wait_ms / 1000.0,
                                on_done=self._model_done, speed=SpeedProfile(windows))
        fb = sc.fallback
        self.small = (ReplicaPool(env, replicas=fb.small_model_replicas,
                                  service_s=fb.small_model_ms / 1000.0, per_item_fraction=0.0,
                                  max_size=1, max_wait_s=0.0, on_done=self._small_done)
                      if "small_model" in fb.chain else None)
        self.review = (ReplicaPool(env, replicas=sc.boundary.reviewers,
                                   service_s=sc.boundary.review_s, per_item_fraction=0.0,
                                   max_size=1, max_wait_s=0.0, on_done=self._review_done)
                       if sc.boundary.policy == "approval" else None)
        self.factors = _service_factors(sc.model, workload, streams)
        self.small_factors = streams["fallback"].exponential(1.0, len(workload)).tolist()
        self.review_factors = streams["review"].exponential(1.0, len(workload)).tolist()
        self.primary_quality = sc.model.quality
        # --- outputs ---------------------------------------------------------
        n = len(workload)
        self.out_end = np.full(n, np.nan)
        self.out_outcome = np.zeros(n, dtype=np.uint8)
        self.out = [None] * n  # the finished Request objects
        self.review_wait = np.full(n, np.nan)
        self.unauthorised = np.zeros(n, dtype=bool)
        self.att: list[tuple] = []   # (req, n, start, end, result, batch, wait_s, model_call)
        self.wasted_s = 0.0
        self.wasted_calls = 0
        self.model_cost = self.steps_cost = self.fallback_cost = 0.0
        self.retries = 0
        self.fallback_calls = 0
        self.steps_calls = {"embed": 0, "retrieval": 0, "rerank": 0}
        self.samples: list[tuple[float, int, int, int, int]] = []
        self.autoscale_log: list[tuple[float, int, int]] = []  # (t_s, replicas, desired)

    # ------------------------------------------------------------------ run
    def run(self) -> None:
        env = self.env
        self._arrivals_done = False
        env.process(self._sampler())
        if self.sc.autoscale.enabled:
            env.process(self._autoscaler())
        if self.kill_at < _INF:
            env.timeout(self.kill_at).callbacks.append(self._throw_kill_switch)
        self._replay_arrivals()
        env.run()

    def _replay_arrivals(self) -> None:
        """Merge the pre-drawn arrivals into the event loop without an event each.

        Events due up to the next arrival are stepped first; then the clock
        moves to the arrival and it is handled directly.  Validation takes the
        same time for every request, so the engine meets each request when its
        validation ends.
        """
        env, w = self.env, self.w
        arrival, prompt, valid, write = (w.arrival_s.tolist(), w.prompt.tolist(),
                                         w.valid.tolist(), w.write.tolist())
        peek, step, lag, deadline = env.peek, env.step, self.validate_s, self.deadline_s
        arrive = self._arrive
        for i, t in enumerate(arrival):
            at = t + lag
            while peek() <= at:
                step()
            env.advance_to(at)
            arrive(Request(i, t, prompt[i], write[i], t + deadline), valid[i])
        self._arrivals_done = True

    def _sampler(self):
        env, pool, horizon = self.env, self.pool, self.sc.load.duration_s
        while True:
            self.samples.append((env.now, pool.live, pool.provisioned, pool.ready, pool.busy))
            if (env.now >= horizon and self._arrivals_done and not pool.live
                    and not pool.busy):
                # Replicas are paid for until the model side has drained; a
                # review queue that outlasts it does not keep them warm.
                self.pool_integrals = pool.utilisation_integrals()
                return
            yield env.timeout(1.0)

    def _autoscaler(self):
        a, env, pool = self.sc.autoscale, self.env, self.pool
        busy0, _ = pool.utilisation_integrals()
        while env.now < self.sc.load.duration_s:
            yield env.timeout(a.interval_s)
            busy1, _ = pool.utilisation_integrals()
            util = (busy1 - busy0) / (a.interval_s * max(pool.ready, 1))
            busy0 = busy1
            current = pool.provisioned
            ratio = util / a.target_utilization
            desired = current if abs(ratio - 1.0) <= 0.1 else math.ceil(pool.ready * ratio)
            desired = min(a.max_replicas, max(a.min_replicas, desired))
            if desired > current:
                pool.add_replicas(desired - current, a.cold_start_s)
            elif desired < current and not pool.starting:
                # Scale down only once every started replica is warm, and never
                # below the floor of ready replicas.
                pool.remove_replicas(current - desired, keep_ready=a.min_replicas)
            self.autoscale_log.append((env.now, current, desired))

    # ----------------------------------------------------------- the request
    def _arrive(self, req: Request, valid: bool) -> None:
        now = self.env.now
        sc = self.sc
        if not valid:
            return self.finish(req, REJECTED, now, "invalid")
        if self.limiter is not None and not self.limiter.take(now):
            return self.finish(req, REJECTED, now, "rate_limited")
        if self.budget is not None:
            self.budget.on_request(now)
        # A write is an action, not a lookup: never answered from a store or cache.
        if sc.serving.pattern == "batch" and not req.write:
            return self._from_store(req, now)
        cache = self.cache
        if cache is not None and not req.write:
            req.path |= _P["cache"]
            state = cache.lookup(req.prompt, now)
            req.cache = _C[state]
            if state == HIT or state == STALE:
                req.stale = state == STALE
                req.quality = sc.fallback.stale_quality if req.stale else self._answer_quality(req)
                if req.stale and now >= self.world_change:
                    req.lag = now - self.world_change
                return self.finish(req, OK, now + sc.cache.hit_ms / 1000.0)
        if now >= self.kill_at:  # the primary is switched off: straight to the fallbacks
            return self._fallback(req, "killed")
        delay = self._steps(req, now)
        if delay:
            self.env.timeout(delay).callbacks.append(lambda _e, req=req: self._attempt(req))
        else:
            self._attempt(req)

    def _answer_quality(self, req: Request) -> float:
        # Before the answer, req.quality holds the gain from retrieval/reranking.
        return min(1.0, self.primary_quality + req.quality)

    # -------------------------------------------------------- primary model
    def _attempt(self, req: Request) -> None:
        now = self.env.now
        if req.done:
            return
        if now >= req.deadline:
            return self._fallback(req, "deadline")
        if now >= self.kill_at:
            return self._fallback(req, "killed")
        req.attempts += 1
        req.path |= _P["model"]
        breaker = self.breaker
        if breaker is not None and breaker.blocked(now):
            self._log(req, now, now, "breaker_open", 0, 0.0, False)
            return self._fallback(req, "breaker_open")
        if self.throttle is not None and not self.throttle.admit(now):
            self._log(req, now, now, "throttled_local", 0, 0.0, False)
            return self._fallback(req, "throttled_local")
        max_queue = self.sc.gateway.max_queue
        if max_queue is not None and self.pool.live >= max_queue:
            if req.attempts == 1:
                return self.finish(req, REJECTED, now, "shed")
            self._log(req, now, now, "shed", 0, 0.0, False)
            return self._failed_attempt(req, "throttled")
        if breaker is not None:
            breaker.allow(now)  # the call is really made: claim a half-open probe slot
        fast_fail = ""
        if self.error_outage and self.outage[0] <= now < self.outage[1]:
            fast_fail = "error"
        elif self.upstream is not None and not self.upstream.take(now):
            fast_fail = "throttled"
        if fast_fail:
            req.calls += 1
            self._log(req, now, now, fast_fail, 0, 0.0, True)
            if breaker is not None:
                breaker.record(now, False)
            if self.throttle is not None:
                self.throttle.on_result(now, False)
            return self._failed_attempt(req, fast_fail)
        req.calls += 1
        job = Job(req, now, self.factors[req.id])
        job.n = req.attempts
        self.pool.submit(job)
        wait = min(self.timeout_s, req.deadline - now)
        if wait < _INF:
            self.env.timeout(wait).callbacks.append(lambda _e, job=job: self._timed_out(job))

    def _model_done(self, batch: list[Job], now: float) -> None:
        sc = self.sc
        err = sc.model.error_rate
        slow_err = sc.fault.error_rate if self.slow[0] <= now < self.slow[1] else 0.0
        erroring = self.error_outage and self.outage[0] <= now < self.outage[1]
        cost = sc.model.cost_per_call
        self.model_cost += cost * len(batch)
        for job in batch:
            req = job.owner
            req.cost += cost
            failed = erroring or (self.w.error_u[req.id] < err if job.n == 1
                                  else self.u_retry() < err)
            if slow_err and not failed:
                failed = self.u_faults() < slow_err
            if job.closed:  # the client already gave up: work nobody waits for
                self.wasted_s += job.work_s
                self.wasted_calls += 1
                continue
            job.closed = True
            self._log(req, job.enq_s, now, "error" if failed else "ok", job.batch_size,
                      job.start_s - job.enq_s, True, job.n)
            if self.breaker is not None:
                self.breaker.record(now, not failed)
            if self.throttle is not None:
                self.throttle.on_result(now, not failed)
            if failed:
                self._failed_attempt(req, "error")
                continue
            req.batch = job.batch_size
            if self.cache is not None:
                self.cache.put(req.prompt, now)
            req.quality = self._answer_quality(req)
            if self._guard(req):
                req.path |= _P["safe_message"]
                req.quality = 0.0
                req.reason = _R["blocked"]
                self._answered(req, DEGRADED, now)
            else:
                self._answered(req, OK, now)

    def _timed_out(self, job: Job) -> None:
        if job.closed:
            return
        job.closed = True
        now = self.env.now
        req = job.owner
        if self.sc.model.cancel_on_timeout:
            if job.start_s < 0:
                self.pool.cancel(job)
            else:
                self.pool.abort(job)
        if self.breaker is not None:
            self.breaker.record(now, False)
        if self.throttle is not None:
            self.throttle.on_result(now, False)
        waited = (job.start_s if job.start_s >= 0 else now) - job.enq_s
        self._log(req, job.enq_s, now, "timeout", job.batch_size, waited, True, job.n)
        self._failed_attempt(req, "timeout")

    def _failed_attempt(self, req: Request, kind: str) -> None:
        now = self.env.now
        sc = self.sc.retry
        if now >= req.deadline:
            return self._fallback(req, "deadline")
        if req.attempts < sc.max_attempts and kind in sc.on:
            wait = backoff_ms(sc.backoff, sc.jitter, req.attempts, sc.base_ms, sc.cap_ms,
                              req.prev_backoff, self.u_retry) / 1000.0
            if now + wait < req.deadline and (self.budget is None or self.budget.try_spend(now)):
                req.prev_backoff = wait * 1000.0
                req.path |= _P["retry"]
                self.retries += 1
                if wait > 0:
                    self.env.timeout(wait).callbacks.append(lambda _e, r=req: self._attempt(r))
                else:
                    self._attempt(req)
                return
        self._fallback(req, kind)

    # ------------------------------------------------------------- records
    def finish(self, req: Request, outcome: int, end: float, reason: str = "") -> None:
        """Write the request's one and only record."""
        if req.done:  # pragma: no cover - guarded by construction
            raise RuntimeError(f"request {req.id} finished twice")
        req.done = True
        req.reason = _R[reason]
        self.out_end[req.id] = end
        self.out_outcome[req.id] = outcome
        self.out[req.id] = req

    def _log(self, req: Request, start: float, end: float, result: str, batch: int,
             wait_s: float, model_call: bool, attempt: int = 0) -> None:
        self.att.append((req.id, attempt or req.attempts, start, end, _A[result], batch, wait_s,
                         model_call))


def _service_factors(model: Any, w: Workload, streams: Streams) -> list[float]:
    """Each request's service-time multiplier (mean 1) for the chosen distribution."""
    u = w.service_u
    if model.service_dist == "deterministic":
        return [1.0] * len(u)
    if model.service_dist == "exponential":
        return (-np.log1p(-u)).tolist()
    sigma2 = math.log1p(model.service_cv ** 2)
    z = streams["service"].standard_normal(len(u))
    return np.exp(-sigma2 / 2.0 + math.sqrt(sigma2) * z).tolist()
