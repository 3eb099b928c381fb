"""Every knob of the monitoring simulator, declared once on the config class that uses it.

One frozen, keyword-only dataclass per knob group (``stream``, ``drift``,
``incident`` ...), each field declared with :func:`labkit.knobs.knob` (default,
unit, range, help, what "off" means), composed into one :class:`MonitorConfig`.
The catalogue (:data:`MONITOR_CATALOGUE`, ``labkit monitor --knobs``) is read
from these classes; the base classes are the serving simulator's
(:class:`labkit.knobs.Config`, :class:`labkit.knobs.ConfigSet`).

Times are in hours (``_h``) or days (``_day`` for a moment, ``_days`` for a
duration) since the model went live.  An event that never happens is
``None`` in its config (``config.drift.data_at_day is None``), ``-1`` as a
knob value.  A bad setting fails before any simulation starts, with the
knob, the rule and the value in the message:

>>> MonitorConfig.from_knobs({"incident.null_at_day": 40})
Traceback (most recent call last):
...
labkit.knobs.KnobError: incident.null_at_day must be < stream.weeks x 7 (28), got 40
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from labkit.knobs import Catalogue, Config, ConfigSet, KnobError, Off, knob
from labkit.monitor.alerts import AlertRule
from labkit.monitor.rules import TRIGGER_METRICS, default_rules
from labkit.monitor.world import NUMERIC_FEATURES

__all__ = ["MonitorConfig", "MONITOR_CATALOGUE", "StreamConfig", "DriftConfig",
           "IncidentConfig", "LabelsConfig", "HealthConfig", "ModelConfig", "DecisionConfig",
           "MonitorWindowConfig", "AlertsConfig", "RetrainConfig", "ShutdownConfig",
           "CostConfig", "EVENT_DAY_KNOBS"]


@dataclass(frozen=True, kw_only=True)
class StreamConfig(Config, group="stream"):
    """The transaction stream: traffic, fraud, missing values and blips."""

    weeks: int = knob(4, unit="weeks", min=1, max=26,
        help="How many weeks of production traffic to simulate.")
    tx_per_hour: float = knob(300.0, unit="tx/h", min=20.0, max=5000.0, step=10.0,
        help="Mean number of card transactions scored per hour.")
    diurnal_amplitude: float = knob(0.5, min=0.0, max=0.95, step=0.05,
        help="Day/night swing of traffic as a share of the mean (quiet nights make rates "
             "noisier).")
    fraud_rate: float = knob(0.03, min=0.002, max=0.3, step=0.005,
        help="Share of transactions that are fraud in the reference period.")
    base_null_rate: float = knob(0.01, min=0.0, max=0.5, step=0.005,
        help="Share of each numeric input missing on a normal day.")
    null_blips_per_week: float = knob(2.0, unit="/week", min=0.0, max=50.0, step=0.5,
        help="Benign blips per week: a flaky upstream drops one feature for a few hours, "
             "then recovers by itself (no action needed); blips on one feature are at least "
             "a day apart.")
    blip_null_share: float = knob(0.9, min=0.0, max=1.0, step=0.05,
        help="Share of the feature missing during a blip.")
    blip_max_h: int = knob(3, unit="h", min=1, max=24,
        help="Longest blip; each lasts 1 to this many hours.")
    outlier_rate: float = knob(0.002, min=0.0, max=0.2, step=0.001,
        help="Share of amounts entered in cents instead of dollars (100x too large): "
             "out-of-range inputs.")


@dataclass(frozen=True, kw_only=True)
class DriftConfig(Config, group="drift"):
    """Injected drift: data drift and concept drift."""

    data_at_day: float | None = knob(None, unit="day", min=-1.0, off=Off(-1.0, "never"),
        help="Data drift starts: amounts grow and a new merchant category appears.")
    data_ramp_days: float = knob(2.0, unit="days", min=0.0, max=28.0,
        help="How long data drift takes to reach full size.")
    data_amount_shift: float = knob(0.7, min=-3.0, max=3.0, step=0.1,
        help="Shift of log(amount) at full data drift (0.7 is about 2x larger amounts).")
    data_new_category_share: float = knob(0.1, min=0.0, max=0.9, step=0.01,
        help="Share of transactions in the new 'crypto' category at full data drift.")
    concept_at_day: float | None = knob(None, unit="day", min=-1.0, off=Off(-1.0, "never"),
        help="Concept drift starts: fraudsters switch from large purchases to many small "
             "ones; inputs look the same.")
    concept_ramp_days: float = knob(2.0, unit="days", min=0.0, max=28.0,
        help="How long concept drift takes to reach full strength.")
    concept_strength: float = knob(1.0, min=0.0, max=1.0, step=0.05,
        help="How far the input-to-fraud relation moves (0 = not at all, 1 = fully to the "
             "new pattern).")


@dataclass(frozen=True, kw_only=True)
class IncidentConfig(Config, group="incident"):
    """Injected incidents: a null feature, a slowdown, a traffic spike."""

    null_at_day: float | None = knob(None, unit="day", min=-1.0, off=Off(-1.0, "never"),
        help="A backend change makes one feature mostly null.")
    null_duration_h: int = knob(72, unit="h", min=1, max=24 * 7 * 26,
        help="How long the null-feature incident lasts (until the backend change is "
             "reverted).")
    null_feature: str = knob("device_risk", choices=NUMERIC_FEATURES,
        help="Which feature goes null.")
    null_share: float = knob(0.85, min=0.0, max=1.0, step=0.05,
        help="Share of the feature missing during the incident.")
    slow_at_day: float | None = knob(None, unit="day", min=-1.0, off=Off(-1.0, "never"),
        help="The feature store slows down: latency and errors rise.")
    slow_duration_h: int = knob(6, unit="h", min=1, max=24 * 7 * 26,
        help="How long the slowdown lasts.")
    slow_factor: float = knob(4.0, unit="x", min=1.0, max=50.0, step=0.5,
        help="How many times slower scoring is in the slowdown.")
    spike_at_day: float | None = knob(None, unit="day", min=-1.0, off=Off(-1.0, "never"),
        help="A traffic spike (a promotion or a bot attack) pushes the service into rate "
             "limiting.")
    spike_duration_h: int = knob(4, unit="h", min=1, max=24 * 7 * 26,
        help="How long the spike lasts.")
    spike_multiplier: float = knob(6.0, unit="x", min=1.0, max=50.0, step=0.5,
        help="Traffic during the spike as a multiple of normal.")


@dataclass(frozen=True, kw_only=True)
class LabelsConfig(Config, group="labels"):
    """When the true labels arrive."""

    delay_h: int = knob(72, unit="h", min=0, max=24 * 7 * 8,
        help="Hours until a transaction's true label (fraud or not) arrives, for example "
             "from a chargeback.")


@dataclass(frozen=True, kw_only=True)
class HealthConfig(Config, group="health"):
    """The scoring service's normal health."""

    latency_p95_ms: float = knob(120.0, unit="ms", min=1.0, max=60_000.0,
        help="Normal 95th-percentile scoring latency.")
    error_rate: float = knob(0.002, min=0.0, max=0.5, step=0.001,
        help="Normal share of scoring calls that fail.")
    capacity_tx_per_hour: float = knob(900.0, unit="tx/h", min=1.0,
        help="Scoring calls per hour the service admits; the rest are rate limited.")


