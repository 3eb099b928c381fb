"""Closed-form results the simulator should agree with, for tests and for the labs' overlays.

A lab shows a learner two numbers side by side: what the simulation measured and what
queueing, caching and retry theory predicts. This package holds the second number. Every
function is pure (python floats and numpy arrays in and out, no simulation state), states
its units in its argument names (``rate_rps``, ``service_ms``, ``ttl_s``) and refuses input
outside its model with a ValueError naming the argument, the rule and the value.

- ``queues``: M/M/1, M/M/c (Erlang C, wait tail, response-time quantiles, replicas for a p95
  budget), M/G/1 (Pollaczek-Khinchine), Kingman, Allen-Cunneen, Little's law.
- ``caches``: Zipf popularity, Che's approximation for LRU, FIFO, TTL timers, the static bound.
- ``control``: dynamic batching, the token bucket, retries and backoff, retry budgets,
  adaptive throttling, metastable bands, the Kubernetes HPA rule.
- ``llm``: token-level serving of a language model: prefill and decode roofline times, the
  KV-cache capacity, an uncontended request's TTFT, TPOT and latency, the concurrency bound of
  KV reservation and the saturated cohort throughput it implies.
- ``agent``: agent loops: steps a task takes under a step cap (a geometric number of steps
  thinned by loops and tool errors), the share the cap lets finish, the chance a read
  hijacks the agent.

Import everything from here: ``from labkit.sim.theory import mmc, che_lru_hit_ratio``.

>>> round(mmc(rate_rps=8, service_ms=1000, servers=10).wq_ms)
205
"""
from __future__ import annotations

from .agent import (
    completion_probability,
    expected_capped_steps,
    hijack_probability_per_read,
    step_success_probability,
)
from .caches import (
    che_characteristic_time,
    che_item_hit_probabilities,
    che_lru_hit_ratio,
    fifo_hit_ratio,
    static_top_c_bound,
    ttl_cache_hit_ratio,
    ttl_hit_ratio,
    zipf_popularity,
)
from .control import (
    adaptive_throttle_probability,
    backoff_bounds_ms,
    batch_capacity_rps,
    batch_service_ms,
    expected_attempts,
    hpa_desired_replicas,
    layered_attempts,
    light_load_batch_size,
    metastable_band,
    retry_budget_amplification,
    token_bucket_max_admissions,
)
from .llm import (
    LLMRequestTimes,
    LLMStepTimes,
    RouteRates,
    cascade_route,
    classifier_route,
    kv_capacity_tokens,
    llm_step_times,
    reserve_max_seqs,
    saturated_cohort_tokens_s,
    semantic_cache_rates,
    uncontended_llm_request,
)
from .queues import (
    MAX_SERVERS,
    QueueMetrics,
    allen_cunneen,
    erlang_c,
    kingman,
    littles_law,
    md1,
    mg1_pk,
    min_replicas_for_p95,
    mm1,
    mmc,
    mmc_response_quantile_ms,
    mmc_wait_exceeds,
)

__all__ = [
    "step_success_probability", "expected_capped_steps", "completion_probability",
    "hijack_probability_per_read",
    "QueueMetrics", "MAX_SERVERS", "mm1", "erlang_c", "mmc", "mmc_wait_exceeds",
    "mmc_response_quantile_ms", "min_replicas_for_p95", "mg1_pk", "md1", "kingman",
    "allen_cunneen", "littles_law",
    "zipf_popularity", "che_characteristic_time", "che_item_hit_probabilities",
    "che_lru_hit_ratio", "fifo_hit_ratio", "ttl_hit_ratio", "ttl_cache_hit_ratio",
    "static_top_c_bound",
    "batch_service_ms", "batch_capacity_rps", "light_load_batch_size",
    "token_bucket_max_admissions", "expected_attempts", "layered_attempts", "metastable_band",
    "backoff_bounds_ms", "adaptive_throttle_probability", "retry_budget_amplification",
    "hpa_desired_replicas",
    "LLMStepTimes", "LLMRequestTimes", "llm_step_times", "kv_capacity_tokens",
    "uncontended_llm_request", "reserve_max_seqs", "saturated_cohort_tokens_s",
    "RouteRates", "classifier_route", "cascade_route", "semantic_cache_rates",
]
