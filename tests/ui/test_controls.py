"""Controls from the catalogue: every knob gets the right widget, with unit, range and help."""

from __future__ import annotations

import ipywidgets as widgets
import pytest

from labkit.knobs import Knob, KnobError
from labkit.sim.scenario import CATALOGUE
from labkit.ui.controls import (
    control_row,
    dom_class,
    knob_label,
    knob_tooltip,
    knob_widget,
    set_widget_value,
    widget_value,
)


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_every_catalogue_knob_round_trips_through_its_widget(name):
    knob = CATALOGUE[name]
    w = knob_widget(knob)
    assert widget_value(knob, w) == knob.default
    assert dom_class(name) in w._dom_classes and "labkit-knob" in w._dom_classes
    if hasattr(w, "continuous_update"):
        assert w.continuous_update is False                # run on release, not on drag
    assert knob.help in knob_tooltip(knob)


def test_widget_kinds_follow_knob_kinds():
    assert isinstance(knob_widget(CATALOGUE["cache.enabled"]), widgets.Checkbox)
    assert isinstance(knob_widget(CATALOGUE["load.pattern"]), widgets.Dropdown)
    assert isinstance(knob_widget(CATALOGUE["fallback.chain"]), widgets.TagsInput)
    # bounded with a sensible number of steps: a slider
    assert isinstance(knob_widget(CATALOGUE["model.error_rate"]), widgets.FloatSlider)
    assert isinstance(knob_widget(CATALOGUE["retry.max_attempts"]), widgets.IntSlider)  # 1..20
    assert isinstance(knob_widget(CATALOGUE["batch.max_size"]), widgets.BoundedIntText)  # 1..512
    assert isinstance(knob_widget(CATALOGUE["load.catalog_size"]), widgets.BoundedIntText)
    # 1..1000 replicas would be a useless slider: a number box, bounded by the range
    replicas = knob_widget(CATALOGUE["model.replicas"])
    assert isinstance(replicas, widgets.BoundedIntText)
    assert (replicas.min, replicas.max) == (1, 1000)
    assert isinstance(knob_widget(CATALOGUE["model.service_ms"]), widgets.BoundedFloatText)


def test_labels_carry_units_and_tooltips_carry_ranges():
    knob = CATALOGUE["load.rate_rps"]
    assert knob_label(knob) == "rate_rps (req/s)"
    assert knob_widget(knob).description == "rate_rps (req/s)"
    tip = knob_tooltip(CATALOGUE["gateway.max_queue"])
    assert "0 = unbounded" in tip and "gateway.max_queue: 0 .. inf" in tip


def test_a_new_knob_gets_a_widget_without_code_changes():
    knob = Knob(name="gpu.memory_gb", kind="float", default=24.0, unit="GB", min=8.0,
                max=80.0, help="Memory of one accelerator.")
    w = knob_widget(knob)
    assert isinstance(w, widgets.FloatSlider) and (w.min, w.max, w.value) == (8.0, 80.0, 24.0)
    assert w.description == "memory_gb (GB)"


def test_multi_knobs_keep_order_and_get_a_label():
    knob = CATALOGUE["fallback.chain"]
    w = knob_widget(knob)
    set_widget_value(knob, w, ("stale_cache", "small_model"))
    assert widget_value(knob, w) == ("stale_cache", "small_model")
    row = control_row(knob, w)
    assert isinstance(row, widgets.HBox) and row.children[1] is w
    assert "chain" in row.children[0].value


def test_set_widget_value_checks_the_knob_rule():
    knob = CATALOGUE["model.error_rate"]
    with pytest.raises(KnobError, match="model.error_rate must be <= 1, got 2"):
        set_widget_value(knob, knob_widget(knob), 2.0)
