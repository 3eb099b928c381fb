"""The panel, headless: set widget values, check the charts say what the simulator says."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.knobs import KnobError
from labkit.sim import PRESETS, Scenario, simulate
from labkit.sim.scenario import CATALOGUE
from labkit.ui import Panel
from labkit.ui.runner import Runner
from labkit.viz.common import series

SHORT = {"load.duration_s": 20.0}


def p95_trace(panel) -> np.ndarray:
    return np.asarray(panel.figures["latency"].data[1].y, float)


def test_full_panel_has_a_control_for_every_knob_and_a_chart_per_view():
    panel = Panel()
    assert set(panel.controls) == set(CATALOGUE)            # new catalogue knobs appear
    assert list(panel.figures) == ["latency", "outcomes", "capacity", "cost", "path",
                                   "amplification", "scorecard", "compare"]
    assert panel.result.summary == simulate(seed=1).summary
    assert panel.error is None and "requests simulated" in panel.view.status.value


def test_more_replicas_lower_the_p95_the_chart_shows():
    panel = Panel(knobs=["model.replicas", "load.rate_rps"], fixed=SHORT,
                  views=["latency", "capacity"])
    before = panel.result.summary["latency_ms"]["p95"]
    panel.controls["model.replicas"].value = 8
    result = panel.result
    # what the panel shows is what the simulator says for the same knobs and seed
    independent = simulate({**SHORT, "model.replicas": 8}, seed=1)
    assert result.summary == independent.summary
    assert result.summary["latency_ms"]["p95"] < before     # more servers, shorter waits
    np.testing.assert_allclose(p95_trace(panel), series(independent)["p95_ms"], equal_nan=True)
    assert set(np.asarray(panel.figures["capacity"].data[1].y)) == {8.0}
    subtitle = panel.figures["latency"].layout.title.subtitle.text
    assert f"p95 {result.summary['latency_ms']['p95']:,.0f} ms" in subtitle


def test_a_budget_change_rejudges_without_simulating_again():
    panel = Panel(knobs=["model.replicas", "budget.*"], fixed=SHORT,
                  views=["latency", "scorecard"])
    records = panel.result.records
    panel.controls["budget.p95_ms"].value = 50.0
    assert panel.result.records is records                     # same run, judged again
    assert not panel.result.summary["budgets"]["p95_ms"]["pass"]
    assert list(panel.figures["latency"].data[3].y) == [50.0, 50.0]
    assert "from the cache" in panel.view.status.value
    assert "data-budget='p95_ms' data-pass='false'" in panel.budgets.verdicts.value


def test_bad_combination_is_a_message_in_the_panel_not_a_traceback(capfd):
    panel = Panel(knobs=["autoscale.*", "model.replicas"], fixed=SHORT, views=["latency"])
    panel.controls["autoscale.enabled"].value = True
    shown = panel.result
    panel.controls["model.replicas"].value = 50              # above autoscale.max_replicas
    assert panel.error == ("This combination of knobs cannot run: model.replicas must lie "
                           "within autoscale.min_replicas..autoscale.max_replicas (1..20) when "
                           "autoscaling, got 50")
    assert "data-state='error'" in panel.view.status.value
    assert panel.result is shown                              # charts keep the last good run
    panel.controls["model.replicas"].value = 10
    assert panel.error is None and panel.result.scenario.model.replicas == 10
    out, err = capfd.readouterr()
    assert err == "" and out == ""


def test_cache_makes_going_back_instant():
    panel = Panel(knobs=["model.replicas"], fixed=SHORT, views=["latency"])
    first = panel.result
    panel.controls["model.replicas"].value = 6
    panel.controls["model.replicas"].value = 4
    assert panel.result is first and "from the cache" in panel.view.status.value


def test_presets_reset_and_fixed_knobs():
    panel = Panel(fixed={"load.duration_s": 30.0}, views=["outcomes"])
    panel.view.preset.value = "overload"
    assert panel.result.scenario == Scenario.from_knobs({**PRESETS["overload"],
                                                         "load.duration_s": 30.0})
    assert panel.controls["load.rate_rps"].value == PRESETS["overload"]["load.rate_rps"]
    assert "load.duration_s" not in panel.controls             # fixed: not shown
    panel.controls["model.replicas"].value = 9
    assert panel.view.preset.value == "(custom)"
    panel.reset()
    assert panel.result.scenario.diff() == {"load.duration_s": 30.0}
    assert panel.view.preset.value == "(custom)"


def test_start_from_a_preset_and_a_base():
    panel = Panel(knobs=["model.replicas"], preset="cache-and-batch",
                  base={"load.duration_s": 15.0, "model.replicas": 6}, views=["cost"])
    assert panel.controls["model.replicas"].value == 6
    assert panel.scenario.cache.enabled and panel.scenario.load.duration_s == 15.0


def test_a_knob_both_shown_and_fixed_starts_at_the_fixed_value():
    panel = Panel(knobs=["load.rate_rps"], fixed={**SHORT, "load.rate_rps": 25.0},
                  views=["latency"])
    assert panel.controls["load.rate_rps"].value == 25.0
    panel.controls["load.rate_rps"].value = 30.0
    assert panel.result.scenario.load.rate_rps == 30.0


def test_pin_baseline_feeds_the_compare_view():
    panel = Panel(knobs=["model.replicas"], fixed=SHORT, views=["compare"])
    baseline = panel.result
    panel.pin_baseline()
    assert panel.baseline is baseline
    panel.controls["model.replicas"].value = 8
    fig = panel.figures["compare"]
    np.testing.assert_allclose(np.asarray(fig.data[0].y, float), series(baseline)["p95_ms"],
                               equal_nan=True)
    np.testing.assert_allclose(np.asarray(fig.data[1].y, float),
                               series(panel.result)["p95_ms"], equal_nan=True)
    assert "baseline → change" in fig.layout.title.text
    panel.clear_baseline()
    assert len(fig.data[0].y) == 0


def test_copy_as_code_reproduces_the_panel():
    panel = Panel(knobs=["model.replicas", "cache.enabled", "fallback.chain"], fixed=SHORT,
                  views=["latency"])
    panel.set({"model.replicas": 3, "cache.enabled": True,
               "fallback.chain": ("small_model", "safe_message")})
    panel.view.seed.value = 7
    namespace: dict = {}
    exec(panel.code, namespace)
    assert namespace["result"].summary == panel.result.summary
    panel.view.code_toggle.value = True
    assert "Scenario.from_knobs" in panel.view.code.value and panel.view.code.layout.display is None


def test_seed_changes_the_draw_not_the_scenario():
    panel = Panel(knobs=["model.replicas"], fixed=SHORT, views=["latency"])
    first = panel.result
    panel.view.seed.value = 2
    assert panel.result.seed == 2 and panel.result.scenario == first.scenario
    assert panel.result.summary != first.summary


def test_auto_off_waits_for_run():
    panel = Panel(knobs=["model.replicas"], fixed=SHORT, views=["latency"], auto=False)
    first = panel.result
    panel.controls["model.replicas"].value = 7
    assert panel.result is first and "press Run" in panel.view.status.value
    assert panel.view.run.button_style == "warning"
    panel.view.run.click()
    assert panel.result.scenario.model.replicas == 7


def test_slow_runs_go_to_a_worker_and_can_be_cancelled():
    runner = Runner(inline_limit_s=0.0)                      # every run counts as slow
    panel = Panel(knobs=["model.replicas"], fixed={"load.duration_s": 5.0},
                  views=["latency"], runner=runner)
    assert panel.wait(60.0) and panel.result is not None     # first run: worker process
    assert panel.view.progress_box.layout.display == "none"
    first = panel.result
    panel.controls["model.replicas"].value = 6               # slow: asks for Run
    assert panel.result is first and "press Run" in panel.view.status.value
    panel.run()
    assert "data-state='running'" in panel.view.status.value
    assert panel.wait(60.0)
    assert panel.result.scenario.model.replicas == 6
    panel.set({"model.replicas": 5})
    panel.run()
    job = panel.job
    panel.cancel()
    assert job.cancelled and panel.result.scenario.model.replicas == 6
    assert "Run cancelled" in panel.view.status.value


def test_bad_arguments_are_refused_with_the_rule():
    with pytest.raises(KnobError, match="unknown knob 'model.replica'; did you mean "
                                        "'model.replicas'"):
        Panel(knobs=["model.replica"])
    with pytest.raises(KnobError, match="unknown knob group 'cash'"):
        Panel(knobs=["cash.*"])
    with pytest.raises(KnobError, match="unknown preset 'overlod'; known: default"):
        Panel(preset="overlod")
    with pytest.raises(KnobError, match="unknown view 'latncy'; views: latency, outcomes"):
        Panel(views=["latncy"])
    with pytest.raises(KnobError, match="model.error_rate must be <= 1, got 3"):
        Panel(fixed={"model.error_rate": 3})
    panel = Panel(knobs=["model.replicas"], fixed=SHORT, views=["latency"])
    with pytest.raises(KnobError, match="cache.enabled has no control in this panel"):
        panel.set({"cache.enabled": True})


def test_scenario_property_for_the_next_cell():
    panel = Panel(knobs=["model.replicas"], fixed=SHORT, views=["latency"])
    panel.controls["model.replicas"].value = 5
    assert panel.scenario == Scenario.from_knobs({**SHORT, "model.replicas": 5})
    assert panel.result.scenario == panel.scenario


# ------------------------------------------------- starting point, reset and run counts
@pytest.fixture
def simulate_calls(monkeypatch):
    """Every call the panels' runner makes to ``simulate``, counted."""
    import labkit.ui.runner as runner_module

    calls: list[int] = []
    real = runner_module.simulate

    def counting(scenario, seed):
        calls.append(seed)
        return real(scenario, seed=seed)

    monkeypatch.setattr(runner_module, "simulate", counting)
    return calls


