"""The ``labkit`` command line: the JSON contract of issues 2 and 3 and its error behaviour.

Runs ``labkit.cli.main`` in-process with capsys (fast), plus one subprocess call of the
installed console script.  Bad input must exit 2 with one line naming the knob, the rule
and the value, never a traceback.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from labkit.cli import main
from labkit.sim import PRESETS, simulate
from labkit.sim.scenario import CATALOGUE

SHORT = ["--set", "load.duration_s=5"]


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def simulate_json(capsys, *argv):
    code, out, err = run_cli(capsys, "simulate", "--json", *argv)
    assert code == 0 and err == ""
    return json.loads(out)


# -- labkit simulate --json -----------------------------------------------------------------------
def test_simulate_json_has_every_contract_key(capsys):
    d = simulate_json(capsys, *SHORT)
    for key in ("requests", "outcomes", "success_rate", "latency_ms", "model_wait_ms_mean",
                "throughput_rps", "cache_hit_ratio", "model_calls", "amplification", "cost",
                "budgets",
                # issue 3
                "retries", "wasted_work_s", "breaker_opens", "fallback_by_path",
                "fallback_calls", "quality_mean"):
        assert key in d, key
    assert set(d["outcomes"]) == {"ok", "degraded", "failed", "rejected"}
    assert {"mean", "p50", "p95", "p99"} <= set(d["latency_ms"])
    assert {"total", "per_1k"} <= set(d["cost"])
    assert set(d["fallback_by_path"]) == {"small_model", "stale_cache", "safe_message"}
    assert {"p95_ms", "p99_ms", "cost_per_1k", "success_rate", "quality"} <= set(d["budgets"])
    for name, budget in d["budgets"].items():
        assert {"limit", "actual", "pass"} <= set(budget), name
        assert isinstance(budget["pass"], bool)
    assert sum(d["outcomes"].values()) == d["requests"]
    assert "timeseries" not in d


def test_simulate_json_matches_the_library_and_judges_budgets(capsys):
    d = simulate_json(capsys, "--set", "load.duration_s=5", "--set", "budget.p95_ms=50",
                      "--seed", "4")
    res = simulate({"load.duration_s": 5, "budget.p95_ms": 50}, seed=4)
    assert d["seed"] == 4 and d["knobs"] == {"load.duration_s": 5.0, "budget.p95_ms": 50.0}
    assert d["requests"] == res.summary["requests"]
    assert d["latency_ms"]["p95"] == pytest.approx(res.summary["latency_ms"]["p95"])
    p95 = d["budgets"]["p95_ms"]
    assert p95["limit"] == 50.0 and p95["actual"] == pytest.approx(d["latency_ms"]["p95"])
    assert p95["pass"] is (p95["actual"] <= 50.0) is False
    assert d["all_budgets_pass"] is False


def test_simulate_json_with_a_preset_and_overrides(capsys):
    d = simulate_json(capsys, "--preset", "reference", "--set", "load.duration_s=45")
    assert d["knobs"]["cache.enabled"] is True
    assert d["knobs"]["fallback.chain"] == ["small_model", "stale_cache", "safe_message"]
    assert d["knobs"]["load.duration_s"] == 45.0


def test_timeseries_has_one_second_buckets_of_the_contract_series(capsys):
    d = simulate_json(capsys, "--set", "load.duration_s=6.5", "--timeseries")
    ts = d["timeseries"]
    for key in ("t_s", "arrivals", "ok", "degraded", "failed", "rejected", "model_calls",
                "queue_len", "replicas"):
        assert key in ts, key
    n = len(ts["t_s"])
    assert n >= 7 and all(len(v) == n for v in ts.values())
    assert ts["t_s"] == [float(k) for k in range(n)]
    assert sum(ts["arrivals"]) == d["requests"]
    for name in ("ok", "degraded", "failed", "rejected"):
        assert sum(ts[name]) == d["outcomes"][name]
    assert sum(ts["model_calls"]) == d["model_calls"]
    assert all(r == 4 for r in ts["replicas"])
    assert all(isinstance(x, (int, float)) for x in ts["queue_len"])


def test_trace_adds_the_audit_trail_of_the_requests_named(capsys):
    d = simulate_json(capsys, *SHORT, "--set", "model.error_rate=0.5",
                      "--set", "retry.max_attempts=3", "--trace", "0", "--trace", "3")
    assert [t["request"] for t in d["traces"]] == [0, 3]
    t = d["traces"][0]
    for key in ("path", "attempts", "outcome", "answered_by", "model", "cache", "fallback",
                "budgets_broken", "arrival_s", "end_s"):
        assert key in t, key
    assert t["path"][0] == "gateway"
    assert all({"start_s", "end_s", "result"} <= set(a) for a in t["attempts"])


def test_readable_report_with_a_trace(capsys):
    code, out, err = run_cli(capsys, "simulate", *SHORT, "--trace", "1")
    assert code == 0 and err == ""
    assert "budgets:" in out and "requests" in out and "trace of request 1" in out
    assert "Traceback" not in out


# -- bad input: exit 2, one line, no traceback ---------------------------------------------------------
@pytest.mark.parametrize("argv, message", [
    (["--set", "model.replicas=0"], "labkit simulate: model.replicas must be >= 1, got 0"),
    (["--set", "cache.capacity_items=-5"],
     "labkit simulate: cache.capacity_items must be >= 1, got -5"),
    (["--set", "model.replicas=two"],
     "labkit simulate: model.replicas must be a whole number, got 'two'"),
    (["--set", "cache.enabled=perhaps"],
     "labkit simulate: cache.enabled must be true or false, got 'perhaps'"),
    (["--set", "load.pattern=zigzag"],
     "labkit simulate: load.pattern must be one of poisson, bursty, spike, diurnal, got 'zigzag'"),
    (["--set", "model.replica=3"],
     "labkit simulate: unknown knob 'model.replica'; did you mean 'model.replicas'?"),
    (["--set", "model.replicas"], "labkit simulate: --set takes KNOB=VALUE, got 'model.replicas'"),
    (["--seed", "abc"], "labkit simulate: --seed must be a whole number >= 0, got 'abc'"),
    (["--seed", "-3"], "labkit simulate: --seed must be a whole number >= 0, got -3"),
    (["--seed", "1.5"], "labkit simulate: --seed must be a whole number >= 0, got '1.5'"),
    (["--trace", "x"], "labkit simulate: --trace takes a request id (a whole number), got 'x'"),
    (["--preset", "nope"], "labkit simulate: unknown preset 'nope'; known: " + ", ".join(PRESETS)),
    (["--set", "retry.base_ms=500", "--set", "retry.cap_ms=100"],
     "labkit simulate: retry.cap_ms must be >= retry.base_ms (500), got 100"),
])
def test_bad_input_exits_2_naming_knob_rule_and_value(capsys, argv, message):
    code, out, err = run_cli(capsys, "simulate", "--json", *argv)
    assert code == 2
    assert out == ""
    assert err == message + "\n"


def test_a_trace_id_out_of_range_exits_2(capsys):
    code, out, err = run_cli(capsys, "simulate", *SHORT, "--trace", "999999")
    assert code == 2 and out == ""
    assert err.startswith("labkit simulate: request id must be in 0..")
    assert err.rstrip().endswith("got 999999") and err.count("\n") == 1


def test_unknown_options_exit_2_with_usage(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["simulate", "--bogus"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "unrecognized arguments: --bogus" in err and "Traceback" not in err


# -- labkit knobs / presets ----------------------------------------------------------------------------
def test_knobs_json_lists_every_knob_with_default_unit_range_and_help(capsys):
    code, out, err = run_cli(capsys, "knobs", "--json")
    assert code == 0 and err == ""
    listed = json.loads(out)
    assert [k["name"] for k in listed] == list(CATALOGUE)
    for k in listed:
        knob = CATALOGUE[k["name"]]
        assert {"default", "unit", "help", "type", "group"} <= set(k)
        assert k["help"] == knob.help and k["unit"] == knob.unit
        if knob.kind in ("int", "float"):
            assert k["min"] == knob.min and k["max"] == knob.max
            assert k["default"] == knob.default
        if knob.kind in ("choice", "multi"):
            assert k["choices"] == list(knob.choices)


def test_knobs_text_and_group_filter(capsys):
    code, out, err = run_cli(capsys, "knobs")
    assert code == 0 and err == ""
    for name in CATALOGUE:
        assert f"  {name} = " in out
    code, out, err = run_cli(capsys, "knobs", "--group", "cache", "--json")
    assert code == 0
    assert {k["name"] for k in json.loads(out)} == {n for n in CATALOGUE if n.startswith("cache.")}
    code, out, err = run_cli(capsys, "knobs", "--group", "cahce")
    assert code == 2 and out == ""
    assert err.startswith("labkit knobs: --group must be one of load, gateway")
    assert err.rstrip().endswith("got 'cahce'")


def test_presets_include_reference(capsys):
    code, out, err = run_cli(capsys, "presets")
    assert code == 0 and err == ""
    assert out.startswith("default:") and "\nreference: " in out
    code, out, err = run_cli(capsys, "presets", "--json")
    presets = json.loads(out)
    assert set(presets) == set(PRESETS)
    assert presets["reference"]["knobs"]["breaker.enabled"] is True
    assert presets["reference"]["help"]


# -- the installed console script ----------------------------------------------------------------------
def test_the_console_script_runs_and_honours_the_contract():
    script = Path(sys.executable).parent / "labkit"
    script = str(script) if script.exists() else shutil.which("labkit")
    assert script, "the labkit console script is not installed"
    proc = subprocess.run([script, "simulate", "--json", "--timeseries", "--set",
                           "load.duration_s=4", "--seed", "2"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stderr == ""
    d = json.loads(proc.stdout)
    assert d["seed"] == 2 and sum(d["outcomes"].values()) == d["requests"]
    assert d["requests"] == simulate({"load.duration_s": 4}, seed=2).summary["requests"]
    # 1-second buckets from 0 to past the last answer (which may end after 4 s)
    t_s = d["timeseries"]["t_s"]
    assert len(t_s) >= 4 and t_s == [float(k) for k in range(len(t_s))]
