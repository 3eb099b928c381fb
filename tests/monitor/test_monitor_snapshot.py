"""Regression net for the monitoring simulator: same knobs and seed, exactly the same run.

``snapshots/monitor_runs.json`` was written from ``labkit.monitor`` as it stood before the
knob refactor of issue 13.  For each scenario below (the defaults, lab 3's scenarios, and
ones that switch on every event, action and alert family) and seeds 1, 2 and 3 it holds
``MonitorResult.to_dict()`` (knobs changed, rules, summary, events, audit trail) and
SHA-256 digests of the alert, transaction and hourly records; all must come back exactly.
``snapshots/monitor_knobs.json`` is ``labkit monitor --knobs --json`` from then: every
knob must keep its group, type, default, unit, range, choices, "off" note and help.

Rewrite on purpose only (``python tests/monitor/test_monitor_snapshot.py --write``).
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from labkit.cli import main as cli_main
from labkit.monitor import AlertRule, run_monitor

HERE = Path(__file__).resolve().parent
RUNS = HERE / "snapshots" / "monitor_runs.json"
KNOBS = HERE / "snapshots" / "monitor_knobs.json"
SEEDS = (1, 2, 3)

SCENARIOS: dict[str, dict[str, Any]] = {
    "default": {},
    "alerting": {"stream.weeks": 3, "incident.null_at_day": 10.0,
                 "stream.null_blips_per_week": 3.0},
    "data drift": {"stream.weeks": 4, "stream.tx_per_hour": 200, "drift.data_at_day": 8.0},
    "concept drift": {"stream.weeks": 4, "stream.tx_per_hour": 200,
                      "drift.concept_at_day": 8.0},
    "retrain on a schedule": {"stream.weeks": 6, "stream.tx_per_hour": 200,
                              "drift.concept_at_day": 10.0, "retrain.policy": "schedule",
                              "retrain.every_days": 7},
    "retrain on a trigger": {"stream.weeks": 6, "stream.tx_per_hour": 200,
                             "drift.concept_at_day": 10.0, "retrain.policy": "trigger",
                             "retrain.trigger_on": ("recall",), "alerts.recall_floor": 0.25},
    "governance drill": {"stream.weeks": 2, "incident.null_at_day": 8.0,
                         "stream.null_blips_per_week": 3.0, "decision.change_at_day": 5.0,
                         "decision.new_threshold": 0.15},
    "every incident and a shutdown": {
        "stream.weeks": 3, "incident.slow_at_day": 5.0, "incident.spike_at_day": 7.0,
        "incident.null_at_day": 9.0, "drift.data_at_day": 11.0, "drift.data_ramp_days": 0.0,
        "shutdown.at_day": 14.0, "shutdown.duration_h": 30, "shutdown.fallback": "review_all",
        "alerts.range_threshold": 0.01, "alerts.flag_gap_threshold": 0.05,
        "alerts.precision_floor": 0.1, "alerts.recall_floor": 0.1},
    "release without canary": {
        "stream.weeks": 3, "retrain.policy": "schedule", "retrain.every_days": 5,
        "retrain.canary_h": 0, "retrain.retune_threshold": True, "retrain.gate_tolerance": 1.0,
        "incident.null_at_day": 6.0, "shutdown.at_day": 18.0},
    "shutdown rule": {"stream.weeks": 2, "incident.null_at_day": 6.0, "shutdown.duration_h": 12},
}
#: Scenarios run with alert rules of their own instead of the knob defaults.
RULES: dict[str, list[AlertRule]] = {
    "shutdown rule": [AlertRule(name="kill", metric="input.null_rate.device_risk",
                                threshold=0.5, window_h=2, owner="incident-commander",
                                action="shutdown")],
}


def digest(array: np.ndarray) -> str:
    h = hashlib.sha256(str(array.dtype).encode())
    h.update(np.ascontiguousarray(array).tobytes())
    return h.hexdigest()


def capture(name: str, seed: int) -> dict[str, Any]:
    res = run_monitor(SCENARIOS[name], seed=seed, rules=RULES.get(name))
    return {"run": json.loads(json.dumps(res.to_dict(alerts=False, audit=True))),
            "alerts": digest(res.alerts), "transactions": digest(res.transactions),
            "hourly": digest(res.hourly)}


def knobs_json() -> list[dict[str, Any]]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli_main(["monitor", "--knobs", "--json"]) == 0
    return json.loads(out.getvalue())


def same(a: Any, b: Any, where: str = "") -> list[str]:
    """Where ``a`` and ``b`` differ (NaN equals NaN; floats must be equal, not close)."""
    if isinstance(a, dict) and isinstance(b, dict):
        diffs = [f"{where}.{k}: missing" for k in a if k not in b]
        diffs += [f"{where}.{k}: new" for k in b if k not in a]
        for k in a:
            if k in b:
                diffs += same(a[k], b[k], f"{where}.{k}")
        return diffs
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in same(x, y, f"{where}[{i}]")]
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return []
    if type(a) is not type(b) or a != b:
        return [f"{where}: {a!r} -> {b!r}"]
    return []


def _load(path: Path) -> Any:
    return json.loads(path.read_text())


@pytest.mark.parametrize("name, seed", [(n, s) for n in SCENARIOS for s in SEEDS])
def test_every_scenario_and_seed_gives_exactly_the_snapshot(name, seed):
    want = _load(RUNS)[name][str(seed)]
    got = capture(name, seed)
    assert same(want["run"], got["run"], "run") == []
    for part in ("alerts", "transactions", "hourly"):
        assert got[part] == want[part], f"{name} seed {seed}: {part} changed"


def test_the_snapshot_covers_every_scenario():
    assert sorted(_load(RUNS)) == sorted(SCENARIOS)


def test_every_monitor_knob_keeps_its_name_default_unit_and_range():
    want = _load(KNOBS)
    got = {k["name"]: k for k in knobs_json()}
    problems = []
    for old in want:
        new = got.get(old["name"])
        if new is None:
            problems.append(f"{old['name']}: gone")
            continue
        problems += same(old, {key: new.get(key) for key in old}, old["name"])
    assert problems == []
    assert [k["name"] for k in want] == list(got)[:len(want)]


def write() -> None:  # pragma: no cover - run by hand, see the module docstring
    RUNS.parent.mkdir(exist_ok=True)
    RUNS.write_text(json.dumps({n: {str(s): capture(n, s) for s in SEEDS} for n in SCENARIOS},
                               indent=1, sort_keys=True) + "\n")
    KNOBS.write_text(json.dumps(knobs_json(), indent=1) + "\n")


if __name__ == "__main__":  # pragma: no cover
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/monitor/test_monitor_snapshot.py --write")
    write()
