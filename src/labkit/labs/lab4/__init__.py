"""Lab 4, serving language models and running agents safely: scenarios, variants and judges.

The lab notebook and its hidden tests both import this package, so every scenario is
written once.  Its modules: ``scenarios`` (GPUs, the token-mode and agent bases, task
knobs), ``variants`` (each learner's workload, prices and agent world), ``judges`` (the
runs the graded tasks read, and their judges) and ``evidence`` (the agent boundary sheet, the
lab's CPD artifact, mapped to NIST AI RMF and ISO/IEC 23894 risk treatment).

1. *Size the fleet*: GPU, replicas and ``llm.max_batch_seqs`` meeting p95 TTFT and TPOT
   budgets at the lowest cost per 1,000 requests (:func:`judge_fleet`).
2. *Self-host or API*: the break-even volume per day (:func:`judge_break_even`).
3. *Agent within bounds*: step cap, budgets and permissions (:func:`judge_agent`).

>>> sorted(JUDGES)
['t1_fleet', 't2_break_even', 't3_agent']
"""

from __future__ import annotations

from labkit.labs.common import beside, panel
from labkit.labs.lab4.evidence import (
    TREATMENTS,
    AgentBoundarySheet,
    IsoTreatment,
    sheet_data,
    sheet_problems,
)
from labkit.labs.lab4.judges import (
    JUDGES,
    agent_report,
    agent_run,
    api_cost_per_request,
    break_even_per_day,
    fleet_answer_problems,
    fleet_cost_per_1k,
    fleet_price_per_hour,
    fleet_report,
    fleet_run,
    judge_agent,
    judge_break_even,
    judge_fleet,
    self_host_cost_per_day,
)
from labkit.labs.lab4.scenarios import (
    AGENT_BASE,
    AGENT_TASK_KNOBS,
    BATCH_GRID,
    BREAK_EVEN_TOLERANCE,
    FLEET_TASK_KNOBS,
    GPUS,
    HUMAN_WRITE_POLICIES,
    TOKEN_BASE,
    gpu_knobs,
)
from labkit.labs.lab4.variants import (
    AGENT_WORLDS,
    VARIANTS,
    WORKLOADS,
    agent_scenario,
    agent_world,
    break_even_case,
    fleet_scenario,
    fleet_world,
)

__all__ = ["JUDGES", "VARIANTS", "GPUS", "TOKEN_BASE", "AGENT_BASE", "FLEET_TASK_KNOBS",
           "AGENT_TASK_KNOBS", "BATCH_GRID", "BREAK_EVEN_TOLERANCE", "HUMAN_WRITE_POLICIES",
           "WORKLOADS", "AGENT_WORLDS", "gpu_knobs", "fleet_world", "fleet_scenario",
           "fleet_run", "fleet_report", "fleet_price_per_hour", "fleet_cost_per_1k",
           "judge_fleet", "fleet_answer_problems", "break_even_case", "api_cost_per_request",
           "self_host_cost_per_day",
           "break_even_per_day", "judge_break_even", "agent_world", "agent_scenario",
           "agent_run", "agent_report", "judge_agent", "AgentBoundarySheet", "IsoTreatment",
           "TREATMENTS", "sheet_data", "sheet_problems", "beside", "panel"]
