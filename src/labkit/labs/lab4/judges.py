"""Lab 4's graded tasks: the runs they read and their judges.

Each judge has the labs' one signature, ``judge_*(answer, *, seeds, learner=None) ->
list[str]`` (see :mod:`labkit.labs.common`): problems, one sentence each, ``[]`` when the
answer passes.  No message names an answer that passes.

1. *Size the fleet* (:func:`judge_fleet`): a token-mode fleet ``{"gpu", "replicas",
   "max_batch_seqs"}`` holds the workload's p95 TTFT and TPOT budgets on every seed, and no
   fleet with a lower price per hour does (the judge tries, for each GPU, the most replicas
   cheaper than the answer, with every batch limit of ``BATCH_GRID``).  Its cost per 1,000
   requests is ``replicas x price per hour x 1000 / (requests per hour)``
   (:func:`fleet_cost_per_1k`), so the cheapest fleet per hour is also the cheapest per request.
2. *Self-host or API* (:func:`judge_break_even`): the daily volume at which the API's bill
   equals the self-hosted fleet's (within ``BREAK_EVEN_TOLERANCE``).
3. *Agent within bounds* (:func:`judge_agent`): the agent's cap, budgets and permissions give
   completion >= the world's target, no task above the world's cost ceiling, no unsafe
   action on every seed, and no write without a human.

>>> judge_fleet(None, seeds=[1])[0].startswith("T1: not answered yet")
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from labkit.checkpoints import check_number, knob_answer_problems
from labkit.labs.common import Judge, check_seeds, form_problems
from labkit.labs.lab4.scenarios import (
    AGENT_TASK_KNOBS,
    BATCH_GRID,
    BREAK_EVEN_TOLERANCE,
    FLEET_TASK_KNOBS,
    GPUS,
    HUMAN_WRITE_POLICIES,
    MAX_REPLICAS,
    gpu_knobs,
)
from labkit.labs.lab4.variants import (
    agent_scenario,
    agent_world,
    break_even_case,
    fleet_scenario,
    fleet_world,
)
from labkit.sim import simulate

__all__ = ["fleet_answer_problems", "fleet_run", "fleet_report", "fleet_price_per_hour",
           "fleet_cost_per_1k", "judge_fleet", "api_cost_per_request", "self_host_cost_per_day",
           "break_even_per_day", "judge_break_even", "agent_run", "agent_report", "judge_agent",
           "JUDGES"]


# ------------------------------------------------------------------ T1: size the fleet
def fleet_answer_problems(answer: Any, task: str = "T1") -> list[str]:
    """What is wrong with the form of a fleet answer ([] = nothing)."""
    example = "{'gpu': 'L40S', 'replicas': 2, 'max_batch_seqs': 64}"
    if answer is None or answer is Ellipsis:
        return [f"{task}: not answered yet; set it to a dict such as {example}."]
    if not isinstance(answer, Mapping) or set(answer) != set(FLEET_TASK_KNOBS):
        return [f"{task}: the answer must be a dict with exactly the keys 'gpu', 'replicas' and "
                f"'max_batch_seqs', got {answer!r}."]
    problems = []
    if answer["gpu"] not in GPUS:
        problems.append(f"{task} (gpu): {answer['gpu']!r} is not one of "
                        f"{', '.join(map(repr, GPUS))}.")
    problems += form_problems(check_number, answer["replicas"], minimum=1,
                              maximum=MAX_REPLICAS, integer=True, unit="replicas",
                              question=f"{task} (replicas)")
    problems += form_problems(check_number, answer["max_batch_seqs"], minimum=1, maximum=4096,
                              integer=True, unit="sequences", question=f"{task} (max_batch_seqs)")
    return problems


@lru_cache(maxsize=512)
def _fleet_p95(seed: int, knobs: tuple[tuple[str, Any], ...]) -> tuple[float, float]:
    s = simulate(dict(knobs), seed=seed).summary
    return float(s["ttft_ms"]["p95"]), float(s["tpot_ms"]["p95"])


def fleet_run(gpu: str, replicas: int, max_batch_seqs: int, seed: int, *,
              learner: str | None = None) -> Any:
    """One run of this learner's workload on a fleet (a :class:`labkit.sim.Result`)."""
    return simulate({**fleet_scenario(learner=learner),
                     **gpu_knobs(gpu, replicas, max_batch_seqs)}, seed=int(seed))


