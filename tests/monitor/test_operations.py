"""The operating loop: which action is due next, and in which order actions of one hour run."""

from __future__ import annotations

from labkit.monitor.operations import ACTION_ORDER, next_due


def test_nothing_planned_and_nothing_fired_means_nothing_is_due() -> None:
    assert next_due([], {}, 0) is None
    assert next_due([(5, "retrain")], {}, 6) is None          # already past


def test_a_fired_rule_acts_from_the_next_hour() -> None:
    assert next_due([(20, "retrain")], {"shutdown_rule": 9}, 0) == (10, ["shutdown_rule"])


def test_actions_due_in_the_same_hour_run_in_the_fixed_order() -> None:
    planned = [(12, "retrain"), (12, "threshold"), (12, "canary_end"), (30, "restore")]
    due = next_due(planned, {"shutdown_rule": 11}, 0)
    assert due == (12, ["threshold", "shutdown_rule", "canary_end", "retrain"])
    assert due[1] == sorted(due[1], key=ACTION_ORDER.index)
