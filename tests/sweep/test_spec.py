"""SweepSpec: grid input, seeds and base scenario, all checked before any run starts."""

from __future__ import annotations

import pytest

from labkit.knobs import KnobError
from labkit.sweep.spec import SweepError, SweepSpec, parse_grid

GRID = {"model.replicas": [1, 2], "cache.enabled": [False, True]}


def test_parse_grid_types_values() -> None:
    assert parse_grid("model.replicas=1,2,4") == ("model.replicas", (1, 2, 4))
    assert parse_grid("cache.enabled=true,false") == ("cache.enabled", (True, False))
    assert parse_grid("retry.jitter=none, full") == ("retry.jitter", ("none", "full"))
    assert parse_grid("fallback.chain=small_model,safe_message;") == (
        "fallback.chain", (("small_model", "safe_message"), ()))


@pytest.mark.parametrize("text, message", [
    ("model.replicas", "--grid takes KNOB=V1,V2,..., got 'model.replicas'"),
    ("model.replica=1,2", "unknown knob 'model.replica'; did you mean 'model.replicas'?"),
    ("model.replicas=1,x", "model.replicas must be a whole number, got 'x'"),
    ("model.replicas=0,2", "model.replicas must be >= 1, got 0"),
    ("model.replicas=", "--grid model.replicas needs values like model.replicas=V1,V2, got "
                        "'model.replicas='"),
    ("retry.jitter=none,sometimes", "retry.jitter must be one of none, full, equal, "
                                    "decorrelated, got 'sometimes'"),
])
def test_bad_grid_names_knob_and_value(text: str, message: str) -> None:
    with pytest.raises(KnobError) as info:
        parse_grid(text)
    assert str(info.value) == message


@pytest.mark.parametrize("kwargs, message", [
    ({"grid": {}}, "a sweep needs at least one --grid KNOB=V1,V2,..."),
    ({"grid": ["model.replicas=1,2", "model.replicas=3"]},
     "model.replicas appears twice in the grid; give its values once"),
    ({"grid": ["model.replicas=2,2"]}, "model.replicas repeats a value in the grid: [2, 2]"),
    ({"grid": GRID, "fixed": {"model.replicas": 3}},
     "model.replicas is both swept (--grid) and fixed (--set); pick one"),
    ({"grid": GRID, "seeds": 0}, "--seeds must be >= 1, got 0"),
    ({"grid": GRID, "seeds": [1, 1]}, "seeds must not repeat, got [1, 1]"),
    ({"grid": GRID, "seeds": [-1]}, "seeds must be whole numbers >= 0, got [-1]"),
    ({"grid": GRID, "preset": "nope"}, "unknown preset 'nope'; known: "),
    ({"grid": {"retry.base_ms": [100, 5000]}},
     "grid point retry.base_ms=5000: retry.cap_ms must be >= retry.base_ms (5000), got 2000"),
])
def test_bad_sweeps_are_refused_before_running(kwargs: dict, message: str) -> None:
    kwargs = {"seeds": 2, **kwargs}
    with pytest.raises(SweepError) as info:
        SweepSpec.build(kwargs.pop("grid"), kwargs.pop("seeds"), **kwargs)
    assert str(info.value).startswith(message)


def test_points_and_runs_in_grid_order_last_knob_fastest() -> None:
    spec = SweepSpec.build(GRID, seeds=2)
    assert spec.knobs == ("model.replicas", "cache.enabled")
    assert spec.points() == [{"model.replicas": n, "cache.enabled": c}
                             for n in (1, 2) for c in (False, True)]
    assert [(p["model.replicas"], p["cache.enabled"], s) for p, s in spec.runs()] == [
        (n, c, s) for n in (1, 2) for c in (False, True) for s in (1, 2)]
    assert SweepSpec.build(GRID, seeds=[7, 3]).seeds == (7, 3)


def test_mapping_and_command_line_grids_build_the_same_spec() -> None:
    from_strings = SweepSpec.build(["model.replicas=1,2", "cache.enabled=false,true"], 3,
                                   fixed={"load.rate_rps": "20"})
    from_mapping = SweepSpec.build(GRID, 3, fixed={"load.rate_rps": 20.0})
    assert from_strings == from_mapping


def test_base_is_preset_overridden_by_fixed_and_meta_names_both() -> None:
    from labkit.sim import PRESETS

    name = next(iter(PRESETS))
    spec = SweepSpec.build({"model.replicas": [2, 3]}, 1, preset=name,
                           fixed={"load.rate_rps": 33})
    assert spec.base() == {**PRESETS[name], "load.rate_rps": 33.0}
    assert spec.meta() == {"preset": name, "knobs": ["model.replicas"],
                           "fixed": {"load.rate_rps": "33"}}
    assert spec.label({"model.replicas": 3}) == "model.replicas=3"
