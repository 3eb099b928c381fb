"""``run_monitor``: one seeded run of the deployed fraud model over weeks.

A run has three phases.  **Build**: draw the world (transactions, labels,
health, injected events) from named random streams, train model v1 offline
on clean data, and take the reference window.  **Operate**: the live model
decides every transaction; whenever something acts (a scheduled or
triggered retraining, a canary's verdict, a threshold change, a shutdown or
a restore) the decisions from that hour on are redone under the new state
and the act is written to the audit trail (:mod:`labkit.monitor.operations`).
**Collect**: every alert rule is evaluated on the final metrics and judged
against the injected events; records and summary are frozen into a
:class:`~labkit.monitor.result.MonitorResult`.

>>> res = run_monitor({"stream.weeks": 1, "stream.tx_per_hour": 50}, seed=3)
>>> res.summary["transactions"] == res.transactions.size
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np

from labkit.knobs import KnobError
from labkit.monitor.actions import review_backlog
from labkit.monitor.alerts import ALERT_DTYPE, AlertRule, evaluate_rule
from labkit.monitor.audit import AuditLog
from labkit.monitor.config import MonitorConfig
from labkit.monitor.decisions import (
    Decisions,
    build_reference,
    fill_decision_stats,
    fill_input_stats,
    score_reference,
)
from labkit.monitor.model import ModelVersion, train_model
from labkit.monitor.monitors import HourlyStats, series
from labkit.monitor.operations import RELEASE_OWNER, State, apply_action, decide, next_due, trigger_hours
from labkit.monitor.result import MonitorResult
from labkit.monitor.summary import build_hourly, build_summary, build_transactions
from labkit.monitor.world import generate_stream, offline_sample
from labkit.streams import Streams

__all__ = ["run_monitor", "as_config", "STREAMS"]

#: The run's random streams, one per purpose.  Append-only: a new purpose goes at the
#: end, so the streams before it keep their draws for every seed.
STREAMS: tuple[str, ...] = ("traffic", "features", "labels", "nulls", "blips", "health",
                            "offline", "canary", "fallback")


def as_config(config_or_knobs: MonitorConfig | Mapping[str, Any] | None,
              rules: Sequence[AlertRule] | None = None) -> MonitorConfig:
    """A :class:`MonitorConfig` from a config, a knob mapping or ``None`` (defaults)."""
    if isinstance(config_or_knobs, MonitorConfig):
        return config_or_knobs if rules is None else config_or_knobs.with_rules(rules)
    if config_or_knobs is None or isinstance(config_or_knobs, Mapping):
        return MonitorConfig.from_knobs(config_or_knobs or {}, rules=rules)
    raise KnobError("run_monitor takes a MonitorConfig or a mapping of knob values, got "
                    f"{type(config_or_knobs).__name__}")


def _planned(config: MonitorConfig) -> list[tuple[int, str]]:
    H, rt = config.horizon_h, config.retrain
    planned: list[tuple[int, str]] = []
    if rt.policy == "schedule":
        every = max(1, int(round(rt.every_days * 24)))
        planned += [(h, "retrain") for h in range(every, H, every)]
    change_h = config.day_to_h(config.decision.change_at_day)
    if change_h is not None:
        planned.append((change_h, "threshold"))
    off_h = config.day_to_h(config.shutdown.at_day)
    if off_h is not None:
        planned.append((off_h, "shutdown"))
        duration = config.shutdown.duration_h
        if duration is not None and off_h + duration < H:
            planned.append((off_h + duration, "restore"))
    return planned


def run_monitor(config_or_knobs: MonitorConfig | Mapping[str, Any] | None = None, *,
                seed: int = 0, rules: Sequence[AlertRule] | None = None) -> MonitorResult:
    """Simulate the deployed model for ``stream.weeks`` weeks; see the module docstring.

    ``config_or_knobs`` is a :class:`MonitorConfig` or a mapping of knob
    values; ``rules`` replaces the default alert rules.
    """
    config = as_config(config_or_knobs, rules)
    rng = Streams(seed, STREAMS)
    seed = rng.seed
    # --- build -----------------------------------------------------------------
    world = generate_stream(config, rng)
    H, ref_h, bins = config.horizon_h, config.reference_h, config.monitor.psi_bins
    fraud_rate, n_offline = config.stream.fraud_rate, config.model.offline_samples
    offline_train = offline_sample(rng["offline"], n_offline, fraud_rate)
    offline_test = offline_sample(rng["offline"], n_offline // 2, fraud_rate)
    v1 = train_model(offline_train, version=1, data_snapshot="offline-clean-v1", trained_at_h=0)
    models: dict[int, ModelVersion] = {1: v1}
    ref = build_reference(world, ref_h, bins)
    stats = HourlyStats(hours=H, bins=bins, label_delay_h=config.labels.delay_h)
    fill_input_stats(stats, world, ref)
    score_refs = {1: score_reference(v1, world, ref_h, bins)}
    dec = Decisions(world.size)
    main_version = np.ones(H, np.int16)
    audit = AuditLog()
    first = audit.add(at_h=0, action="deploy", model_version=v1.name,
                      data_snapshot=v1.data_snapshot, features=v1.features,
                      threshold=config.decision.threshold, owner=RELEASE_OWNER,
                      reason="go-live after offline evaluation on clean data")
    state = State(model=v1, threshold=config.decision.threshold, seq=first.seq)
    all_rules = config.active_rules()
    triggers = [r for r in all_rules if r.action != "page"]
    cooldown_h = config.retrain.cooldown_days * 24
    costs = (config.cost.missed_fraud, config.cost.false_block, config.cost.review)
    planned = _planned(config)
    # --- operate ---------------------------------------------------------------
    h0 = 0
    while True:
        decide(world, dec, state, h0, ref, config)
        main_version[h0:] = 0 if state.shut_down else state.model.version
        fill_decision_stats(stats, world, dec, h0, score_refs, main_version, costs)
        fired = trigger_hours(triggers, stats, ref, state, h0, ref_h, cooldown_h)
        due = next_due(planned, fired, h0)
        if due is None or due[0] >= H:
            break
        h0, kinds = due
        planned = [(h, k) for h, k in planned if h != h0]
        for kind in kinds:
            apply_action(kind, h0, state, world=world, dec=dec, config=config, models=models,
                         score_refs=score_refs, audit=audit, planned=planned)
    # --- collect ---------------------------------------------------------------
    backlog, wait = review_backlog(stats.reviews, config.shutdown.review_capacity_per_hour)
    stats.freeze()
    parts = [evaluate_rule(r, series(stats, r.metric, r.window_h, reference_hist=ref.hist,
                                     reference_cat=ref.cat_hist),
                           start_h=ref_h, events=world.events,
                           lag_h=config.labels.delay_h if r.metric.startswith("label.") else 0)
             for r in all_rules]
    alerts = np.concatenate(parts) if parts else np.zeros(0, ALERT_DTYPE)
    alerts = alerts[np.argsort(alerts["opened_h"], kind="stable")]
    alerts.setflags(write=False)
    transactions = build_transactions(world, dec)
    hourly = build_hourly(world, stats, main_version, dec, backlog, wait)
    records = audit.records()
    summary = build_summary(config=config, seed=seed, world=world, stats=stats, alerts=alerts,
                            rules=all_rules, audit=records, offline=offline_test, v1=v1,
                            hourly=hourly, monitored_h=H - ref_h, dec=dec)
    return MonitorResult(config=config, seed=seed, rules=all_rules, transactions=transactions,
                         hourly=hourly, alerts=alerts, audit=records,
                         models=MappingProxyType(models), events=world.events, stats=stats,
                         reference=ref, summary=summary)
