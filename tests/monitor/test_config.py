"""Monitoring configs: the knobs declared on them, built from knobs, frozen, validated."""

from __future__ import annotations

import dataclasses

import pytest

from labkit.knobs import Config, KnobError
from labkit.monitor import MONITOR_CATALOGUE, AlertRule, MonitorConfig
from labkit.monitor.config import EVENT_DAY_KNOBS, ShutdownConfig, StreamConfig
from labkit.monitor.rules import TRIGGER_METRICS

NAMED_IN_THE_BRIEF = ("stream.weeks", "drift.data_at_day", "drift.concept_at_day",
                      "incident.null_at_day", "labels.delay_h", "alerts.psi_threshold",
                      "retrain.policy", "shutdown.fallback", "decision.threshold")


def _rule(name: str = "r", action: str = "page") -> AlertRule:
    return AlertRule(name=name, metric="label.recall", threshold=0.2, owner="ml-oncall",
                     direction="below", action=action)


# -- the catalogue, read from the config classes --------------------------------------------------
def test_catalogue_has_the_public_names() -> None:
    for name in NAMED_IN_THE_BRIEF:
        assert name in MONITOR_CATALOGUE


def test_every_knob_has_help_and_a_valid_default() -> None:
    for knob in MONITOR_CATALOGUE.values():
        assert knob.help.endswith("."), knob.name
        assert knob.check(knob.default) == knob.default


def test_groups_are_the_config_groups() -> None:
    groups = ["stream", "drift", "incident", "labels", "health", "model", "decision", "monitor",
              "alerts", "retrain", "shutdown", "cost"]
    assert list(MONITOR_CATALOGUE.groups()) == groups
    assert list(MonitorConfig.group_classes()) == groups
    assert all(issubclass(c, Config) for c in MonitorConfig.group_classes().values())


def test_event_days_say_minus_one_means_never_and_are_none_when_off() -> None:
    days = [name for name in MONITOR_CATALOGUE if name.endswith("at_day")]
    assert sorted(days) == sorted(EVENT_DAY_KNOBS)
    cfg = MonitorConfig()
    for name in days:
        knob = MONITOR_CATALOGUE[name]
        assert knob.default == -1 and knob.off == "-1 = never", name
        group, field = name.split(".")
        assert getattr(getattr(cfg, group), field) is None, name
    assert MonitorConfig.from_knobs({"shutdown.at_day": "never"}).shutdown.at_day is None
    assert MonitorConfig.from_knobs({"shutdown.at_day": 5}).shutdown.at_day == 5.0


def test_rule_off_thresholds_and_until_the_end_are_none() -> None:
    cfg = MonitorConfig.from_knobs({"alerts.null_rate_threshold": 0, "shutdown.duration_h": 0})
    assert cfg.alerts.null_rate_threshold is None and cfg.alerts.range_threshold is None
    assert cfg.shutdown.duration_h is None
    assert cfg.to_knobs()["alerts.null_rate_threshold"] == 0.0
    assert cfg.to_knobs()["shutdown.duration_h"] == 0
    assert ShutdownConfig(duration_h=12).duration_h == 12


def test_trigger_choices() -> None:
    knob = MONITOR_CATALOGUE["retrain.trigger_on"]
    assert knob.choices == TRIGGER_METRICS
    assert knob.check("recall,precision") == ("recall", "precision")


def test_the_old_knobs_module_still_exports_the_catalogue() -> None:
    from labkit.monitor import knobs

    assert knobs.MONITOR_CATALOGUE is MONITOR_CATALOGUE
    assert knobs.NUMERIC_FEATURES == ("amount", "velocity", "device_risk")


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


# -- configs --------------------------------------------------------------------------------
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
    ({"qqq": 2}, "unknown knob 'qqq'; run 'labkit monitor --knobs' to list them"),
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


def test_keyword_arguments_are_refused_with_the_dotted_spelling_shown() -> None:
    with pytest.raises(KnobError) as exc:
        MonitorConfig.from_knobs(stream__weeks=2)
    assert str(exc.value) == ("MonitorConfig.from_knobs takes one mapping of dotted knob names, "
                              "e.g. {'stream.weeks': 2}; got keyword arguments "
                              "['stream__weeks']")
    with pytest.raises(KnobError, match=r"^MonitorConfig\.with_knobs takes one mapping"):
        MonitorConfig().with_knobs(weeks=2)