@dataclass(frozen=True, kw_only=True)
class ModelConfig(Config, group="model"):
    """The first model, trained offline."""

    offline_samples: int = knob(40_000, unit="tx", min=2000, max=1_000_000,
        help="Clean labelled transactions the first model (v1) is trained on offline.")


@dataclass(frozen=True, kw_only=True)
class DecisionConfig(Config, group="decision"):
    """The decision threshold and who owns it."""

    threshold: float = knob(0.2, min=0.0, max=1.0, step=0.01,
        help="Score at or above which a transaction is blocked as fraud.")
    change_at_day: float | None = knob(None, unit="day", min=-1.0, off=Off(-1.0, "never"),
        help="When the threshold is changed by hand.")
    new_threshold: float = knob(0.1, min=0.0, max=1.0, step=0.01,
        help="The threshold from decision.change_at_day on.")
    owner: str = knob("risk-team", choices=("risk-team", "ml-oncall", "product"),
        help="Who owns threshold decisions.")


@dataclass(frozen=True, kw_only=True)
class MonitorWindowConfig(Config, group="monitor"):
    """The reference window the monitors compare against."""

    reference_days: float = knob(3.0, unit="days", min=1.0, max=28.0,
        help="The first days after go-live form the reference window monitors compare "
             "against; alerts start after it.")
    psi_bins: int = knob(10, min=2, max=50, help="Bins (reference quantiles) used for PSI.")


