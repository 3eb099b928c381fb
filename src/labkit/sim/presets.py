"""Named scenarios: starting points for labs, benchmarks and experiments.

Each preset is a mapping of knob overrides on top of the catalogue defaults.
``reference`` switches on every mechanism the simulator has, and is what
the benchmark runs; keep it current as mechanisms are added.  Token mode
(``llm.enabled``) replaces the request-level replicas, so one run cannot hold
both: ``reference-tokens`` is ``reference`` served token by token, with paged
KV admission, prefix caching, per-token prices and a tokens-per-minute quota;
``router-cascade`` adds token mode's router (a small model first, escalating to
the large one) and semantic cache, which no other preset switches on.
``agent-support`` is agent mode (``agent.enabled``): tasks that loop over model
and tool calls, with refunds behind human approval.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

__all__ = ["PRESETS", "PRESET_HELP"]

_PRESETS: dict[str, dict[str, Any]] = {
    "default": {},
    "reference": {
        "load.rate_rps": 60.0, "load.duration_s": 120.0, "load.pattern": "spike",
        "load.spike_multiplier": 1.5, "load.spike_start_s": 40.0, "load.spike_duration_s": 20.0,
        "load.invalid_fraction": 0.02, "load.write_fraction": 0.01,
        "gateway.rate_limit_rps": 150.0, "gateway.burst": 40, "gateway.max_queue": 400,
        "gateway.deadline_ms": 3000.0,
        "cache.enabled": True, "cache.capacity_items": 1000, "cache.ttl_s": 60.0,
        "cache.content_change_s": 600.0,
        "embed.enabled": True, "retrieval.enabled": True, "rerank.enabled": True,
        "retrieval.error_rate": 0.01, "steps.skip_when_degraded": True,
        "batch.max_size": 4, "batch.max_wait_ms": 10.0,
        "model.replicas": 4, "model.service_dist": "lognormal", "model.error_rate": 0.02,
        "model.upstream_limit_rps": 120.0,
        "autoscale.enabled": True, "autoscale.min_replicas": 2, "autoscale.max_replicas": 12,
        "autoscale.cold_start_s": 10.0, "autoscale.interval_s": 10.0,
        "fault.outage_start_s": 70.0, "fault.outage_duration_s": 5.0,
        "fault.slowdown_start_s": 90.0, "fault.slowdown_duration_s": 10.0,
        "fault.error_rate": 0.05,
        "retry.max_attempts": 3, "retry.timeout_ms": 1000.0, "retry.budget_ratio": 0.1,
        "retry.adaptive_throttle": True,
        "breaker.enabled": True,
        "fallback.chain": ("small_model", "stale_cache", "safe_message"),
        "boundary.policy": "approval", "boundary.reviewers": 16,
        "world.change_at_s": 100.0,
    },
    "overload": {
        "load.rate_rps": 60.0, "model.replicas": 4,
    },
    "cache-and-batch": {
        "load.rate_rps": 80.0, "cache.enabled": True, "cache.capacity_items": 2000,
        "batch.max_size": 8, "batch.max_wait_ms": 20.0,
    },
    "retry-storm": {
        "load.rate_rps": 40.0, "load.duration_s": 120.0, "model.replicas": 4,
        "model.service_ms": 80.0, "fault.mode": "hang", "fault.outage_start_s": 30.0,
        "fault.outage_duration_s": 10.0, "retry.max_attempts": 4, "retry.timeout_ms": 500.0,
        "retry.backoff": "none", "retry.jitter": "none",
    },
    "chat-assistant": {
        "llm.enabled": True, "llm.scheduler": "continuous", "model.replicas": 2,
        "load.rate_rps": 30.0, "load.duration_s": 120.0,
        "load.prompt_tokens": 400, "load.output_tokens": 250, "load.output_tokens_cv": 0.8,
        "load.shared_prefix_tokens": 200, "llm.prefix_cache": True,
        "model.cost_per_call": 0.0, "budget.p95_ms": 5000.0, "budget.p99_ms": 10000.0,
        "budget.ttft_p95_ms": 500.0, "budget.tpot_p95_ms": 50.0,
    },
    "static-batching": {
        "llm.enabled": True, "llm.scheduler": "static", "model.replicas": 2,
        "load.rate_rps": 30.0, "load.duration_s": 120.0,
        "load.prompt_tokens": 400, "load.output_tokens": 250, "load.output_tokens_cv": 0.8,
        "load.shared_prefix_tokens": 200, "llm.prefix_cache": True,
        "model.cost_per_call": 0.0, "budget.p95_ms": 5000.0, "budget.p99_ms": 10000.0,
        "budget.ttft_p95_ms": 500.0, "budget.tpot_p95_ms": 50.0,
    },
    "quota-bound": {
        "llm.enabled": True, "model.replicas": 4, "load.rate_rps": 10.0,
        "load.duration_s": 180.0, "load.prompt_tokens": 400, "load.output_tokens": 250,
        "model.upstream_tpm": 200_000.0, "model.cost_per_call": 0.0,
        "model.cost_per_1m_input_tokens": 2.5, "model.cost_per_1m_output_tokens": 10.0,
        "model.cost_per_replica_hour": 0.0,
        "retry.max_attempts": 3, "retry.base_ms": 500.0, "retry.cap_ms": 4000.0,
        "fallback.chain": ("small_model", "safe_message"),
        "budget.p95_ms": 5000.0, "budget.p99_ms": 10000.0, "budget.ttft_p95_ms": 500.0,
    },
    "graceful-degradation": {
        "load.rate_rps": 40.0, "model.upstream_limit_rps": 25.0,
        "fault.slowdown_start_s": 20.0, "fault.slowdown_duration_s": 20.0,
        "fallback.chain": ("small_model", "stale_cache", "safe_message"),
        "cache.enabled": True, "retry.max_attempts": 2, "retry.timeout_ms": 600.0,
        "breaker.enabled": True,
    },
}

# reference, served token by token (a copy: the dict above stays as it was).
_PRESETS["reference-tokens"] = {
    **_PRESETS["reference"],
    "llm.enabled": True, "llm.kv_admission": "paged", "llm.prefix_cache": True,
    "llm.kv_capacity_tokens": 40_000, "load.prompt_tokens": 400, "load.output_tokens": 150,
    "load.shared_prefix_tokens": 200, "model.upstream_tpm": 2_000_000.0,
    "model.cost_per_call": 0.0, "gateway.deadline_ms": 8000.0, "retry.timeout_ms": 5000.0,
    "model.cancel_on_timeout": True, "budget.ttft_p95_ms": 500.0, "budget.tpot_p95_ms": 50.0,
}

# Agent mode: a support assistant that reads policy and orders and may issue refunds, each
# refund behind a human approval; a little injected text in what it reads, a guard, budgets.
_PRESETS["agent-support"] = {
    "agent.enabled": True, "load.rate_rps": 0.5, "load.duration_s": 600.0,
    "agent.steps_mean": 4.0, "agent.max_steps": 15, "agent.loop_rate": 0.1,
    "agent.tool_call_rate": 0.9, "agent.write_share": 0.15, "agent.write_policy": "approve",
    "agent.injection_rate": 0.02, "agent.guard_recall": 0.8, "agent.permission_policy": True,
    "agent.budget_usd": 0.025, "agent.budget_s": 300.0,
    "boundary.reviewers": 8, "boundary.review_s": 20.0, "boundary.wrong_write_rate": 0.05,
    "model.replicas": 2, "model.error_rate": 0.01, "retry.max_attempts": 2,
    "retry.timeout_ms": 3000.0, "fallback.chain": ("small_model", "safe_message"),
}

# chat-assistant behind a semantic cache, with a small model answering first (a cascade).
_PRESETS["router-cascade"] = {
    **_PRESETS["chat-assistant"],
    "router.policy": "cascade", "router.small_replicas": 1, "model.quality": 0.85,
    "router.small_quality": 0.6, "router.judge_recall": 0.8, "router.judge_false_alarm": 0.1,
    "llm.semantic_cache": True, "llm.semantic_threshold": 0.9,
    "model.cost_per_1m_input_tokens": 2.5, "model.cost_per_1m_output_tokens": 10.0,
    "budget.quality": 0.75,
}

PRESET_HELP: dict[str, str] = {
    "default": "The catalogue defaults: a steady service with headroom.",
    "reference": "Every mechanism switched on at once; what the benchmark runs.",
    "overload": "Offered load above capacity: queues and tail latency grow without bound.",
    "cache-and-batch": "A cache and a dynamic batcher in front of the model.",
    "retry-storm": "A short outage under high load with immediate retries and no budget.",
    "graceful-degradation": "An upstream rate limit and a slowdown, with a fallback chain.",
    "chat-assistant": "Token mode: a chat assistant on two GPU replicas, continuous batching, "
                      "a cached system prompt.",
    "static-batching": "chat-assistant with static batching: a batch runs until its longest "
                       "answer ends.",
    "quota-bound": "Token mode behind a hosted API whose tokens-per-minute quota bites: "
                   "throttling, retries and fallbacks.",
    "reference-tokens": "reference served token by token: every mechanism with paged KV, "
                        "prefix caching, per-token prices and a token quota.",
    "agent-support": "Agent mode: a support assistant that reads policy and issues refunds "
                     "behind human approval, with budgets, a step cap and an injection guard.",
    "router-cascade": "chat-assistant with a small model answering first, a judge escalating "
                      "weak answers to the large one, and a semantic cache in front.",
}

#: Read-only view of the presets.
PRESETS = MappingProxyType(_PRESETS)
