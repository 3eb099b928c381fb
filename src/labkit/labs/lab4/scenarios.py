"""Lab 4's scenarios: GPUs, workloads, agents and the budgets of the graded tasks, written once.

Every scenario is a dict of :mod:`labkit.sim` knobs shared by the notebook, the tables and
the judges; the runs built from them are in ``analysis`` and each learner's own numbers in
``variants``.  GPU figures are the vendors' dense BF16 peak (no sparsity) and memory bandwidth (NVIDIA
L40S, A100 80GB SXM and H100 SXM datasheets); the hourly prices are illustrative on-demand
list prices, not quotes.

>>> sorted(GPUS)
['A100', 'H100', 'L40S']
>>> FLEET_TASK_KNOBS
('gpu', 'replicas', 'max_batch_seqs')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labkit.labs.common import NO_BUDGETS, frozen

__all__ = ["GPUS", "TOKEN_BASE", "FLEET_TASK_KNOBS", "BATCH_GRID", "MAX_REPLICAS",
           "gpu_knobs", "AGENT_BASE", "AGENT_TASK_KNOBS", "HUMAN_WRITE_POLICIES",
           "BREAK_EVEN_TOLERANCE"]

#: The GPUs a fleet may use: dense BF16 TFLOPS, memory bandwidth (GB/s), memory (GB), and
#: an illustrative price per replica hour.
GPUS: Mapping[str, Mapping[str, float]] = frozen({
    "L40S": frozen({"llm.gpu_tflops": 362.0, "llm.gpu_mem_bw_gbs": 864.0,
                    "llm.gpu_mem_gb": 48.0, "model.cost_per_replica_hour": 1.0}),
    "A100": frozen({"llm.gpu_tflops": 312.0, "llm.gpu_mem_bw_gbs": 2039.0,
                    "llm.gpu_mem_gb": 80.0, "model.cost_per_replica_hour": 1.8}),
    "H100": frozen({"llm.gpu_tflops": 989.0, "llm.gpu_mem_bw_gbs": 3350.0,
                    "llm.gpu_mem_gb": 80.0, "model.cost_per_replica_hour": 3.5}),
})

#: Two minutes of token mode serving an 8B model (Llama-3-8B-like: 16 GB of BF16 weights, 128 KiB of KV per
#: token) that the team hosts itself: no per-call or per-token fees, only replicas, and the
#: simulator's own request budgets switched off (the task judges TTFT and TPOT itself).
TOKEN_BASE: Mapping[str, Any] = frozen({
    **NO_BUDGETS, "llm.enabled": True, "load.duration_s": 120, "llm.params_b": 8.0,
    "llm.kv_bytes_per_token": 131072, "model.cost_per_call": 0.0,
    "model.cost_per_1m_input_tokens": 0.0, "model.cost_per_1m_output_tokens": 0.0})

#: What the fleet task's answer names.
FLEET_TASK_KNOBS = ("gpu", "replicas", "max_batch_seqs")
#: The batch limits the judge tries when it looks for a cheaper fleet.
BATCH_GRID = (8, 16, 32, 64, 128, 256, 512)
#: The largest fleet the task allows (more is never the cheapest in any workload).
MAX_REPLICAS = 16


def gpu_knobs(gpu: str, replicas: int, max_batch_seqs: int) -> dict[str, Any]:
    """The simulator knobs of a fleet of ``replicas`` x ``gpu`` with this batch limit."""
    return {**GPUS[gpu], "model.replicas": int(replicas), "llm.max_batch_seqs": int(max_batch_seqs)}


#: How close a break-even answer must be to the truth (measured token means differ from the
#: nominal ones by about 1-2% over a run; the usual slips are off by 2x or more).
BREAK_EVEN_TOLERANCE = 0.05

#: The agent of task 3 in request mode: 20 minutes of tasks, one a second, six reviewers (5 s a
#: review) on the approval queue, the simulator's request budgets off.  It starts as the team's
#: prototype left it: writes run with no human, no permission policy, a generous step cap and
#: no budgets, so an answer that changes nothing fails every world.
AGENT_BASE: Mapping[str, Any] = frozen({
    **NO_BUDGETS, "agent.enabled": True, "load.rate_rps": 1.0, "load.duration_s": 1200,
    "boundary.reviewers": 6, "boundary.review_s": 5.0, "agent.tool_call_rate": 0.9,
    "agent.write_share": 0.1, "agent.write_policy": "allow", "agent.permission_policy": False,
    "agent.max_steps": 30})
#: The knobs task 3 lets the learner set.
AGENT_TASK_KNOBS = ("agent.max_steps", "agent.budget_usd", "agent.budget_s",
                    "agent.write_policy", "agent.permission_policy")
#: The organisation's rule in every world: a write (a refund, a booking, a ticket change)
#: needs a human, so writes are approved or not made at all.
HUMAN_WRITE_POLICIES = ("approve", "deny")
