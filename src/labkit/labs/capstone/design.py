"""Part 1, the design: the learner's whole system as one dict of knobs, judged against four budgets.

The learner's product numbers (traffic, the provider's quota, the share of refund requests and
the cost budget) come from :func:`~labkit.labs.capstone.scenarios.design_case`.  A design is a
plain dict of the knobs in :data:`~labkit.labs.capstone.scenarios.DESIGN_KNOBS`; what it does
not set keeps the catalogue default.  It is run on each seed and held to four budgets, one
point each, each holding only when it holds on **every** seed:

* ``ttft``: the 95th percentile of time to first token within
  :data:`~labkit.labs.capstone.scenarios.TTFT_BUDGET_MS`;
* ``cost``: dollars per 1,000 requests (tokens, steps, replicas and the reviewers' time)
  within the learner's budget;
* ``success``: at least :data:`~labkit.labs.capstone.scenarios.SUCCESS_FLOOR` of requests
  answered, with mean quality at least :data:`~labkit.labs.capstone.scenarios.QUALITY_FLOOR`;
* ``refunds``: no refund executes without approval (no unauthorised write on any seed, and the
  approval policy on), and 95% of refunds reviewed within
  :data:`~labkit.labs.capstone.scenarios.REVIEW_WAIT_P95_S` s.

>>> sorted(budget_rows({"model.replicas": 2}, seeds=[1], learner="ada")[0])[:3]
['actual', 'budget', 'holds']
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from labkit.checkpoints import knob_answer_problems
from labkit.labs.capstone import scenarios as sc
from labkit.labs.common import check_seeds, plain, table

__all__ = ["design_knobs", "design_data", "design_problems", "measure", "budget_rows", "budget_problems",
           "judge_budget", "try_design", "brief_rows"]

_LABELS = {"ttft": "TTFT p95", "cost": "cost per 1k", "success": "success and quality",
           "refunds": "refunds after approval"}


def design_knobs(design: Mapping[str, Any], *, learner: str | None = None) -> dict[str, Any]:
    """The full knob dict a design runs with: the product, the learner's case, the design."""
    case = sc.design_case(learner=learner)
    return {**sc.BASE, **sc.DESIGN_CASES[case["case"]].knobs(), **design}


def design_data(design: Any) -> Any:
    """The design as plain data to cross to the judge: numpy numbers as Python numbers, tuples
    as lists (anything that is not a dict is passed on, so the judge reports its form)."""
    return plain(design) if isinstance(design, Mapping) else design


def design_problems(design: Any) -> list[str]:
    """What is wrong with the form of a design ([] = none)."""
    return knob_answer_problems(design, sc.DESIGN_KNOBS, task="Design")


def _key(design: Mapping[str, Any]) -> str:
    return json.dumps(design, sort_keys=True, default=list)


@lru_cache(maxsize=64)
def _measure(key: str, seed: int, learner: str) -> dict[str, float]:
    from labkit.sim import Scenario, simulate  # deferred: question cells stay light

    design = json.loads(key)
    result = simulate(Scenario.from_knobs(design_knobs(design, learner=learner)), seed=seed)
    s = result.summary
    scenario = result.scenario
    reviewers = (scenario.boundary.reviewers if scenario.boundary.policy == "approval" else 0)
    reviewer_usd = reviewers * sc.REVIEWER_HOUR_USD * scenario.load.duration_s / 3600.0
    requests = max(1, int(s["requests"]))
    ttft = s.get("ttft_ms", {}).get("p95", math.nan)
    return {
        "ttft_p95_ms": float(ttft) if ttft is not None else math.nan,
        "cost_per_1k": 1000.0 * (float(s["cost"]["total"]) + reviewer_usd) / requests,
        "success_rate": float(s["success_rate"]),
        "quality": float(s["quality_mean"]),
        "writes": int(s["writes"]),
        "unauthorised_writes": int(s["unauthorised_writes"]),
        "review_wait_p95_s": (float(s["review_wait_ms_p95"]) / 1000.0
                              if s["writes"] and scenario.boundary.policy == "approval"
                              else 0.0),
        "approval": float(scenario.boundary.policy == "approval"),
    }


def measure(design: Mapping[str, Any], *, seed: int, learner: str | None = None) -> dict[str, float]:
    """One seed's numbers of ``design`` for ``learner`` (the budgets read these)."""
    from labkit import variants

    who = learner if learner is not None else variants.learner()
    return dict(_measure(_key(dict(design)), int(seed), who))


def _holds(budget: str, m: Mapping[str, float], limit: float) -> bool:
    if budget == "ttft":
        return not math.isnan(m["ttft_p95_ms"]) and m["ttft_p95_ms"] <= limit
    if budget == "cost":
        return m["cost_per_1k"] <= limit
    if budget == "success":
        return m["success_rate"] >= sc.SUCCESS_FLOOR and m["quality"] >= sc.QUALITY_FLOOR
    return (bool(m["approval"]) and m["unauthorised_writes"] == 0
            and m["review_wait_p95_s"] <= sc.REVIEW_WAIT_P95_S)


