"""Student's t distribution, for confidence intervals across a handful of seeds.

With n seeds the mean of a metric has a 95% confidence interval of
``mean +/- t(0.975, n-1) * sd / sqrt(n)``; with few seeds t is much larger
than the normal 1.96 (12.71 for two seeds, 4.30 for three), which is why a
sweep over three seeds shows wide error bars.  scipy is not a dependency, so
the quantile is found by bisection on the exact CDF, written with the
regularized incomplete beta function (continued fraction, modified Lentz).

>>> round(t_quantile(0.975, 2), 4), round(t_quantile(0.975, 30), 4)
(4.3027, 2.0423)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["t_quantile", "t_cdf", "mean_ci"]


def mean_ci(xs: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """(mean, half-width of the two-sided t interval); the half-width is NaN for one value.

    >>> mean_ci([1.0, 2.0, 3.0])[0], round(mean_ci([1.0, 2.0, 3.0])[1], 4)
    (2.0, 2.4841)
    """
    n = len(xs)
    if n == 0:
        raise ValueError("mean_ci needs at least one value, got none")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    mean = math.fsum(xs) / n
    if n < 2:
        return mean, math.nan
    sd = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (n - 1))
    return mean, t_quantile((1 + confidence) / 2, n - 1) * sd / math.sqrt(n)


def t_quantile(p: float, df: int) -> float:
    """The x with P(T <= x) = p for Student's t with ``df`` degrees of freedom.

    >>> round(t_quantile(0.975, 1), 4), round(t_quantile(0.975, 10), 4)
    (12.7062, 2.2281)
    """
    if not 0 < p < 1:
        raise ValueError(f"p must be between 0 and 1, got {p}")
    if isinstance(df, bool) or not isinstance(df, int) or df < 1:
        raise ValueError(f"df must be a whole number >= 1, got {df!r}")
    if p < 0.5:
        return -t_quantile(1 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        lo, hi = hi, hi * 2
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if t_cdf(mid, df) < p else (lo, mid)
    return (lo + hi) / 2


def t_cdf(t: float, df: int) -> float:
    """P(T <= t) = 1 - I_{df/(df+t^2)}(df/2, 1/2) / 2 for t >= 0 (symmetric below)."""
    tail = 0.5 * _betainc(df / 2, 0.5, df / (df + t * t))
    return 1 - tail if t >= 0 else tail


def _betainc(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b)."""
    if x <= 0 or x >= 1:
        return 0.0 if x <= 0 else 1.0
    if x > (a + 1) / (a + b + 2):          # the continued fraction converges fast below this
        return 1 - _betainc(b, a, 1 - x)
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                     + a * math.log(x) + b * math.log1p(-x))
    tiny = 1e-300
    c, d = 1.0, 1 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    f = d
    for m in range(1, 500):
        for num in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                    -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1 + num * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + num / c
            c = c if abs(c) > tiny else tiny
            f *= c * d
        if abs(c * d - 1) < 1e-15:
            break
    return front * f / a