def test_a_panel_simulates_once_as_it_is_built(simulate_calls):
    panel = Panel(["model.replicas", "cache.enabled"],
                  base={**SHORT, "model.replicas": 6, "cache.enabled": True},
                  views=["latency", "cost"])
    assert simulate_calls == [1]
    assert panel.result.scenario.model.replicas == 6 and panel.result.scenario.cache.enabled
    panel.controls["model.replicas"].value = 7
    assert simulate_calls == [1, 1]


def test_reset_returns_to_the_base_not_the_catalogue(simulate_calls):
    panel = Panel(["model.replicas"], base={**SHORT, "model.replicas": 6}, views=["latency"])
    panel.set({"model.replicas": 2})
    assert panel.scenario.model.replicas == 2
    panel.reset()
    assert panel.controls["model.replicas"].value == 6
    assert panel.result.scenario.model.replicas == 6
    assert panel.result.scenario.load.duration_s == 20.0
    assert len(simulate_calls) == 2                      # the reset run comes from the cache
    panel.view.reset.click()                             # the button does the same
    assert panel.result.scenario.model.replicas == 6


def test_set_and_presets_run_once_not_once_per_knob(simulate_calls):
    panel = Panel(["model.replicas", "cache.enabled", "load.rate_rps"], fixed=SHORT,
                  views=["latency"])
    panel.set({"model.replicas": 3, "cache.enabled": True, "load.rate_rps": 30.0})
    assert len(simulate_calls) == 2
    panel.apply_preset("overload")
    assert len(simulate_calls) == 3


