"""Lab 4's per-learner variants: each learner's workload, prices and agent.

Every graded task draws its numbers from :mod:`labkit.variants` by the learner, so an
answer worked out for one learner fails for most others:

* **T1** (fleet): the *workload* (traffic, prompt and answer lengths, TTFT and TPOT budgets).
  Each workload has its own cheapest fleet: another workload's fleet misses this one's
  budgets or costs more than its cheapest (``tests/labs/test_lab4.py`` checks every pair).
* **T2** (break-even): the provider's per-token prices, the request's token lengths and the
  self-hosted fleet; of two learners with different draws, one's break-even volume fails the
  other's in more than 90% of pairs (a few draws land within the tolerance of each other).
* **T3** (agent): the *agent world* (steps a task needs, loops, injections, guard, price per
  model call) with its completion target and per-task cost ceiling; the step caps that pass
  in one world fail in the others.

>>> sorted(fleet_world(learner="ada"))  # doctest: +NORMALIZE_WHITESPACE
['output_tokens', 'prompt_tokens', 'rate_rps', 'tpot_p95_ms', 'ttft_p95_ms', 'workload']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labkit import variants
from labkit.labs.common import frozen
from labkit.labs.lab4.scenarios import AGENT_BASE, GPUS, TOKEN_BASE

__all__ = ["LAB", "WORKLOADS", "T1_PARAMS", "T2_PARAMS", "PRICE_TIERS", "TRAFFIC", "FLEETS",
           "AGENT_WORLDS", "T3_PARAMS", "t1", "t2", "t3", "fleet_world", "fleet_scenario",
           "break_even_case", "agent_world", "agent_scenario", "VARIANTS"]

LAB = "lab4"

#: T1's workloads: arrivals, mean prompt and answer tokens, and the p95 budgets.
WORKLOADS: Mapping[str, Mapping[str, float]] = frozen({
    # a busy chat assistant with medium prompts: short first-token wait
    "support chat": frozen({"rate_rps": 14.0, "prompt_tokens": 1000, "output_tokens": 200,
                            "ttft_p95_ms": 500.0, "tpot_p95_ms": 50.0}),
    # long code context, fast streaming needed
    "code assistant": frozen({"rate_rps": 8.0, "prompt_tokens": 3000, "output_tokens": 400,
                              "ttft_p95_ms": 800.0, "tpot_p95_ms": 30.0}),
    # short questions, long written answers: decode-bound
    "long answers": frozen({"rate_rps": 10.0, "prompt_tokens": 200, "output_tokens": 800,
                            "ttft_p95_ms": 1000.0, "tpot_p95_ms": 40.0}),
    # a quiet internal tool with relaxed budgets
    "internal tool": frozen({"rate_rps": 3.0, "prompt_tokens": 800, "output_tokens": 250,
                             "ttft_p95_ms": 1000.0, "tpot_p95_ms": 75.0}),
})
T1_PARAMS: Mapping[str, tuple[str, ...]] = frozen({"workload": tuple(WORKLOADS)})

#: T2: a provider's price per million (prompt, output) tokens.
PRICE_TIERS: Mapping[str, tuple[float, float]] = frozen({
    "small model": (0.15, 0.6), "mid model": (1.0, 3.0), "frontier model": (3.0, 15.0)})
#: T2: mean (prompt, output) tokens of a request.
TRAFFIC: Mapping[str, tuple[int, int]] = frozen({
    "chat": (1000, 200), "RAG answers": (2500, 400), "drafting": (400, 500)})
#: T2: the self-hosted fleet (GPU, replicas) kept on around the clock.
FLEETS: Mapping[str, tuple[str, int]] = frozen({
    "2 x A100": ("A100", 2), "1 x H100": ("H100", 1), "4 x L40S": ("L40S", 4)})
T2_PARAMS: Mapping[str, tuple[str, ...]] = frozen({
    "prices": tuple(PRICE_TIERS), "traffic": tuple(TRAFFIC), "fleet": tuple(FLEETS)})

#: T3's agent worlds: the agent knobs, the completion target and the per-task cost ceiling.
AGENT_WORLDS: Mapping[str, Mapping[str, Any]] = frozen({
    # few steps, cheap calls, a weak guard
    "refund helper": frozen({
        "knobs": frozen({"agent.steps_mean": 3, "agent.loop_rate": 0.1,
                         "agent.injection_rate": 0.05, "agent.guard_recall": 0.5,
                         "model.cost_per_call": 0.004}),
        "completion_target": 0.85, "cost_ceiling_usd": 0.044}),
    # loops a lot, more injected text, mid-price calls
    "ticket triage": frozen({
        "knobs": frozen({"agent.steps_mean": 4, "agent.loop_rate": 0.3,
                         "agent.injection_rate": 0.08, "agent.guard_recall": 0.6,
                         "model.cost_per_call": 0.01}),
        "completion_target": 0.78, "cost_ceiling_usd": 0.175}),
    # long plans, expensive calls, a good guard
    "travel booker": frozen({
        "knobs": frozen({"agent.steps_mean": 6, "agent.loop_rate": 0.15,
                         "agent.injection_rate": 0.03, "agent.guard_recall": 0.7,
                         "model.cost_per_call": 0.02}),
        "completion_target": 0.85, "cost_ceiling_usd": 0.45}),
})
T3_PARAMS: Mapping[str, tuple[str, ...]] = frozen({"agent": tuple(AGENT_WORLDS)})


def t1(*, learner: str | None = None) -> variants.Variant:
    """This learner's workload in T1."""
    return variants.draw(LAB, "t1", T1_PARAMS, learner=learner)


