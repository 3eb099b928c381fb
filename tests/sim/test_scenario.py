"""Scenarios: composed of the component configs, validated once, frozen, picklable.

Frozen keyword-only configs, validated at construction with messages naming the knob,
the rule and the value; unknown knobs refused with the closest name; and the simulator
API (from_knobs, with_knobs, to_knobs, diff).  Every error message is matched whole, so a
change of wording is a deliberate act.
"""
from __future__ import annotations

import dataclasses
import pickle
import re

import pytest

from labkit.knobs import KnobError
from labkit.sim import PRESETS, Scenario, simulate
from labkit.sim.config import CacheConfig, KillConfig, ModelConfig, WorldConfig
from labkit.sim.scenario import CATALOGUE, CONFIG_CLASSES


def test_defaults_are_the_catalogue_defaults_and_every_knob_is_a_field():
    sc = Scenario.from_knobs()
    assert sc == Scenario()
    assert sc.to_knobs() == CATALOGUE.defaults()
    assert list(sc.to_knobs()) == list(CATALOGUE)
    assert sc.diff() == {}
    assert sc.cache.capacity_items == CATALOGUE["cache.capacity_items"].default
    assert list(CONFIG_CLASSES) == list(CATALOGUE.groups())
    assert [f.name for f in dataclasses.fields(Scenario)] == list(CONFIG_CLASSES)
    assert Scenario.catalogue() is CATALOGUE
    import labkit.knobs
    assert not hasattr(labkit.knobs, "CATALOGUE")      # the base imports no simulator


def test_a_scenario_is_built_from_configs_too():
    sc = Scenario(cache=CacheConfig(enabled=True, capacity_items="50"),
                  model=ModelConfig(replicas=2))
    assert sc.diff() == {"cache.enabled": True, "cache.capacity_items": 50,
                         "model.replicas": 2}
    assert sc == Scenario.from_knobs(sc.diff())
    with pytest.raises(KnobError, match=r"^Scenario\.cache must be a CacheConfig, got dict$"):
        Scenario(cache={"enabled": True})  # type: ignore[arg-type]


def test_settings_that_are_off_are_none():
    sc = Scenario()
    assert sc.kill.at_s is None and sc.world.change_at_s is None
    assert sc.gateway.deadline_ms is None and sc.retry.timeout_ms is None
    assert sc.budget.quality is None and sc.budget.p95_ms == 1000.0
    on = sc.with_knobs({"kill.at_s": 30, "gateway.deadline_ms": 500})
    assert on.kill.at_s == 30.0 and on.gateway.deadline_ms == 500.0


@pytest.mark.parametrize("build, message", [
    (lambda: KillConfig(at_s=-0.5), "kill.at_s must be -1 (never) or >= 0, got -0.5"),
    (lambda: WorldConfig(change_at_s=-0.25),
     "world.change_at_s must be -1 (never) or >= 0, got -0.25"),
    (lambda: Scenario.from_knobs({"kill.at_s": -0.5}),
     "kill.at_s must be -1 (never) or >= 0, got -0.5"),
])
def test_a_time_is_never_or_not_negative(build, message):
    with pytest.raises(KnobError, match="^" + re.escape(message) + "$"):
        build()


@pytest.mark.parametrize("knobs, message", [
    ({"cache.capacity_items": 0}, "cache.capacity_items must be >= 1, got 0"),
    ({"model.replicas": 1001}, "model.replicas must be <= 1000, got 1001"),
    ({"model.replicas": 2.5}, "model.replicas must be a whole number, got 2.5"),
    ({"load.rate_rps": "fast"}, "load.rate_rps must be a number, got 'fast'"),
    ({"cache.enabled": "maybe"}, "cache.enabled must be true or false, got 'maybe'"),
    ({"load.pattern": "sawtooth"},
     "load.pattern must be one of poisson, bursty, spike, diurnal, got 'sawtooth'"),
    ({"fallback.chain": "small_model,human"},
     "fallback.chain items must be from small_model, stale_cache, safe_message, got 'human'"),
    ({"cache.capacity": 5}, "unknown knob 'cache.capacity'; did you mean 'cache.capacity_items'?"),
    ({"replicas": 5}, "unknown knob 'replicas'; did you mean 'model.replicas'?"),
])
def test_bad_knobs_are_refused_naming_knob_rule_and_value(knobs, message):
    with pytest.raises(KnobError, match="^" + re.escape(message) + "$"):
        Scenario.from_knobs(knobs)


