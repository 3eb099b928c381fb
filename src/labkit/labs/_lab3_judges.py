"""Lab 3's task judges: an answer in, a list of problems out (empty: it passes).

Each judge first checks the *form* of the answer and raises
:class:`labkit.checkpoints.CheckpointError` with a message for the learner; then it runs
the monitor on the seeds it is given and returns one sentence per failure, saying what
failed, on which seed and where to look.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from labkit.checkpoints import CheckpointError
from labkit.knobs import KnobError
from labkit.labs._lab3_scenarios import (ALERT_BUDGET, CONTAIN_BUDGET, RETRAIN_BUDGET,
                                         RETRAIN_SCENARIO, RETRAIN_TASK_KNOBS, THRESHOLD_COSTS,
                                         TRACE_KEYS, _contain_answer, _evaluation, _number,
                                         _rule_answer, containment, rule_report)
from labkit.monitor import MonitorConfig, MonitorResult, expected_cost, run_monitor
from labkit.monitor.knobs import MONITOR_CATALOGUE

__all__ = ["judge_threshold", "judge_null_rules", "judge_retraining", "judge_trace",
           "judge_containment"]

def judge_threshold(threshold: Any, *, seeds: Sequence[int], tolerance: float = 0.03
                    ) -> list[str]:
    """The threshold's cost on each seed's labelled data, within ``tolerance`` of the best."""
    t = _number(threshold, "T1", 0.0, 1.0)
    out = []
    for seed in seeds:
        y, s, best = _evaluation(int(seed))
        mine = expected_cost(y, s, t, **THRESHOLD_COSTS)
        if mine > best * (1 + tolerance):
            out.append(f"T1: threshold {t:.3f} costs ${mine:.3f} per transaction on seed "
                       f"{seed}, {mine / best - 1:.0%} more than the best (${best:.3f}); "
                       "compare the cost curve, not precision or accuracy.")
    return out


def judge_null_rules(answer: Any, *, seeds: Sequence[int]) -> list[str]:
    """Detection within ``ALERT_BUDGET['detect_h']`` and few enough false alerts, per seed."""
    _rule_answer(answer, "T2")
    out = []
    for seed in seeds:
        r = rule_report(answer, seed)
        det = r["time_to_detect_h"]
        if det is None or det > ALERT_BUDGET["detect_h"]:
            got = "never" if det is None else f"after {det} h"
            out.append(f"T2: seed {seed}: the incident was detected {got}; the budget is "
                       f"{ALERT_BUDGET['detect_h']} h (a long window or a high threshold "
                       "waits too long).")
        if r["false_per_week"] > ALERT_BUDGET["false_per_week"]:
            out.append(f"T2: seed {seed}: {r['false_per_week']:g} false alerts a week; the "
                       f"budget is {ALERT_BUDGET['false_per_week']:g} (blips last up to 3 h: "
                       "a window no longer than a blip pages for every one).")
    return out


def _knobs(answer: Any, allowed: Sequence[str], task: str) -> dict[str, Any]:
    if answer is None or answer is Ellipsis:
        raise CheckpointError(f"{task}: not answered yet; set it to a dict of knobs.")
    if not isinstance(answer, Mapping):
        raise CheckpointError(f"{task}: the answer must be a dict of knobs, got "
                              f"{type(answer).__name__}.")
    out = {}
    for name, value in answer.items():
        if name not in allowed:
            raise CheckpointError(f"{task}: this task lets you change only "
                                  f"{', '.join(allowed)}; remove {name!r}.")
        try:
            out[name] = MONITOR_CATALOGUE[name].check(value)
        except KnobError as exc:
            raise CheckpointError(f"{task}: {exc}") from None
    return out


def judge_retraining(answer: Any, *, seeds: Sequence[int]) -> list[str]:
    """The policy's cost per transaction and number of retrainings on each seed."""
    knobs = _knobs(answer, RETRAIN_TASK_KNOBS, "T3")
    try:
        MonitorConfig.from_knobs({**RETRAIN_SCENARIO, **knobs})
    except KnobError as exc:
        raise CheckpointError(f"T3: {exc}") from None
    out = []
    for seed in seeds:
        s = run_monitor({**RETRAIN_SCENARIO, **knobs}, seed=seed).summary
        cost, trained = s["cost"]["per_tx"], s["releases"]["retrains"]
        if cost > RETRAIN_BUDGET["cost_per_tx"]:
            out.append(f"T3: seed {seed}: ${cost:.3f} per transaction, above the "
                       f"${RETRAIN_BUDGET['cost_per_tx']:.2f} budget (the model is stale for "
                       "too long after the drift).")
        if trained > RETRAIN_BUDGET["retrains"]:
            out.append(f"T3: seed {seed}: {trained} retrainings, more than the "
                       f"{RETRAIN_BUDGET['retrains']} releases the team can review.")
    return out


