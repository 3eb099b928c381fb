"""Monitoring configs: built from knobs, frozen, validated with clear messages."""

from __future__ import annotations

import dataclasses

import pytest

from labkit.knobs import KnobError
from labkit.monitor import AlertRule, MonitorConfig
from labkit.monitor.config import StreamConfig
from labkit.monitor.knobs import MONITOR_CATALOGUE


def _rule(name: str = "r", action: str = "page") -> AlertRule:
    return AlertRule(name=name, metric="label.recall", threshold=0.2, owner="ml-oncall",
                     direction="below", action=action)


def test_defaults_come_from_the_catalogue() -> None:
    assert MonitorConfig().to_knobs() == MONITOR_CATALOGUE.defaults()
    assert MonitorConfig().diff() == {}


def test_from_knobs_round_trip_and_diff() -> None:
    cfg = MonitorConfig.from_knobs({"stream.weeks": "2", "drift.data_at_day": 5,
                                    "retrain.trigger_on": "recall"})
    assert cfg.stream.weeks == 2 and cfg.drift.data_at_day == 5.0
    assert cfg.diff() == {"stream.weeks": 2, "drift.data_at_day": 5.0,
                          "retrain.trigger_on": ("recall",)}
    assert MonitorConfig.from_knobs(cfg.to_knobs()).to_knobs() == cfg.to_knobs()
    assert cfg.horizon_h == 2 * 168 and cfg.reference_h == 72


def test_with_knobs_keeps_rules_and_returns_a_new_config() -> None:
    cfg = MonitorConfig.from_knobs({}, rules=[_rule()])
    new = cfg.with_knobs({"labels.delay_h": 24})
    assert new.labels.delay_h == 24 and cfg.labels.delay_h == 72
    assert new.rules == cfg.rules
    assert cfg.with_rules(None).rules is None


def test_configs_are_frozen() -> None:
    cfg = MonitorConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.stream.weeks = 3  # type: ignore[misc]


def test_group_configs_validate_at_construction() -> None:
    with pytest.raises(KnobError, match="^stream.weeks must be >= 1, got 0$"):
        StreamConfig(weeks=0)


def test_default_rules_follow_the_knobs() -> None:
    names = [r.name for r in MonitorConfig().active_rules()]
    assert "null-rate:device_risk" in names and "recall-floor" not in names
    cfg = MonitorConfig.from_knobs({"alerts.recall_floor": 0.3, "alerts.null_rate_threshold": 0})
    names = [r.name for r in cfg.active_rules()]
    assert "recall-floor" in names and not any(n.startswith("null-rate") for n in names)
    trig = MonitorConfig.from_knobs({"retrain.policy": "trigger", "alerts.recall_floor": 0.3})
    actions = {r.name: r.action for r in trig.active_rules()}
    assert actions["recall-floor"] == "retrain" and actions["psi:amount"] == "retrain"
    assert actions["score-psi"] == "page"


@pytest.mark.parametrize("knobs, message", [
    ({"stream.wekes": 2}, "unknown knob 'stream.wekes'; did you mean 'stream.weeks'?"),
    ({"incident.null_at_day": 40},
     "incident.null_at_day must be < stream.weeks x 7 (28), got 40"),
    ({"drift.data_at_day": 1},
     "drift.data_at_day must be -1 (never) or >= monitor.reference_days (3), got 1"),
    ({"shutdown.at_day": -0.5},
     "shutdown.at_day must be -1 (never) or >= monitor.reference_days (3), got -0.5"),
    ({"stream.weeks": 1, "monitor.reference_days": 7},
     "monitor.reference_days must be < stream.weeks x 7 (7), got 7"),
    ({"retrain.policy": "trigger", "retrain.trigger_on": "recall"},
     "retrain.policy is 'trigger' but no alert rule can trigger it: turn on the threshold of "
     "a rule named in retrain.trigger_on (got recall) or pass a rule with action='retrain'"),
])
def test_config_errors(knobs: dict, message: str) -> None:
    with pytest.raises(KnobError) as exc:
        MonitorConfig.from_knobs(knobs)
    assert str(exc.value) == message


def test_rule_errors_in_config() -> None:
    with pytest.raises(KnobError, match="^alert rule names must be unique, got 'r' twice$"):
        MonitorConfig.from_knobs({}, rules=[_rule(), _rule()])
    with pytest.raises(KnobError, match="^rules must hold AlertRule objects, got 'x'$"):
        MonitorConfig(rules=("x",))  # type: ignore[arg-type]
    with pytest.raises(KnobError) as exc:
        MonitorConfig.from_knobs({}, rules=[_rule(action="retrain")])
    assert str(exc.value) == ("alert rule 'r' has action 'retrain' but retrain.policy is "
                              "'none'; set it to 'trigger'")
    ok = MonitorConfig.from_knobs({"retrain.policy": "trigger", "retrain.trigger_on": "recall"},
                                  rules=[_rule(action="retrain")])
    assert ok.active_rules()[0].action == "retrain"


def test_group_type_error() -> None:
    with pytest.raises(KnobError, match="^MonitorConfig.stream must be a StreamConfig, got "
                                        "dict$"):
        MonitorConfig(stream={"weeks": 2})  # type: ignore[arg-type]
