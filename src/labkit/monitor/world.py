"""The world: a stream of card transactions, their true labels, system health.

Each hour a diurnal Poisson number of transactions arrives.  A transaction
has a region (the group whose flag rate we compare), a merchant category, an
amount (log-normal, larger for travel and electronics), a velocity (the
card's transactions in the last day) and a device-risk score from a
fingerprinting backend.  Whether it is fraud is drawn from a true
probability that depends on those inputs: in the reference period fraud
means large purchases on risky devices.

Injected events change the world, not the model:

* **data drift**: amounts grow and a new ``crypto`` category appears; the
  relation between inputs and fraud stays the same;
* **concept drift**: fraudsters switch to many small purchases (card
  testing); the inputs look exactly as before, only the relation moves;
* **null feature**: a backend change leaves one feature mostly missing;
* **slowdown** and **traffic spike**: latency, errors and rate limiting.

Benign blips (most of a feature missing for an hour or a few, then back by
itself) are noise.  Every component
draws from its own named random stream (:data:`labkit.monitor.run.STREAMS`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from labkit.monitor.events import Event

if TYPE_CHECKING:
    from labkit.monitor.config import MonitorConfig

__all__ = ["Stream", "generate_stream", "offline_sample", "draw_inputs", "true_fraud_prob",
           "FEATURES", "NUMERIC_FEATURES", "CATEGORIES", "REGIONS"]

#: Numeric inputs of a card transaction, then the categorical one.
NUMERIC_FEATURES = ("amount", "velocity", "device_risk")
FEATURES = NUMERIC_FEATURES + ("merchant_category",)
#: Merchant categories seen in the reference window; ``crypto`` only appears with data drift.
CATEGORIES = ("grocery", "fuel", "retail", "travel", "electronics", "gaming", "crypto")
#: Customer regions: the groups whose flag rates the output monitors compare.
REGIONS = ("north", "south", "east", "west")

_CAT_PROBS = np.array([0.30, 0.15, 0.25, 0.10, 0.12, 0.08])         # six known categories
_CAT_LOG_AMOUNT = np.array([0.0, 0.2, 0.3, 1.2, 1.0, -0.3, 1.0])     # + crypto
_REGION_PROBS = np.array([0.4, 0.3, 0.2, 0.1])
_REGION_LOG_AMOUNT = np.array([0.0, 0.1, -0.1, 0.3])
_CAT_RISK_A = np.array([-0.6, -0.3, 0.0, 0.3, 0.8, 0.6, 1.2])        # large purchases
_CAT_RISK_B = np.array([0.3, -0.3, 0.0, -0.4, 0.0, 1.2, 0.6])        # card testing
CRYPTO = 6


@dataclass(frozen=True, eq=False)
class Stream:
    """All transactions of a run, sorted by hour, plus hourly health and the events."""

    hours: int
    hour: np.ndarray          # int32, the hour each transaction arrived in
    starts: np.ndarray        # transactions of hour h are starts[h]:starts[h+1]
    region: np.ndarray        # int8 index into REGIONS
    category: np.ndarray      # int8 index into CATEGORIES
    amount: np.ndarray        # recorded amount ($), NaN when missing
    velocity: np.ndarray      # NaN when missing
    device_risk: np.ndarray   # NaN when missing
    p_fraud: np.ndarray       # the true fraud probability
    label: np.ndarray         # bool: fraud
    u_canary: np.ndarray      # uniform draw deciding canary traffic
    n_per_hour: np.ndarray
    latency_p95_ms: np.ndarray
    errors: np.ndarray
    rate_limited: np.ndarray
    events: tuple[Event, ...]

    @property
    def size(self) -> int:
        return int(self.hour.size)

    def numeric(self) -> np.ndarray:
        """The numeric inputs as an (n, 3) array in ``NUMERIC_FEATURES`` order."""
        return np.column_stack((self.amount, self.velocity, self.device_risk))


def _ramp(h: np.ndarray, start_h: int | None, ramp_h: float) -> np.ndarray:
    if start_h is None:
        return np.zeros(h.shape)
    if ramp_h <= 0:
        return (h >= start_h).astype(float)
    return np.clip((h - start_h + 1) / ramp_h, 0.0, 1.0)


def draw_inputs(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Reference-period inputs for ``n`` transactions (no drift, nothing missing)."""
    region = rng.choice(4, size=n, p=_REGION_PROBS).astype(np.int8)
    category = rng.choice(6, size=n, p=_CAT_PROBS).astype(np.int8)
    noise = rng.standard_normal(n)
    velocity = rng.poisson(2.5, size=n).astype(float)
    device = rng.beta(2.0, 5.0, size=n)
    return {"region": region, "category": category, "noise": noise, "velocity": velocity,
            "device_risk": device}