@dataclass(frozen=True, kw_only=True)
class AlertsConfig(Config, group="alerts"):
    """The default alert rules (a threshold of 0 switches a rule off)."""

    null_rate_threshold: float | None = knob(0.05, min=0.0, max=1.0, off=Off(0.0, "rule off"),
        step=0.01, help="Alert when a feature's null rate over the window is above this.")
    null_window_h: int = knob(1, unit="h", min=1, max=168, help="Window of the null-rate rule.")
    range_threshold: float | None = knob(None, min=0.0, max=1.0, off=Off(0.0, "rule off"),
        step=0.005,
        help="Alert when the share of out-of-range inputs over the window is above this.")
    range_window_h: int = knob(6, unit="h", min=1, max=168,
        help="Window of the out-of-range rule.")
    new_category_threshold: float | None = knob(0.02, min=0.0, max=1.0, off=Off(0.0, "rule off"),
        step=0.005,
        help="Alert when the share of unseen merchant categories over the window is above "
             "this.")
    new_category_window_h: int = knob(24, unit="h", min=1, max=168,
        help="Window of the new-category rule.")
    psi_threshold: float | None = knob(0.25, min=0.0, max=10.0, off=Off(0.0, "rule off"),
        step=0.05,
        help="Alert when an input's PSI against the reference over the window is above this.")
    psi_window_h: int = knob(24, unit="h", min=1, max=168, help="Window of the input PSI rule.")
    score_psi_threshold: float | None = knob(0.25, min=0.0, max=10.0, off=Off(0.0, "rule off"),
        step=0.05, help="Alert when the score distribution's PSI over the window is above this.")
    score_psi_window_h: int = knob(24, unit="h", min=1, max=168,
        help="Window of the score PSI rule.")
    flag_gap_threshold: float | None = knob(None, min=0.0, max=1.0, off=Off(0.0, "rule off"),
        step=0.01,
        help="Alert when flag rates of the best and worst treated regions differ by more "
             "than this.")
    flag_gap_window_h: int = knob(24, unit="h", min=1, max=168,
        help="Window of the flag-rate gap rule.")
    recall_floor: float | None = knob(None, min=0.0, max=1.0, off=Off(0.0, "rule off"), step=0.05,
        help="Alert when recall on labelled transactions over the window falls below this "
             "(seen only after labels.delay_h).")
    precision_floor: float | None = knob(None, min=0.0, max=1.0, off=Off(0.0, "rule off"),
        step=0.05,
        help="Alert when precision on labelled transactions over the window falls below "
             "this.")
    label_window_h: int = knob(48, unit="h", min=1, max=24 * 28,
        help="Window of the recall and precision rules.")
    latency_p95_ms: float | None = knob(500.0, unit="ms", min=0.0, off=Off(0.0, "rule off"),
        help="Alert when p95 latency (mean over the window) is above this.")
    error_rate_threshold: float | None = knob(0.02, min=0.0, max=1.0, off=Off(0.0, "rule off"),
        step=0.005, help="Alert when the error rate over the window is above this.")
    rate_limited_threshold: float | None = knob(0.05, min=0.0, max=1.0, off=Off(0.0, "rule off"),
        step=0.01, help="Alert when the rate-limited share over the window is above this.")
    health_window_h: int = knob(1, unit="h", min=1, max=168,
        help="Window of the latency, error and rate-limit rules.")


@dataclass(frozen=True, kw_only=True)
class RetrainConfig(Config, group="retrain"):
    """Retraining as a release: policy, gate, canary, rollback."""

    policy: str = knob("none", choices=("none", "schedule", "trigger"),
        help="When to retrain: never, on a schedule, or when a trigger rule fires.")
    every_days: float = knob(7.0, unit="days", min=1.0, max=182.0,
        help="Schedule: days between retrainings.")
    trigger_on: tuple[str, ...] = knob(("input_psi", "recall"),
        choices=TRIGGER_METRICS,
        help="Trigger: which default rules start a retraining when they fire (rules whose "
             "threshold is 0 are off).")
    cooldown_days: float = knob(3.0, unit="days", min=0.0, max=28.0,
        help="Fewest days between two triggered retrainings.")
    train_days: float = knob(7.0, unit="days", min=1.0, max=56.0,
        help="Days of labelled data a retraining learns from.")
    holdout_days: float = knob(2.0, unit="days", min=0.5, max=28.0,
        help="Most recent labelled days held out for the evaluation gate.")
    gate_tolerance: float = knob(0.0, min=0.0, max=1.0, step=0.01,
        help="The gate passes a candidate whose cost on the holdout is at most (1 + this) x "
             "the current model's.")
    canary_h: int = knob(24, unit="h", min=0, max=336, off="0 = no canary",
        help="Hours a passed candidate scores only a canary share of traffic before full "
             "rollout.")
    canary_share: float = knob(0.25, min=0.01, max=1.0, step=0.01,
        help="Share of traffic the canary scores.")
    rollback_flag_ratio: float = knob(0.5, min=0.05, max=10.0, step=0.05,
        help="Roll back when the canary's flag rate differs from the gate's expectation by "
             "more than this share of it.")
    max_null_share: float = knob(0.5, min=0.0, max=1.0, step=0.05,
        help="A feature missing in more than this share of the training data is dropped from "
             "the candidate.")
    retune_threshold: bool = knob(False,
        help="Set the threshold to the cost-minimising one on the training data at each "
             "release.")


