"""Agent mode's parts one by one: keyed draws, steps needed, the toolbox, knobs and theory errors."""
from __future__ import annotations

import math

import numpy as np
import pytest

from labkit.knobs import KnobError
from labkit.sim import Scenario
from labkit.sim.agent import Draws, Purpose, steps_needed
from labkit.sim.codes import Approval, Injection, TaskOutcome, TaskReason, ToolKind
from labkit.sim.config import AgentConfig
from labkit.sim.theory import expected_capped_steps, step_success_probability
from labkit.sim.tools import Toolbox


def test_keyed_draws_are_the_same_one_by_one_and_in_arrays_and_look_uniform():
    d = Draws(2**63 + 7)
    task = np.repeat(np.arange(2000), 5)
    step = np.tile(np.arange(5), 2000)
    u = d.array(task, step, Purpose.LOOP)
    assert u.tolist() == [d.u(int(t), int(s), Purpose.LOOP) for t, s in zip(task, step)]
    assert ((u >= 0) & (u < 1)).all()
    # 10,000 uniforms: mean within 4 standard errors of 1/2 (sd 1/sqrt(12))
    assert abs(u.mean() - 0.5) < 4 / math.sqrt(12 * len(u))
    # another purpose or another key gives other numbers
    assert not np.array_equal(u, d.array(task, step, Purpose.TOOL))
    assert not np.array_equal(u, Draws(8).array(task, step, Purpose.LOOP))


@pytest.mark.parametrize("mean", [1.5, 4.0, 10.0])
def test_steps_needed_follows_the_geometric_tail_exactly(mean):
    config = AgentConfig(steps_mean=mean)
    p = 1.0 / mean
    # N > k exactly when u >= 1 - (1 - p)^k: check either side of every boundary
    for k in range(1, 8):
        edge = 1.0 - (1.0 - p) ** k
        assert steps_needed(config, max(0.0, edge - 1e-9)) <= k
        assert steps_needed(config, min(edge + 1e-9, 1 - 1e-12)) > k
    assert steps_needed(AgentConfig(steps_dist="fixed", steps_mean=2.5), 0.0) == 3


def test_the_toolbox_decides_from_the_draws_it_is_given():
    box = Toolbox(AgentConfig(tool_call_rate=0.5, write_share=0.2, injection_rate=0.1,
                              guard_recall=0.6, write_policy="allow"))
    assert box.choose(0.6, 0.0) is None
    assert box.choose(0.4, 0.1).kind == ToolKind.WRITE and box.choose(0.4, 0.3).kind == \
        ToolKind.READ
    assert box.injection(0.2, 0.0) == Injection.NONE
    assert box.injection(0.05, 0.5) == Injection.CAUGHT
    assert box.injection(0.05, 0.7) == Injection.MISSED
    assert box.write_gate() == Approval.ALLOWED
    assert Toolbox(AgentConfig(write_policy="deny")).write_gate() == Approval.DENIED
    assert Toolbox(AgentConfig(write_policy="approve")).write_gate() == Approval.NONE
    assert Toolbox(AgentConfig(permission_policy=False)).hijack() == (
        TaskOutcome.UNSAFE, TaskReason.INJECTION_EXECUTED)
    assert Toolbox.fails(box.read, 0.01) and not Toolbox.fails(box.read, 0.5)


@pytest.mark.parametrize("knobs, message", [
    ({"agent.loop_rate": 0.99}, "agent.loop_rate must be <= 0.95, got 0.99"),
    ({"agent.max_steps": 0}, "agent.max_steps must be >= 1, got 0"),
    ({"agent.steps_mean": 0.5}, "agent.steps_mean must be >= 1, got 0.5"),
    ({"agent.write_policy": "maybe"},
     "agent.write_policy must be one of allow, approve, deny, got 'maybe'"),
])
def test_agent_knobs_refuse_bad_values_naming_knob_rule_and_value(knobs, message):
    with pytest.raises(KnobError) as exc:
        Scenario.from_knobs(knobs)
    assert str(exc.value) == message


def test_agent_budgets_are_off_as_zero_and_none_in_the_config():
    sc = Scenario.from_knobs({"agent.budget_usd": 0, "agent.budget_s": "off"})
    assert sc.agent.budget_usd is None and sc.agent.budget_s is None
    assert Scenario.from_knobs({"agent.budget_usd": 0.5}).agent.budget_usd == 0.5


def test_theory_refuses_input_outside_its_model():
    with pytest.raises(ValueError, match=r"^steps_mean must be >= 1, got 0\.5$"):
        step_success_probability(0.5)
    with pytest.raises(ValueError, match=r"^loop_rate must be in \[0, 1\], got 1\.5$"):
        step_success_probability(2.0, loop_rate=1.5)
    with pytest.raises(ValueError, match=r"^max_steps must be an integer >= 1, got 0$"):
        expected_capped_steps(2.0, 0)
    # a step that never progresses: the cap is always reached
    assert expected_capped_steps(2.0, 7, loop_rate=1.0) == 7.0
