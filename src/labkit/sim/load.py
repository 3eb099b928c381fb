"""Load: when requests arrive and what they ask for.

Arrivals follow a Poisson process whose rate may change over time: steady
(``poisson``), on/off modulated (``bursty``), a step up and back (``spike``)
or a sinusoidal day (``diurnal``).  A time-varying Poisson process is drawn by
*thinning*: draw candidates at the peak rate, keep each with probability
rate(t) / peak.  Every pattern keeps ``load.rate_rps`` as its long-run mean
except ``spike``, which adds the spike on top of the base rate.

Prompts are drawn from a Zipf popularity over ``load.catalog_size`` distinct
prompts: prompt of rank k is asked with probability proportional to
k^-alpha.  Skewed popularity is what makes a response cache pay off.

Everything here is drawn up front with vectorised numpy from the
``arrivals``, ``prompts`` and ``validity`` streams, so the event loop only
replays it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from labkit.streams import Streams

if TYPE_CHECKING:
    from labkit.sim.config import LoadConfig

__all__ = ["Workload", "rate_at", "peak_rate", "zipf_cdf", "draw_workload"]


@dataclass(frozen=True, kw_only=True)
class Workload:
    """Pre-drawn attributes of every request, indexed by request id."""

    arrival_s: np.ndarray
    prompt: np.ndarray        # int prompt id, 0 = most popular
    valid: np.ndarray         # bool: passes auth and validation
    write: np.ndarray         # bool: asks for a write action
    service_u: np.ndarray     # uniform draw that fixes the request's service time
    error_u: np.ndarray       # uniform draw for the first attempt's error

    def __len__(self) -> int:
        return len(self.arrival_s)


def rate_at(load: LoadConfig, t: np.ndarray) -> np.ndarray:
    """The arrival rate (req/s) of pattern ``load.pattern`` at times ``t``."""
    t = np.asarray(t, dtype=float)
    base = load.rate_rps
    if load.pattern == "poisson":
        return np.full_like(t, base)
    if load.pattern == "spike":
        inside = (t >= load.spike_start_s) & (t < load.spike_start_s + load.spike_duration_s)
        return np.where(inside, base * load.spike_multiplier, base)
    if load.pattern == "bursty":
        on, off, ratio = load.burst_on_s, load.burst_off_s, load.burst_off_ratio
        # Busy rate r_on with quiet rate ratio*r_on keeps the mean at base.
        r_on = base * (on + off) / (on + ratio * off)
        phase = np.mod(t, on + off)
        return np.where(phase < on, r_on, ratio * r_on)
    # diurnal: a sinusoid around the mean, never below zero.
    return base * (1.0 + load.diurnal_amplitude * np.sin(2 * np.pi * t / load.diurnal_period_s))


def peak_rate(load: LoadConfig) -> float:
    """The largest rate the pattern ever reaches (the thinning envelope)."""
    base = load.rate_rps
    if load.pattern == "spike":
        return base * load.spike_multiplier
    if load.pattern == "bursty":
        on, off = load.burst_on_s, load.burst_off_s
        return base * (on + off) / (on + load.burst_off_ratio * off)
    if load.pattern == "diurnal":
        return base * (1.0 + load.diurnal_amplitude)
    return base


def zipf_cdf(n_items: int, alpha: float) -> np.ndarray:
    """Cumulative popularity of ranks 1..n under Zipf(alpha)."""
    weights = np.arange(1, n_items + 1, dtype=float) ** -alpha
    cdf = np.cumsum(weights)
    return cdf / cdf[-1]


def draw_workload(load: LoadConfig, streams: Streams) -> Workload:
    """Draw every request of a run: arrival times, prompts, validity, writes."""
    arrivals = streams["arrivals"]
    peak = peak_rate(load)
    # Draw candidate gaps in chunks until the horizon is passed.
    expected = peak * load.duration_s
    chunks = []
    t_last = 0.0
    while t_last < load.duration_s:
        n = int(expected + 6 * np.sqrt(expected) + 16)
        times = t_last + np.cumsum(arrivals.exponential(1.0 / peak, n))
        chunks.append(times)
        t_last = float(times[-1])
    times = np.concatenate(chunks)
    times = times[times < load.duration_s]
    keep_u = arrivals.random(len(times))
    if load.pattern != "poisson":
        times = times[keep_u < rate_at(load, times) / peak]
    n = len(times)
    cdf = zipf_cdf(load.catalog_size, load.zipf_alpha)
    prompts = streams["prompts"]
    prompt = np.searchsorted(cdf, prompts.random(n), side="right")
    np.minimum(prompt, load.catalog_size - 1, out=prompt)
    validity = streams["validity"]
    valid = validity.random(n) >= load.invalid_fraction
    write = validity.random(n) < load.write_fraction
    service = streams["service"]
    errors = streams["errors"]
    return Workload(arrival_s=times, prompt=prompt, valid=valid, write=write,
                    service_u=service.random(n), error_u=errors.random(n))
