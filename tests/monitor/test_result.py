"""MonitorResult: judging new rules on a finished run, tracing, errors."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.monitor import AlertRule, run_monitor


@pytest.fixture(scope="module")
def res():
    return run_monitor({"stream.weeks": 2, "incident.null_at_day": 6}, seed=7)


def test_evaluate_judges_new_rules_without_a_rerun(res) -> None:
    slow = AlertRule(name="slow", metric="input.null_rate.device_risk", threshold=0.3,
                     window_h=12, owner="data-platform")
    fast = AlertRule(name="fast", metric="input.null_rate.device_risk", threshold=0.3,
                     window_h=1, owner="data-platform")
    alerts, summary = res.evaluate([slow, fast])
    det = summary["detection"]["null_feature:device_risk"]
    assert det["detected_by"] == "fast" and det["time_to_detect_h"] == 1
    assert set(alerts["rule"]) <= {"slow", "fast"} and not alerts.flags.writeable
    assert np.all(np.diff(alerts["opened_h"]) >= 0)
    empty, s = res.evaluate([])
    assert empty.size == 0 and s["total"] == 0


def test_evaluate_errors(res) -> None:
    act = AlertRule(name="act", metric="label.recall", threshold=0.1, owner="x",
                    direction="below", action="shutdown")
    with pytest.raises(ValueError, match="^alert rule 'act' has action 'shutdown': rules that "
                                         "act change the run; pass them to run_monitor "
                                         "instead$"):
        res.evaluate([act])
    with pytest.raises(ValueError, match="^rules must hold AlertRule objects, got 'x'$"):
        res.evaluate(["x"])


def test_trace_reports_missing_inputs_and_label_timing(res) -> None:
    idx = int(np.flatnonzero(np.isnan(res.transactions["device_risk"]))[0])
    t = res.trace(idx)
    assert "device_risk" in t["missing"] and t["inputs"]["device_risk"] is None
    assert t["label_arrives_h"] == t["hour"] + 72
    assert t["features"] == ["amount", "velocity", "device_risk", "merchant_category"]


@pytest.mark.parametrize("bad", [-1, 10**9, 1.0, True])
def test_trace_errors(res, bad: object) -> None:
    n = res.transactions.size
    with pytest.raises(ValueError) as exc:
        res.trace(bad)  # type: ignore[arg-type]
    assert str(exc.value) == f"tx_id must be a whole number from 0 to {n - 1}, got {bad!r}"


def test_lag_and_monitored_hours(res) -> None:
    assert res.lag_h("label.recall") == 72 and res.lag_h("input.psi.amount") == 0
    assert res.monitored_h == 2 * 168 - 72