def test_a_hand_change_keeps_the_starting_preset_for_hidden_knobs():
    panel = Panel(["model.replicas"], preset="cache-and-batch", fixed=SHORT, views=["cost"])
    assert panel.scenario.cache.enabled
    panel.controls["model.replicas"].value = 7
    assert panel.view.preset.value == "(custom)"
    assert panel.result.scenario.cache.enabled and panel.result.scenario.model.replicas == 7


def test_the_seed_argument_is_the_first_run_seed():
    panel = Panel(["model.replicas"], fixed=SHORT, views=["latency"], seed=5)
    assert panel.seed == 5 and panel.result.seed == 5 and panel.view.seed.value == 5


def test_set_refuses_a_bad_value_before_changing_anything():
    panel = Panel(["model.replicas", "cache.enabled"], fixed=SHORT, views=["latency"])
    with pytest.raises(KnobError, match="model.replicas must be >= 1, got 0"):
        panel.set({"cache.enabled": True, "model.replicas": 0})
    assert panel.controls["cache.enabled"].value is False


# ------------------------------------------------------------ arguments and repr
def test_a_bare_string_is_one_knob_or_one_group():
    assert list(Panel("model.replicas", fixed=SHORT, views="latency").controls) == [
        "model.replicas"]
    assert set(Panel("cache", fixed=SHORT, views=["latency"]).controls) == {
        k.name for k in CATALOGUE.groups()["cache"]}
    with pytest.raises(KnobError, match="unknown knob 'model.replica'; did you mean"):
        Panel("model.replica")


def test_options_are_keyword_only_and_checked():
    with pytest.raises(TypeError, match="positional argument"):
        Panel(["model.replicas"], {"load.duration_s": 20.0})   # type: ignore[misc]
    with pytest.raises(KnobError, match="knobs must be a knob name, a group or a list of "
                                        "them, got 5"):
        Panel(5)   # type: ignore[arg-type]
    with pytest.raises(KnobError, match="seed must be a whole number >= 0, got -1"):
        Panel("model.replicas", seed=-1)


def test_repr_says_what_the_panel_shows_and_its_last_run():
    panel = Panel(["model.replicas"], base={**SHORT, "model.replicas": 6}, views=["latency"])
    text = repr(panel)
    assert text.splitlines()[0] == ("Panel: 1 knobs shown (model.replicas); views latency; "
                                    "seed 1")
    assert "load.duration_s=20.0, model.replicas=6" in text
    requests = panel.result.summary["requests"]
    assert f"last run: {requests:,} requests simulated (seed 1) · p95 " in text
    bundle = panel._repr_mimebundle_()
    assert bundle["text/plain"] == text
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == \
        panel.widget.model_id


def test_controller_and_view_touch_no_private_attribute_of_another_object():
    """The panel's two halves talk through public methods and the handlers only."""
    import ast
    import inspect

    import labkit.ui.panel as controller
    import labkit.ui.view as view

    for module in (controller, view):
        tree = ast.parse(inspect.getsource(module))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                    and not node.attr.startswith("__") and not node.attr.startswith("_repr_")):
                owner = node.value
                assert isinstance(owner, ast.Name) and owner.id == "self", (
                    f"{module.__name__} line {node.lineno} reads another object's "
                    f"{node.attr}")
