"""Every lab panel starts at its activity's scenario, simulates once, and resets there."""

from __future__ import annotations

import pytest

from labkit.labs import lab1, lab2
from labkit.sim import Scenario

#: (helper, shown knobs, scenario, views) as the lab notebooks build them.
PANELS = [
    pytest.param(lab1.panel, ["serving.pattern", "model.replicas"], lab1.SHAPE_WORKLOAD,
                 ["scorecard", "cost"], id="lab1-shapes"),
    pytest.param(lab1.panel, ["boundary.policy", "boundary.reviewers", "model.replicas"],
                 {**lab1.BOUNDARY_SCENARIO, "boundary.policy": "approval",
                  "boundary.reviewers": 3}, ["path"], id="lab1-boundary"),
    pytest.param(lab2.panel, ["load.rate_rps", "model.replicas", "model.service_ms"],
                 lab2.CAPACITY_SCENARIO, ["latency", "capacity"], id="lab2-capacity"),
    pytest.param(lab2.panel, ["model.replicas", "autoscale.enabled"], lab2.PEAK_SCENARIO,
                 ["capacity"], id="lab2-peak"),
]


@pytest.fixture
def simulate_calls(monkeypatch):
    import labkit.ui.runner as runner_module

    calls: list[int] = []
    real = runner_module.simulate
    monkeypatch.setattr(runner_module, "simulate",
                        lambda scenario, seed: calls.append(seed) or real(scenario, seed=seed))
    return calls


@pytest.mark.parametrize("helper, knobs, scenario, views", PANELS)
def test_lab_panel_starts_once_at_its_scenario_and_resets_there(simulate_calls, helper, knobs,
                                                               scenario, views):
    panel = helper(knobs, scenario, views=views)
    assert simulate_calls == [1], "a lab panel must simulate once as it appears"
    start = panel.result.scenario
    assert start == Scenario.from_knobs(scenario)        # exactly the activity's scenario
    replicas = panel.controls["model.replicas"]
    replicas.value = replicas.value + 3
    assert panel.result.scenario.model.replicas == start.model.replicas + 3
    panel.reset()
    assert panel.result.scenario == start                 # the lab's start, not the defaults
    assert len(simulate_calls) == 2                       # the reset run is the cached start


def test_lab1_panel_started_at_six_replicas_resets_to_six():
    panel = lab1.panel(["model.replicas"], {**lab1.LATENCY_SCENARIO, "model.replicas": 6},
                       views=["latency"])
    panel.set({"model.replicas": 2})
    panel.reset()
    assert panel.controls["model.replicas"].value == 6 and panel.scenario.model.replicas == 6
