"""Lab 3's task judges: an answer and seeds in, problems out (empty: it passes).

Each judge has the labs' one signature, ``judge_x(answer, *, seeds) -> list[str]``
(see :mod:`labkit.labs.common`): it checks the answer's form (a wrong form is a
problem, not an exception), runs the monitor with the answer on each seed and
returns one sentence per failure, saying what failed, on which seed and where
to look, never naming an answer that passes.  Each also takes ``learner``: the
task's numbers are that learner's (:mod:`labkit.labs.lab3.variants`; ``None``
is this kernel's learner, at grading the student the submission is filed
under).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from labkit.labs.common import Judge, check_seeds, knob_answer_problems
from labkit.labs.lab3.analysis import (
    best_cost,
    containment,
    drill_run,
    drill_transaction,
    evaluation_set,
    rule_report,
    slo_report,
)
from labkit.labs.lab3.forms import (
    burn_rules_answer_problems,
    containment_answer_problems,
    plain_answer_problems,
    rule_answer_problems,
    threshold_answer_problems,
    trace_answer_problems,
)
from labkit.labs.lab3.scenarios import (
    ALERT_BUDGET,
    CONTAIN_BUDGET,
    RETRAIN_SCENARIO,
    RETRAIN_TASK_KNOBS,
    THRESHOLD_TOLERANCE,
)
from labkit.labs.lab3.variants import (
    RETRAIN_WORLDS,
    retrain_budget,
    retrain_scenario,
    slo_world,
    t3,
    threshold_costs,
)
from labkit.monitor import MonitorConfig, expected_cost, run_monitor
from labkit.monitor.knobs import MONITOR_CATALOGUE

__all__ = ["judge_threshold", "judge_null_rules", "judge_retraining", "judge_trace",
           "judge_containment", "judge_burn_alerts", "JUDGES"]


def judge_threshold(answer: Any, *, seeds: Sequence[int], learner: str | None = None) -> list[str]:
    """T1: the threshold's cost on each seed's labelled data at this learner's prices, within
    3% of the cheapest."""
    seeds = check_seeds(seeds)
    problems = threshold_answer_problems(answer)
    if problems:
        return problems
    t = float(answer)
    costs = threshold_costs(learner=learner)
    for seed in seeds:
        y, s = evaluation_set(seed)
        mine, best = expected_cost(y, s, t, **costs), best_cost(seed, learner=learner)
        if mine > best * (1 + THRESHOLD_TOLERANCE):
            problems.append(f"T1: threshold {t:.3f} costs ${mine:.3f} per transaction on seed "
                            f"{seed}, {mine / best - 1:.0%} more than the cheapest threshold "
                            "does; compare the cost curve, not precision or accuracy.")
    return problems


def judge_null_rules(answer: Any, *, seeds: Sequence[int], learner: str | None = None) -> list[str]:
    """T2: detection within ``ALERT_BUDGET['detect_h']`` and few enough false alerts, per seed,
    in this learner's world."""
    seeds = check_seeds(seeds)
    problems = rule_answer_problems(answer)
    if problems:
        return problems
    for seed in seeds:
        r = rule_report(answer, seed, learner=learner)
        det = r["time_to_detect_h"]
        if det is None or det > ALERT_BUDGET["detect_h"]:
            got = "never" if det is None else f"after {det} h"
            problems.append(f"T2: seed {seed}: the incident was detected {got}; the budget is "
                            f"{ALERT_BUDGET['detect_h']:g} h (a long window or a high threshold "
                            "waits too long).")
        if r["false_per_week"] > ALERT_BUDGET["false_per_week"]:
            problems.append(f"T2: seed {seed}: {r['false_per_week']:g} false alerts a week; the "
                            f"budget is {ALERT_BUDGET['false_per_week']:g} (a rule that a blip "
                            "can push over its threshold within one window pages for blips).")
    return problems


def judge_retraining(answer: Any, *, seeds: Sequence[int], learner: str | None = None) -> list[str]:
    """T3: on each seed of this learner's drift world, the policy cuts the cost of never
    retraining (same seed) by the world's share, with no more retrainings than it allows."""
    seeds = check_seeds(seeds)
    scenario, budget = retrain_scenario(learner=learner), retrain_budget(learner=learner)
    problems = knob_answer_problems(
        answer, RETRAIN_TASK_KNOBS, task="T3", catalogue=MONITOR_CATALOGUE,
        build=lambda k: MonitorConfig.from_knobs({**scenario, **k}))
    if problems:
        return problems
    problems = plain_answer_problems(answer, "T3")
    if problems:
        return problems
    for seed in seeds:
        s = run_monitor({**scenario, **answer}, seed=seed).summary
        never = _never_cost(t3(learner=learner).world, seed)
        cost, trained = s["cost"]["per_tx"], s["releases"]["retrains"]
        cut = 1 - cost / never
        if cut < budget["cost_cut"]:
            problems.append(f"T3: seed {seed}: ${cost:.3f} per transaction against "
                            f"${never:.3f} if the model is never retrained, a cut of "
                            f"{cut:.1%}; your budget asks for {budget['cost_cut']:.1%} (the "
                            "model decides with a stale picture of fraud for too long: compare "
                            "when your releases happen with when the drift starts and when its "
                            "labels arrive).")
        if trained > budget["retrains"]:
            problems.append(f"T3: seed {seed}: {trained} retrainings; your team can review "
                            f"{budget['retrains']:g} (what starts a retraining, and how soon "
                            "can it start another?).")
    return problems


