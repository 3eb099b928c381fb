"""Lab 3's views: small tables that render in a notebook (plain text elsewhere).

Each returns a :class:`labkit.labs.common.Table`: Markdown in a notebook, aligned text
elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from labkit.labs.common import Table, beside, table
from labkit.monitor import AlertRule, MonitorResult, run_monitor

__all__ = ["labels_known", "noise_table", "alerts_table", "SUGGESTED_SUBCATEGORIES",
           "subcategory_table", "quality_table", "retrain_table", "beside", "health_table",
           "HEALTH_RULES"]


#: The default system-health rules (names of :func:`labkit.monitor.default_rules`).
HEALTH_RULES = ("latency-p95", "error-rate", "rate-limited")


def health_table(result: MonitorResult) -> Table:
    """Each system-health alert of a run: rule, when, how long, peak value, true or false."""
    rows = []
    for a in result.alerts:
        if str(a["rule"]) not in HEALTH_RULES:
            continue
        rows.append({"rule": str(a["rule"]), "metric": str(a["metric"]),
                     "opened (day)": round(int(a["opened_h"]) / 24, 2),
                     "hours open": int(a["last_h"]) - int(a["opened_h"]) + 1,
                     "first value": float(a["value"]), "threshold": float(a["threshold"]),
                     "true": bool(a["true"]), "event": str(a["event"]) or "-"})
    return table(rows)


def labels_known(result: MonitorResult, days: Sequence[float]) -> Table:
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
                seed: int = 0) -> Table:
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


def alerts_table(result: MonitorResult, limit: int = 15) -> Table:
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


def subcategory_table(ids: Sequence[str] = SUGGESTED_SUBCATEGORIES) -> Table:
    """NIST AI RMF 1.0 subcategories with their meaning, paraphrased."""
    from labkit.evidence.nist_rmf import SUBCATEGORIES

    return table([{"subcategory": i, "what it asks (paraphrased)": SUBCATEGORIES[i]}
                  for i in ids])


def quality_table(result: MonitorResult) -> Table:
    """Offline (clean test set) against online (production, labels all in) for one run."""
    rows = []
    for name in ("offline", "online"):
        q = result.summary[name]
        rows.append({"where": name, "precision": q["precision"], "recall": q["recall"],
                     "flag rate": q["flag_rate"], "cost per tx ($)": q["cost_per_tx"]})
    return table(rows)


def retrain_table(results: Mapping[str, MonitorResult]) -> Table:
    """One row per retraining policy: cost, recall and what happened to its releases; with a
    run named ``"never"`` among them (same scenario and seed), the share of its cost each
    policy cuts (T3's yardstick)."""
    never = results.get("never")
    rows = []
    for name, res in results.items():
        s = res.summary
        row = {"policy": name, "cost per tx ($)": s["cost"]["per_tx"]}
        if never is not None:
            row["cut vs never"] = 1 - s["cost"]["per_tx"] / never.summary["cost"]["per_tx"]
        rows.append({**row, "recall": s["online"]["recall"],
                     "trained": s["releases"]["retrains"],
                     "gate failed": s["releases"]["gate_failed"],
                     "rolled out": s["releases"]["rolled_out"],
                     "rolled back": s["releases"]["rolled_back"],
                     "live model": s["releases"]["final_model"]})
    return table(rows)
