"""The monitoring knob catalogue: names, defaults, ranges, help."""

from __future__ import annotations

import pytest

from labkit.knobs import KnobError
from labkit.monitor.knobs import MONITOR_CATALOGUE, TRIGGER_METRICS

NAMED_IN_THE_BRIEF = ("stream.weeks", "drift.data_at_day", "drift.concept_at_day",
                      "incident.null_at_day", "labels.delay_h", "alerts.psi_threshold",
                      "retrain.policy", "shutdown.fallback", "decision.threshold")


def test_catalogue_has_the_public_names() -> None:
    for name in NAMED_IN_THE_BRIEF:
        assert name in MONITOR_CATALOGUE


def test_every_knob_has_help_and_a_valid_default() -> None:
    for knob in MONITOR_CATALOGUE.values():
        assert knob.help.endswith("."), knob.name
        assert knob.check(knob.default) == knob.default


def test_groups_are_the_config_groups() -> None:
    assert list(MONITOR_CATALOGUE.groups()) == [
        "stream", "drift", "incident", "labels", "health", "model", "decision", "monitor",
        "alerts", "retrain", "shutdown", "cost"]


def test_event_days_say_minus_one_means_never() -> None:
    for name, knob in MONITOR_CATALOGUE.items():
        if name.endswith("_at_day"):
            assert knob.default == -1 and knob.off == "-1 = never", name


def test_trigger_choices() -> None:
    knob = MONITOR_CATALOGUE["retrain.trigger_on"]
    assert knob.choices == TRIGGER_METRICS
    assert knob.check("recall,precision") == ("recall", "precision")


@pytest.mark.parametrize("name, value, message", [
    ("stream.weeks", 0, "stream.weeks must be >= 1, got 0"),
    ("stream.weeks", 27, "stream.weeks must be <= 26, got 27"),
    ("decision.threshold", 1.5, "decision.threshold must be <= 1, got 1.5"),
    ("retrain.policy", "weekly", "retrain.policy must be one of none, schedule, trigger, "
                                 "got 'weekly'"),
    ("incident.null_feature", "region", "incident.null_feature must be one of amount, "
                                        "velocity, device_risk, got 'region'"),
])
def test_knob_errors_name_knob_rule_and_value(name: str, value: object, message: str) -> None:
    with pytest.raises(KnobError) as exc:
        MONITOR_CATALOGUE[name].check(value)
    assert str(exc.value) == message
