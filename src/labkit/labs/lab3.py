"""Lab 3, evaluation, monitoring and governance: scenarios, tables and task judges.

The lab notebook and its hidden tests both import this module, so every
scenario is written down once (as knobs of :mod:`labkit.monitor`).  Each
graded task has a judge: ``judge_*(answer, seeds=...)`` runs the monitor with
the answer on the seeds it is given and returns a list of problems, one
sentence each saying what failed and where to look (empty: the answer
passes).  Answers with the wrong form raise
:class:`labkit.checkpoints.CheckpointError`.  The seeds a learner is graded
on live in the notebook's hidden tests.

1. *Offline is not online*: the cost-weighted threshold (:func:`judge_threshold`).
2. *Monitoring people will still read*: null-rate rules that catch the
   incident without paging for blips (:func:`judge_null_rules`).
3. *Drift and retraining*: a retraining policy within a cost and change
   budget (:func:`judge_retraining`).
4. *Governance drill*: the audit trail of one decision (:func:`judge_trace`)
   and containment by shutdown (:func:`judge_containment`).

>>> sorted(THRESHOLD_COSTS)
['cost_fn', 'cost_fp']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from labkit.checkpoints import CheckpointError
from labkit.knobs import KnobError
from labkit.monitor import (AlertRule, MonitorConfig, MonitorResult, best_threshold_for_cost,
                            expected_cost, run_monitor)
from labkit.monitor.knobs import MONITOR_CATALOGUE, NUMERIC_FEATURES

__all__ = ["THRESHOLD_COSTS", "OFFLINE_SCENARIO", "evaluation_set", "quality_table",
           "labels_known", "noise_table", "alerts_table", "SUGGESTED_SUBCATEGORIES",
           "subcategory_table",
           "judge_threshold", "ALERT_SCENARIO", "ALERT_BUDGET", "null_rules", "rule_report",
           "judge_null_rules", "alert_run", "DRIFT_SCENARIOS", "drift_runs", "RETRAIN_SCENARIO",
           "RETRAIN_POLICIES", "RETRAIN_TASK_KNOBS", "RETRAIN_BUDGET", "retrain_table",
           "judge_retraining", "DRILL_SCENARIO", "drill_transaction", "TRACE_KEYS",
           "judge_trace", "CONTAIN_BUDGET", "containment", "judge_containment", "table"]

# --- 1. offline is not online -------------------------------------------------------
#: What mistakes cost in the threshold task: a missed fraud, a blocked good customer.
THRESHOLD_COSTS = {"cost_fn": 120.0, "cost_fp": 15.0}
#: Two weeks of production with messy inputs: base nulls, outliers, one benign blip a week.
OFFLINE_SCENARIO: dict[str, Any] = {"stream.weeks": 2, "stream.null_blips_per_week": 1.0,
                                    "cost.missed_fraud": 120.0, "cost.false_block": 15.0}


@lru_cache(maxsize=8)
def _evaluation(seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    res = run_monitor(OFFLINE_SCENARIO, seed=seed)
    tx = res.transactions
    known = tx["hour"] + res.config.labels.delay_h < res.config.horizon_h
    data = {"amount": tx["amount"], "velocity": tx["velocity"],
            "device_risk": tx["device_risk"], "category": tx["category"]}
    y, s = tx["label"][known], res.models[1].score(data)[known]
    for arr in (y, s):
        arr.setflags(write=False)
    best = best_threshold_for_cost(y, s, **THRESHOLD_COSTS)
    return y, s, expected_cost(y, s, best, **THRESHOLD_COSTS)


def evaluation_set(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels and v1 scores of the production transactions whose labels have arrived."""
    y, s, _ = _evaluation(int(seed))
    return y, s


