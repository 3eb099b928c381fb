"""Monitors: pooled windows, lagged label metrics, PSI rows, metric names."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.monitor.monitors import METRICS, HourlyStats, check_metric, psi_rows, series, window_sum


def test_window_sum_pools_hours_and_lags() -> None:
    x = np.arange(6, dtype=float)
    assert np.allclose(window_sum(x, 3), [np.nan, np.nan, 3, 6, 9, 12], equal_nan=True)
    assert np.allclose(window_sum(x, 2, lag_h=2), [np.nan] * 3 + [1, 3, 5], equal_nan=True)
    two = np.ones((4, 2))
    assert window_sum(two, 2)[3].tolist() == [2.0, 2.0]


def _stats(hours: int = 6, delay: int = 0) -> HourlyStats:
    return HourlyStats(hours=hours, bins=4, label_delay_h=delay)


def test_rates_are_pooled_over_the_window_not_averaged() -> None:
    s = _stats()
    s.n[:] = [100, 100, 10, 10, 10, 10]
    s.nulls[:, 2] = [0, 0, 10, 0, 0, 0]
    got = series(s, "input.null_rate.device_risk", 3)
    assert got[2] == pytest.approx(10 / 210)      # not mean(0, 0, 1) = 1/3
    assert np.isnan(got[1])


def test_label_metrics_look_back_by_the_label_delay() -> None:
    s = _stats(hours=6, delay=2)
    s.tp[:] = [5, 1, 0, 0, 0, 0]
    s.fn[:] = [5, 3, 0, 0, 0, 0]
    s.fp[:] = [0, 1, 0, 0, 0, 0]
    s.tn[:] = [90, 95, 100, 100, 100, 100]
    recall = series(s, "label.recall", 1)
    assert np.isnan(recall[:2]).all()
    assert recall[2] == pytest.approx(0.5) and recall[3] == pytest.approx(0.25)
    assert np.isnan(recall[4])                    # no fraud at hour 2: recall undefined
    assert series(s, "label.precision", 2)[3] == pytest.approx(6 / 7)
    assert series(s, "label.fraud_rate", 1)[2] == pytest.approx(0.1)


def test_flag_rates_per_region_and_the_gap() -> None:
    s = _stats(hours=2)
    s.n[:] = 100
    s.n_region[:] = [[50, 30, 20, 0], [50, 30, 20, 0]]
    s.flags_region[:] = [[5, 6, 1, 0], [5, 6, 1, 0]]
    s.flags[:] = 12
    assert series(s, "output.flag_rate", 2)[1] == pytest.approx(0.12)
    assert series(s, "output.flag_rate.south", 1)[0] == pytest.approx(0.2)
    assert np.isnan(series(s, "output.flag_rate.west", 1)[0])
    assert series(s, "output.flag_rate_gap", 1)[0] == pytest.approx(0.2 - 0.05)


def test_health_metrics() -> None:
    s = _stats(hours=2)
    s.n[:] = [100, 300]
    s.latency_p95_ms[:] = [100, 200]
    s.errors[:] = [1, 3]
    s.rate_limited[:] = [0, 40]
    assert series(s, "health.traffic_tx", 2)[1] == 200
    assert series(s, "health.latency_p95_ms", 2)[1] == 150
    assert series(s, "health.error_rate", 2)[1] == pytest.approx(0.01)
    assert series(s, "health.rate_limited_share", 1)[1] == pytest.approx(40 / 300)


def test_input_psi_uses_the_reference_counts() -> None:
    s = _stats(hours=2)
    s.n[:] = 100
    s.hist[:, 0, :] = [25, 25, 25, 25, 0]
    ref = np.tile([25.0, 25, 25, 25, 0], (3, 1))
    assert series(s, "input.psi.amount", 1, reference_hist=ref)[0] == pytest.approx(0.0)
    s.cat_hist[:, 0] = 100
    cats = np.array([50.0, 50, 0, 0, 0, 0, 0])
    assert series(s, "input.psi.merchant_category", 1, reference_cat=cats)[0] > 0.25
    with pytest.raises(ValueError, match="^input.psi.amount needs reference_hist$"):
        series(s, "input.psi.amount", 1)
    with pytest.raises(ValueError, match="^input.psi.merchant_category needs reference_cat$"):
        series(s, "input.psi.merchant_category", 1)


def test_psi_rows_match_the_formula() -> None:
    e = np.array([[50.0, 50.0]])
    a = np.array([[80.0, 20.0]])
    expected = (0.8 - 0.5) * np.log(0.8 / 0.5) + (0.2 - 0.5) * np.log(0.2 / 0.5)
    assert psi_rows(e, a)[0] == pytest.approx(expected)


def test_metric_names_and_errors() -> None:
    assert len(METRICS) == len(set(METRICS))
    assert check_metric("label.recall") == "label.recall"
    with pytest.raises(ValueError, match="^metric must be a known metric, got 'label.recal'; "
                                         "did you mean 'label.recall'\\?$"):
        check_metric("label.recal")
    with pytest.raises(ValueError, match="^window_h must be >= 1, got 0$"):
        series(_stats(), "label.recall", 0)
