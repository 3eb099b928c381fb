"""The data path before the model: batch store, embedding, retrieval, reranking.

Scaling data can hurt more than scaling models: every step here runs per
request, adds latency and cost, and can fail.

* **Batch store** (``serving.pattern = batch``): a scheduled job precomputes
  answers; a request reads one in ``serving.store_ms``.  Answers computed
  before ``world.change_at_s`` are stale until the next job run.
* **Embedding, retrieval, reranking**: pure delays (no queue), each with its
  own cost, error rate and quality gain; ``run_fraction`` gates a step to a
  share of requests.  Retrieval checks permissions (``permission_ms``) or,
  without the check, leaks a restricted document now and then.  The index is
  rebuilt every ``index_refresh_s``; after a world change answers stay stale
  until the next rebuild.  ``steps.skip_when_degraded`` skips them while the
  primary is struggling (breaker open, upstream throttling).
"""

from __future__ import annotations

import math

from labkit.sim.breaker import OPEN
from labkit.sim.codes import OK
from labkit.sim.codes import PATH_BITS as _P
from labkit.sim.request import Request

__all__ = ["PipelineSteps"]


class PipelineSteps:
    """Engine mixin: the batch store and the pre-model steps."""

    def _from_store(self, req: Request, now: float) -> None:
        sv = self.sc.serving
        req.path |= _P["store"]
        last_job = math.floor(now / sv.batch_interval_s) * sv.batch_interval_s
        req.stale = last_job < self.world_change <= now
        if req.stale:
            req.lag = now - self.world_change
        req.quality = self.sc.fallback.stale_quality if req.stale else self.primary_quality
        self.finish(req, OK, now + sv.store_ms / 1000.0)

    def _steps(self, req: Request, now: float) -> float:
        """Run the pre-model pipeline steps; returns their total delay (s)."""
        sc = self.sc
        rag = sc.serving.pattern == "rag"
        if not (rag or sc.embed.enabled or sc.retrieval.enabled or sc.rerank.enabled):
            return 0.0
        if sc.steps.skip_when_degraded and self._degraded(now):
            return 0.0
        u = self.u_steps
        delay, gain = 0.0, 0.0
        retrieval_on = rag or sc.retrieval.enabled
        run_retrieval = retrieval_on and u() < sc.retrieval.run_fraction
        if sc.embed.enabled or (rag and run_retrieval):
            delay += sc.embed.latency_ms
            req.cost += sc.embed.cost_per_call
            req.path |= _P["embed"]
            self.steps_calls["embed"] += 1
            if sc.embed.error_rate and u() < sc.embed.error_rate:
                run_retrieval = False  # no query vector, no retrieval
        if run_retrieval:
            r = sc.retrieval
            delay += r.latency_ms
            req.cost += r.cost_per_call
            req.path |= _P["retrieval"]
            self.steps_calls["retrieval"] += 1
            if u() >= r.error_rate:
                gain += r.quality_gain
                if r.permission_check:
                    delay += r.permission_ms
                elif u() < r.restricted_fraction:
                    req.leak = True
                at = now + delay / 1000.0
                if at >= self.world_change:
                    refreshed = math.floor(at / r.index_refresh_s) * r.index_refresh_s
                    if refreshed < self.world_change:
                        req.stale = True
                        req.lag = at - self.world_change
                if sc.rerank.enabled and u() < sc.rerank.run_fraction:
                    delay += sc.rerank.latency_ms
                    req.cost += sc.rerank.cost_per_call
                    if not (sc.rerank.error_rate and u() < sc.rerank.error_rate):
                        gain += sc.rerank.quality_gain
                    req.path |= _P["rerank"]
                    self.steps_calls["rerank"] += 1
        req.quality = gain  # the gain; the model's base quality is added on answer
        self.steps_cost += req.cost
        return delay / 1000.0

    def _degraded(self, now: float) -> bool:
        if self.breaker is not None and self.breaker.state == OPEN:
            return True
        return self.upstream is not None and self.upstream.tokens < 1.0
