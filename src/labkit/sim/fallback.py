"""Graceful degradation: the fallback chain and the kill switch.

When the primary cannot answer (errors or timeouts used up, breaker open,
throttled, past the deadline, switched off) the request tries
``fallback.chain`` in order: the *small model* (its own replicas and queue,
cheaper, faster, lower quality; cut short at the request's deadline),
*stale cache* (an expired cached answer, if one is held) and a *safe
message* (always available, quality 0).  An answer from any of them is
``degraded``; with none left the request ``failed``.

The kill switch (``kill.at_s``) sends every request from that moment to the
fallbacks, and reroutes the calls still queued for the primary (for both of
its models when token mode's router has two pools), so the primary gets no
call after it and nothing is lost.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from math import inf as _INF
from typing import TYPE_CHECKING, Any

from labkit.sim.codes import DEGRADED, FAILED, Attempt, Path, Reason
from labkit.sim.replicas import Call, Pool, ReplicaPool
from labkit.sim.request import Request

if TYPE_CHECKING:
    import simpy

    from labkit.sim.cache import LRUCache
    from labkit.sim.config import FallbackConfig, KillConfig
    from labkit.sim.recorder import Recorder

__all__ = ["FallbackChain", "KillSwitch"]


class FallbackChain:
    """The fallbacks of ``fallback.chain``, tried in order when the primary cannot answer.

    ``cache`` is the response cache (for expired answers; ``None``: no cache),
    served in ``cache_hit_s``; ``small_factors`` are the small model's
    per-request service multipliers.  An answer goes to ``answer(request,
    outcome, end_s)``; a request no fallback answers is finished as failed.
    """

    def __init__(self, env: simpy.Environment, config: FallbackConfig, *,
                 cache: LRUCache | None, cache_hit_s: float, small_factors: list[float],
                 answer: Callable[[Request, int, float], None], recorder: Recorder):
        self.env = env
        self.chain = config.chain
        self.cache, self.cache_hit_s = cache, cache_hit_s
        self.small_s = config.small_model_ms / 1000.0
        self.small_cost = config.small_model_cost_per_call
        self.small_quality = config.small_model_quality
        self.stale_quality = config.stale_quality
        self.small_factors = small_factors
        self.answer = answer
        self.recorder = recorder
        self.small_replicas = config.small_model_replicas
        self.small = self._small_pool() if "small_model" in config.chain else None

    def set_chain(self, chain: tuple[str, ...]) -> None:
        """The chain from now on (a scheduled change of ``fallback.chain``); the small model's
        replicas start the first time the chain holds it, warm."""
        self.chain = chain
        if "small_model" in chain and self.small is None:
            self.small = self._small_pool()

    def _small_pool(self) -> ReplicaPool:
        return ReplicaPool(self.env, replicas=self.small_replicas, service_s=self.small_s,
                           per_item_fraction=0.0, max_size=1, max_wait_s=0.0,
                           on_done=self._small_done)

    def start(self, req: Request, reason: int, now: float, position: int = 0) -> None:
        """Try the chain from ``position`` for ``req``, which the primary did not answer
        because of ``reason`` (a Reason code), at time ``now``; fail it if nothing
        answers."""
        req.reason = reason
        chain = self.chain
        for index in range(position, len(chain)):
            option = chain[index]
            if option == "small_model":
                if now + self.small_s < req.deadline:
                    req.path |= Path.SMALL_MODEL
                    self.recorder.fallback_calls += 1
                    call = Call(req, now, self.small_factors[req.id])
                    call.resume_at = index + 1  # where the chain goes on if the deadline hits
                    self.small.submit(call)  # type: ignore[union-attr]
                    if req.deadline < _INF:
                        self.env.timeout(req.deadline - now).callbacks.append(
                            partial(self._small_timed_out, call))
                    return
            elif option == "stale_cache":
                if self.cache is not None and self.cache.has_entry(req.prompt):
                    req.path |= Path.STALE_CACHE
                    req.quality = self.stale_quality
                    return self.answer(req, DEGRADED, now + self.cache_hit_s)
            else:
                req.path |= Path.SAFE_MESSAGE
                req.quality = 0.0
                return self.answer(req, DEGRADED, now)
        self.recorder.finish(req, FAILED, now, reason)

    def _small_timed_out(self, call: Call, _event: object = None) -> None:
        """The deadline passed while the small model still had the request."""
        if call.closed:
            return
        call.closed = True
        self.small.cancel(call)  # type: ignore[union-attr]
        self.start(call.owner, Reason.DEADLINE, self.env.now, call.resume_at)

    def _small_done(self, batch: list[Call], now: float) -> None:
        cost = self.small_cost
        for call in batch:
            req = call.owner
            req.cost += cost
            self.recorder.fallback_cost += cost
            if call.closed:  # answered too late: the deadline handler moved on
                continue
            call.closed = True
            req.quality = self.small_quality
            self.answer(req, DEGRADED, now)


class KillSwitch:
    """``kill.at_s``: from then on the primary gets no calls."""

    def __init__(self, config: KillConfig):
        self.at_s = _INF if config.at_s is None else config.at_s

    def arm(self, env: simpy.Environment, *, primary: Pool, fallback: FallbackChain,
            recorder: Recorder, others: Sequence[Pool] = ()) -> None:
        """Schedule the switch: at ``at_s`` the calls queued for ``primary`` (and for the
        ``others`` pools of the primary model: token mode's router has a small model's
        beside the large one) are rerouted to ``fallback`` (logged as killed attempts in
        ``recorder``).  Calls already in service finish."""
        if self.at_s == _INF:
            return

        def throw(_event: Any) -> None:
            for pool in (primary, *others):
                for call in pool.drain():
                    if call.closed:  # its client gave up already: dead work, just dropped
                        continue
                    call.closed = True
                    req = call.owner
                    req.calls -= 1  # rerouted before any replica saw it: not a model call
                    recorder.attempt(req.id, call.attempt, call.enq_s, env.now, Attempt.KILLED,
                                     0, 0.0, False)
                    fallback.start(req, Reason.KILLED, env.now)

        env.timeout(self.at_s).callbacks.append(throw)
