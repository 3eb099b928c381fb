"""Lab 3's views: small tables that render in a notebook (plain text elsewhere)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from labkit.monitor import AlertRule, MonitorResult, run_monitor

__all__ = ["table", "labels_known", "noise_table", "alerts_table", "SUGGESTED_SUBCATEGORIES",
           "subcategory_table", "quality_table", "retrain_table"]

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