def table(rows: Sequence[Mapping[str, Any]]) -> Any:
    """Rows as a small Markdown table that renders in a notebook (plain text elsewhere)."""
    class _Table:
        def __init__(self, rows: Sequence[Mapping[str, Any]]) -> None:
            self.rows = list(rows)

        def _text(self, sep: str) -> str:
            if not self.rows:
                return "(no rows)"
            head = list(self.rows[0])
            def fmt(v: Any) -> str:
                if isinstance(v, float):
                    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"
                return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)

            lines = [sep.join(head)] + [sep.join(fmt(r.get(k, "")) for k in head)
                                        for r in self.rows]
            return "\n".join(lines)

        def _repr_markdown_(self) -> str:
            body = self._text(" | ").splitlines()
            return "\n".join([f"| {body[0]} |", "|" + "---|" * len(self.rows[0])]
                             + [f"| {line} |" for line in body[1:]]) if self.rows else ""

        def __repr__(self) -> str:
            return self._text("  ")

    return _Table(rows)


def labels_known(result: MonitorResult, days: Sequence[float]) -> Any:
    """On each day, the share of transactions so far whose true label has arrived."""
    hours = result.transactions["hour"]
    delay = result.config.labels.delay_h
    rows = []
    for day in days:
        now = int(round(day * 24))
        seen = hours < now
        known = hours + delay < now
        rows.append({"day": day, "transactions so far": int(seen.sum()),
                     "labels known": int(known.sum()),
                     "share known": float(known.sum() / max(1, seen.sum()))})
    return table(rows)


def noise_table(probabilities: Sequence[float] = (0.05, 0.01, 0.001), *, weeks: int = 26,
                seed: int = 0) -> Any:
    """Pages a week from a rule on pure noise: theory (168 p per week) against a simulation.

    The noise is the simulator's quiet-hour latency (log-normal, sd 0.1); the rule's
    threshold is set at the (1 - p) quantile, so it fires in a share p of hours.
    """
    from statistics import NormalDist

    res = run_monitor({"stream.weeks": weeks, "stream.tx_per_hour": 20,
                       "model.offline_samples": 2000}, seed=seed)
    values = res.series("health.latency_p95_ms", 1)[res.config.reference_h:]
    base = res.config.health.latency_p95_ms
    rows = []
    for p in probabilities:
        threshold = base * float(np.exp(0.1 * NormalDist().inv_cdf(1 - p)))
        rule = AlertRule(name="noise", metric="health.latency_p95_ms", threshold=threshold,
                         owner="sre")
        fired = int(rule.firing(values).sum())
        rows.append({"false-positive rate per check": p, "theory: pages a week": 168 * p,
                     "simulated: pages a week": fired / (values.size / 168)})
    return table(rows)


def alerts_table(result: MonitorResult, limit: int = 15) -> Any:
    """The first alerts of a run: rule, owner, when, how long, judged true or false."""
    rows = []
    for a in result.alerts[:limit]:
        rows.append({"rule": str(a["rule"]), "owner": str(a["owner"]),
                     "opened (day)": round(int(a["opened_h"]) / 24, 2),
                     "hours open": int(a["last_h"]) - int(a["opened_h"]) + 1,
                     "value": float(a["value"]), "true": bool(a["true"]),
                     "event": str(a["event"]) or "-"})
    return table(rows)


#: The NIST AI RMF 1.0 subcategories that fit an operational risk like those of this lab.
SUGGESTED_SUBCATEGORIES = ("GOVERN 1.5", "GOVERN 2.1", "GOVERN 4.3", "GOVERN 6.2", "MAP 3.5",
                           "MEASURE 2.4", "MEASURE 2.6", "MEASURE 3.1", "MANAGE 2.3",
                           "MANAGE 2.4", "MANAGE 4.1", "MANAGE 4.3")


def subcategory_table(ids: Sequence[str] = SUGGESTED_SUBCATEGORIES) -> Any:
    """NIST AI RMF 1.0 subcategories with their meaning, paraphrased."""
    from labkit.evidence.nist_rmf import SUBCATEGORIES

    return table([{"subcategory": i, "what it asks (paraphrased)": SUBCATEGORIES[i]}
                  for i in ids])


def quality_table(result: MonitorResult) -> Any:
    """Offline (clean test set) against online (production, labels all in) for one run."""
    rows = []
    for name in ("offline", "online"):
        q = result.summary[name]
        rows.append({"where": name, "precision": q["precision"], "recall": q["recall"],
                     "flag rate": q["flag_rate"], "cost per tx ($)": q["cost_per_tx"]})
    return table(rows)


