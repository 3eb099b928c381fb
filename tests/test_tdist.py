"""Student's t quantiles against published table values, and the interval they give."""

from __future__ import annotations

import math

import pytest

from labkit.tdist import mean_ci, t_cdf, t_quantile

# Two-sided 95% critical values t(0.975, df), as printed in standard tables (e.g. NIST/SEMATECH
# e-Handbook, table 1.3.6.7.2), to the 3 decimals given there.
TABLE_975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 10: 2.228, 20: 2.086,
             30: 2.042, 60: 2.000, 100: 1.984}


@pytest.mark.parametrize("df, expected", sorted(TABLE_975.items()))
def test_t_quantile_matches_the_table(df: int, expected: float) -> None:
    assert t_quantile(0.975, df) == pytest.approx(expected, abs=5e-4)   # table rounding


def test_t_quantile_other_levels_and_limits() -> None:
    assert t_quantile(0.995, 4) == pytest.approx(4.604, abs=5e-4)
    assert t_quantile(0.95, 10) == pytest.approx(1.812, abs=5e-4)
    assert t_quantile(0.5, 3) == pytest.approx(0.0, abs=1e-9)
    assert t_quantile(0.025, 5) == pytest.approx(-t_quantile(0.975, 5), rel=1e-12)
    # df -> infinity tends to the normal quantile 1.959964.
    assert t_quantile(0.975, 100000) == pytest.approx(1.959964, abs=1e-4)
    # Cauchy (df = 1) has a closed form: tan(pi (p - 1/2)).
    for p in (0.6, 0.9, 0.99):
        assert t_quantile(p, 1) == pytest.approx(math.tan(math.pi * (p - 0.5)), rel=1e-9)


def test_t_cdf_is_a_distribution() -> None:
    assert t_cdf(0.0, 7) == pytest.approx(0.5)
    assert t_cdf(-2.0, 7) == pytest.approx(1 - t_cdf(2.0, 7))
    # df = 2 closed form: F(t) = 1/2 + t / (2 sqrt(2 + t^2)).
    for t in (0.3, 1.0, 4.0):
        assert t_cdf(t, 2) == pytest.approx(0.5 + t / (2 * math.sqrt(2 + t * t)), rel=1e-12)


def test_mean_ci() -> None:
    mean, half = mean_ci([10.0, 12.0, 14.0])
    assert mean == 12.0
    assert half == pytest.approx(t_quantile(0.975, 2) * 2.0 / math.sqrt(3))
    assert math.isnan(mean_ci([5.0])[1])
    assert mean_ci([3.0, 3.0])[1] == 0.0


@pytest.mark.parametrize("call, message", [
    (lambda: t_quantile(1.0, 3), "p must be between 0 and 1, got 1.0"),
    (lambda: t_quantile(0.9, 0), "df must be a whole number >= 1, got 0"),
    (lambda: mean_ci([]), "mean_ci needs at least one value, got none"),
    (lambda: mean_ci([1.0, 2.0], confidence=95), "confidence must be between 0 and 1, got 95"),
])
def test_errors(call, message: str) -> None:
    with pytest.raises(ValueError) as info:
        call()
    assert str(info.value) == message