def judge_trace(answer: Any, result: MonitorResult, tx_id: int) -> list[str]:
    """The answer must name what the audit trail says produced decision ``tx_id``."""
    if answer is None or answer is Ellipsis:
        raise CheckpointError("T4: not answered yet; set it to a dict with the keys "
                              f"{', '.join(TRACE_KEYS)}.")
    if not isinstance(answer, Mapping) or set(answer) != set(TRACE_KEYS):
        raise CheckpointError(f"T4: the answer must be a dict with exactly the keys "
                              f"{', '.join(TRACE_KEYS)}, got {answer!r}.")
    truth = result.trace(tx_id)
    out = []
    for key in ("model_version", "data_snapshot"):
        if str(answer[key]).strip() != str(truth[key]):
            out.append(f"T4: {key} {answer[key]!r} is not what the audit trail records; "
                       f"read result.trace({tx_id}).")
    try:
        ok = abs(float(answer["threshold"]) - float(truth["threshold"])) < 1e-9
    except (TypeError, ValueError):
        ok = False
    if not ok:
        out.append(f"T4: threshold {answer['threshold']!r} is not the one that decided this "
                   "transaction.")
    for key, what in (("features", "the inputs the model version uses"),
                      ("missing", "the inputs that were missing for this transaction")):
        given = answer[key]
        given = [given] if isinstance(given, str) else list(given or [])
        if sorted(map(str, given)) != sorted(truth[key]):
            out.append(f"T4: {key!r} must list {what}.")
    return out


def judge_containment(answer: Any, *, seeds: Sequence[int]) -> list[str]:
    """Shut down during the incident only, cheaply, without drowning the review team."""
    _contain_answer(answer)
    out = []
    for seed in seeds:
        before, after = containment(answer, seed)
        inc = next(e for e in after.events if e.kind == "null_feature")
        window = slice(inc.start_h, inc.end_h + 25)
        cost0, cost1 = before.stats.cost[window].sum(), after.stats.cost[window].sum()
        offs = [r.at_h for r in after.audit if r.action == "shutdown"]
        late = [h for h in offs if not inc.start_h <= h <= inc.end_h + 1]
        if not offs or offs[0] - inc.start_h > CONTAIN_BUDGET["detect_h"]:
            out.append(f"T5: seed {seed}: the model was not switched off within "
                       f"{CONTAIN_BUDGET['detect_h']} h of the incident.")
        if late:
            out.append(f"T5: seed {seed}: the model was switched off at hour {late[0]}, "
                       "outside the incident (a blip, not a failure).")
        if cost1 > cost0 * (1 - CONTAIN_BUDGET["cost_cut"]):
            out.append(f"T5: seed {seed}: the incident cost ${cost1:,.0f} with containment "
                       f"against ${cost0:,.0f} without; cut it by at least "
                       f"{CONTAIN_BUDGET['cost_cut']:.0%}.")
        wait = after.summary["shutdown"]["review_wait_h_max"]
        if wait is None or wait > CONTAIN_BUDGET["review_wait_h"]:
            waited = "for ever" if wait is None else f"up to {wait:.0f} h"
            out.append(f"T5: seed {seed}: reviews waited {waited}; the budget is "
                       f"{CONTAIN_BUDGET['review_wait_h']:g} h (the fallback sends the team "
                       "more than it can check).")
        if after.hourly["shut_down"][inc.end_h + 49:].any():
            out.append(f"T5: seed {seed}: the model was still off two days after the "
                       "incident ended; restore it once the feed is fixed.")
    return out