@functools.lru_cache(maxsize=32)
def _never_cost(world: str, seed: int) -> float:
    """Cost per transaction in drift world ``world`` on ``seed`` if the model is never
    retrained (T3's yardstick; the same for every answer, so it is run once)."""
    knobs = {**RETRAIN_SCENARIO, **RETRAIN_WORLDS[world]["knobs"]}
    return float(run_monitor(knobs, seed=seed).summary["cost"]["per_tx"])


def judge_trace(answer: Any, *, seeds: Sequence[int], learner: str | None = None) -> list[str]:
    """T4: the answer finds the payment (:func:`~labkit.labs.lab3.analysis.drill_transaction`:
    the first missed fraud with device_risk missing, from 6 h into the incident) of this
    learner's drill on each seed, and names what the audit trail says decided it."""
    seeds = check_seeds(seeds)
    problems = trace_answer_problems(answer)
    if problems:
        return problems
    for seed in seeds:
        drill = drill_run(seed, learner=learner)
        tx_id = drill_transaction(drill)
        truth = drill.trace(tx_id)
        given_id = answer["tx_id"]
        if isinstance(given_id, bool) or not isinstance(given_id, int) or given_id != tx_id:
            problems.append(f"T4: tx_id {given_id!r} is not the payment described (the first "
                            "fraud the model approved from 6 h into the incident on, with "
                            "device_risk missing); filter drill.transactions by hour, label, "
                            "decision and device_risk.")
        for key in ("model_version", "data_snapshot"):
            if str(answer[key]).strip() != str(truth[key]):
                problems.append(f"T4: {key} {answer[key]!r} is not what the audit trail "
                                "records for that payment; read drill.trace(...) of it.")
        try:
            ok = abs(float(answer["threshold"]) - float(truth["threshold"])) < 1e-9
        except (TypeError, ValueError):
            ok = False
        if not ok:
            problems.append(f"T4: threshold {answer['threshold']!r} is not the one that decided "
                            "this transaction.")
        for key, what in (("features", "the inputs the model version uses"),
                          ("missing", "the inputs that were missing for this transaction")):
            given = answer[key]
            given = [given] if isinstance(given, str) else list(given or [])
            if sorted(map(str, given)) != sorted(truth[key]):
                problems.append(f"T4: {key!r} must list {what}.")
    return problems


def judge_containment(answer: Any, *, seeds: Sequence[int],
                      learner: str | None = None) -> list[str]:
    """T5: in this learner's drill, shut down during the incident only, cheaply, without
    drowning the review team."""
    seeds = check_seeds(seeds)
    problems = containment_answer_problems(answer)
    if problems:
        return problems
    for seed in seeds:
        before, after = containment(answer, seed, learner=learner)
        inc = next(e for e in after.events if e.kind == "null_feature")
        window = slice(inc.start_h, inc.end_h + 25)
        cost0, cost1 = before.stats.cost[window].sum(), after.stats.cost[window].sum()
        offs = [r.at_h for r in after.audit if r.action == "shutdown"]
        late = [h for h in offs if not inc.start_h <= h <= inc.end_h + 1]
        if not offs or offs[0] - inc.start_h > CONTAIN_BUDGET["detect_h"]:
            problems.append(f"T5: seed {seed}: the model was not switched off within "
                            f"{CONTAIN_BUDGET['detect_h']:g} h of the incident.")
        if late:
            problems.append(f"T5: seed {seed}: the model was switched off at hour {late[0]}, "
                            "outside the incident (a blip, not a failure).")
        if cost1 > cost0 * (1 - CONTAIN_BUDGET["cost_cut"]):
            problems.append(f"T5: seed {seed}: the incident cost ${cost1:,.0f} with containment "
                            f"against ${cost0:,.0f} without; cut it by at least "
                            f"{CONTAIN_BUDGET['cost_cut']:.0%}.")
        wait = after.summary["shutdown"]["review_wait_h_max"]
        if wait is None or wait > CONTAIN_BUDGET["review_wait_h"]:
            waited = "for ever" if wait is None else f"up to {wait:.0f} h"
            problems.append(f"T5: seed {seed}: reviews waited {waited}; the budget is "
                            f"{CONTAIN_BUDGET['review_wait_h']:g} h (the fallback sends the "
                            "team more than it can check).")
        if after.hourly["shut_down"][inc.end_h + 49:].any():
            problems.append(f"T5: seed {seed}: the model was still off two days after the "
                            "incident ended; restore it once the feed is fixed.")
    return problems


def judge_burn_alerts(answer: Any, *, seeds: Sequence[int],
                      learner: str | None = None) -> list[str]:
    """T6: on each seed of this learner's service, the rules page for the outage within the
    service's bound and never page for the benign slow burn or in quiet hours."""
    seeds = check_seeds(seeds)
    problems = burn_rules_answer_problems(answer)
    if problems:
        return problems
    bound = slo_world(learner=learner)["detect_min"]
    for seed in seeds:
        r = slo_report(answer, seed, learner=learner)
        det = r["detect_min"]
        if det is None or det > bound:
            got = "no page at all" if det is None else f"its first page after {det} min"
            problems.append(f"T6: seed {seed}: the outage got {got}; it must page within "
                            f"{bound} min (a long window or a high burn-rate threshold waits too "
                            "long).")
        false = [m for m, true in zip(r["opened_min"], r["true"]) if not true]
        if false:
            problems.append(f"T6: seed {seed}: {len(false)} page(s) with no outage, the first at "
                            f"minute {false[0]} (a threshold the benign slow burn or the noise "
                            "of a short window can pass pages for nothing).")
    return problems


#: Every judge of the lab, by the answer it grades.
JUDGES: dict[str, Judge] = {
    "t1_threshold": judge_threshold, "t2_rule": judge_null_rules,
    "t3_policy": judge_retraining, "t4_trace": judge_trace,
    "t5_containment": judge_containment, "t6_rules": judge_burn_alerts,
}
