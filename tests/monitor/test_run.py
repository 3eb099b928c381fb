"""run_monitor end to end: direction of effects, detection, actions, audit, seeds."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from labkit.knobs import KnobError
from labkit.monitor import AlertRule, MonitorConfig, run_monitor
from labkit.monitor.decisions import BLOCK, PASS, REVIEW

SMALL = {"stream.weeks": 2}


def _nanmean(x: np.ndarray) -> float:
    return float(np.nanmean(x))


def test_same_seed_same_run_other_seed_other_run() -> None:
    a = run_monitor(SMALL, seed=4)
    b = run_monitor(MonitorConfig.from_knobs(SMALL), seed=4)
    c = run_monitor(SMALL, seed=5)
    for name in a.transactions.dtype.names:
        assert np.array_equal(a.transactions[name], b.transactions[name], equal_nan=True), name
    assert a.summary == b.summary
    assert a.summary != c.summary


def test_records_are_immutable_and_consistent() -> None:
    res = run_monitor(SMALL, seed=1)
    assert not res.transactions.flags.writeable and not res.hourly.flags.writeable
    assert res.hourly["n"].sum() == res.transactions.size == res.summary["transactions"]
    assert res.hourly["fraud"].sum() == res.transactions["label"].sum()
    flagged = res.transactions["decision"] != PASS
    assert res.hourly["flags"].sum() == flagged.sum()
    q = res.summary["online"]
    tp = int(np.sum(flagged & res.transactions["label"]))
    assert q["confusion"]["tp"] == tp
    assert q["precision"] == pytest.approx(tp / flagged.sum())


def test_data_drift_raises_input_psi() -> None:
    base = run_monitor(SMALL, seed=2)
    drift = run_monitor({**SMALL, "drift.data_at_day": 5, "drift.data_ramp_days": 1}, seed=2)
    after = slice(6 * 24 + 24, None)   # a full 24 h window after the ramp
    assert _nanmean(drift.series("input.psi.amount", 24)[after]) > 0.25
    assert _nanmean(base.series("input.psi.amount", 24)[after]) < 0.05
    assert _nanmean(drift.series("input.new_category_share", 24)[after]) > 0.05
    assert _nanmean(drift.series("output.score_psi", 24)[after]) > \
        5 * _nanmean(base.series("output.score_psi", 24)[after])
    assert drift.summary["alerts"]["detection"]["data_drift"]["time_to_detect_h"] is not None


def test_concept_drift_hides_from_inputs_and_shows_in_labels_once_they_arrive() -> None:
    knobs = {"stream.weeks": 3, "drift.concept_at_day": 7, "drift.concept_ramp_days": 0}
    base = run_monitor({"stream.weeks": 3}, seed=3)
    drift = run_monitor(knobs, seed=3)
    for metric in ("input.psi.amount", "input.psi.device_risk", "input.psi.merchant_category",
                   "output.score_psi", "output.flag_rate"):
        assert np.array_equal(base.series(metric, 24), drift.series(metric, 24),
                              equal_nan=True), metric
    delay, start = drift.config.labels.delay_h, 7 * 24
    b, d = base.series("label.recall", 48), drift.series("label.recall", 48)
    # before the labels of the drift arrive, recall looks exactly as without drift
    assert np.array_equal(b[:start + delay], d[:start + delay], equal_nan=True)
    late = slice(start + delay + 48, None)
    assert _nanmean(d[late]) < 0.5 * _nanmean(b[late])
    assert _nanmean(drift.series("label.precision", 48)[late]) < \
        0.5 * _nanmean(base.series("label.precision", 48)[late])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_null_feature_incident_is_detected_by_a_null_rate_rule_within_its_window(
        seed: int) -> None:
    rule = AlertRule(name="nulls", metric="input.null_rate.device_risk", threshold=0.3,
                     window_h=3, owner="data-platform")
    res = run_monitor({**SMALL, "incident.null_at_day": 8}, seed=seed, rules=[rule])
    found = res.summary["alerts"]["detection"]["null_feature:device_risk"]
    assert found["detected_by"] == "nulls"
    assert 1 <= found["time_to_detect_h"] <= rule.window_h
    assert res.summary["alerts"]["true"] >= 1


def test_null_incident_lowers_recall_and_flags() -> None:
    base = run_monitor(SMALL, seed=6)
    inc = run_monitor({**SMALL, "incident.null_at_day": 5, "incident.null_duration_h": 72},
                      seed=6)
    window = (base.transactions["hour"] >= 120) & (base.transactions["hour"] < 192)

    def recall(res):
        tx = res.transactions[window]
        return np.mean(tx["decision"][tx["label"]] != PASS)

    assert recall(inc) < 0.6 * recall(base)


def test_threshold_change_applies_from_its_hour() -> None:
    res = run_monitor({**SMALL, "decision.change_at_day": 5, "decision.new_threshold": 0.05},
                      seed=1)
    tx = res.transactions
    assert set(np.unique(tx["threshold"][tx["hour"] < 120])) == {0.2}
    assert set(np.unique(tx["threshold"][tx["hour"] >= 120])) == {0.05}
    assert np.all((tx["score"] >= tx["threshold"]) == (tx["decision"] == BLOCK))
    (rec,) = [a for a in res.audit if a.action == "threshold_changed"]
    assert (rec.at_h, rec.threshold, rec.owner) == (120, 0.05, "risk-team")


def test_shutdown_sends_decisions_to_the_fallback_and_creates_review_work() -> None:
    knobs = {**SMALL, "shutdown.at_day": 5, "shutdown.duration_h": 24}
    res = run_monitor(knobs, seed=1)
    tx, hourly = res.transactions, res.hourly
    off = (tx["hour"] >= 120) & (tx["hour"] < 144)
    assert np.isnan(tx["score"][off]).all() and np.all(tx["model_version"][off] == 0)
    assert set(np.unique(tx["decision"][off])) <= {PASS, REVIEW}
    assert not np.isnan(tx["score"][~off]).any()
    share = np.mean(tx["decision"][off] == REVIEW)
    assert 0.05 < share < 0.4
    assert res.summary["shutdown"]["hours_off"] == 24
    assert hourly["shut_down"][120:144].all() and not hourly["shut_down"][144:].any()
    assert [a.action for a in res.audit][-2:] == ["shutdown", "restored"]
    everything = run_monitor({**knobs, "shutdown.fallback": "review_all"}, seed=1)
    s = everything.summary["shutdown"]
    assert s["reviews"] == int(off.sum())
    assert s["review_backlog_peak"] > 1000 and s["review_wait_h_max"] > 10
    allow = run_monitor({**knobs, "shutdown.fallback": "allow_all"}, seed=1)
    assert np.all(allow.transactions["decision"][off] == PASS)


def test_a_shutdown_rule_switches_the_model_off_when_it_fires() -> None:
    rule = AlertRule(name="kill", metric="input.null_rate.device_risk", threshold=0.5,
                     window_h=2, owner="incident-commander", action="shutdown")
    res = run_monitor({**SMALL, "incident.null_at_day": 6, "shutdown.duration_h": 12},
                      seed=2, rules=[rule])
    offs = [a for a in res.audit if a.action == "shutdown"]
    assert 145 <= offs[0].at_h <= 147 and offs[0].reason == "a shutdown rule fired"
    assert res.hourly["shut_down"][offs[0].at_h] and res.summary["shutdown"]["hours_off"] >= 12
    # restored after 12 h, switched off again while the incident lasts, never after it
    assert len(offs) > 1 and all(a.at_h <= 144 + 72 + 2 for a in offs)
    assert not res.hourly["shut_down"][144 + 72 + 2 + 12:].any()


def test_scheduled_retraining_is_a_release_with_gate_canary_and_audit() -> None:
    res = run_monitor({**SMALL, "retrain.policy": "schedule", "retrain.gate_tolerance": 1.0},
                      seed=0)
    actions = [a.action for a in res.audit]
    assert actions[:5] == ["deploy", "candidate_trained", "gate_passed", "canary_started",
                           actions[4]]
    assert actions[4] in ("rolled_out", "rolled_back")
    cand = res.audit[1]
    assert cand.model_version == "v2" and cand.data_snapshot.startswith("tx-h")
    canary = (res.transactions["hour"] >= 168) & (res.transactions["hour"] < 192)
    share = np.mean(res.transactions["model_version"][canary] == 2)
    assert abs(share - 0.25) < 0.05
    assert np.all(res.transactions["model_version"][res.transactions["hour"] < 168] == 1)


def test_canary_is_rolled_back_when_live_traffic_departs_from_the_gate() -> None:
    """A null-feature incident starts with the canary: its flag rate collapses."""
    res = run_monitor({**SMALL, "retrain.policy": "schedule", "retrain.gate_tolerance": 1.0,
                       "incident.null_at_day": 7}, seed=0)
    verdict = [a for a in res.audit if a.action in ("rolled_out", "rolled_back")]
    assert [a.action for a in verdict] == ["rolled_back"]
    assert np.all(res.transactions["model_version"][res.transactions["hour"] >= 192] == 1)


def test_gate_keeps_the_live_model_when_the_candidate_is_worse() -> None:
    res = run_monitor({**SMALL, "retrain.policy": "schedule", "retrain.train_days": 1,
                       "model.offline_samples": 200_000}, seed=0)
    (gate,) = [a for a in res.audit if a.action.startswith("gate_")]
    detail = dict(gate.detail)
    passed = detail["cost_per_tx_candidate"] <= detail["cost_per_tx_current"]
    assert gate.action == ("gate_passed" if passed else "gate_failed")


def test_retraining_without_enough_labels_is_skipped_and_audited() -> None:
    res = run_monitor({**SMALL, "retrain.policy": "schedule", "retrain.every_days": 1,
                       "labels.delay_h": 100}, seed=0)
    first = [a for a in res.audit if a.action == "retrain_skipped"][0]
    assert first.at_h == 24 and "not enough labelled data" in first.reason


def test_triggered_retraining_waits_for_the_labels() -> None:
    knobs = {"stream.weeks": 3, "drift.concept_at_day": 7, "drift.concept_ramp_days": 0,
             "retrain.policy": "trigger", "retrain.trigger_on": "recall",
             "alerts.recall_floor": 0.2}
    res = run_monitor(knobs, seed=1)
    trained = [a for a in res.audit if a.action == "candidate_trained"]
    assert trained and all(a.reason == "a trigger rule fired" for a in trained)
    assert trained[0].at_h > 7 * 24 + res.config.labels.delay_h
    gaps = np.diff([a.at_h for a in trained])
    assert np.all(gaps >= res.config.retrain.cooldown_days * 24)


def test_every_decision_is_traceable_to_an_audit_record() -> None:
    res = run_monitor({**SMALL, "decision.change_at_day": 4, "shutdown.at_day": 9,
                       "shutdown.duration_h": 12}, seed=3)
    for rec in res.audit:
        assert rec.model_version and rec.data_snapshot and rec.owner and rec.features
    seqs = set(np.unique(res.transactions["audit_seq"]))
    assert seqs <= {r.seq for r in res.audit}
    t = res.trace(0)
    assert t["model_version"] == "v1" and t["data_snapshot"] == "offline-clean-v1"
    assert t["threshold"] == 0.2 and t["audit_action"] == "deploy"
    late = int(np.flatnonzero(res.transactions["hour"] == 100)[0])
    assert res.trace(late)["threshold"] == res.config.decision.new_threshold
    assert res.trace(late)["audit_action"] == "threshold_changed"
    off = int(np.flatnonzero(res.transactions["hour"] == 9 * 24)[0])
    t = res.trace(off)
    assert t["decided_by"] == "fallback:rules_review" and t["model_version"] is None


def test_to_dict_is_strict_json() -> None:
    res = run_monitor({**SMALL, "incident.null_at_day": 4}, seed=1)
    text = json.dumps(res.to_dict(), allow_nan=False)
    back = json.loads(text)
    assert back["summary"]["transactions"] == res.transactions.size
    assert back["knobs"] == {"stream.weeks": 2, "incident.null_at_day": 4.0}
    assert len(back["alerts"]) == res.alerts.size and back["audit"][0]["action"] == "deploy"


def test_run_monitor_errors() -> None:
    with pytest.raises(KnobError, match="^run_monitor takes a MonitorConfig or a mapping of "
                                        "knob values, got list$"):
        run_monitor([("stream.weeks", 2)])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="^seed must be a whole number >= 0, got -3$"):
        run_monitor(SMALL, seed=-3)


def test_monitor_imports_neither_plotly_nor_simpy() -> None:
    code = ("import sys, labkit.monitor; bad = [m for m in ('plotly', 'simpy', 'ipywidgets', "
            "'IPython') if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]" and out.stderr == ""
