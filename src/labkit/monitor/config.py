"""Frozen configs for the monitoring simulator, validated at construction.

One small keyword-only dataclass per knob group (``stream``, ``drift``,
``incident`` ...), each field named after its knob and defaulting to the
catalogue's default, composed into one :class:`MonitorConfig`.  Every field is
checked by its knob when the dataclass is built, and :class:`MonitorConfig`
adds the rules that involve several knobs (an event must happen after the
reference window and before the run ends), so a bad setting fails before
any simulation starts, with the knob, the rule and the value in the message:

>>> MonitorConfig.from_knobs({"incident.null_at_day": 40})
Traceback (most recent call last):
...
labkit.knobs.KnobError: incident.null_at_day must be < stream.weeks x 7 (28), got 40
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, ClassVar

from labkit.knobs import KnobError
from labkit.monitor.alerts import AlertRule
from labkit.monitor.knobs import MONITOR_CATALOGUE
from labkit.monitor.rules import default_rules

__all__ = ["MonitorConfig", "StreamConfig", "DriftConfig", "IncidentConfig", "LabelsConfig",
           "HealthConfig", "ModelConfig", "DecisionConfig", "MonitorWindowConfig",
           "AlertsConfig", "RetrainConfig", "ShutdownConfig", "CostConfig", "EVENT_DAY_KNOBS"]


def _d(name: str) -> Any:
    return field(default=MONITOR_CATALOGUE[name].default)


class _Group:
    """Checks every field against its knob in the catalogue."""

    GROUP: ClassVar[str] = ""

    def __post_init__(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            knob = MONITOR_CATALOGUE[f"{self.GROUP}.{f.name}"]
            object.__setattr__(self, f.name, knob.check(getattr(self, f.name)))


@dataclass(frozen=True, kw_only=True)
class StreamConfig(_Group):
    GROUP: ClassVar[str] = "stream"
    weeks: int = _d("stream.weeks")
    tx_per_hour: float = _d("stream.tx_per_hour")
    diurnal_amplitude: float = _d("stream.diurnal_amplitude")
    fraud_rate: float = _d("stream.fraud_rate")
    base_null_rate: float = _d("stream.base_null_rate")
    null_blips_per_week: float = _d("stream.null_blips_per_week")
    blip_null_share: float = _d("stream.blip_null_share")
    blip_max_h: int = _d("stream.blip_max_h")
    outlier_rate: float = _d("stream.outlier_rate")


@dataclass(frozen=True, kw_only=True)
class DriftConfig(_Group):
    GROUP: ClassVar[str] = "drift"
    data_at_day: float = _d("drift.data_at_day")
    data_ramp_days: float = _d("drift.data_ramp_days")
    data_amount_shift: float = _d("drift.data_amount_shift")
    data_new_category_share: float = _d("drift.data_new_category_share")
    concept_at_day: float = _d("drift.concept_at_day")
    concept_ramp_days: float = _d("drift.concept_ramp_days")
    concept_strength: float = _d("drift.concept_strength")


@dataclass(frozen=True, kw_only=True)
class IncidentConfig(_Group):
    GROUP: ClassVar[str] = "incident"
    null_at_day: float = _d("incident.null_at_day")
    null_duration_h: int = _d("incident.null_duration_h")
    null_feature: str = _d("incident.null_feature")
    null_share: float = _d("incident.null_share")
    slow_at_day: float = _d("incident.slow_at_day")
    slow_duration_h: int = _d("incident.slow_duration_h")
    slow_factor: float = _d("incident.slow_factor")
    spike_at_day: float = _d("incident.spike_at_day")
    spike_duration_h: int = _d("incident.spike_duration_h")
    spike_multiplier: float = _d("incident.spike_multiplier")


@dataclass(frozen=True, kw_only=True)
class LabelsConfig(_Group):
    GROUP: ClassVar[str] = "labels"
    delay_h: int = _d("labels.delay_h")


@dataclass(frozen=True, kw_only=True)
class HealthConfig(_Group):
    GROUP: ClassVar[str] = "health"
    latency_p95_ms: float = _d("health.latency_p95_ms")
    error_rate: float = _d("health.error_rate")
    capacity_tx_per_hour: float = _d("health.capacity_tx_per_hour")


@dataclass(frozen=True, kw_only=True)
class ModelConfig(_Group):
    GROUP: ClassVar[str] = "model"
    offline_samples: int = _d("model.offline_samples")


@dataclass(frozen=True, kw_only=True)
class DecisionConfig(_Group):
    GROUP: ClassVar[str] = "decision"
    threshold: float = _d("decision.threshold")
    change_at_day: float = _d("decision.change_at_day")
    new_threshold: float = _d("decision.new_threshold")
    owner: str = _d("decision.owner")


@dataclass(frozen=True, kw_only=True)
class MonitorWindowConfig(_Group):
    GROUP: ClassVar[str] = "monitor"
    reference_days: float = _d("monitor.reference_days")
    psi_bins: int = _d("monitor.psi_bins")


@dataclass(frozen=True, kw_only=True)
class AlertsConfig(_Group):
    GROUP: ClassVar[str] = "alerts"
    null_rate_threshold: float = _d("alerts.null_rate_threshold")
    null_window_h: int = _d("alerts.null_window_h")
    range_threshold: float = _d("alerts.range_threshold")
    range_window_h: int = _d("alerts.range_window_h")
    new_category_threshold: float = _d("alerts.new_category_threshold")
    new_category_window_h: int = _d("alerts.new_category_window_h")
    psi_threshold: float = _d("alerts.psi_threshold")
    psi_window_h: int = _d("alerts.psi_window_h")
    score_psi_threshold: float = _d("alerts.score_psi_threshold")
    score_psi_window_h: int = _d("alerts.score_psi_window_h")
    flag_gap_threshold: float = _d("alerts.flag_gap_threshold")
    flag_gap_window_h: int = _d("alerts.flag_gap_window_h")
    recall_floor: float = _d("alerts.recall_floor")
    precision_floor: float = _d("alerts.precision_floor")
    label_window_h: int = _d("alerts.label_window_h")
    latency_p95_ms: float = _d("alerts.latency_p95_ms")
    error_rate_threshold: float = _d("alerts.error_rate_threshold")
    rate_limited_threshold: float = _d("alerts.rate_limited_threshold")
    health_window_h: int = _d("alerts.health_window_h")


@dataclass(frozen=True, kw_only=True)
class RetrainConfig(_Group):
    GROUP: ClassVar[str] = "retrain"
    policy: str = _d("retrain.policy")
    every_days: float = _d("retrain.every_days")
    trigger_on: tuple[str, ...] = _d("retrain.trigger_on")
    cooldown_days: float = _d("retrain.cooldown_days")
    train_days: float = _d("retrain.train_days")
    holdout_days: float = _d("retrain.holdout_days")
    gate_tolerance: float = _d("retrain.gate_tolerance")
    canary_h: int = _d("retrain.canary_h")
    canary_share: float = _d("retrain.canary_share")
    rollback_flag_ratio: float = _d("retrain.rollback_flag_ratio")
    max_null_share: float = _d("retrain.max_null_share")
    retune_threshold: bool = _d("retrain.retune_threshold")


@dataclass(frozen=True, kw_only=True)
class ShutdownConfig(_Group):
    GROUP: ClassVar[str] = "shutdown"
    at_day: float = _d("shutdown.at_day")
    duration_h: int = _d("shutdown.duration_h")
    fallback: str = _d("shutdown.fallback")
    review_capacity_per_hour: float = _d("shutdown.review_capacity_per_hour")


@dataclass(frozen=True, kw_only=True)
class CostConfig(_Group):
    GROUP: ClassVar[str] = "cost"
    missed_fraud: float = _d("cost.missed_fraud")
    false_block: float = _d("cost.false_block")
    review: float = _d("cost.review")


_GROUPS: dict[str, type[_Group]] = {
    "stream": StreamConfig, "drift": DriftConfig, "incident": IncidentConfig,
    "labels": LabelsConfig, "health": HealthConfig, "model": ModelConfig,
    "decision": DecisionConfig, "monitor": MonitorWindowConfig, "alerts": AlertsConfig,
    "retrain": RetrainConfig, "shutdown": ShutdownConfig, "cost": CostConfig,
}
#: Knobs that place an event in time (days since go-live, -1 = never).
EVENT_DAY_KNOBS = ("drift.data_at_day", "drift.concept_at_day", "incident.null_at_day",
                   "incident.slow_at_day", "incident.spike_at_day", "decision.change_at_day",
                   "shutdown.at_day")


@dataclass(frozen=True, kw_only=True)
class MonitorConfig:
    """Everything one monitoring run needs; build with :meth:`from_knobs`.

    ``rules`` are the alert rules; ``None`` means the default rules derived
    from the ``alerts.*`` knobs (see :func:`labkit.monitor.rules.default_rules`).
    """

    stream: StreamConfig = field(default_factory=StreamConfig)
    drift: DriftConfig = field(default_factory=DriftConfig)
    incident: IncidentConfig = field(default_factory=IncidentConfig)
    labels: LabelsConfig = field(default_factory=LabelsConfig)
    health: HealthConfig = field(default_factory=HealthConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    decision: DecisionConfig = field(default_factory=DecisionConfig)
    monitor: MonitorWindowConfig = field(default_factory=MonitorWindowConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    retrain: RetrainConfig = field(default_factory=RetrainConfig)
    shutdown: ShutdownConfig = field(default_factory=ShutdownConfig)
    cost: CostConfig = field(default_factory=CostConfig)
    rules: tuple[AlertRule, ...] | None = None

    def __post_init__(self) -> None:
        for name, cls in _GROUPS.items():
            if not isinstance(getattr(self, name), cls):
                raise KnobError(f"MonitorConfig.{name} must be a {cls.__name__}, "
                                f"got {type(getattr(self, name)).__name__}")
        if self.rules is not None:
            rules = tuple(self.rules)
            for rule in rules:
                if not isinstance(rule, AlertRule):
                    raise KnobError(f"rules must hold AlertRule objects, got {rule!r}")
            names = [r.name for r in rules]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise KnobError(f"alert rule names must be unique, got {dupes[0]!r} twice")
            object.__setattr__(self, "rules", rules)
        self._check_times()

    def _check_times(self) -> None:
        days = self.stream.weeks * 7
        ref = self.monitor.reference_days
        if ref >= days:
            raise KnobError(f"monitor.reference_days must be < stream.weeks x 7 ({days}), "
                            f"got {ref:g}")
        values = self.to_knobs()
        for name in EVENT_DAY_KNOBS:
            day = values[name]
            if day == -1:
                continue
            if day < ref:
                raise KnobError(f"{name} must be -1 (never) or >= monitor.reference_days "
                                f"({ref:g}), got {day:g}")
            if day >= days:
                raise KnobError(f"{name} must be < stream.weeks x 7 ({days}), got {day:g}")
        self._check_triggers()

    def _check_triggers(self) -> None:
        rules = self.active_rules()
        retrainers = [r for r in rules if r.action == "retrain"]
        if self.retrain.policy == "trigger" and not retrainers:
            raise KnobError("retrain.policy is 'trigger' but no alert rule can trigger it: turn "
                            "on the threshold of a rule named in retrain.trigger_on (got "
                            f"{','.join(self.retrain.trigger_on) or 'nothing'}) or pass a rule "
                            "with action='retrain'")
        if self.retrain.policy != "trigger" and retrainers:
            raise KnobError(f"alert rule {retrainers[0].name!r} has action 'retrain' but "
                            f"retrain.policy is {self.retrain.policy!r}; set it to 'trigger'")

    def active_rules(self) -> tuple[AlertRule, ...]:
        """The alert rules of this run: ``rules`` or the defaults from the knobs."""
        return self.rules if self.rules is not None else default_rules(self)

    # --- knobs <-> config -----------------------------------------------------------
    @classmethod
    def from_knobs(cls, knobs: Mapping[str, Any] | None = None, *,
                   rules: Sequence[AlertRule] | None = None) -> MonitorConfig:
        """A config from knob values (full dotted names); unknown names are refused."""
        values = MONITOR_CATALOGUE.validate(dict(knobs or {}))
        groups: dict[str, dict[str, Any]] = {name: {} for name in _GROUPS}
        for name, value in values.items():
            group, fld = name.split(".", 1)
            groups[group][fld] = value
        built = {name: _GROUPS[name](**kw) for name, kw in groups.items()}
        return cls(**built, rules=None if rules is None else tuple(rules))  # type: ignore[arg-type]

    def with_knobs(self, knobs: Mapping[str, Any]) -> MonitorConfig:
        """A new config with some knobs changed (the rules are kept)."""
        merged = {**self.to_knobs(), **dict(knobs)}
        return MonitorConfig.from_knobs(merged, rules=self.rules)

    def with_rules(self, rules: Sequence[AlertRule] | None) -> MonitorConfig:
        """A new config with these alert rules (``None`` = the knob defaults)."""
        return replace(self, rules=None if rules is None else tuple(rules))

    def to_knobs(self) -> dict[str, Any]:
        """Every knob's value, keyed by full dotted name."""
        out: dict[str, Any] = {}
        for group in _GROUPS:
            cfg = getattr(self, group)
            for f in fields(cfg):
                out[f"{group}.{f.name}"] = getattr(cfg, f.name)
        return out

    def diff(self) -> dict[str, Any]:
        """The knobs that differ from the catalogue defaults."""
        defaults = MONITOR_CATALOGUE.defaults()
        return {k: v for k, v in self.to_knobs().items() if defaults[k] != v}

    # --- derived times in hours ---------------------------------------------------------
    @property
    def horizon_h(self) -> int:
        return self.stream.weeks * 168

    @property
    def reference_h(self) -> int:
        return int(round(self.monitor.reference_days * 24))

    @staticmethod
    def day_to_h(day: float) -> int:
        """An event day knob as an hour index (-1 stays -1)."""
        return -1 if day == -1 else int(round(day * 24))