def t2(*, learner: str | None = None) -> variants.Variant:
    """This learner's prices, traffic and fleet in T2."""
    return variants.draw(LAB, "t2", T2_PARAMS, learner=learner)


def t3(*, learner: str | None = None) -> variants.Variant:
    """This learner's agent world in T3."""
    return variants.draw(LAB, "t3", T3_PARAMS, learner=learner)


def fleet_world(*, learner: str | None = None) -> Mapping[str, Any]:
    """T1's workload for this learner, with its name."""
    name = t1(learner=learner).workload
    return frozen({"workload": name, **WORKLOADS[name]})


def fleet_scenario(*, learner: str | None = None) -> Mapping[str, Any]:
    """The token-mode knobs of this learner's workload (no fleet yet)."""
    w = fleet_world(learner=learner)
    return frozen({**TOKEN_BASE, "load.rate_rps": w["rate_rps"],
                   "load.prompt_tokens": w["prompt_tokens"],
                   "load.output_tokens": w["output_tokens"]})


def break_even_case(*, learner: str | None = None) -> Mapping[str, Any]:
    """T2's numbers for this learner: API prices per million tokens, mean token lengths,
    and the self-hosted fleet with its price per hour."""
    v = t2(learner=learner)
    price_in, price_out = PRICE_TIERS[v.prices]
    prompt, output = TRAFFIC[v.traffic]
    gpu, replicas = FLEETS[v.fleet]
    return frozen({"prices": v.prices, "traffic": v.traffic, "fleet": v.fleet,
                   "cost_per_1m_input_tokens": price_in, "cost_per_1m_output_tokens": price_out,
                   "prompt_tokens": prompt, "output_tokens": output, "gpu": gpu,
                   "replicas": replicas,
                   "replica_hour_usd": GPUS[gpu]["model.cost_per_replica_hour"]})


def agent_world(*, learner: str | None = None) -> Mapping[str, Any]:
    """T3's agent world for this learner: its name, knobs, target and ceiling."""
    name = t3(learner=learner).agent
    return frozen({"agent": name, **AGENT_WORLDS[name]})


def agent_scenario(*, learner: str | None = None) -> Mapping[str, Any]:
    """The simulator knobs of this learner's agent before the learner's answer."""
    return frozen({**AGENT_BASE, **agent_world(learner=learner)["knobs"]})


#: The draw behind each graded check cell, by the check cell's grade id (what the instructor's
#: tools and the copied-answer test read; ``JUDGES`` is keyed by the answer's name instead).
VARIANTS = {"t1_check": t1, "t2_check": t2, "t3_check": t3}