def fleet_report(gpu: str, replicas: int, max_batch_seqs: int, seed: int, *,
                 learner: str | None = None) -> dict[str, Any]:
    """p95 TTFT and TPOT of a fleet on one seed, whether each meets its budget, and the cost."""
    w = fleet_world(learner=learner)
    knobs = {**fleet_scenario(learner=learner), **gpu_knobs(gpu, replicas, max_batch_seqs)}
    ttft, tpot = _fleet_p95(int(seed), tuple(sorted(knobs.items())))
    return {"ttft_p95_ms": ttft, "tpot_p95_ms": tpot,
            "ttft_ok": ttft <= w["ttft_p95_ms"], "tpot_ok": tpot <= w["tpot_p95_ms"],
            "price_per_hour": fleet_price_per_hour(gpu, replicas),
            "cost_per_1k": fleet_cost_per_1k(gpu, replicas, learner=learner)}


def fleet_price_per_hour(gpu: str, replicas: int) -> float:
    """What ``replicas`` x ``gpu`` cost per hour."""
    return int(replicas) * float(GPUS[gpu]["model.cost_per_replica_hour"])


def fleet_cost_per_1k(gpu: str, replicas: int, *, learner: str | None = None) -> float:
    """Cost per 1,000 requests of a fleet at this learner's steady traffic."""
    rate = float(fleet_world(learner=learner)["rate_rps"])
    return fleet_price_per_hour(gpu, replicas) * 1000.0 / (rate * 3600.0)


def _holds(gpu: str, replicas: int, batch: int, seeds: Sequence[int],
           learner: str | None) -> bool:
    return all(r["ttft_ok"] and r["tpot_ok"] for r in
               (fleet_report(gpu, replicas, batch, s, learner=learner) for s in seeds))


def judge_fleet(answer: Any, *, seeds: Sequence[int], learner: str | None = None) -> list[str]:
    """T1: the fleet meets both p95 budgets on every seed and no cheaper fleet does."""
    seeds = check_seeds(seeds)
    problems = fleet_answer_problems(answer)
    if problems:
        return problems
    gpu, n, batch = answer["gpu"], int(answer["replicas"]), int(answer["max_batch_seqs"])
    w = fleet_world(learner=learner)
    for seed in seeds:
        r = fleet_report(gpu, n, batch, seed, learner=learner)
        if not r["ttft_ok"]:
            problems.append(f"T1: seed {seed}: p95 TTFT is {r['ttft_p95_ms']:.0f} ms with "
                            f"{n} x {gpu} at max_batch_seqs {batch}, over the "
                            f"{w['ttft_p95_ms']:g} ms budget (requests queue for a slot or "
                            "wait behind prefills).")
        if not r["tpot_ok"]:
            problems.append(f"T1: seed {seed}: p95 TPOT is {r['tpot_p95_ms']:.1f} ms with "
                            f"{n} x {gpu} at max_batch_seqs {batch}, over the "
                            f"{w['tpot_p95_ms']:g} ms budget (each decode step reads the "
                            "weights and the KV cache of every running sequence).")
    if problems:
        return problems
    price = fleet_price_per_hour(gpu, n)
    for other in GPUS:
        cheaper = [k for k in range(1, MAX_REPLICAS + 1)
                   if fleet_price_per_hour(other, k) < price - 1e-9]
        if cheaper and any(_holds(other, cheaper[-1], b, seeds, learner) for b in BATCH_GRID):
            problems.append(f"T1: the fleet meets both budgets, but a fleet with a lower price "
                            f"per hour than ${price:.2f} also does on these seeds; compare "
                            "GPUs and batch limits, not only replica counts.")
            break
    return problems


# ------------------------------------------------------------------ T2: self-host or API
def api_cost_per_request(*, learner: str | None = None) -> float:
    """What one request of this learner's traffic costs at the provider's token prices."""
    c = break_even_case(learner=learner)
    return (c["prompt_tokens"] * c["cost_per_1m_input_tokens"]
            + c["output_tokens"] * c["cost_per_1m_output_tokens"]) / 1e6


def self_host_cost_per_day(*, learner: str | None = None) -> float:
    """What this learner's self-hosted fleet costs per day, on around the clock."""
    c = break_even_case(learner=learner)
    return c["replicas"] * c["replica_hour_usd"] * 24.0


