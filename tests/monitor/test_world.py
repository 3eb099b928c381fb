"""The world generator: seeded, common random numbers, injected events as specified."""

from __future__ import annotations

import math

import numpy as np

from labkit.monitor.config import MonitorConfig
from labkit.monitor.run import STREAMS
from labkit.monitor.world import CRYPTO, NUMERIC_FEATURES, generate_stream, offline_sample
from labkit.streams import Streams


def _world(knobs: dict | None = None, seed: int = 1):
    cfg = MonitorConfig.from_knobs({"stream.weeks": 2, **(knobs or {})})
    return cfg, generate_stream(cfg, Streams(seed, STREAMS))


def test_same_seed_same_world_other_seed_other_world() -> None:
    _, a = _world(seed=5)
    _, b = _world(seed=5)
    _, c = _world(seed=6)
    for name in ("hour", "amount", "label", "latency_p95_ms"):
        assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True)
    assert a.size != c.size or not np.array_equal(a.amount, c.amount, equal_nan=True)


def test_records_are_read_only_and_sorted_by_hour() -> None:
    _, w = _world()
    assert not w.amount.flags.writeable
    assert np.all(np.diff(w.hour) >= 0)
    assert np.array_equal(np.diff(w.starts), w.n_per_hour)


def test_concept_drift_leaves_every_input_draw_unchanged() -> None:
    """Common random numbers: inputs are identical; only labels after the drift differ."""
    cfg, base = _world()
    _, drift = _world({"drift.concept_at_day": 7})
    for name in ("hour", "region", "category", "amount", "velocity", "device_risk"):
        assert np.array_equal(getattr(base, name), getattr(drift, name), equal_nan=True), name
    before = base.hour < 7 * 24
    assert np.array_equal(base.label[before], drift.label[before])
    assert not np.array_equal(base.label[~before], drift.label[~before])


def test_data_drift_moves_inputs_but_not_traffic_or_earlier_labels() -> None:
    _, base = _world()
    _, drift = _world({"drift.data_at_day": 7, "drift.data_ramp_days": 0})
    assert np.array_equal(base.n_per_hour, drift.n_per_hour)
    before = base.hour < 7 * 24
    assert np.array_equal(base.label[before], drift.label[before])
    after = ~before
    assert np.nanmedian(drift.amount[after]) > 1.8 * np.nanmedian(base.amount[after])
    share = np.mean(drift.category[after] == CRYPTO)
    assert abs(share - 0.1) < 4 * math.sqrt(0.1 * 0.9 / after.sum())
    assert not np.any(base.category == CRYPTO)


def test_fraud_rate_matches_the_knob() -> None:
    """Intercepts are calibrated on reference inputs: the realised rate is binomial around it."""
    for rate in (0.01, 0.05):
        _, w = _world({"stream.fraud_rate": rate, "stream.weeks": 4})
        sd = math.sqrt(rate * (1 - rate) / w.size)
        assert abs(w.label.mean() - rate) < 4 * sd + 0.001


def test_null_incident_blanks_the_chosen_feature_at_the_chosen_share() -> None:
    cfg, w = _world({"incident.null_at_day": 5, "incident.null_duration_h": 24,
                     "incident.null_share": 0.85, "stream.null_blips_per_week": 0,
                     "incident.null_feature": "velocity"})
    inside = (w.hour >= 120) & (w.hour < 144)
    n = inside.sum()
    assert abs(np.isnan(w.velocity[inside]).mean() - 0.85) < 4 * math.sqrt(0.85 * 0.15 / n)
    outside = ~inside
    base = np.isnan(w.velocity[outside]).mean()
    assert abs(base - 0.01) < 4 * math.sqrt(0.01 * 0.99 / outside.sum())
    assert abs(np.isnan(w.device_risk[inside]).mean() - 0.01) < 0.01
    (event,) = [e for e in w.events if e.kind == "null_feature"]
    assert (event.start_h, event.end_h, event.feature) == (120, 143, "velocity")


def test_blips_are_benign_short_and_after_the_reference_window() -> None:
    cfg, w = _world({"stream.null_blips_per_week": 10, "stream.blip_null_share": 0.6,
                     "stream.blip_max_h": 2})
    blips = [e for e in w.events if e.kind == "blip"]
    assert blips and all(e.benign for e in blips)
    assert all(e.start_h >= cfg.reference_h and e.end_h - e.start_h < 2 for e in blips)
    assert all(e.feature in NUMERIC_FEATURES for e in blips)
    lone = [e for e in blips if not any(o is not e and o.feature == e.feature
                                        and o.overlaps(e.start_h, e.end_h) for o in blips)]
    e = lone[0]
    col = {"amount": w.amount, "velocity": w.velocity, "device_risk": w.device_risk}[e.feature]
    inside = (w.hour >= e.start_h) & (w.hour <= e.end_h)
    n = inside.sum()
    assert abs(np.isnan(col[inside]).mean() - 0.6) < 4 * math.sqrt(0.24 / n)


def test_blips_on_one_feature_stay_a_day_apart_and_away_from_the_incident() -> None:
    _, w = _world({"stream.null_blips_per_week": 30, "incident.null_at_day": 6})
    spans = [e for e in w.events if e.kind in ("blip", "null_feature")]
    assert sum(e.kind == "blip" for e in spans) > 10
    for i, a in enumerate(spans):
        for b in spans[i + 1:]:
            if a.feature == b.feature:
                assert not a.overlaps(b.start_h - 24, b.end_h + 24), (a, b)


def test_slowdown_and_spike_move_health() -> None:
    cfg, w = _world({"incident.slow_at_day": 5, "incident.slow_duration_h": 6,
                     "incident.slow_factor": 4, "incident.spike_at_day": 8,
                     "incident.spike_duration_h": 4, "incident.spike_multiplier": 6})
    slow = slice(120, 126)
    assert np.median(w.latency_p95_ms[slow]) > 3 * np.median(w.latency_p95_ms[:100])
    assert w.errors[slow].sum() / w.n_per_hour[slow].sum() > 0.02
    spike = slice(192, 196)
    assert w.n_per_hour[spike].mean() > 4 * w.n_per_hour[slice(168, 192)].mean() * 0.5
    assert w.rate_limited[spike].sum() > 0 and w.rate_limited[:192].sum() == 0
    kinds = {e.kind for e in w.events}
    assert {"slowdown", "spike"} <= kinds


def test_offline_sample_is_clean() -> None:
    data = offline_sample(np.random.default_rng(0), 5000, 0.03)
    assert not np.isnan(data["amount"]).any() and not np.isnan(data["device_risk"]).any()
    assert not np.any(data["category"] == CRYPTO)
