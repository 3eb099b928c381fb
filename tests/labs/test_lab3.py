"""Lab 3 judges: right answers pass on unseen seeds, plausible wrong answers fail, and
answers of the wrong form get a problem in words instead of a traceback."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.checkpoints import CheckpointError
from labkit.labs import lab3
from labkit.monitor import best_threshold_for_cost, run_monitor

SEEDS = [21, 22]


def test_threshold_task() -> None:
    y, s = lab3.evaluation_set(1)
    best = best_threshold_for_cost(y, s, **lab3.THRESHOLD_COSTS)
    assert lab3.judge_threshold(best, seeds=SEEDS) == []
    # the accuracy habit (0.5) and the default (0.2) cost clearly more
    assert len(lab3.judge_threshold(0.5, seeds=SEEDS)) == 2
    assert len(lab3.judge_threshold(0.2, seeds=SEEDS)) == 2
    assert lab3.judge_threshold(1.5, seeds=SEEDS) == [
        "T1: 1.5 is outside the possible range 0 .. 1; check your units and your arithmetic."]
    assert lab3.judge_threshold(None, seeds=SEEDS) == [
        "T1: not answered yet; set your answer to a number."]


def test_evaluation_set_only_holds_labels_that_have_arrived() -> None:
    y, s = lab3.evaluation_set(1)
    res = run_monitor(lab3.OFFLINE_SCENARIO, seed=1)
    known = res.transactions["hour"] < res.config.horizon_h - res.config.labels.delay_h
    assert y.size == known.sum() < res.transactions.size
    assert not y.flags.writeable and s.min() >= 0 and s.max() <= 1


@pytest.mark.parametrize("answer, ok", [
    ({"threshold": 0.6, "window_h": 6}, True),
    ({"threshold": 0.5, "window_h": 8}, True),
    ({"threshold": 0.05, "window_h": 1}, False),     # pages for every blip
    ({"threshold": 0.4, "window_h": 24}, False),     # too slow
    ({"threshold": 0.95, "window_h": 6}, False),     # never fires
])
def test_null_rule_task(answer: dict, ok: bool) -> None:
    assert (lab3.judge_null_rules(answer, seeds=SEEDS) == []) is ok


@pytest.mark.parametrize("answer, message", [
    ({"threshold": 0.5}, "T2: the answer must be a dict with exactly the keys 'threshold' and "
                         "'window_h', got {'threshold': 0.5}."),
    ({"threshold": 0.5, "window_h": 2.5}, "T2 (window_h): the answer must be a whole number in "
                                          "hours, got 2.5."),
    ({"threshold": "high", "window_h": 2}, "T2 (threshold): the answer must be a number, not "
                                           "text: remove the quotes around 'high'."),
    (None, "T2: not answered yet; set it to a dict such as {'threshold': 0.5, 'window_h': 2}."),
])
def test_null_rule_form(answer: dict, message: str) -> None:
    assert lab3.judge_null_rules(answer, seeds=SEEDS) == [message]
    with pytest.raises(CheckpointError) as exc:   # a helper that needs a rule raises them
        lab3.null_rules(answer)
    assert str(exc.value) == message.replace("T2", "rule", 1)


def test_rule_report_and_runs_are_shared() -> None:
    r = lab3.rule_report({"threshold": 0.6, "window_h": 6}, 1)
    assert r["time_to_detect_h"] <= lab3.ALERT_BUDGET["detect_h"]
    assert lab3.alert_run(1) is r["result"]


@pytest.mark.parametrize("answer, ok", [
    ({"retrain.policy": "trigger", "retrain.trigger_on": "recall", "alerts.recall_floor": 0.25,
      "retrain.cooldown_days": 5}, True),
    ({"retrain.policy": "schedule", "retrain.every_days": 10, "retrain.retune_threshold": True},
     True),
    ({}, False),                                                      # never retrain
    ({"retrain.policy": "schedule", "retrain.every_days": 7}, False),  # too many releases
])
def test_retraining_task(answer: dict, ok: bool) -> None:
    assert (lab3.judge_retraining(answer, seeds=SEEDS) == []) is ok


def test_retraining_form() -> None:
    assert lab3.judge_retraining({"labels.delay_h": 1}, seeds=SEEDS)[0].startswith(
        "T3: this task lets you change only retrain.")
    assert lab3.judge_retraining({"retrain.every_days": 0}, seeds=SEEDS) == [
        "T3: retrain.every_days must be >= 1, got 0"]
    assert lab3.judge_retraining({"retrain.policy": "trigger", "retrain.trigger_on": "recall"},
                                 seeds=SEEDS)[0].startswith(
        "T3: these knobs cannot run together: retrain.policy is 'trigger' but no alert ")
    assert lab3.judge_retraining({"retrain.polcy": "never"}, seeds=SEEDS) == [
        "T3: unknown knob 'retrain.polcy'; did you mean 'retrain.policy'?"]


def test_trace_task() -> None:
    drill = run_monitor(lab3.DRILL_SCENARIO, seed=1)
    tx = lab3.drill_transaction(drill)
    row = drill.transactions[tx]
    assert row["label"] and row["decision"] == 0 and np.isnan(row["device_risk"])
    t = drill.trace(tx)
    right = {k: t[k] for k in lab3.TRACE_KEYS}
    assert right["threshold"] == 0.15 and right["missing"] == ["device_risk"]
    assert lab3.judge_trace(right, seeds=[1]) == []
    wrong = dict(right, threshold=0.2, model_version="v2", missing=[])
    problems = lab3.judge_trace(wrong, seeds=[1])
    assert len(problems) == 3 and problems[0].startswith("T4: model_version 'v2'")
    assert lab3.judge_trace({"model_version": "v1"}, seeds=[1])[0].startswith(
        "T4: the answer must be a dict with exactly")
    assert lab3.trace_answer_problems(right) == []


@pytest.mark.parametrize("answer, fragment", [
    ({"threshold": 0.6, "window_h": 6, "fallback": "rules_review", "duration_h": 24}, None),
    ({"threshold": 0.6, "window_h": 6, "fallback": "review_all", "duration_h": 24},
     "reviews waited"),
    ({"threshold": 0.6, "window_h": 6, "fallback": "allow_all", "duration_h": 24},
     "cut it by at least"),
    ({"threshold": 0.6, "window_h": 6, "fallback": "rules_review", "duration_h": 168},
     "still off two days after"),
    ({"threshold": 0.97, "window_h": 6, "fallback": "rules_review", "duration_h": 24},
     "was not switched off within"),
])
def test_containment_task(answer: dict, fragment: str | None) -> None:
    problems = lab3.judge_containment(answer, seeds=SEEDS)
    if fragment is None:
        assert problems == []
    else:
        assert problems and any(fragment in p for p in problems), problems


def test_a_twitchy_shutdown_rule_switches_off_on_blips() -> None:
    answer = {"threshold": 0.3, "window_h": 1, "fallback": "rules_review", "duration_h": 24}
    problems = lab3.judge_containment(answer, seeds=[1, 13])
    assert any("outside the incident" in p for p in problems)


def test_containment_form() -> None:
    assert lab3.judge_containment({"threshold": 0.5, "window_h": 6, "fallback": "pray",
                                   "duration_h": 6}, seeds=SEEDS) == [
        "T5: fallback must be one of rules_review, review_all, allow_all, got 'pray'."]
    assert lab3.judge_containment({"threshold": 0.5, "window_h": 6, "fallback": "allow_all",
                                   "duration_h": 0}, seeds=SEEDS) == [
        "T5 (duration_h): 0 is outside the possible range 1 .. 168 in hours; check your units "
        "and your arithmetic."]
    with pytest.raises(CheckpointError, match="^T5: not answered yet"):
        lab3.containment(None, seed=1)


def test_tables_render() -> None:
    res = run_monitor({"stream.weeks": 1, "stream.tx_per_hour": 50}, seed=1)
    md = lab3.quality_table(res)._repr_markdown_()
    assert md.splitlines()[0] == "| where | precision | recall | flag rate | cost per tx ($) |"
    known = lab3.labels_known(res, [2, 6])
    assert known.rows[0]["labels known"] == 0 and known.rows[1]["share known"] > 0.3
    noise = lab3.noise_table((0.01,), weeks=8).rows[0]
    assert noise["theory: pages a week"] == pytest.approx(1.68)
    assert 0.5 < noise["simulated: pages a week"] < 3.5