def _log_amount(category: np.ndarray, region: np.ndarray, noise: np.ndarray) -> np.ndarray:
    return 3.3 + _CAT_LOG_AMOUNT[category] + _REGION_LOG_AMOUNT[region] + noise


def _risk_parts(log_amount: np.ndarray, velocity: np.ndarray, device: np.ndarray,
                category: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z_la, z_v, z_d = (log_amount - 3.6) / 1.1, (velocity - 2.5) / 1.58, device - 2 / 7
    a = 0.9 * z_la + 0.5 * z_v + 8.0 * z_d + _CAT_RISK_A[category]
    b = -0.9 * z_la + 1.3 * z_v + 2.0 * z_d + _CAT_RISK_B[category]
    return a, b


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@lru_cache(maxsize=32)
def _intercepts(fraud_rate: float) -> tuple[float, float]:
    """Intercepts that give each concept ``fraud_rate`` on reference inputs.

    Computed on a fixed calibration sample, so they depend on the knob only.
    """
    x = draw_inputs(np.random.default_rng(np.random.SeedSequence(20240611)), 200_000)
    parts = _risk_parts(_log_amount(x["category"], x["region"], x["noise"]), x["velocity"],
                        x["device_risk"], x["category"])
    out = []
    for z in parts:
        b = float(np.log(fraud_rate / (1 - fraud_rate)))
        for _ in range(30):  # Newton's method on mean(sigmoid(b + z)) = fraud_rate
            p = _sigmoid(b + z)
            step = (p.mean() - fraud_rate) / max((p * (1 - p)).mean(), 1e-12)
            b -= step
            if abs(step) < 1e-10:
                break
        out.append(b)
    return out[0], out[1]


def true_fraud_prob(log_amount: np.ndarray, velocity: np.ndarray, device: np.ndarray,
                    category: np.ndarray, fraud_rate: float,
                    concept: np.ndarray | float = 0.0) -> np.ndarray:
    """The true fraud probability; ``concept`` 0 is the reference relation, 1 the drifted one."""
    a, b = _risk_parts(log_amount, velocity, device, category)
    ia, ib = _intercepts(float(fraud_rate))
    return _sigmoid((1 - concept) * (a + ia) + concept * (b + ib))


def offline_sample(rng: np.random.Generator, n: int, fraud_rate: float) -> dict[str, np.ndarray]:
    """Clean labelled reference data, as an offline training or test set looks."""
    x = draw_inputs(rng, n)
    la = _log_amount(x["category"], x["region"], x["noise"])
    p = true_fraud_prob(la, x["velocity"], x["device_risk"], x["category"], fraud_rate)
    return {"amount": np.exp(la), "velocity": x["velocity"], "device_risk": x["device_risk"],
            "category": x["category"], "region": x["region"], "label": rng.random(n) < p}


def generate_stream(config: MonitorConfig, streams: Mapping[str, np.random.Generator]) -> Stream:
    """Draw the whole world of one run from its named streams."""
    st, dr, inc = config.stream, config.drift, config.incident
    H, day_h = config.horizon_h, config.day_to_h
    hours = np.arange(H)
    spike = np.zeros(H, bool)
    spike_h = day_h(inc.spike_at_day)
    if spike_h is not None:
        spike[spike_h:spike_h + inc.spike_duration_h] = True
    rate = st.tx_per_hour * (1 + st.diurnal_amplitude * np.sin(2 * np.pi * (hours % 24 - 8) / 24))
    rate = rate * np.where(spike, inc.spike_multiplier, 1.0)
    n_h = streams["traffic"].poisson(rate)
    n = int(n_h.sum())
    hour = np.repeat(hours, n_h).astype(np.int32)
    starts = np.concatenate(([0], np.cumsum(n_h)))

    f = streams["features"]
    x = draw_inputs(f, n)
    u_new, u_outlier = f.random(n), f.random(n)
    data = _ramp(hour, day_h(dr.data_at_day), dr.data_ramp_days * 24)
    category = np.where(u_new < dr.data_new_category_share * data, CRYPTO, x["category"])
    category = category.astype(np.int8)
    la = _log_amount(category, x["region"], x["noise"]) + dr.data_amount_shift * data
    concept = dr.concept_strength * _ramp(hour, day_h(dr.concept_at_day),
                                          dr.concept_ramp_days * 24)
    p = true_fraud_prob(la, x["velocity"], x["device_risk"], category, st.fraud_rate, concept)
    label = streams["labels"].random(n) < p
    amount = np.exp(la) * np.where(u_outlier < st.outlier_rate, 100.0, 1.0)

    # Missing values: a base rate, the null-feature incident, and benign blips.  Blips on
    # one feature are at least a day apart and a day away from an incident on it, so a
    # blip is always short: two that touched would look like an incident.
    p_null = np.full((H, 3), st.base_null_rate)
    events: list[Event] = []
    busy: list[tuple[int, int, int]] = []          # (feature, first_h, last_h) taken
    null_h = day_h(inc.null_at_day)
    if null_h is not None:
        i = NUMERIC_FEATURES.index(inc.null_feature)
        end = min(H - 1, null_h + inc.null_duration_h - 1)
        p_null[null_h:end + 1, i] = np.maximum(p_null[null_h:end + 1, i], inc.null_share)
        events.append(Event(kind="null_feature", start_h=null_h, end_h=end,
                            feature=inc.null_feature))
        busy.append((i, null_h, end))
    b = streams["blips"]
    n_blips = int(b.poisson(st.null_blips_per_week * st.weeks))
    starts_b = b.integers(config.reference_h, H, size=n_blips)
    durs = b.integers(1, st.blip_max_h + 1, size=n_blips)
    feats = b.integers(0, 3, size=n_blips)
    for start, dur, feat in zip(starts_b.tolist(), durs.tolist(), feats.tolist()):
        end = min(H - 1, start + dur - 1)
        if any(f == feat and start <= hi + 24 and end >= lo - 24 for f, lo, hi in busy):
            continue
        busy.append((feat, start, end))
        p_null[start:end + 1, feat] = np.maximum(p_null[start:end + 1, feat],
                                                 st.blip_null_share)
        events.append(Event(kind="blip", start_h=start, end_h=end,
                            feature=NUMERIC_FEATURES[feat], benign=True))
    missing = streams["nulls"].random((n, 3)) < p_null[hour]
    values = [np.where(missing[:, j], np.nan, v)
              for j, v in enumerate((amount, x["velocity"], x["device_risk"]))]

    # System health, hour by hour.
    hb = streams["health"]
    slow = np.zeros(H, bool)
    slow_h = day_h(inc.slow_at_day)
    if slow_h is not None:
        slow[slow_h:slow_h + inc.slow_duration_h] = True
    cap = config.health.capacity_tx_per_hour
    load = np.maximum(0.0, n_h / cap - 0.8) * 2.0
    latency = config.health.latency_p95_ms * np.exp(0.1 * hb.standard_normal(H)) * (1 + load)
    latency = latency * np.where(slow, inc.slow_factor, 1.0)
    err_p = np.where(slow, np.minimum(0.5, config.health.error_rate * inc.slow_factor ** 2),
                     config.health.error_rate)
    errors = hb.binomial(n_h, err_p)
    limited = np.maximum(0.0, n_h - cap)

    for kind, at, dur in (("data_drift", dr.data_at_day, None),
                          ("concept_drift", dr.concept_at_day, None),
                          ("slowdown", inc.slow_at_day, inc.slow_duration_h),
                          ("spike", inc.spike_at_day, inc.spike_duration_h)):
        start = day_h(at)
        if start is not None:
            end = H - 1 if dur is None else min(H - 1, start + dur - 1)
            events.append(Event(kind=kind, start_h=start, end_h=end))
    events.sort(key=lambda e: (e.start_h, e.kind))
    arrays = dict(hour=hour, starts=starts, region=x["region"], category=category,
                  amount=values[0], velocity=values[1], device_risk=values[2], p_fraud=p,
                  label=label, u_canary=streams["canary"].random(n), n_per_hour=n_h,
                  latency_p95_ms=latency, errors=errors, rate_limited=limited)
    for arr in arrays.values():
        arr.setflags(write=False)
    return Stream(hours=H, events=tuple(events), **arrays)
