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
* **Scheduled jobs** cost money whether or not a request needs them: the
  batch precompute runs, or the index rebuilds while retrieval is on.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from labkit.sim.codes import Path
from labkit.sim.request import Request

if TYPE_CHECKING:
    from labkit.sim.config import EmbedConfig, RerankConfig, RetrievalConfig, ServingConfig, StepsConfig
    from labkit.sim.recorder import Recorder

__all__ = ["DataPath"]


class DataPath:
    """The batch store and the pre-model steps of one run.

    ``degraded(now)`` says whether the primary is struggling right now;
    ``world_change_s`` is when stored answers go stale (``inf``: never);
    ``model_quality`` and ``stale_quality`` score fresh and stale stored
    answers.  Calls and cost of the steps go to ``recorder``.
    """

    def __init__(self, *, serving: ServingConfig, embed: EmbedConfig, retrieval: RetrievalConfig,
                 rerank: RerankConfig, steps: StepsConfig, world_change_s: float,
                 model_quality: float, stale_quality: float, uniform: Callable[[], float],
                 degraded: Callable[[float], bool], recorder: Recorder):
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

    def prepare(self, req: Request, now: float) -> float:
        """Run the pre-model steps for ``req``; returns their total delay (s).

        Leaves the quality they add in ``req.quality`` (the model's own is
        added when it answers).
        """
        if not self.any_step:
            return 0.0
        if self.skip_when_degraded and self.degraded(now):
            return 0.0
        u, rec = self.uniform, self.recorder
        cost_before = req.cost
        delay, gain = 0.0, 0.0
        rag, embed, r, rerank = self.rag, self.embed, self.retrieval, self.rerank
        run_retrieval = (rag or r.enabled) and u() < r.run_fraction
        if embed.enabled or (rag and run_retrieval):
            delay += embed.latency_ms
            req.cost += embed.cost_per_call
            req.path |= Path.EMBED
            rec.steps_calls["embed"] += 1
            if embed.error_rate and u() < embed.error_rate:
                run_retrieval = False  # no query vector, no retrieval
        if run_retrieval:
            delay += r.latency_ms
            req.cost += r.cost_per_call
            req.path |= Path.RETRIEVAL
            rec.steps_calls["retrieval"] += 1
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
                if rerank.enabled and u() < rerank.run_fraction:
                    delay += rerank.latency_ms
                    req.cost += rerank.cost_per_call
                    if not (rerank.error_rate and u() < rerank.error_rate):
                        gain += rerank.quality_gain
                    req.path |= Path.RERANK
                    rec.steps_calls["rerank"] += 1
        req.quality = gain
        rec.steps_cost += req.cost - cost_before
        return delay / 1000.0

    def job_cost(self, duration_s: float) -> float:
        """What the scheduled jobs of a run of ``duration_s`` cost."""
        sv = self.serving
        if self.from_batch_store:
            return math.ceil(duration_s / sv.batch_interval_s) * sv.batch_job_cost
        if self.rag or self.retrieval.enabled:
            r = self.retrieval
            return math.ceil(duration_s / r.index_refresh_s) * r.index_rebuild_cost
        return 0.0