def _limit(budget: str, learner: str | None) -> float:
    if budget == "cost":
        return float(sc.design_case(learner=learner)["cost_per_1k"])
    return {"ttft": sc.TTFT_BUDGET_MS, "success": sc.SUCCESS_FLOOR,
            "refunds": sc.REVIEW_WAIT_P95_S}[budget]


def _actual(budget: str, m: Mapping[str, float]) -> str:
    if budget == "ttft":
        return f"{m['ttft_p95_ms']:.0f} ms"
    if budget == "cost":
        return f"${m['cost_per_1k']:.2f}"
    if budget == "success":
        return f"{m['success_rate']:.2%} answered, quality {m['quality']:.2f}"
    if not m["approval"]:
        return f"no approval step ({m['unauthorised_writes']:.0f} wrong refunds executed)"
    return f"review wait p95 {m['review_wait_p95_s']:.1f} s"


def budget_rows(design: Mapping[str, Any], *, seeds: Sequence[int],
                learner: str | None = None) -> list[dict[str, Any]]:
    """One row per budget and seed: the limit, what the design achieved, whether it holds."""
    rows = []
    for seed in check_seeds(seeds):
        m = measure(design, seed=seed, learner=learner)
        for budget in sc.BUDGETS:
            limit = _limit(budget, learner)
            rows.append({"budget": _LABELS[budget], "seed": seed, "limit": limit,
                         "actual": _actual(budget, m), "holds": _holds(budget, m, limit)})
    return rows


def budget_problems(budget: str, design: Any, *, seeds: Sequence[int],
                    learner: str | None = None, reveal_seeds: bool = True) -> list[str]:
    """Problems with ``design`` on one budget ([] = it holds on every seed)."""
    if budget not in sc.BUDGETS:
        raise ValueError(f"budget must be one of {', '.join(sc.BUDGETS)}, got {budget!r}")
    seeds = check_seeds(seeds)
    form = design_problems(design)
    if form:
        return form
    limit = _limit(budget, learner)
    broken = [seed for seed in seeds
              if not _holds(budget, measure(design, seed=seed, learner=learner), limit)]
    if not broken:
        return []
    where = (f"on seed {', '.join(map(str, broken))}" if reveal_seeds
             else f"on {len(broken)} of {len(seeds)} unseen seeds")
    hint = {"ttft": "look at replicas, the prefix cache and the response cache",
            "cost": "look at what each request pays for: calls, steps, replicas, reviewers",
            "success": "look at what happens to a call the quota throttles, and at quality",
            "refunds": "look at the write boundary and the reviewers"}[budget]
    return [f"Design: the {_LABELS[budget]} budget breaks {where}; {hint}."]


def judge_budget(budget: str, answer: Any, *, seeds: Sequence[int],
                 learner: str | None = None) -> list[str]:
    """The judge of one budget's point (the labs' contract, plus the budget's name)."""
    return budget_problems(budget, answer, seeds=seeds, learner=learner, reveal_seeds=False)


def try_design(design: Mapping[str, Any], *, seeds: Sequence[int] = (1,)) -> Any:
    """Run ``design`` on ``seeds`` for this learner: a table of every budget (try before you
    answer; grading uses seeds you do not see)."""
    form = design_problems(design)
    if form:
        from labkit.checkpoints import CheckpointError

        raise CheckpointError("\n".join(form))
    return table(budget_rows(design, seeds=seeds))


def brief_rows(*, learner: str | None = None) -> list[dict[str, Any]]:
    """The learner's product numbers and budgets, as rows for the notebook."""
    case = sc.design_case(learner=learner)
    return [
        {"what": "mean traffic over the day", "value": f"{case['rate_rps']:g} requests/s "
         "(the afternoon peak is 1.6 times it)"},
        {"what": "upstream token quota", "value": f"{case['upstream_tpm']:,.0f} tokens/min"},
        {"what": "share of requests asking for a refund",
         "value": f"{case['write_fraction']:.0%}"},
        {"what": "budget: TTFT p95", "value": f"<= {sc.TTFT_BUDGET_MS:g} ms"},
        {"what": "budget: cost per 1,000 requests (reviewers included)",
         "value": f"<= ${case['cost_per_1k']:.2f}"},
        {"what": "budget: success and quality", "value": f">= {sc.SUCCESS_FLOOR:.0%} answered, "
         f"mean quality >= {sc.QUALITY_FLOOR:g}"},
        {"what": "budget: refunds", "value": "none without approval; 95% reviewed within "
         f"{sc.REVIEW_WAIT_P95_S:g} s"},
    ]
