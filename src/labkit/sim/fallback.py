"""Graceful degradation: the fallback chain and the kill switch.

When the primary cannot answer (errors or timeouts used up, breaker open,
throttled, past the deadline, switched off) the request tries
``fallback.chain`` in order: the *small model* (its own replicas and queue,
cheaper, faster, lower quality; cut short at the request's deadline),
*stale cache* (an expired cached answer, if one is held) and a *safe
message* (always available, quality 0).  An answer from any of them is
``degraded``; with none left the request ``failed``.

The kill switch (``kill.at_s``) sends every request from that moment to the
fallbacks, and reroutes the calls still queued for the primary, so the
primary gets no call after it and nothing is lost.
"""

from __future__ import annotations

from math import inf as _INF
from typing import Any

from labkit.sim.codes import DEGRADED, FAILED
from labkit.sim.codes import PATH_BITS as _P
from labkit.sim.codes import REASON_CODE as _R
from labkit.sim.replicas import Job
from labkit.sim.request import Request

__all__ = ["FallbackChain"]


class FallbackChain:
    """Engine mixin: the fallback chain and the kill switch."""

    def _throw_kill_switch(self, _event: Any) -> None:
        for job in self.pool.drain():
            if job.closed:  # its client gave up already: dead work, just dropped
                continue
            job.closed = True
            job.owner.calls -= 1  # rerouted before any replica saw it: not a model call
            self._log(job.owner, job.enq_s, self.env.now, "killed", 0, 0.0, False, job.n)
            self._fallback(job.owner, "killed")

    def _fallback(self, req: Request, reason: str, start: int = 0) -> None:
        """Try the fallback chain from position ``start``; fail if nothing answers."""
        now = self.env.now
        req.reason = _R[reason]
        fb = self.sc.fallback
        for index in range(start, len(fb.chain)):
            option = fb.chain[index]
            if option == "small_model":
                if now + fb.small_model_ms / 1000.0 < req.deadline:
                    req.path |= _P["small_model"]
                    self.fallback_calls += 1
                    job = Job(req, now, self.small_factors[req.id])
                    job.n = index  # where the chain resumes if the deadline cuts it short
                    self.small.submit(job)
                    if req.deadline < _INF:
                        self.env.timeout(req.deadline - now).callbacks.append(
                            lambda _e, job=job: self._small_timed_out(job))
                    return
            elif option == "stale_cache":
                if self.cache is not None and self.cache.has_entry(req.prompt):
                    req.path |= _P["stale_cache"]
                    req.quality = fb.stale_quality
                    return self._answered(req, DEGRADED, now + self.sc.cache.hit_ms / 1000.0)
            else:
                req.path |= _P["safe_message"]
                req.quality = 0.0
                return self._answered(req, DEGRADED, now)
        self.finish(req, FAILED, now, reason)

    def _small_timed_out(self, job: Job) -> None:
        """The deadline passed while the small model still had the request."""
        if job.closed:
            return
        job.closed = True
        self.small.cancel(job)
        self._fallback(job.owner, "deadline", job.n + 1)

    def _small_done(self, batch: list[Job], now: float) -> None:
        fb = self.sc.fallback
        for job in batch:
            req = job.owner
            req.cost += fb.small_model_cost_per_call
            self.fallback_cost += fb.small_model_cost_per_call
            if job.closed:  # answered too late: the deadline handler moved on
                continue
            job.closed = True
            req.quality = fb.small_model_quality
            self._answered(req, DEGRADED, now)
