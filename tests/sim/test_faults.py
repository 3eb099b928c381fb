"""Fault windows: hangs and slowdowns become the replicas' speed; error outages fail fast."""
from __future__ import annotations

import pytest

from labkit.sim.config import FaultConfig
from labkit.sim.faults import Faults


def test_no_fault_by_default():
    f = Faults(FaultConfig())
    assert f.speed.constant and not f.failing_fast(0.0) and f.extra_error_rate(0.0) == 0.0


def test_a_hanging_outage_stops_work_and_fails_nothing_fast():
    f = Faults(FaultConfig(mode="hang", outage_start_s=10.0, outage_duration_s=5.0))
    assert not f.failing_fast(12.0)
    assert f.speed.finish_s(9.0, 2.0) == pytest.approx(16.0)   # 1 s before, 1 s after


def test_an_error_outage_fails_calls_inside_the_window_only():
    f = Faults(FaultConfig(mode="error", outage_start_s=10.0, outage_duration_s=5.0))
    assert [f.failing_fast(t) for t in (9.99, 10.0, 14.99, 15.0)] == [False, True, True, False]
    assert f.speed.constant


def test_a_slowdown_stretches_work_and_adds_errors_inside_its_window():
    f = Faults(FaultConfig(slowdown_start_s=5.0, slowdown_duration_s=10.0,
                           slowdown_factor=4.0, error_rate=0.3))
    assert f.speed.finish_s(5.0, 1.0) == pytest.approx(9.0)
    assert [f.extra_error_rate(t) for t in (4.9, 5.0, 14.9, 15.0)] == [0.0, 0.3, 0.3, 0.0]
