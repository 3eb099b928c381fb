"""The operating loop's state and actions, each one written to the audit trail.

The state is what is live: the deployed model version and threshold,
whether the model is shut down, and a release in flight (a candidate in
canary).  Actions change it from an hour on:

* ``threshold``: the planned manual threshold change;
* ``shutdown`` / ``shutdown_rule`` / ``restore``: the model is switched off
  (on a plan or because a rule with ``action="shutdown"`` fired) and back on;
* ``retrain`` / ``retrain_rule``: a scheduled or triggered retraining
  (:mod:`labkit.monitor.actions`);
* ``canary_end``: the canary's verdict: full rollout or rollback.

An action decided on the data up to the end of hour ``h - 1`` acts from
hour ``h`` on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from labkit.monitor.actions import Candidate, train_candidate
from labkit.monitor.alerts import AlertRule
from labkit.monitor.audit import AuditLog
from labkit.monitor.config import MonitorConfig
from labkit.monitor.decisions import (
    BLOCK,
    PASS,
    REVIEW,
    Decisions,
    Reference,
    fallback_review,
    score_reference,
    stream_data,
)
from labkit.monitor.model import ModelVersion
from labkit.monitor.monitors import HourlyStats, series
from labkit.monitor.world import Stream

__all__ = ["State", "decide", "next_due", "apply_action", "ACTION_ORDER", "RELEASE_OWNER"]

#: Several actions due in the same hour are applied in this order.
ACTION_ORDER = ("threshold", "shutdown", "shutdown_rule", "restore", "canary_end", "retrain",
                "retrain_rule")
RELEASE_OWNER = "ml-platform"


@dataclass
class State:
    model: ModelVersion
    threshold: float
    seq: int                              # audit record that put the live state in place
    shut_down: bool = False
    release: Candidate | None = None
    release_seq: int = 0
    canary_from_h: int = -1
    last_retrain_h: float = -np.inf


def decide(world: Stream, dec: Decisions, state: State, h0: int, ref: Reference,
           config: MonitorConfig) -> None:
    """Decide every transaction from hour ``h0`` on under ``state``."""
    sl = slice(int(world.starts[h0]), world.size)
    if state.shut_down:
        review = fallback_review(world, ref, sl, config.shutdown.fallback)
        dec.score[sl], dec.version[sl], dec.threshold[sl] = np.nan, 0, np.nan
        dec.decision[sl] = np.where(review, REVIEW, PASS)
        dec.audit_seq[sl] = state.seq
        return
    data = stream_data(world, sl)
    score = state.model.score(data)
    version = np.full(score.size, state.model.version, np.int16)
    threshold = np.full(score.size, state.threshold)
    seq = np.full(score.size, state.seq, np.int32)
    if state.release is not None:
        last = state.canary_from_h + config.retrain.canary_h - 1
        hour = world.hour[sl]
        canary = (hour >= state.canary_from_h) & (hour <= last) & \
                 (world.u_canary[sl] < config.retrain.canary_share)
        if canary.any():
            cand = state.release
            score[canary] = cand.model.score({k: v[canary] for k, v in data.items()})
            version[canary], threshold[canary] = cand.model.version, cand.threshold
            seq[canary] = state.release_seq
    dec.score[sl], dec.version[sl], dec.threshold[sl] = score, version, threshold
    dec.decision[sl] = np.where(score >= threshold, BLOCK, PASS)
    dec.audit_seq[sl] = seq


def trigger_hours(triggers: list[AlertRule], stats: HourlyStats, ref: Reference, state: State,
                  h0: int, ref_h: int, cooldown_h: float) -> dict[str, int]:
    """The first hour >= ``h0`` at which each kind of trigger fires and may act."""
    out: dict[str, int] = {}
    if state.shut_down:
        return out
    for rule in triggers:
        values = series(stats, rule.metric, rule.window_h, reference_hist=ref.hist,
                        reference_cat=ref.cat_hist)
        fire = np.flatnonzero(rule.firing(values))
        fire = fire[fire >= max(h0, ref_h)]
        kind = "retrain_rule" if rule.action == "retrain" else "shutdown_rule"
        if kind == "retrain_rule":
            if state.release is not None:
                continue
            fire = fire[fire + 1 >= state.last_retrain_h + cooldown_h]
        if fire.size:
            out[kind] = min(out.get(kind, fire[0]), int(fire[0]))
    return out


def next_due(planned: list[tuple[int, str]], fired: dict[str, int], h0: int
             ) -> tuple[int, list[str]] | None:
    """The next hour from which something acts, and what acts then."""
    due = [(h, k) for h, k in planned if h >= h0] + [(h + 1, k) for k, h in fired.items()]
    if not due:
        return None
    first = min(h for h, _ in due)
    kinds = sorted({k for h, k in due if h == first}, key=ACTION_ORDER.index)
    return first, kinds


def _record(audit: AuditLog, h: int, action: str, model: ModelVersion, threshold: float,
            owner: str, reason: str, detail: dict[str, Any] | None = None) -> int:
    return audit.add(at_h=h, action=action, model_version=model.name,
                     data_snapshot=model.data_snapshot, features=model.features,
                     threshold=threshold, owner=owner, reason=reason, detail=detail).seq


def apply_action(kind: str, h: int, state: State, *, world: Stream, dec: Decisions,
                 config: MonitorConfig, models: dict[int, ModelVersion],
                 score_refs: dict[int, Any], audit: AuditLog,
                 planned: list[tuple[int, str]]) -> None:
    """Change ``state`` from hour ``h`` on and write the audit record."""
    owner, sd = config.decision.owner, config.shutdown
    if kind == "threshold":
        old, state.threshold = state.threshold, config.decision.new_threshold
        seq = _record(audit, h, "threshold_changed", state.model, state.threshold, owner,
                      "planned change (decision.change_at_day)", {"old_threshold": old})
        if not state.shut_down:
            state.seq = seq
    elif kind in ("shutdown", "shutdown_rule"):
        if state.shut_down:
            return
        if state.release is not None:
            _record(audit, h, "rolled_back", state.release.model, state.release.threshold,
                    RELEASE_OWNER, "canary abandoned: the model is being shut down")
            state.release = None
        state.shut_down = True
        why = "planned (shutdown.at_day)" if kind == "shutdown" else "a shutdown rule fired"
        state.seq = _record(audit, h, "shutdown", state.model, state.threshold, owner, why,
                            {"fallback": sd.fallback,
                             "review_capacity_per_hour": sd.review_capacity_per_hour})
        if kind == "shutdown_rule" and sd.duration_h is not None:
            planned.append((h + sd.duration_h, "restore"))
    elif kind == "restore":
        if state.shut_down:
            state.shut_down = False
            state.seq = _record(audit, h, "restored", state.model, state.threshold, owner,
                                "shutdown.duration_h elapsed")
    elif kind == "canary_end":
        _canary_verdict(h, state, world, dec, config, score_refs, audit)
    elif kind in ("retrain", "retrain_rule"):
        _retrain(kind, h, state, world, config, models, score_refs, audit, planned)
    else:  # pragma: no cover - internal
        raise ValueError(f"unknown action {kind!r}")


def _canary_verdict(h: int, state: State, world: Stream, dec: Decisions,
                    config: MonitorConfig, score_refs: dict[int, Any], audit: AuditLog) -> None:
    cand = state.release
    if cand is None:
        return
    sl = slice(int(world.starts[state.canary_from_h]), int(world.starts[h]))
    mine = dec.version[sl] == cand.model.version
    observed = float(np.mean(dec.decision[sl][mine] != PASS)) if mine.any() else float("nan")
    expected = cand.expected_flag_rate
    detail = {"canary_tx": int(mine.sum()), "canary_flag_rate": observed,
              "expected_flag_rate": expected}
    limit = config.retrain.rollback_flag_ratio
    ok = mine.any() and abs(observed - expected) <= limit * max(expected, 1e-9)
    if ok:
        state.model, state.threshold = cand.model, cand.threshold
        state.seq = _record(audit, h, "rolled_out", cand.model, cand.threshold, RELEASE_OWNER,
                            "canary flag rate matched the gate", detail)
    else:
        _record(audit, h, "rolled_back", cand.model, cand.threshold, RELEASE_OWNER,
                f"canary flag rate off by more than {limit:g} of the gate's", detail)
    state.release = None


def _retrain(kind: str, h: int, state: State, world: Stream, config: MonitorConfig,
             models: dict[int, ModelVersion], score_refs: dict[int, Any], audit: AuditLog,
             planned: list[tuple[int, str]]) -> None:
    why = "scheduled (retrain.every_days)" if kind == "retrain" else "a trigger rule fired"
    state.last_retrain_h = h
    if state.shut_down or state.release is not None:
        busy = "the model is shut down" if state.shut_down else "a release is in canary"
        _record(audit, h, "retrain_skipped", state.model, state.threshold, RELEASE_OWNER,
                f"{why}, but {busy}")
        return
    version = max(models) + 1
    cand = train_candidate(world, config, at_h=h, version=version, current=state.model,
                           threshold=state.threshold)
    if isinstance(cand, str):
        _record(audit, h, "retrain_skipped", state.model, state.threshold, RELEASE_OWNER,
                f"{why}, but {cand}")
        return
    models[version] = cand.model
    _record(audit, h, "candidate_trained", cand.model, cand.threshold, RELEASE_OWNER, why,
            {"n_train": cand.model.n_train})
    if not cand.passed:
        _record(audit, h, "gate_failed", cand.model, cand.threshold, RELEASE_OWNER,
                "candidate costs more than the live model on the holdout", cand.detail())
        return
    _record(audit, h, "gate_passed", cand.model, cand.threshold, RELEASE_OWNER,
            "candidate no worse than the live model on the holdout", cand.detail())
    ref_h, bins = config.reference_h, config.monitor.psi_bins
    score_refs[version] = score_reference(cand.model, world, ref_h, bins)
    if config.retrain.canary_h > 0:
        state.release, state.canary_from_h = cand, h
        state.release_seq = _record(audit, h, "canary_started", cand.model, cand.threshold,
                                    RELEASE_OWNER, f"{config.retrain.canary_share:.0%} of "
                                    f"traffic for {config.retrain.canary_h} h")
        planned.append((h + config.retrain.canary_h, "canary_end"))
    else:
        state.model, state.threshold = cand.model, cand.threshold
        state.seq = _record(audit, h, "rolled_out", cand.model, cand.threshold, RELEASE_OWNER,
                            "no canary configured (retrain.canary_h = 0)")
