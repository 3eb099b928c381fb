"""A service's error ratio minute by minute, the burns injected into it, and alert rules on it.

The SLI world is deliberately small: requests arrive at a Poisson rate each
minute and each one fails with the error ratio of that minute, a base ratio
plus the **burns** injected on top (a burn sets the ratio for a stretch of
minutes).  A burn is real (someone must act: a bad deploy, a dependency
down) or **benign** (a slow drift that spends a little budget and ends by
itself, or a burst of a few minutes): paging for a benign burn is a false
page.  Every draw comes from the run's named streams (:data:`STREAMS`); the
noiseless series (``noise=False``) carries the expected counts, on which the
closed forms of :mod:`labkit.monitor.slo` hold exactly.

Three kinds of rule watch it, each on the burn rate (error ratio over the
error budget), so one threshold scale serves them all:

* **static threshold**: the burn rate over ``window_min`` is above the threshold;
* **rate of change**: the burn rate over ``window_min`` rose by more than the
  threshold since the window before it;
* **burn rate**: the multi-window rule, ``window_min`` and a short window of a
  twelfth of it (the workbook's 1 h and 5 min), both above the threshold.

:func:`judge_firing` turns where a rule fires into pages, each true or false,
and the time to detect each real burn; :func:`sweep_rules` does it for a grid
of rules (the points of a detection-against-false-pages frontier).

>>> s = simulate_sli(minutes=600, requests_per_min=100, base_error_ratio=0.0,
...                  burns=[Burn(start_min=300, duration_min=60, error_ratio=0.05)],
...                  objective=0.999, noise=False)
>>> rule = SliRule(kind="burn rate", threshold=14.4, window_min=60)
>>> judge_firing(rule.firing(s), s.burns, lookback_min=rule.lookback_min)["detect_min"]
[18]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from labkit.errors import MonitorError
from labkit.monitor.slo import MAX_WINDOW_MIN, BurnRateRule, burn_rate, check_objective, window_ratio
from labkit.streams import Streams

__all__ = ["Burn", "SliSeries", "simulate_sli", "SliRule", "RULE_KINDS", "judge_firing",
           "sweep_rules", "STREAMS", "MINUTES_PER_WEEK"]

#: The SLI world's random streams (append-only).
STREAMS = ("requests", "errors")
MINUTES_PER_WEEK = 7 * 24 * 60
RULE_KINDS = ("static threshold", "rate of change", "burn rate")


@dataclass(frozen=True, kw_only=True)
class Burn:
    """The error ratio is ``error_ratio`` in minutes ``start_min`` .. ``end_min``."""

    start_min: int
    duration_min: int
    error_ratio: float
    benign: bool = False

    def __post_init__(self) -> None:
        if int(self.start_min) < 0 or int(self.duration_min) < 1:
            raise MonitorError(f"a burn needs start_min >= 0 and duration_min >= 1, got "
                               f"{self.start_min!r} and {self.duration_min!r}")
        if not 0.0 <= float(self.error_ratio) <= 1.0:
            raise MonitorError(f"a burn's error_ratio must be from 0 to 1, got "
                               f"{self.error_ratio!r}")

    @property
    def end_min(self) -> int:
        return int(self.start_min) + int(self.duration_min) - 1


@dataclass(frozen=True, eq=False)
class SliSeries:
    """Requests and errors per minute, the burns behind them and the SLO they are held to."""

    requests: np.ndarray
    errors: np.ndarray
    burns: tuple[Burn, ...]
    objective: float
    seed: int | None

    @property
    def minutes(self) -> int:
        return int(self.requests.size)

    def burn(self, window_min: int) -> np.ndarray:
        """The burn rate over windows of ``window_min`` minutes, at every minute."""
        return burn_rate(window_ratio(self.errors, self.requests, window_min),
                         objective=self.objective)


def simulate_sli(*, minutes: int, requests_per_min: float, base_error_ratio: float,
                 burns: Sequence[Burn], objective: float, seed: int = 0,
                 noise: bool = True) -> SliSeries:
    """One run of the SLI world (``noise=False``: the expected counts, no draws)."""
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 1:
        raise MonitorError(f"minutes must be a whole number >= 1, got {minutes!r}")
    if not requests_per_min > 0:
        raise MonitorError(f"requests_per_min must be > 0, got {requests_per_min!r}")
    objective = check_objective(objective)
    ratio = np.full(minutes, float(base_error_ratio))
    for b in burns:
        ratio[b.start_min:b.end_min + 1] = b.error_ratio
    if noise:
        rng = Streams(seed, STREAMS)
        requests = rng["requests"].poisson(requests_per_min, minutes).astype(float)
        errors = rng["errors"].binomial(requests.astype(np.int64), ratio).astype(float)
    else:
        requests = np.full(minutes, float(requests_per_min))
        errors = requests * ratio
    for arr in (requests, errors):
        arr.setflags(write=False)
    return SliSeries(requests=requests, errors=errors, burns=tuple(burns), objective=objective,
                     seed=seed if noise else None)


@dataclass(frozen=True, kw_only=True)
class SliRule:
    """One rule of :data:`RULE_KINDS` on the burn rate (see the module docstring)."""

    kind: str
    threshold: float
    window_min: int

    def __post_init__(self) -> None:
        if self.kind not in RULE_KINDS:
            raise MonitorError(f"rule kind must be one of {', '.join(RULE_KINDS)}, got "
                               f"{self.kind!r}")
        if isinstance(self.window_min, bool) or not isinstance(self.window_min, (int, np.integer)) \
                or not 1 <= self.window_min <= MAX_WINDOW_MIN // 2:
            raise MonitorError(f"window_min must be a whole number from 1 to "
                               f"{MAX_WINDOW_MIN // 2}, got {self.window_min!r}")
        object.__setattr__(self, "window_min", int(self.window_min))
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, float)) \
                or not np.isfinite(self.threshold):
            raise MonitorError(f"threshold must be a finite number, got {self.threshold!r}")
        object.__setattr__(self, "threshold", float(self.threshold))

    @property
    def short_window_min(self) -> int:
        """The burn-rate kind's short window: a twelfth of the long one (at least 1 minute)."""
        return max(1, self.window_min // 12)

    @property
    def lookback_min(self) -> int:
        """How far back the data a firing rule looked at reaches."""
        return 2 * self.window_min if self.kind == "rate of change" else self.window_min

    def signal(self, series: SliSeries) -> np.ndarray:
        """The number the rule compares with its threshold, at every minute (for the
        burn-rate kind, the long window's burn)."""
        burn = series.burn(self.window_min)
        if self.kind != "rate of change":
            return burn
        before = np.full(burn.shape, np.nan)
        before[self.window_min:] = burn[:-self.window_min]
        return burn - before

    def firing(self, series: SliSeries) -> np.ndarray:
        """Where the rule fires (an incomplete window never does)."""
        if self.kind == "burn rate":
            rule = BurnRateRule(long_window_min=self.window_min,
                                short_window_min=self.short_window_min, burn_rate=self.threshold)
            return rule.firing(series.errors, series.requests, objective=series.objective)
        with np.errstate(invalid="ignore"):
            return self.signal(series) > self.threshold


def judge_firing(fire: np.ndarray, burns: Sequence[Burn], *, lookback_min: int) -> dict[str, Any]:
    """Pages (each opens when firing starts) judged against the real burns.

    A page is true when the data it looked at while open (from ``lookback_min``
    minutes before it opened to its last minute) overlaps a real burn.  A real
    burn is detected at the first firing minute whose data reaches into it;
    ``detect_min`` lists, per real burn in order, minutes from its start to the
    end of that minute (``None``: never).
    """
    fire = np.asarray(fire, dtype=bool)
    prev = np.concatenate(([False], fire[:-1]))
    opened = np.flatnonzero(fire & ~prev)
    stops = np.flatnonzero(~fire)
    real = [b for b in burns if not b.benign]
    pages: list[tuple[int, int, bool]] = []
    for h in opened.tolist():
        later = stops[stops > h]
        last = int(later[0]) - 1 if later.size else fire.size - 1
        first_data = h - lookback_min + 1
        true = any(first_data <= b.end_min and last >= b.start_min for b in real)
        pages.append((h, last, true))
    detect: list[int | None] = []
    for b in real:
        hit = np.flatnonzero(fire[b.start_min:b.end_min + lookback_min])
        detect.append(int(hit[0]) + 1 if hit.size else None)
    weeks = fire.size / MINUTES_PER_WEEK
    false = sum(not t for _, _, t in pages)
    return {"pages": len(pages), "false_pages": false, "false_per_week": false / weeks,
            "detect_min": detect, "opened_min": [p[0] for p in pages],
            "true": [p[2] for p in pages]}


def sweep_rules(series: SliSeries, *, kinds: Sequence[str] = RULE_KINDS,
                thresholds: Sequence[float], windows_min: Sequence[int]) -> list[dict[str, Any]]:
    """Every rule of the grid judged on ``series``: kind, threshold, window, mean minutes to
    detect the real burns (``None`` when one is missed) and false pages a week."""
    rows = []
    for kind in kinds:
        for window in windows_min:
            for threshold in thresholds:
                rule = SliRule(kind=kind, threshold=float(threshold), window_min=int(window))
                j = judge_firing(rule.firing(series), series.burns, lookback_min=rule.lookback_min)
                found = j["detect_min"]
                mean = None if not found or None in found else float(np.mean(found))
                rows.append({"kind": kind, "threshold": float(threshold),
                             "window_min": int(window), "detect_min": mean,
                             "false_per_week": j["false_per_week"], "pages": j["pages"]})
    return rows
