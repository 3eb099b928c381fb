"""Copy as code: the code rebuilds the same scenario and the same numbers."""

from __future__ import annotations

from labkit.sim import Scenario, simulate
from labkit.ui.codegen import knob_literal, scenario_code


def test_code_reproduces_the_run_exactly():
    knobs = {"model.replicas": 6, "fallback.chain": ("small_model",), "retry.timeout_ms": 250.5,
             "cache.enabled": True, "load.duration_s": 10.0}
    scenario = Scenario.from_knobs(knobs)
    code = scenario_code(scenario, seed=4)
    namespace: dict = {}
    exec(code, namespace)
    assert namespace["scenario"] == scenario
    expected = simulate(scenario, seed=4).summary
    assert namespace["result"].summary == expected


def test_only_changed_knobs_are_written():
    code = scenario_code(Scenario.from_knobs({"model.replicas": 4}), seed=1)   # 4 is the default
    assert "Scenario.from_knobs({})  # every knob at its default" in code
    assert code.endswith("result = simulate(scenario, seed=1)")


def test_literals_are_python():
    assert knob_literal(("a",)) == "('a',)"
    assert knob_literal(2.0) == "2.0" and knob_literal(1e-05) == "1e-05"
    assert knob_literal(True) == "True" and knob_literal("hang") == "'hang'"
