"""Collecting a run: the record arrays and the headline summary.

The summary answers the questions of lab 3 in one dict:

* ``offline`` against ``online``: precision, recall and cost per transaction
  of v1 on its clean offline test set, and of the live decisions on
  production traffic once all labels are in;
* ``alerts``: total and per week, false ones and their share, per rule, and
  time to detect each injected event (:func:`labkit.monitor.alerts.alert_summary`);
* ``releases``: retrainings tried, skipped, gated out, rolled out and back;
* ``shutdown``: hours off, reviews, the peak review backlog and wait;
* ``cost``: what the mistakes and reviews cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from labkit.monitor.alerts import AlertRule, alert_summary
from labkit.monitor.audit import AuditRecord
from labkit.monitor.config import MonitorConfig
from labkit.monitor.decisions import BLOCK, PASS, Decisions
from labkit.monitor.metrics import confusion_matrix
from labkit.monitor.model import ModelVersion
from labkit.monitor.monitors import HourlyStats
from labkit.monitor.result import HOURLY_DTYPE, TX_DTYPE, json_ready
from labkit.monitor.world import Stream

__all__ = ["build_transactions", "build_hourly", "build_summary"]


def build_transactions(world: Stream, dec: Decisions) -> np.ndarray:
    tx = np.zeros(world.size, TX_DTYPE)
    tx["tx_id"] = np.arange(world.size)
    for name in ("hour", "region", "category", "amount", "velocity", "device_risk", "label"):
        tx[name] = getattr(world, name)
    tx["score"], tx["model_version"] = dec.score, dec.version
    tx["threshold"], tx["decision"], tx["audit_seq"] = dec.threshold, dec.decision, dec.audit_seq
    tx.setflags(write=False)
    return tx


def build_hourly(world: Stream, stats: HourlyStats, main_version: np.ndarray, dec: Decisions,
                 backlog: np.ndarray, wait: np.ndarray) -> np.ndarray:
    H = world.hours
    out = np.zeros(H, HOURLY_DTYPE)
    out["hour"] = np.arange(H)
    out["n"], out["flags"], out["reviews"] = stats.n, stats.flags, stats.reviews
    out["fraud"] = stats.tp + stats.fn
    out["review_backlog"], out["review_wait_h"] = backlog, wait
    out["model_version"], out["shut_down"] = main_version, main_version == 0
    thr = np.full(H, np.nan)
    live = dec.version > 0
    if live.any():
        # the threshold of the live (non-canary) model in each hour
        main = live & (dec.version == main_version[world.hour])
        idx = np.flatnonzero(main)
        thr[world.hour[idx]] = dec.threshold[idx]
    out["threshold"] = thr
    out["latency_p95_ms"], out["errors"] = stats.latency_p95_ms, stats.errors
    out["rate_limited"] = stats.rate_limited
    for event in world.events:
        out[event.kind][event.start_h:event.end_h + 1] = True
    out.setflags(write=False)
    return out


def _quality(y: np.ndarray, flagged: np.ndarray, cost_fn: float, cost_fp: float,
             n_review: int = 0, cost_review: float = 0.0) -> dict[str, Any]:
    cm = confusion_matrix(y, flagged)
    total = cm.cost(cost_fn=cost_fn, cost_fp=cost_fp) + n_review * cost_review
    return {"precision": cm.precision, "recall": cm.recall, "flag_rate": cm.flag_rate,
            "cost_per_tx": total / cm.total if cm.total else float("nan"),
            "confusion": {"tp": cm.tp, "fp": cm.fp, "fn": cm.fn, "tn": cm.tn}}


def build_summary(*, config: MonitorConfig, seed: int, world: Stream, stats: HourlyStats,
                  alerts: np.ndarray, rules: Sequence[AlertRule],
                  audit: Sequence[AuditRecord], offline: dict[str, np.ndarray],
                  v1: ModelVersion, hourly: np.ndarray, monitored_h: int,
                  dec: Decisions) -> dict[str, Any]:
    c = config.cost
    thr = config.decision.threshold
    off_flag = v1.score(offline) >= thr
    offline_q = _quality(offline["label"], off_flag, c.missed_fraud, c.false_block)
    tp, fp, fn, tn = (int(x.sum()) for x in (stats.tp, stats.fp, stats.fn, stats.tn))
    n = tp + fp + fn + tn
    reviews = int(stats.reviews.sum())
    online_q = {"precision": tp / (tp + fp) if tp + fp else float("nan"),
                "recall": tp / (tp + fn) if tp + fn else float("nan"),
                "flag_rate": (tp + fp) / n if n else float("nan"),
                "cost_per_tx": float(stats.cost.sum()) / n if n else float("nan"),
                "confusion": {"tp": tp, "fp": fp, "fn": fn, "tn": tn}}
    actions = [r.action for r in audit]
    live = [r for r in audit if r.action in ("deploy", "rolled_out")]
    fallback_hours = int(hourly["shut_down"].sum())
    blocked_good = int(np.sum((dec.decision == BLOCK) & ~world.label))
    missed = int(np.sum((dec.decision == PASS) & world.label))
    summary = {
        "seed": seed, "weeks": config.stream.weeks, "hours": config.horizon_h,
        "transactions": world.size, "fraud": int(world.label.sum()),
        "fraud_rate": float(world.label.mean()) if world.size else float("nan"),
        "label_delay_h": config.labels.delay_h,
        "offline": {"threshold": thr, **offline_q, "transactions": int(offline["label"].size)},
        "online": online_q,
        "alerts": alert_summary(alerts, world.events, monitored_h=monitored_h, rules=rules),
        "releases": {"retrains": actions.count("candidate_trained"),
                     "skipped": actions.count("retrain_skipped"),
                     "gate_failed": actions.count("gate_failed"),
                     "rolled_out": actions.count("rolled_out"),
                     "rolled_back": actions.count("rolled_back"),
                     "final_model": live[-1].model_version,
                     "final_threshold": float(live[-1].threshold)
                     if actions.count("threshold_changed") == 0 else None},
        "threshold": {"initial": thr, "changes": actions.count("threshold_changed")},
        "shutdown": {"hours_off": fallback_hours, "fallback": config.shutdown.fallback,
                     "reviews": reviews,
                     "reviews_per_day_off": reviews / (fallback_hours / 24)
                     if fallback_hours else 0.0,
                     "review_backlog_peak": float(hourly["review_backlog"].max(initial=0)),
                     "review_wait_h_max": float(hourly["review_wait_h"].max(initial=0))},
        "cost": {"total": float(stats.cost.sum()), "per_tx": online_q["cost_per_tx"],
                 "missed_fraud": float(missed * c.missed_fraud),
                 "false_blocks": float(blocked_good * c.false_block),
                 "reviews": float(reviews * c.review)},
        "events": [e.name for e in world.events if not e.benign],
        "blips": sum(1 for e in world.events if e.benign),
        "audit_records": len(audit),
    }
    return json_ready(summary)