def _number(answer: Any, task: str, lo: float, hi: float) -> float:
    if answer is None or answer is Ellipsis:
        raise CheckpointError(f"{task}: not answered yet; set it to a number.")
    if isinstance(answer, bool) or not isinstance(answer, (int, float, np.floating)):
        raise CheckpointError(f"{task}: the answer must be a number, got {answer!r}.")
    value = float(answer)
    if not lo <= value <= hi:
        raise CheckpointError(f"{task}: {value:g} is outside {lo:g} .. {hi:g}.")
    return value


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


# --- 2. monitoring that people will still read ----------------------------------------
#: Three weeks; device_risk goes 85% null on day 10 for three days; three blips a week.
ALERT_SCENARIO: dict[str, Any] = {"stream.weeks": 3, "incident.null_at_day": 10.0,
                                  "stream.null_blips_per_week": 3.0}
#: Detect the incident within this many hours, with at most this many false alerts a week.
ALERT_BUDGET = {"detect_h": 6, "false_per_week": 1.0}


def _rule_answer(answer: Any, task: str) -> tuple[float, int]:
    if answer is None or answer is Ellipsis:
        raise CheckpointError(f"{task}: not answered yet; set it to a dict such as "
                              "{'threshold': 0.5, 'window_h': 2}.")
    if not isinstance(answer, Mapping) or set(answer) != {"threshold", "window_h"}:
        raise CheckpointError(f"{task}: the answer must be a dict with exactly the keys "
                              f"'threshold' and 'window_h', got {answer!r}.")
    threshold = _number(answer["threshold"], task, 0.0, 1.0)
    window = answer["window_h"]
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) \
            or not 1 <= window <= 168:
        raise CheckpointError(f"{task}: window_h must be a whole number of hours from 1 to "
                              f"168, got {window!r}.")
    return threshold, int(window)


def null_rules(answer: Mapping[str, Any], *, action: str = "page",
               features: Sequence[str] = NUMERIC_FEATURES) -> list[AlertRule]:
    """One null-rate rule per feature with the answer's threshold and window."""
    threshold, window = _rule_answer(answer, "rule")
    return [AlertRule(name=f"null-rate:{f}", metric=f"input.null_rate.{f}",
                      threshold=threshold, window_h=window, owner="data-platform on-call",
                      action=action) for f in features]


@lru_cache(maxsize=8)
def alert_run(seed: int) -> MonitorResult:
    """The activity 2 scenario on one seed (paging rules do not change a run, so it is shared)."""
    return run_monitor(ALERT_SCENARIO, seed=seed)