def test_keyword_arguments_are_refused_with_the_right_spelling_shown():
    with pytest.raises(KnobError, match="^" + re.escape(
            "Scenario.from_knobs takes one mapping of dotted knob names, e.g. "
            "{'model.replicas': 3}; got keyword arguments ['replicas']") + "$"):
        Scenario.from_knobs(replicas=3)
    with pytest.raises(KnobError, match="^" + re.escape(
            "Scenario.with_knobs takes one mapping of dotted knob names, e.g. "
            "{'model.replicas': 2}; got keyword arguments ['model__replicas']") + "$"):
        Scenario().with_knobs(model__replicas=2)


@pytest.mark.parametrize("knobs, message", [
    ({"autoscale.min_replicas": 5, "autoscale.max_replicas": 2},
     "autoscale.min_replicas must be <= autoscale.max_replicas (2), got 5"),
    ({"autoscale.enabled": True, "autoscale.min_replicas": 2, "autoscale.max_replicas": 6,
      "model.replicas": 8},
     "model.replicas must lie within autoscale.min_replicas..autoscale.max_replicas (2..6) "
     "when autoscaling, got 8"),
    ({"autoscale.enabled": True, "autoscale.min_replicas": 2, "autoscale.max_replicas": 6,
      "model.replicas": 2, "llm.enabled": True, "router.policy": "cascade",
      "router.small_replicas": 1},
     "router.small_replicas must lie within autoscale.min_replicas..autoscale.max_replicas "
     "(2..6) when autoscaling (the small model's pool is autoscaled too), got 1"),
    ({"retry.base_ms": 300.0, "retry.cap_ms": 100.0},
     "retry.cap_ms must be >= retry.base_ms (300), got 100"),
    ({"load.pattern": "spike", "load.spike_start_s": 60.0, "load.duration_s": 30.0},
     "load.spike_start_s must be < load.duration_s (30) for a spike pattern, got 60"),
])
def test_cross_knob_rules(knobs, message):
    with pytest.raises(KnobError, match="^" + re.escape(message) + "$"):
        Scenario.from_knobs(knobs)


def test_cross_knob_rules_only_apply_where_they_matter():
    # Replicas outside the autoscale range are fine while autoscaling is off; a late
    # spike start is fine for a pattern that has no spike.
    Scenario.from_knobs({"autoscale.max_replicas": 2, "model.replicas": 8})
    # the small model's replicas matter only where the router runs a small pool
    Scenario.from_knobs({"autoscale.enabled": True, "autoscale.min_replicas": 2,
                         "model.replicas": 2, "llm.enabled": True, "router.policy": "large",
                         "router.small_replicas": 1})
    Scenario.from_knobs({"load.spike_start_s": 100.0, "load.duration_s": 10.0})


def test_cross_knob_rules_also_guard_with_knobs():
    sc = Scenario.from_knobs({"retry.base_ms": 100.0})
    with pytest.raises(KnobError, match=r"^retry\.cap_ms must be >= retry\.base_ms \(100\), "
                                        r"got 50$"):
        sc.with_knobs({"retry.cap_ms": 50.0})


def test_strings_are_coerced_as_typed_on_a_command_line():
    sc = Scenario.from_knobs({"model.replicas": "6", "cache.enabled": "yes",
                              "fallback.chain": "small_model, safe_message",
                              "load.rate_rps": "12.5"})
    assert sc.model.replicas == 6 and isinstance(sc.model.replicas, int)
    assert sc.cache.enabled is True
    assert sc.fallback.chain == ("small_model", "safe_message")
    assert sc.load.rate_rps == 12.5


def test_with_knobs_returns_a_new_scenario_and_leaves_the_old_one_alone():
    sc = Scenario.from_knobs({"model.replicas": 3})
    before = sc.to_knobs()
    sc2 = sc.with_knobs({"cache.enabled": True, "model.replicas": 5})
    assert sc.to_knobs() == before
    assert sc2.diff() == {"model.replicas": 5, "cache.enabled": True}
    assert sc2.diff(sc) == {"model.replicas": 5, "cache.enabled": True}
    assert sc2 is not sc and sc2.cache is not sc.cache
    assert sc2.model.replicas == 5 and sc.model.replicas == 3
    with pytest.raises(KnobError, match=r"^unknown knob 'cache\.enable'; did you mean "
                                        r"'cache\.enabled'\?$"):
        sc.with_knobs({"cache.enable": True})


def test_scenarios_and_configs_are_frozen():
    sc = Scenario.from_knobs()
    with pytest.raises(dataclasses.FrozenInstanceError):
        sc.cache.capacity_items = 5
    with pytest.raises(dataclasses.FrozenInstanceError):
        sc.cache = CacheConfig()  # type: ignore[misc]