@dataclass(frozen=True, kw_only=True)
class ShutdownConfig(Config, group="shutdown"):
    """Switching the model off to a safe fallback."""

    at_day: float | None = knob(None, unit="day", min=-1.0, off=Off(-1.0, "never"),
        help="When the model is switched off and decisions go to the safe fallback.")
    duration_h: int | None = knob(None, unit="h", min=0, off=Off(0, "until the end"),
        help="How long the model stays off.")
    fallback: str = knob("rules_review", choices=("rules_review", "review_all", "allow_all"),
        help="What replaces the model: simple rules send risky transactions to human review, "
             "everything is reviewed, or everything is approved.")
    review_capacity_per_hour: float = knob(60.0, unit="tx/h", min=0.0,
        help="Transactions the review team can check per hour.")


@dataclass(frozen=True, kw_only=True)
class CostConfig(Config, group="cost"):
    """What mistakes cost."""

    missed_fraud: float = knob(150.0, unit="$", min=0.0,
        help="Cost of approving a fraudulent transaction (chargeback, losses).")
    false_block: float = knob(10.0, unit="$", min=0.0,
        help="Cost of blocking a legitimate transaction (friction, churn).")
    review: float = knob(2.0, unit="$", min=0.0, help="Cost of one human review.")


#: Knobs that place an event in time (days since go-live; off: never).
EVENT_DAY_KNOBS = ("drift.data_at_day", "drift.concept_at_day", "incident.null_at_day",
                   "incident.slow_at_day", "incident.spike_at_day", "decision.change_at_day",
                   "shutdown.at_day")


@dataclass(frozen=True, kw_only=True)
class MonitorConfig(ConfigSet):
    """Everything one monitoring run needs; ``MonitorConfig()`` is the defaults.

    ``rules`` are the alert rules; ``None`` means the default rules derived
    from the ``alerts.*`` knobs (see :func:`labkit.monitor.rules.default_rules`).
    """

    EXAMPLE: ClassVar[str] = "{'stream.weeks': 2}"

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

    @classmethod
    def catalogue(cls) -> Catalogue:
        cached = cls.__dict__.get("_catalogue")
        if cached is None:
            cached = Catalogue.of(*cls.group_classes().values(),
                                  listing="labkit monitor --knobs")
            cls._catalogue = cached  # type: ignore[attr-defined]
        return cached

    def _check(self) -> None:
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
        self._check_triggers()

    def _check_times(self) -> None:
        days = self.stream.weeks * 7
        ref = self.monitor.reference_days
        if ref >= days:
            raise KnobError(f"monitor.reference_days must be < stream.weeks x 7 ({days}), "
                            f"got {ref:g}")
        for name in EVENT_DAY_KNOBS:
            group, name_in_group = name.split(".")
            day = getattr(getattr(self, group), name_in_group)
            if day is None:
                continue
            if day < ref:
                raise KnobError(f"{name} must be -1 (never) or >= monitor.reference_days "
                                f"({ref:g}), got {day:g}")
            if day >= days:
                raise KnobError(f"{name} must be < stream.weeks x 7 ({days}), got {day:g}")

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
    def from_knobs(cls, knobs: Mapping[str, Any] | None = None, /, *,
                   rules: Sequence[AlertRule] | None = None, **keywords: Any) -> MonitorConfig:
        """A config from knob values (full dotted names); unknown names are refused."""
        cls._refuse_keywords("from_knobs", keywords)
        return cls(**cls._build_groups(knobs or {}),  # type: ignore[arg-type]
                   rules=None if rules is None else tuple(rules))

    def with_rules(self, rules: Sequence[AlertRule] | None) -> MonitorConfig:
        """A new config with these alert rules (``None`` = the knob defaults)."""
        return replace(self, rules=None if rules is None else tuple(rules))

    # --- derived times in hours ---------------------------------------------------------
    @property
    def horizon_h(self) -> int:
        return self.stream.weeks * 168

    @property
    def reference_h(self) -> int:
        return int(round(self.monitor.reference_days * 24))

    @staticmethod
    def day_to_h(day: float | None) -> int | None:
        """An event day as an hour index (``None``, never, stays ``None``)."""
        return None if day is None else int(round(day * 24))


#: Every knob of the monitoring simulator (``labkit monitor --knobs``).
MONITOR_CATALOGUE: Catalogue = MonitorConfig.catalogue()