def break_even_per_day(*, learner: str | None = None) -> float:
    """Requests per day at which the API bill equals the fleet's cost."""
    return self_host_cost_per_day(learner=learner) / api_cost_per_request(learner=learner)


def judge_break_even(answer: Any, *, seeds: Sequence[int],
                     learner: str | None = None) -> list[str]:
    """T2: the break-even volume in requests per day, within the tolerance."""
    check_seeds(seeds)
    problems = form_problems(check_number, answer, minimum=0, unit="requests per day",
                             question="T2")
    if problems:
        return problems
    truth = break_even_per_day(learner=learner)
    value = float(answer)
    if abs(value - truth) > BREAK_EVEN_TOLERANCE * truth:
        side = "high" if value > truth else "low"
        problems.append(f"T2: {value:,.0f} requests per day is too {side} by more than "
                        f"{BREAK_EVEN_TOLERANCE:.0%}: price both the prompt and the output "
                        "tokens of one request (prices are per million tokens) and the fleet for "
                        "a whole day.")
    return problems


# ------------------------------------------------------------------ T3: agent within bounds
@lru_cache(maxsize=64)
def _agent(seed: int, knobs: tuple[tuple[str, Any], ...]) -> Any:
    return simulate(dict(knobs), seed=seed)


def agent_run(answer: Mapping[str, Any], seed: int, *, learner: str | None = None) -> Any:
    """This learner's agent with the answer's knobs on one seed (runs are shared)."""
    knobs = {**agent_scenario(learner=learner), **dict(answer)}
    return _agent(int(seed), tuple(sorted(knobs.items())))


def agent_report(answer: Mapping[str, Any], seed: int, *,
                 learner: str | None = None) -> dict[str, Any]:
    """Completion rate, the costliest task, mean cost per task and unsafe tasks on one seed."""
    r = agent_run(answer, seed, learner=learner)
    s = r.summary
    n = sum(s["tasks"].values())
    return {"completion": s["tasks"]["completed"] / n if n else 0.0,
            "max_cost_usd": float(r.tasks["cost"].max()) if n else 0.0,
            "mean_cost_usd": float(s["cost_per_task"]["mean"]), "unsafe": s["tasks"]["unsafe"],
            "blocked": s["tasks"]["blocked"], "gave_up": s["tasks"]["gave_up"], "tasks": n}


def judge_agent(answer: Any, *, seeds: Sequence[int], learner: str | None = None) -> list[str]:
    """T3: completion >= target, every task within the cost ceiling, unsafe = 0, writes
    need a human, on every seed of this learner's agent world."""
    seeds = check_seeds(seeds)
    problems = knob_answer_problems(answer, AGENT_TASK_KNOBS, task="T3")
    if problems:
        return problems
    w = agent_world(learner=learner)
    policy = {**agent_scenario(learner=learner), **answer}["agent.write_policy"]
    if policy not in HUMAN_WRITE_POLICIES:
        problems.append(f"T3: agent.write_policy {policy!r} lets the agent write with no human "
                        "in the loop; the boundary in this world says every write needs one.")
    for seed in seeds:
        r = agent_report(answer, seed, learner=learner)
        if r["unsafe"]:
            problems.append(f"T3: seed {seed}: {r['unsafe']} task(s) ended unsafe (an injected "
                            "instruction made the agent act outside its permissions).")
        if r["completion"] < w["completion_target"]:
            problems.append(f"T3: seed {seed}: {r['completion']:.1%} of tasks completed, below "
                            f"the {w['completion_target']:.0%} target ({r['gave_up']} gave up, "
                            f"{r['blocked']} were blocked).")
        if r["max_cost_usd"] > w["cost_ceiling_usd"]:
            problems.append(f"T3: seed {seed}: the costliest task cost "
                            f"${r['max_cost_usd']:.3f}, over the ${w['cost_ceiling_usd']:.3f} "
                            "ceiling per task (a runaway loop keeps paying for model calls).")
    return problems


#: Every judge of the lab, by the grade id of its check cell.
JUDGES: dict[str, Judge] = {"t1_fleet": judge_fleet, "t2_break_even": judge_break_even,
                            "t3_agent": judge_agent}
