"""Service level objectives, error budgets and multi-window burn-rate alerts.

An **SLO** says what share of requests must succeed over a period, say
99.9% over 30 days.  What may fail, 1 - SLO, is the **error budget**.  The
**burn rate** is how fast the budget is being spent: the error ratio divided
by 1 - SLO.  Burning at 1 spends exactly the budget in the period; a
constant error ratio ``e`` spends it in ``period x (1 - SLO) / e``.

A page should mean "at this rate the budget is at risk", so the Google SRE
workbook alerts on the burn rate, not on the raw error ratio: page when the
burn rate over a **long window** is above a threshold (14.4 over 1 hour is
2% of a 30-day budget in that hour) and the burn rate over a **short
window** (5 minutes) is above it too.  The long window keeps a brief burst
from paging; the short one lets the alert stop soon after the burn ends.

On a noiseless series with a constant request rate, a step of the error
ratio from ``b`` to ``e`` is seen by a window of ``W`` minutes after
``k`` minutes when ``(b (W - k) + e k) / W`` passes ``threshold x (1 - SLO)``,
which :func:`step_detection_min` solves exactly.

>>> round(budget_exhaustion_h(0.01, objective=0.999, period_h=720), 6)
72.0
>>> round(budget_spent(14.4, window_h=1, period_h=720), 4)
0.02
>>> rule = BurnRateRule(long_window_min=60, short_window_min=5, burn_rate=14.4)
>>> step_detection_min(rule, objective=0.999, error_ratio=0.1)
9
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from labkit.errors import MonitorError
from labkit.monitor.monitors import window_sum

__all__ = ["check_objective", "burn_rate", "budget_exhaustion_h", "budget_spent",
           "window_ratio", "BurnRateRule", "step_detection_min", "MAX_WINDOW_MIN",
           "SRE_PAGE_RULES"]

#: The longest window a burn-rate rule may look over: three days, in minutes.
MAX_WINDOW_MIN = 3 * 24 * 60


def check_objective(objective: Any, name: str = "objective") -> float:
    """``objective`` as a float strictly between 0 and 1, else an error naming it."""
    if isinstance(objective, bool) or not isinstance(objective, (int, float)) \
            or not 0.0 < float(objective) < 1.0:
        raise MonitorError(f"{name} must be a share strictly between 0 and 1 (0.999 for "
                           f"99.9%), got {objective!r}")
    return float(objective)


def _positive(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) \
            or not math.isfinite(value) or value <= 0:
        raise MonitorError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def burn_rate(error_ratio: Any, *, objective: float) -> Any:
    """Error ratio divided by the error budget ``1 - objective`` (array in, array out)."""
    budget = 1.0 - check_objective(objective)
    return np.asarray(error_ratio, dtype=float) / budget if np.ndim(error_ratio) \
        else float(error_ratio) / budget


def budget_exhaustion_h(error_ratio: float, *, objective: float, period_h: float) -> float:
    """Hours until a constant ``error_ratio`` has spent the whole budget of ``period_h``."""
    e = _positive(error_ratio, "error_ratio")
    return _positive(period_h, "period_h") * (1.0 - check_objective(objective)) / e


def budget_spent(burn: float, *, window_h: float, period_h: float) -> float:
    """Share of the period's budget spent by burning at ``burn`` for ``window_h`` hours."""
    return _positive(burn, "burn") * _positive(window_h, "window_h") / _positive(period_h,
                                                                                 "period_h")


def window_ratio(errors: Any, requests: Any, window: int) -> np.ndarray:
    """Errors over requests pooled over the last ``window`` steps (NaN until it is full or
    when no request arrived)."""
    e = window_sum(np.asarray(errors, dtype=float), int(window))
    n = window_sum(np.asarray(requests, dtype=float), int(window))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, e / np.where(n > 0, n, 1.0), np.nan)


@dataclass(frozen=True, kw_only=True)
class BurnRateRule:
    """Fire when the burn rate over both windows (minutes) is above ``burn_rate``."""

    long_window_min: int
    short_window_min: int
    burn_rate: float
    name: str = "page"

    def __post_init__(self) -> None:
        who = f"burn-rate rule {self.name!r}"
        for field in ("long_window_min", "short_window_min"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
                    or not 1 <= value <= MAX_WINDOW_MIN:
                raise MonitorError(f"{who}: {field} must be a whole number of minutes from 1 "
                                   f"to {MAX_WINDOW_MIN}, got {value!r}")
            object.__setattr__(self, field, int(value))
        if self.short_window_min > self.long_window_min:
            raise MonitorError(f"{who}: short_window_min must be <= long_window_min "
                               f"({self.long_window_min}), got {self.short_window_min}")
        object.__setattr__(self, "burn_rate", _positive(self.burn_rate, f"{who}: burn_rate"))

    def burns(self, errors: Any, requests: Any, *,
              objective: float) -> tuple[np.ndarray, np.ndarray]:
        """The burn rate over the long and over the short window at every minute."""
        long = burn_rate(window_ratio(errors, requests, self.long_window_min),
                         objective=objective)
        short = burn_rate(window_ratio(errors, requests, self.short_window_min),
                          objective=objective)
        return long, short

    def firing(self, errors: Any, requests: Any, *, objective: float) -> np.ndarray:
        """Where both windows burn faster than ``burn_rate`` (an incomplete window never
        fires)."""
        long, short = self.burns(errors, requests, objective=objective)
        with np.errstate(invalid="ignore"):
            return (long > self.burn_rate) & (short > self.burn_rate)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "long_window_min": self.long_window_min,
                "short_window_min": self.short_window_min, "burn_rate": self.burn_rate}


#: The workbook's two paging rules for a 30-day SLO: 2% of the budget in an hour, 5% in six.
SRE_PAGE_RULES = (BurnRateRule(name="fast", long_window_min=60, short_window_min=5,
                               burn_rate=14.4),
                  BurnRateRule(name="slow", long_window_min=360, short_window_min=30,
                               burn_rate=6.0))


def _window_k(window: int, level: float, base: float, error_ratio: float) -> float:
    """Bad minutes a window of ``window`` minutes needs before its ratio passes ``level``."""
    if error_ratio <= level:
        return math.inf
    return math.floor(window * (level - base) / (error_ratio - base)) + 1


def step_detection_min(rule: BurnRateRule, *, objective: float, error_ratio: float,
                       base_error_ratio: float = 0.0) -> int | None:
    """Minutes from a step of the error ratio (``base_error_ratio`` to ``error_ratio``) until
    ``rule`` fires, on a noiseless series with a constant request rate (``None``: never).

    Minute ``k`` counts the end of the ``k``-th minute of the step, so an alert in the step's
    first minute is detected after 1 minute.
    """
    level = rule.burn_rate * (1.0 - check_objective(objective))
    e, b = float(error_ratio), float(base_error_ratio)
    if not 0.0 <= b < e <= 1.0:
        raise MonitorError(f"the step must rise: need 0 <= base_error_ratio < error_ratio <= 1, "
                           f"got {b!r} -> {e!r}")
    if b > level:
        raise MonitorError(f"rule {rule.name!r} fires before the step: base_error_ratio {b!r} "
                           f"is above its level {level:g}")
    k = max(_window_k(rule.long_window_min, level, b, e),
            _window_k(rule.short_window_min, level, b, e))
    return None if math.isinf(k) else int(k)
