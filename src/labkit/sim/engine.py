"""The request path of one simulated AI service, from user input to answer.

    user -> gateway (validation/auth, rate limit, deadline)
         -> cache -> data path ([batch store] or [embed, retrieval, rerank])
         -> primary model (breaker, throttling, shedding, upstream limit,
            batcher and replicas, faults, timeouts, retries)
         -> fallback chain (small model, expired cache, safe message)
         -> guardrail -> write boundary ([approval review]) -> answer

:class:`Engine` builds one object per component from the scenario's
configs, each with explicit inputs (its config, its random stream, the
components it talks to, callbacks), and holds the order above; the
components never reach into each other.  A
:class:`~labkit.sim.recorder.Recorder` owns everything the run records.

The engine is event-driven with as little SimPy work per request as the
physics allows: arrivals replay a pre-drawn workload, merged into the event
loop without an event of their own; cache hits, gateway rejections and
fallbacks that need no queue are answered arithmetically, with no event; a
primary-model call costs one event per *batch*; timers exist only for
attempts that have a timeout or a deadline.  In token mode (``llm.enabled``)
the replicas are a :class:`~labkit.sim.tokenpool.TokenPool`, which costs one
event per run of decode iterations; calls are priced per token as well and
an upstream tokens-per-minute quota may throttle them.  In agent mode
(``agent.enabled``) the arrivals are tasks: an
:class:`~labkit.sim.agent.AgentLoop` sends each step's model call into
:meth:`Engine._arrive` as a request of its own.  Every request reaches
:meth:`Recorder.finish <labkit.sim.recorder.Recorder.finish>` exactly once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial
from math import inf as _INF
from typing import TYPE_CHECKING

import numpy as np

from labkit.knobs import KnobError
from labkit.sim.actions import Guardrail, WriteBoundary
from labkit.sim.agent import AgentLoop, AgentRecorder, Draws, call_workload
from labkit.sim.autoscaler import Autoscaler
from labkit.sim.breaker import OPEN, Breaker
from labkit.sim.cache import HIT, STALE, LRUCache
from labkit.sim.codes import DEGRADED, OK, REJECTED, Attempt, Path, Reason
from labkit.sim.datapath import DataPath
from labkit.sim.fallback import FallbackChain, KillSwitch
from labkit.sim.faults import Faults
from labkit.sim.gateway import Gateway, TokenBucket, TokenQuota
from labkit.sim.load import Workload
from labkit.sim.recorder import Recorder
from labkit.sim.replicas import Call, Pool, ReplicaPool
from labkit.sim.request import ReplayEnvironment, Request
from labkit.sim.retry import AdaptiveThrottle, RetryPolicy
from labkit.sim.router import LARGE, SMALL, Router
from labkit.sim.semcache import HIT as SEMANTIC_HIT
from labkit.sim.semcache import MISS, SemanticCache
from labkit.sim.sessions import StickyPool, draw_sessions
from labkit.sim.tokenpool import TokenPool
from labkit.sim.tokens import TokenModel, draw_tokens
from labkit.streams import Streams

if TYPE_CHECKING:
    from labkit.sim.config import ModelConfig
    from labkit.sim.result import Result
    from labkit.sim.scenario import Scenario

__all__ = ["Engine", "ArrivalReplay"]

# A call that fails at once, as (attempt result, reason).
_FAST_ERROR = (Attempt.ERROR, Reason.ERROR)
_FAST_THROTTLED = (Attempt.THROTTLED, Reason.THROTTLED)


class ArrivalReplay:
    """Feeds the pre-drawn arrivals into the event loop without an event each.

    Events due up to the next arrival are stepped first; then the clock
    moves to the arrival and it is handled directly.  Validation takes the
    same time (``lag_s``) for every request, so the path meets each request
    when its validation ends.  ``done`` turns true after the last one.
    """

    def __init__(self, env: ReplayEnvironment, workload: Workload, *, lag_s: float,
                 deadline_s: float):
        self.env, self.workload = env, workload
        self.lag_s, self.deadline_s = lag_s, deadline_s
        self.done = False

    def run(self, arrive: Callable[[Request, bool], None]) -> None:
        """Hand every request to ``arrive(request, valid)`` at its time."""
        env, w = self.env, self.workload
        arrival, prompt, valid, write = (w.arrival_s.tolist(), w.prompt.tolist(),
                                         w.valid.tolist(), w.write.tolist())
        peek, step, lag, deadline = env.peek, env.step, self.lag_s, self.deadline_s
        for i, t in enumerate(arrival):
            at = t + lag
            while peek() <= at:
                step()
            env.advance_to(at)
            arrive(Request(i, prompt[i], write[i], t + deadline), valid[i])
        self.done = True


class Engine:
    """Builds the components of one scenario, runs them, and collects the result."""

    def __init__(self, scenario: Scenario, workload: Workload, streams: Streams,
                 changes: Sequence[tuple[float, Scenario]] = ()):
        sc = self.scenario = scenario
        # scheduled changes: (time, the scenario in force from then), checked by
        # labkit.sim.changes.schedule; _apply tells the components at each time
        self.changes = list(changes)
        self.in_force = scenario
        env = self.env = ReplayEnvironment()
        tasks = workload   # agent mode: the arrivals are tasks, the requests their calls
        agent_draws = None
        if sc.agent.enabled:
            agent_draws = Draws(int(streams["agent"].integers(0, 2**63)))
            workload = call_workload(sc.load, tasks, sc.agent.max_steps, agent_draws)
        rec = self.recorder = AgentRecorder(workload) if sc.agent.enabled else Recorder(workload)
        n = len(workload)
        # Retry jitter and the error draws of retried calls share one stream.
        self.u_retry = streams.pool("retry")
        self.u_faults = streams.pool("faults")
        world_change = _INF if sc.world.change_at_s is None else sc.world.change_at_s
        self.world_change = world_change

        self.gateway = Gateway(sc.gateway)
        self.max_queue = self.gateway.max_queue
        self.arrivals = ArrivalReplay(env, tasks, lag_s=self.gateway.validate_s,
                                      deadline_s=self.gateway.deadline_s)
        self.cache = (LRUCache(capacity_items=sc.cache.capacity_items, ttl_s=sc.cache.ttl_s,
                               content_change_s=sc.cache.content_change_s,
                               rng=streams.pool("cache"), world_change_s=world_change)
                      if sc.cache.enabled else None)
        self.cache_hit_s = sc.cache.hit_ms / 1000.0
        self.retry = RetryPolicy(sc.retry, self.u_retry)
        self.retry_budget = self.retry.budget
        self.timeout_s = _INF if sc.retry.timeout_ms is None else sc.retry.timeout_ms / 1000.0
        self.throttle = (AdaptiveThrottle(k=sc.retry.throttle_k,
                                          window_s=sc.retry.throttle_window_s,
                                          uniform=streams.pool("throttle"))
                         if sc.retry.adaptive_throttle else None)
        b = sc.breaker
        self.breaker = (Breaker(failure_rate=b.failure_rate, min_calls=b.min_calls,
                                window_s=b.window_s, open_s=b.open_s,
                                half_open_calls=b.half_open_calls) if b.enabled else None)
        m = sc.model
        self.upstream = (TokenBucket(rate_per_s=m.upstream_limit_rps, burst=m.upstream_burst)
                         if m.upstream_limit_rps is not None else None)
        self.faults = Faults(sc.fault)
        self.error_outage = self.faults.error_outage
        self.token_mode = sc.llm.enabled
        self.quota: TokenQuota | None = None
        self.router: Router | None = None
        self.semcache: SemanticCache | None = None
        self.pool: Pool
        # the primary model's pools by model name when it has more than one (the router's
        # classifier and cascade); sampled, autoscaled and killed together
        self.model_pools: dict[str, Pool] = {}
        if self.token_mode:
            if m.session_affinity or sc.fault.replica_lost_at_s is not None:
                raise KnobError("model.session_affinity and fault.replica_lost_at_s are not "
                                "modelled in token mode (llm.enabled)")
            self.pool = self._token_pool(sc, workload, streams)
        elif m.session_affinity:
            self.pool = self._sticky_pool(sc, workload, streams)
        else:
            self.pool = ReplicaPool(env, replicas=m.replicas, service_s=m.service_ms / 1000.0,
                                    per_item_fraction=m.per_item_fraction,
                                    max_size=sc.batch.max_size,
                                    max_wait_s=sc.batch.max_wait_ms / 1000.0,
                                    on_done=self._model_done, speed=self.faults.speed)
        if not self.model_pools:
            self.model_pools = {"primary": self.pool}
        self.model_quality, self.stale_quality = m.quality, sc.fallback.stale_quality
        self.error_rate, self.cost_per_call = m.error_rate, m.cost_per_call
        self.cancel_on_timeout = m.cancel_on_timeout
        self.factors = _service_factors(m, workload, streams)
        self.error_u = workload.error_u.tolist()
        self.datapath = DataPath(serving=sc.serving, embed=sc.embed, retrieval=sc.retrieval,
                                 rerank=sc.rerank, steps=sc.steps, world_change_s=world_change,
                                 model_quality=m.quality, stale_quality=self.stale_quality,
                                 uniform=streams.pool("steps"), degraded=self._struggling,
                                 recorder=rec, env=env, factors=_exponential(streams, "datapath"))
        self.guardrail = Guardrail(sc.guardrail, streams.pool("guardrail"))
        review_factors = streams["review"].exponential(1.0, n).tolist()
        self.boundary = WriteBoundary(env, sc.boundary, review_factors=review_factors,
                                      uniform=streams.pool("boundary"), recorder=rec,
                                      review_writes=(sc.agent.enabled
                                                     and sc.agent.write_policy == "approve"))
        small_factors = streams["fallback"].exponential(1.0, n).tolist()
        self.fallback = FallbackChain(env, sc.fallback, cache=self.cache,
                                      cache_hit_s=self.cache_hit_s, small_factors=small_factors,
                                      answer=self.boundary.answer, recorder=rec)
        self.kill = KillSwitch(sc.kill)
        self.kill_at = self.kill.at_s
        # every pool of the primary model is scaled by the same rule, each on its own load
        self.autoscalers = ([Autoscaler(sc.autoscale, pool=p, horizon_s=sc.load.duration_s,
                                        recorder=rec) for p in self.model_pools.values()]
                            if sc.autoscale.enabled else [])
        self.agent: AgentLoop | None = None
        if agent_draws is not None:
            self.agent = AgentLoop(env, sc.agent, tasks=tasks, draws=agent_draws,
                                   stride=sc.agent.max_steps, submit=self._arrive,
                                   boundary=self.boundary, kill_at=self.kill_at,
                                   deadline_s=self.gateway.deadline_s,
                                   catalog_size=sc.load.catalog_size,
                                   wrong_write_rate=sc.boundary.wrong_write_rate,
                                   arrivals=self.arrivals)
            rec.attach(self.agent)  # type: ignore[attr-defined]

    def _token_pool(self, sc: Scenario, workload: Workload, streams: Streams) -> TokenPool:
        """Token mode: draw every request's lengths and build the token-serving replicas."""
        m, llm, route = sc.model, sc.llm, sc.router
        policy = route.policy
        physics = TokenModel(llm)
        small = (TokenModel(llm, route.small_params_ratio, route.small_kv_ratio)
                 if policy != "off" else physics)
        capacity = (small.kv_capacity if policy == "small" else physics.kv_capacity
                    if policy in ("off", "large") else min(small.kv_capacity, physics.kv_capacity))
        prefix = sc.load.shared_prefix_tokens if llm.prefix_cache else 0
        prompt_means = None   # load.prompt_tokens changed mid-run: the mean by arrival
        if any(later.load.prompt_tokens != sc.load.prompt_tokens for _, later in self.changes):
            prompt_means = np.full(len(workload), sc.load.prompt_tokens, dtype=np.int64)
            for at_s, later in self.changes:
                prompt_means[workload.arrival_s >= at_s] = later.load.prompt_tokens
        prompt, output = draw_tokens(sc.load, len(workload), streams["tokens"], capacity, prefix,
                                     prompt_means=prompt_means)
        self.recorder.start_tokens(prompt, output)
        self.call_tokens = (prompt + output).tolist()
        self.price_in = m.cost_per_1m_input_tokens / 1e6
        self.price_out = m.cost_per_1m_output_tokens / 1e6
        if m.upstream_tpm is not None:
            self.quota = TokenQuota(per_minute=m.upstream_tpm)
        if llm.semantic_cache:
            self.semcache = SemanticCache(llm, streams["semcache"], len(workload))

        def pool(physics: TokenModel, replicas: int, code: int,
                 speed: object = self.faults.speed) -> TokenPool:
            return TokenPool(self.env, replicas=replicas, model=physics, llm=llm,
                             prompt_tokens=prompt.tolist(), output_tokens=output.tolist(),
                             shared_prefix=prefix, on_done=self._model_done,
                             speed=speed, model_code=code)  # type: ignore[arg-type]

        if policy == "off":
            return pool(physics, m.replicas, 0)
        # the router: "small" and "large" have one pool (the primary); the others two
        pools: dict[int, Pool] = {}
        primary = (pool(small, route.small_replicas, SMALL) if policy == "small"
                   else pool(physics, m.replicas, LARGE))
        pools[SMALL if policy == "small" else LARGE] = primary
        if policy in ("classifier", "cascade"):   # (faults hit the primary, large, pool)
            pools[SMALL] = pool(small, route.small_replicas, SMALL, None)
            self.model_pools = {"large": primary, "small": pools[SMALL]}
        self.router = Router(route, large_quality=m.quality, rng=streams["router"],
                             n=len(workload), pools=pools, prices={
                                 SMALL: (route.small_cost_per_1m_input_tokens / 1e6,
                                         route.small_cost_per_1m_output_tokens / 1e6),
                                 LARGE: (self.price_in, self.price_out)})
        return primary

    def _sticky_pool(self, sc: Scenario, workload: Workload, streams: Streams) -> StickyPool:
        """Stateful mode: draw every request's session and pin sessions to replicas."""
        m = sc.model
        sessions, last = draw_sessions(len(workload), users=m.session_users,
                                       mean_requests=m.session_requests_mean,
                                       rng=streams["sessions"])
        return StickyPool(self.env, replicas=m.replicas, service_s=m.service_ms / 1000.0,
                          per_item_fraction=m.per_item_fraction, max_size=sc.batch.max_size,
                          max_wait_s=sc.batch.max_wait_ms / 1000.0, on_done=self._model_done,
                          sessions=sessions.tolist(), last=last.tolist(),
                          warmup_s=m.session_warmup_ms / 1000.0, moves=m.session_moves,
                          speed=self.faults.speed)

    # ----------------------------------------------------------- run, collect
    def run(self) -> None:
        """Simulate until every request has its outcome and the replicas are idle."""
        env = self.env
        agent = self.agent
        models = self.model_pools
        env.process(self.recorder.sampler(env, self.pool, self.scenario.load.duration_s,
                                          self.arrivals if agent is None else agent,
                                          models=models if len(models) > 1 else None))
        for autoscaler in self.autoscalers:
            env.process(autoscaler.run(env))
        self.kill.arm(env, primary=self.pool, fallback=self.fallback, recorder=self.recorder,
                      others=[p for p in models.values() if p is not self.pool])
        self.faults.arm(env, self.pool)
        for at_s, later in self.changes:
            env.timeout(at_s).callbacks.append(partial(self._apply, later))
        self.arrivals.run(self._arrive if agent is None else agent.start)
        env.run()

    def _apply(self, later: Scenario, _event: object = None) -> None:
        """A scheduled change: from now on the live knobs take ``later``'s values.

        Each component is told through a method of its own; load.prompt_tokens needs nothing
        here (the lengths of requests arriving from now on were drawn with the new mean).
        """
        before, self.in_force = self.in_force, later
        if later.retrieval != before.retrieval:
            self.datapath.set_retrieval(later.retrieval)
        m0, m1 = before.model, later.model
        if m1.replicas > m0.replicas:   # each new replica serves after a cold start
            self.pool.add_replicas(m1.replicas - m0.replicas, later.autoscale.cold_start_s)
        for _ in range(m0.replicas - m1.replicas):   # lost as fault.replica_lost_at_s loses one
            self.pool.lose_replica()
        self.error_rate = m1.error_rate   # (model.version: the audit trail reads the result)
        if self.token_mode and m1.upstream_tpm != m0.upstream_tpm:
            if m1.upstream_tpm is None:
                self.quota = None
            elif self.quota is None:
                self.quota = TokenQuota(per_minute=m1.upstream_tpm)
            else:
                self.quota.set_per_minute(m1.upstream_tpm)
        if later.fallback.chain != before.fallback.chain:
            self.fallback.set_chain(later.fallback.chain)

    def collect(self, seed: int) -> Result:
        """The run's :class:`~labkit.sim.result.Result` (after :meth:`run`)."""
        if self.router is not None:
            self.recorder.extra_totals.update(self.router.totals())
        if self.semcache is not None:
            self.recorder.extra_totals.update(self.semcache.totals())
        result = self.recorder.result(
            scenario=self.scenario, seed=seed, pool=self.pool,
            breaker_opens=len(self.breaker.opens) if self.breaker is not None else 0,
            job_cost=self.datapath.job_cost(self.scenario.load.duration_s))
        pool = self.pool   # per-replica load, and the sessions of stateful mode
        if isinstance(pool, StickyPool):
            result.totals.update(pool.session_stats())
        elif isinstance(pool, ReplicaPool):
            result.totals.update(pool.replica_stats())
        return result

    # ----------------------------------------------------------- the request
    def _arrive(self, req: Request, valid: bool) -> None:
        now = self.env.now
        rec = self.recorder
        refused = self.gateway.refuse(valid, now)
        if refused:
            return rec.finish(req, REJECTED, now, refused)
        if self.retry_budget is not None:   # the budget counts admitted requests
            self.retry_budget.on_request(now)
        datapath = self.datapath
        # A write is an action, not a lookup: never answered from a store or cache.
        if datapath.from_batch_store and not req.write:
            return rec.finish(req, OK, datapath.from_store(req, now), Reason.NONE)
        cache = self.cache
        if cache is not None and not req.write:
            req.path |= Path.CACHE
            state = req.cache = cache.lookup(req.prompt, now)
            if state == HIT or state == STALE:
                req.stale = state == STALE
                # A fresh hit is the model's answer without the data path's gain.
                req.quality = (self.stale_quality if req.stale
                               else min(1.0, self.model_quality + req.quality))
                if req.stale and now >= self.world_change:
                    req.lag = now - self.world_change
                return rec.finish(req, OK, now + self.cache_hit_s, Reason.NONE)
        sem = self.semcache
        if sem is not None and not req.write:   # token mode's semantic cache
            verdict = sem.lookup(req.id)
            if verdict != MISS:   # a false hit serves a wrong answer
                req.quality = self.model_quality if verdict == SEMANTIC_HIT else 0.0
                return rec.finish(req, OK, now + sem.lookup_s, Reason.NONE)
            if sem.lookup_s:
                self.env.timeout(sem.lookup_s).callbacks.append(partial(self._to_model, req))
                return None
        self._to_model(req)

    def _to_model(self, req: Request, _event: object = None) -> None:
        """Past the caches: the kill switch, the data path, then the first attempt."""
        now = self.env.now
        if now >= self.kill_at:  # the primary is switched off: straight to the fallbacks
            return self.fallback.start(req, Reason.KILLED, now)
        datapath = self.datapath
        if datapath.queued:   # steps with servers and queues, or random step times
            return datapath.start(req, now, self._attempt)
        delay = datapath.prepare(req, now)
        if delay:
            self.env.timeout(delay).callbacks.append(partial(self._attempt, req))
        else:
            self._attempt(req)

    def _struggling(self, now: float) -> bool:
        """Whether the primary is struggling: breaker open or upstream out of tokens."""
        if self.breaker is not None and self.breaker.state == OPEN:
            return True
        return self.upstream is not None and self.upstream.tokens < 1.0

    # -------------------------------------------------------- primary model
    def _attempt(self, req: Request, _event: object = None) -> None:
        now = self.env.now
        if req.done:
            return
        if now >= req.deadline:
            return self.fallback.start(req, Reason.DEADLINE, now)
        if now >= self.kill_at:
            return self.fallback.start(req, Reason.KILLED, now)
        rec = self.recorder
        req.attempts += 1
        req.path |= Path.MODEL
        breaker, throttle = self.breaker, self.throttle
        if breaker is not None and breaker.blocked(now):
            rec.attempt(req.id, req.attempts, now, now, Attempt.BREAKER_OPEN, 0, 0.0, False)
            return self.fallback.start(req, Reason.BREAKER_OPEN, now)
        if throttle is not None and not throttle.admit(now):
            rec.attempt(req.id, req.attempts, now, now, Attempt.THROTTLED_LOCAL, 0, 0.0, False)
            return self.fallback.start(req, Reason.THROTTLED_LOCAL, now)
        if self.max_queue is not None and self.pool.queued >= self.max_queue:  # shed
            if req.attempts == 1:
                return rec.finish(req, REJECTED, now, Reason.SHED)
            rec.attempt(req.id, req.attempts, now, now, Attempt.SHED, 0, 0.0, False)
            return self._failed_attempt(req, Reason.THROTTLED, now)
        if breaker is not None:
            breaker.allow(now)  # the call is really made: claim a half-open probe slot
        fast_fail = self._fast_fail(req, now)
        req.calls += 1
        if fast_fail is not None:
            result, reason = fast_fail
            rec.attempt(req.id, req.attempts, now, now, result, 0, 0.0, True)
            if breaker is not None:
                breaker.record(now, False)
            if throttle is not None:
                throttle.on_result(now, False)
            return self._failed_attempt(req, reason, now)
        call = Call(req, now, self.factors[req.id])
        call.attempt = req.attempts
        (self.pool if self.router is None else self.router.pool_for(req.id)).submit(call)
        wait = min(self.timeout_s, req.deadline - now)
        if wait < _INF:
            self.env.timeout(wait).callbacks.append(partial(self._timed_out, call))

    def _fast_fail(self, req: Request, now: float) -> tuple[int, int] | None:
        """How a call made now fails at once, as (attempt result, reason), if it does: an
        outage in error mode, or the upstream's calls-per-second limit or token quota
        refusing it (each takes its share when it admits the call)."""
        if self.error_outage and self.faults.failing_fast(now):
            return _FAST_ERROR
        if self.upstream is not None and not self.upstream.take(now):
            return _FAST_THROTTLED
        if self.quota is not None and not self.quota.take(now, self.call_tokens[req.id]):
            return _FAST_THROTTLED
        return None

    def _model_done(self, batch: list[Call], now: float) -> None:
        rec, faults = self.recorder, self.faults
        err, error_u, u_retry = self.error_rate, self.error_u, self.u_retry
        slow_err = faults.extra_error_rate(now)
        erroring = self.error_outage and faults.failing_fast(now)
        cost = self.cost_per_call
        rec.model_cost += cost * len(batch)
        token_mode, router = self.token_mode, self.router
        for call in batch:
            req = call.owner
            req.cost += cost
            if token_mode:   # per-token prices on top of the call's price
                seq = call.seq
                extra = (seq.prompt * self.price_in + seq.out * self.price_out
                         if router is None else router.bill(call, cost))
                rec.model_cost += extra
                req.cost += extra
            failed = erroring or (error_u[req.id] < err if call.attempt == 1 else u_retry() < err)
            if slow_err and not failed:
                failed = self.u_faults() < slow_err
            if call.closed:  # the client already gave up: work nobody waits for
                rec.wasted_s += call.work_s
                rec.wasted_calls += 1
                if token_mode:
                    rec.token_call(req, call.seq, answered=False)
                continue
            call.closed = True
            if router is not None and not failed and router.escalates(call):
                if token_mode:
                    rec.token_call(req, call.seq, answered=False)
                self._escalate(req, call, now)
                continue
            rec.attempt(req.id, call.attempt, call.enq_s, now,
                        Attempt.ERROR if failed else Attempt.OK, call.batch_size,
                        call.start_s - call.enq_s, True)
            if self.breaker is not None:
                self.breaker.record(now, not failed)
            if self.throttle is not None:
                self.throttle.on_result(now, not failed)
            if failed:
                if token_mode:
                    rec.token_call(req, call.seq, answered=False)
                self._failed_attempt(req, Reason.ERROR, now)
                continue
            req.batch = call.batch_size
            if token_mode:
                rec.token_call(req, call.seq, answered=True)
            if self.cache is not None:
                self.cache.put(req.prompt, now)
            quality = self.model_quality if router is None else router.answered(call)
            req.quality = min(1.0, quality + req.quality)  # req.quality: the gain
            if self.guardrail.blocks(req):
                req.path |= Path.SAFE_MESSAGE
                req.quality = 0.0
                req.reason = Reason.BLOCKED
                self.boundary.answer(req, DEGRADED, now)
            else:
                self.boundary.answer(req, OK, now)

    def _timed_out(self, call: Call, _event: object = None) -> None:
        if call.closed:
            return
        call.closed = True
        now = self.env.now
        req = call.owner
        if self.cancel_on_timeout:
            pool = self.pool if self.router is None else self.router.pool_of(call)
            if call.start_s < 0:
                pool.cancel(call)
            else:
                pool.abort(call)
        if self.breaker is not None:
            self.breaker.record(now, False)
        if self.throttle is not None:
            self.throttle.on_result(now, False)
        waited = (call.start_s if call.start_s >= 0 else now) - call.enq_s
        self.recorder.attempt(req.id, call.attempt, call.enq_s, now, Attempt.TIMEOUT,
                              call.batch_size, waited, True)
        self._failed_attempt(req, Reason.TIMEOUT, now)

    def _escalate(self, req: Request, call: Call, now: float) -> None:
        """The router's judge found the small model's answer weak: the same attempt goes on
        to the large model, with what is left of its timeout.  The small call counts as a
        success for the breaker and the adaptive throttle; the large call then meets the
        kill switch, the breaker, the throttle, an error outage, the upstream limit and the
        token quota as a first call does, and takes the same way out when refused (the
        attempt log keeps one row for the attempt: its large call, or why it was refused)."""
        rec = self.recorder
        wait_s = call.start_s - call.enq_s
        if now >= self.kill_at:   # the large (primary) model is switched off
            rec.attempt(req.id, call.attempt, call.enq_s, now, Attempt.KILLED,
                        call.batch_size, wait_s, True)
            return self.fallback.start(req, Reason.KILLED, now)
        breaker, throttle = self.breaker, self.throttle
        if breaker is not None:
            breaker.record(now, True)
        if throttle is not None:
            throttle.on_result(now, True)
        if breaker is not None and breaker.blocked(now):
            rec.attempt(req.id, call.attempt, call.enq_s, now, Attempt.BREAKER_OPEN,
                        call.batch_size, wait_s, True)
            return self.fallback.start(req, Reason.BREAKER_OPEN, now)
        if throttle is not None and not throttle.admit(now):
            rec.attempt(req.id, call.attempt, call.enq_s, now, Attempt.THROTTLED_LOCAL,
                        call.batch_size, wait_s, True)
            return self.fallback.start(req, Reason.THROTTLED_LOCAL, now)
        if breaker is not None:
            breaker.allow(now)
        fast_fail = self._fast_fail(req, now)
        if fast_fail is not None:
            result, reason = fast_fail
            rec.attempt(req.id, call.attempt, call.enq_s, now, result, call.batch_size,
                        wait_s, True)
            if breaker is not None:
                breaker.record(now, False)
            if throttle is not None:
                throttle.on_result(now, False)
            return self._failed_attempt(req, reason, now)
        big = Call(req, now, call.factor)
        big.attempt = call.attempt
        assert self.router is not None
        self.router.pools[LARGE].submit(big)
        wait = min(call.enq_s + self.timeout_s, req.deadline) - now
        if wait < _INF:
            self.env.timeout(max(0.0, wait)).callbacks.append(partial(self._timed_out, big))

    def _failed_attempt(self, req: Request, reason: int, now: float) -> None:
        if now >= req.deadline:
            return self.fallback.start(req, Reason.DEADLINE, now)
        wait = self.retry.wait_s(req, reason, now)
        if wait is None:
            return self.fallback.start(req, reason, now)
        req.path |= Path.RETRY
        self.recorder.retries += 1
        if wait > 0:
            self.env.timeout(wait).callbacks.append(partial(self._attempt, req))
        else:
            self._attempt(req)


def _exponential(streams: Streams, name: str) -> Callable[[], float]:
    """Exponential draws of mean 1 from stream ``name``, one per call (drawn only when used)."""
    uniform = streams.pool(name)
    return lambda: -math.log1p(-uniform())


def _service_factors(model: ModelConfig, w: Workload, streams: Streams) -> list[float]:
    """Each request's service-time multiplier (mean 1) for the chosen distribution."""
    u = w.service_u
    if model.service_dist == "deterministic":
        return [1.0] * len(u)
    if model.service_dist == "exponential":
        return (-np.log1p(-u)).tolist()
    sigma2 = math.log1p(model.service_cv ** 2)
    z = streams["service"].standard_normal(len(u))
    return np.exp(-sigma2 / 2.0 + math.sqrt(sigma2) * z).tolist()