def test_configs_are_keyword_only_and_validate_on_replace():
    cache_cls = CONFIG_CLASSES["cache"]
    with pytest.raises(TypeError):
        cache_cls(True)
    cfg = cache_cls(enabled=True, capacity_items=10)
    assert cfg.capacity_items == 10 and cfg.ttl_s is None            # 0 = never expires
    assert cfg.hit_ms == CATALOGUE["cache.hit_ms"].default
    with pytest.raises(KnobError, match=r"^cache\.capacity_items must be >= 1, got 0$"):
        dataclasses.replace(cfg, capacity_items=0)


def test_unknown_component_is_an_attribute_error():
    with pytest.raises(AttributeError, match="cahce"):
        _ = Scenario.from_knobs().cahce


def test_repr_rebuilds_the_same_scenario():
    sc = Scenario.from_knobs({"model.replicas": 3, "fallback.chain": ("safe_message",)})
    rebuilt = eval(repr(sc), {"Scenario": Scenario})
    assert rebuilt == sc and rebuilt.to_knobs() == sc.to_knobs()


@pytest.mark.parametrize("preset", list(PRESETS))
def test_scenarios_pickle_round_trip(preset):
    sc = Scenario.from_knobs(PRESETS[preset])
    back = pickle.loads(pickle.dumps(sc))
    assert back == sc
    assert back.to_knobs() == sc.to_knobs()
    assert back.cache.capacity_items == sc.cache.capacity_items      # attributes restored
    config = pickle.loads(pickle.dumps(sc.retry))
    assert config == sc.retry


def test_a_pickled_scenario_runs_the_same():
    sc = Scenario.from_knobs({"load.duration_s": 5.0, "retry.max_attempts": 2,
                              "model.error_rate": 0.2})
    a = simulate(sc, seed=3)
    b = simulate(pickle.loads(pickle.dumps(sc)), seed=3)
    assert a.records.tobytes() == b.records.tobytes()


def test_every_preset_is_a_valid_scenario_and_reference_switches_mechanisms_on():
    for knobs in PRESETS.values():
        Scenario.from_knobs(knobs)
    ref = Scenario.from_knobs(PRESETS["reference"])
    switched_on = [ref.cache.enabled, ref.breaker.enabled, ref.autoscale.enabled,
                   ref.retry.max_attempts > 1, ref.retry.timeout_ms > 0,
                   ref.retry.budget_ratio > 0, ref.batch.max_size > 1,
                   ref.gateway.rate_limit_rps > 0, ref.gateway.max_queue > 0,
                   ref.gateway.deadline_ms > 0, len(ref.fallback.chain) == 3,
                   ref.fault.outage_duration_s > 0, ref.fault.slowdown_duration_s > 0]
    assert all(switched_on)


@pytest.mark.parametrize("call, message", [
    (lambda: simulate(preset="nope"),
     "unknown preset 'nope'; known: " + ", ".join(PRESETS)),
    (lambda: simulate(Scenario.from_knobs(), preset="reference"),
     "give either a Scenario or a preset with knob overrides, not both"),
    (lambda: simulate([("model.replicas", 2)]),
     "scenario must be a Scenario or a mapping of knob names, got list"),
])
def test_simulate_refuses_bad_arguments(call, message):
    with pytest.raises(KnobError, match="^" + re.escape(message) + "$"):
        call()


def test_a_preset_with_overrides_applies_them_on_top():
    res = simulate({"load.duration_s": 45.0, "model.replicas": 3}, seed=1, preset="reference")
    knobs = res.scenario.to_knobs()
    assert knobs["model.replicas"] == 3 and knobs["load.duration_s"] == 45.0
    assert knobs["cache.enabled"] is True


def test_a_result_shows_itself_in_a_notebook():
    res = simulate({"load.duration_s": 5.0, "budget.p95_ms": 50.0}, seed=2)
    short = repr(res)
    assert short.startswith("<Result seed=2 requests=") and len(short) < 200
    html = res._repr_html_()
    s = res.summary
    assert html.startswith("<table") and html.endswith("</table>")
    assert f"{s['requests']:,} (ok {s['outcomes']['ok']:,}" in html
    assert f"p95 {s['latency_ms']['p95']:.1f}" in html
    assert "budget p95_ms</th><td style='text-align:left'>FAIL" in html
    assert "budget quality" not in html                      # not judged: not shown
    assert "load.duration_s=5.0, budget.p95_ms=50.0" in html
