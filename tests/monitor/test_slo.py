"""SLOs, error budgets and burn-rate alerts held to their closed forms.

Exact checks run on the noiseless SLI series (expected counts, constant request rate), where the
window ratios are the arithmetic of the closed forms; the noisy world is checked with tolerances
from the binomial spread.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from labkit.errors import MonitorError
from labkit.monitor.sli import Burn, SliRule, judge_firing, simulate_sli, sweep_rules
from labkit.monitor.slo import (
    SRE_PAGE_RULES,
    BurnRateRule,
    budget_exhaustion_h,
    budget_spent,
    burn_rate,
    step_detection_min,
)


@pytest.mark.parametrize("objective,e", [(0.999, 0.001), (0.999, 0.0144), (0.99, 0.05),
                                         (0.995, 0.2)])
def test_constant_error_ratio_spends_the_budget_in_period_times_budget_over_e(objective, e):
    period_h = 720
    hours = budget_exhaustion_h(e, objective=objective, period_h=period_h)
    assert hours == pytest.approx(period_h * (1 - objective) / e, rel=1e-12)
    # simulate it: budget = (1 - SLO) x requests in the period; spent = e x requests per hour
    s = simulate_sli(minutes=period_h * 60, requests_per_min=50, base_error_ratio=e, burns=[],
                     objective=objective, noise=False)
    budget = (1 - objective) * s.requests.sum()
    spent = np.cumsum(s.errors)
    minute = int(np.searchsorted(spent, budget * (1 - 1e-12)))
    assert abs((minute + 1) / 60 - hours) <= 1 / 60
    assert burn_rate(e, objective=objective) == pytest.approx(e / (1 - objective))


def test_workbook_budget_shares():
    # 14.4 for 1 h, 6 for 6 h, 1 for 3 days: 2%, 5% and 10% of a 30-day budget
    assert budget_spent(14.4, window_h=1, period_h=720) == pytest.approx(0.02)
    assert budget_spent(6, window_h=6, period_h=720) == pytest.approx(0.05)
    assert budget_spent(1, window_h=72, period_h=720) == pytest.approx(0.10)


# (long, short, threshold, objective, base, step): chosen so that no window's k is an integer
STEPS = [(60, 5, 14.4, 0.999, 0.0, 0.05), (60, 5, 14.4, 0.999, 0.0005, 0.1),
         (360, 30, 6.0, 0.999, 0.0, 0.013), (120, 10, 3.0, 0.99, 0.01, 0.07),
         (30, 30, 2.5, 0.995, 0.002, 0.021)]


@pytest.mark.parametrize("long,short,threshold,objective,base,e", STEPS)
def test_step_detection_is_exact_on_a_noiseless_series(long, short, threshold, objective, base, e):
    rule = BurnRateRule(long_window_min=long, short_window_min=short, burn_rate=threshold)
    start = 2 * long
    s = simulate_sli(minutes=start + 3 * long, requests_per_min=120, base_error_ratio=base,
                     burns=[Burn(start_min=start, duration_min=3 * long, error_ratio=e)],
                     objective=objective, noise=False)
    fire = rule.firing(s.errors, s.requests, objective=objective)
    assert not fire[:start].any()
    simulated = int(np.flatnonzero(fire)[0]) - start + 1
    level = threshold * (1 - objective)
    k = max(math.floor(w * (level - base) / (e - base)) + 1 for w in (long, short))
    assert simulated == k == step_detection_min(rule, objective=objective, error_ratio=e,
                                                base_error_ratio=base)


def test_a_step_below_the_level_is_never_detected():
    rule = BurnRateRule(long_window_min=60, short_window_min=5, burn_rate=14.4)
    assert step_detection_min(rule, objective=0.999, error_ratio=0.0144) is None
    s = simulate_sli(minutes=600, requests_per_min=100, base_error_ratio=0.0,
                     burns=[Burn(start_min=100, duration_min=400, error_ratio=0.0143)],
                     objective=0.999, noise=False)
    assert not rule.firing(s.errors, s.requests, objective=0.999).any()


def test_longer_window_detects_later_and_higher_threshold_later():
    base = dict(objective=0.999, error_ratio=0.03)
    times = [step_detection_min(BurnRateRule(long_window_min=w, short_window_min=5,
                                             burn_rate=10), **base) for w in (30, 60, 120)]
    assert times == sorted(times) and times[0] < times[-1]
    times = [step_detection_min(BurnRateRule(long_window_min=60, short_window_min=5,
                                             burn_rate=t), **base) for t in (2, 6, 14.4)]
    assert times == sorted(times) and times[0] < times[-1]


def test_workbook_fast_rule_on_a_total_outage_takes_under_a_minute_of_budget():
    # 100% errors: the 1 h window passes 14.4 x 0.1% after 0.864 min, i.e. in the first minute
    assert step_detection_min(SRE_PAGE_RULES[0], objective=0.999, error_ratio=1.0) == 1


def test_short_window_ends_the_page_soon_after_the_burn():
    rule = BurnRateRule(long_window_min=60, short_window_min=5, burn_rate=14.4)
    s = simulate_sli(minutes=600, requests_per_min=100, base_error_ratio=0.0,
                     burns=[Burn(start_min=100, duration_min=60, error_ratio=0.2)],
                     objective=0.999, noise=False)
    fire = rule.firing(s.errors, s.requests, objective=0.999)
    last = int(np.flatnonzero(fire)[-1])
    assert last == 159 + 4          # the 5-minute window still holds burn for 4 minutes after
    long_only = BurnRateRule(long_window_min=60, short_window_min=60, burn_rate=14.4)
    assert int(np.flatnonzero(long_only.firing(s.errors, s.requests, objective=0.999))[-1]) > last + 30


def test_noisy_burn_rate_matches_the_error_ratio_within_binomial_spread():
    s = simulate_sli(minutes=20_000, requests_per_min=200, base_error_ratio=0.004, burns=[],
                     objective=0.999, seed=3)
    burn = s.burn(60)[59:]
    # mean of the burn over windows: 4; sd of one 1 h window: sqrt(e (1 - e) / 12000) / 0.001
    sd = math.sqrt(0.004 * 0.996 / 12_000) / 0.001
    assert abs(burn.mean() - 4.0) <= 4 * sd / math.sqrt(burn.size / 60)
    assert abs(burn.std() - sd) <= 0.2 * sd


def test_judge_counts_false_pages_for_benign_burns_only():
    burns = [Burn(start_min=1000, duration_min=120, error_ratio=0.05),
             Burn(start_min=5000, duration_min=240, error_ratio=0.004, benign=True)]
    s = simulate_sli(minutes=10_080, requests_per_min=100, base_error_ratio=0.0, burns=burns,
                     objective=0.999, noise=False)
    low = SliRule(kind="static threshold", threshold=2.0, window_min=60)
    j = judge_firing(low.firing(s), s.burns, lookback_min=low.lookback_min)
    assert j["pages"] == 2 and j["false_pages"] == 1 and j["false_per_week"] == pytest.approx(1)
    high = SliRule(kind="static threshold", threshold=5.5, window_min=60)
    j = judge_firing(high.firing(s), s.burns, lookback_min=high.lookback_min)
    assert j["false_pages"] == 0 and j["detect_min"] == [math.floor(60 * 0.0055 / 0.05) + 1]


def test_rate_of_change_fires_on_a_rise_not_on_a_level():
    s = simulate_sli(minutes=2000, requests_per_min=100, base_error_ratio=0.005, burns=[],
                     objective=0.999, noise=False)
    rule = SliRule(kind="rate of change", threshold=1.0, window_min=30)
    assert not rule.firing(s).any()        # a steady 5x burn never rises
    assert SliRule(kind="static threshold", threshold=1.0, window_min=30).firing(s)[29:].all()


def test_sweep_rows_are_the_judged_rules():
    burns = [Burn(start_min=600, duration_min=60, error_ratio=0.05)]
    s = simulate_sli(minutes=3000, requests_per_min=100, base_error_ratio=0.0005, burns=burns,
                     objective=0.999, seed=1)
    rows = sweep_rules(s, thresholds=[2, 14.4], windows_min=[30, 60])
    assert len(rows) == 3 * 2 * 2
    for row in rows:
        rule = SliRule(kind=row["kind"], threshold=row["threshold"], window_min=row["window_min"])
        j = judge_firing(rule.firing(s), s.burns, lookback_min=rule.lookback_min)
        assert row["false_per_week"] == j["false_per_week"]
        assert row["detect_min"] == (None if None in j["detect_min"] else j["detect_min"][0])


@pytest.mark.parametrize("kwargs,message", [
    (dict(long_window_min=0, short_window_min=5, burn_rate=14.4), "long_window_min must be"),
    (dict(long_window_min=60, short_window_min=90, burn_rate=14.4),
     "short_window_min must be <= long_window_min"),
    (dict(long_window_min=60, short_window_min=5, burn_rate=0), "burn_rate must be a finite"),
    (dict(long_window_min=60, short_window_min=5, burn_rate=float("nan")), "burn_rate must be"),
])
def test_burn_rate_rule_errors_name_the_field(kwargs, message):
    with pytest.raises(MonitorError, match=message):
        BurnRateRule(**kwargs)


def test_other_errors_name_the_value():
    with pytest.raises(MonitorError, match="objective must be a share strictly between 0 and 1"):
        burn_rate(0.1, objective=1.0)
    with pytest.raises(MonitorError, match="rule kind must be one of"):
        SliRule(kind="magic", threshold=1.0, window_min=5)
    with pytest.raises(MonitorError, match="fires before the step"):
        step_detection_min(SRE_PAGE_RULES[0], objective=0.999, error_ratio=0.5,
                           base_error_ratio=0.02)