def rule_report(answer: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """How the answer's rules did on one seed: detection, false alerts, the alerts."""
    res = alert_run(int(seed))
    alerts, summary = res.evaluate(null_rules(answer))
    det = summary["detection"]["null_feature:device_risk"]
    return {"seed": seed, "time_to_detect_h": det["time_to_detect_h"],
            "alerts": summary["total"], "false": summary["false"],
            "false_per_week": round(summary["false_per_week"], 2), "result": res,
            "alerts_table": alerts}


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


# --- 3. drift and retraining ---------------------------------------------------------
#: Four weeks each: no drift, data drift and concept drift from day 8.
DRIFT_SCENARIOS: dict[str, dict[str, Any]] = {
    "no drift": {"stream.weeks": 4, "stream.tx_per_hour": 200},
    "data drift": {"stream.weeks": 4, "stream.tx_per_hour": 200, "drift.data_at_day": 8.0},
    "concept drift": {"stream.weeks": 4, "stream.tx_per_hour": 200,
                      "drift.concept_at_day": 8.0},
}


def drift_runs(seed: int) -> dict[str, MonitorResult]:
    return {name: run_monitor(knobs, seed=seed) for name, knobs in DRIFT_SCENARIOS.items()}


#: Six weeks; fraudsters change tactics on day 10 (concept drift).
RETRAIN_SCENARIO: dict[str, Any] = {"stream.weeks": 6, "stream.tx_per_hour": 200,
                                    "drift.concept_at_day": 10.0}
RETRAIN_POLICIES: dict[str, dict[str, Any]] = {
    "never": {},
    "every 7 days": {"retrain.policy": "schedule", "retrain.every_days": 7},
    "on a recall trigger": {"retrain.policy": "trigger", "retrain.trigger_on": ("recall",),
                            "alerts.recall_floor": 0.25},
}
RETRAIN_TASK_KNOBS = ("retrain.policy", "retrain.every_days", "retrain.trigger_on",
                      "retrain.cooldown_days", "retrain.train_days", "retrain.retune_threshold",
                      "alerts.recall_floor", "alerts.precision_floor", "alerts.label_window_h",
                      "alerts.psi_threshold", "alerts.psi_window_h")
#: Cost per transaction over the six weeks, and candidates trained (each is a release to review).
RETRAIN_BUDGET = {"cost_per_tx": 3.60, "retrains": 4}


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


def retrain_table(results: Mapping[str, MonitorResult]) -> Any:
    rows = []
    for name, res in results.items():
        s = res.summary
        rows.append({"policy": name, "cost per tx ($)": s["cost"]["per_tx"],
                     "recall": s["online"]["recall"], "trained": s["releases"]["retrains"],
                     "gate failed": s["releases"]["gate_failed"],
                     "rolled out": s["releases"]["rolled_out"],
                     "rolled back": s["releases"]["rolled_back"],
                     "live model": s["releases"]["final_model"]})
    return table(rows)


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


# --- 4. governance drill ---------------------------------------------------------------
#: Two weeks; the risk team lowers the threshold on day 5; device_risk goes 85% null on
#: day 8 for three days; blips as in activity 2.
DRILL_SCENARIO: dict[str, Any] = {"stream.weeks": 2, "incident.null_at_day": 8.0,
                                  "stream.null_blips_per_week": 3.0,
                                  "decision.change_at_day": 5.0, "decision.new_threshold": 0.15}
TRACE_KEYS = ("model_version", "data_snapshot", "features", "threshold", "missing")


def drill_transaction(result: MonitorResult) -> int:
    """The first missed fraud with ``device_risk`` missing, 6 h into the incident."""
    tx = result.transactions
    start = next(e.start_h for e in result.events if e.kind == "null_feature")
    hits = np.flatnonzero((tx["hour"] >= start + 6) & tx["label"] & (tx["decision"] == 0)
                          & np.isnan(tx["device_risk"]))
    return int(hits[0])


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


#: Containment must cut the incident's cost by this share, keep reviews this fast, and
#: never switch the model off outside the incident.
CONTAIN_BUDGET = {"cost_cut": 0.10, "review_wait_h": 2.0, "detect_h": 8}
_FALLBACKS = MONITOR_CATALOGUE["shutdown.fallback"].choices


def _contain_answer(answer: Any) -> dict[str, Any]:
    keys = {"threshold", "window_h", "fallback", "duration_h"}
    if answer is None or answer is Ellipsis:
        raise CheckpointError("T5: not answered yet; set it to a dict with the keys "
                              "threshold, window_h, fallback and duration_h.")
    if not isinstance(answer, Mapping) or set(answer) != keys:
        raise CheckpointError("T5: the answer must be a dict with exactly the keys threshold, "
                              f"window_h, fallback and duration_h, got {answer!r}.")
    _rule_answer({"threshold": answer["threshold"], "window_h": answer["window_h"]}, "T5")
    if answer["fallback"] not in _FALLBACKS:
        raise CheckpointError(f"T5: fallback must be one of {', '.join(_FALLBACKS)}, got "
                              f"{answer['fallback']!r}.")
    d = answer["duration_h"]
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or not 1 <= d <= 168:
        raise CheckpointError(f"T5: duration_h must be a whole number of hours from 1 to 168, "
                              f"got {d!r}.")
    return dict(answer)


def containment(answer: Mapping[str, Any], seed: int) -> tuple[MonitorResult, MonitorResult]:
    """The drill without containment and with the answer's shutdown rule, same seed."""
    a = _contain_answer(answer)
    rules = null_rules({"threshold": a["threshold"], "window_h": a["window_h"]},
                       action="shutdown", features=("device_risk",))
    knobs = {**DRILL_SCENARIO, "shutdown.fallback": a["fallback"],
             "shutdown.duration_h": int(a["duration_h"])}
    return run_monitor(DRILL_SCENARIO, seed=seed), run_monitor(knobs, seed=seed, rules=rules)


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
