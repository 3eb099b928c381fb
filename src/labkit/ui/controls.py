"""One widget per knob, made from the knob catalogue.

A panel never lists its widgets by hand: each :class:`~labkit.knobs.Knob`
says its type, range, unit and help, and :func:`knob_widget` turns that into
the right control, so a knob added to the catalogue appears in every panel
without code changes.

* ``bool`` → a checkbox;
* ``choice`` → a dropdown of the choices;
* ``multi`` (an ordered list, such as ``fallback.chain``) → a tags input
  restricted to the choices, in the order the learner adds them;
* ``int`` / ``float`` with both bounds and a manageable number of steps
  between them (200 for whole numbers, 1,000 otherwise) → a slider;
  otherwise a bounded number box (so ``model.replicas`` can be typed
  exactly instead of dragged across a thousand values).

Every control has ``continuous_update=False`` where the widget supports it
(the simulation runs when a knob is *released*), the knob's field name and
unit as its label, the help text, range and special values as its tooltip,
and the DOM classes ``labkit-knob`` and ``labkit-knob-<group>-<field>``
that browser tests use to find it.
"""

from __future__ import annotations

import math
from typing import Any

import ipywidgets as widgets

from labkit.knobs import Knob

__all__ = ["knob_widget", "control_row", "widget_value", "set_widget_value", "knob_label",
           "knob_tooltip", "dom_class", "DESCRIPTION_WIDTH"]

DESCRIPTION_WIDTH = "172px"
_MAX_SLIDER_STEPS = 1000      # float knobs
_MAX_INT_SLIDER_STEPS = 200   # int knobs: beyond this a typed number is kinder than a drag
_TEXT_MAX = 1e12  # a bounded number box needs a maximum; this one never binds


def dom_class(name: str) -> str:
    """The DOM class of a knob's widget: ``model.replicas`` → ``labkit-knob-model-replicas``."""
    return "labkit-knob-" + name.replace(".", "-").replace("_", "-")


def knob_label(knob: Knob) -> str:
    """The widget label: the field name, plus the unit when it has one."""
    return f"{knob.field} ({knob.unit})" if knob.unit else knob.field


def knob_tooltip(knob: Knob) -> str:
    """Hover text: help, allowed range and the special value, e.g. ``0 = off``."""
    parts = [knob.help, f"{knob.name}: {knob.describe_range()}"]
    if knob.off:
        parts.append(knob.off)
    parts.append(f"default {knob.format(knob.default)}")
    return " · ".join(parts)


def _slider_step(knob: Knob) -> float | None:
    """The slider step, or None when a slider would be the wrong control."""
    if knob.min is None or knob.max is None:
        return None
    span = float(knob.max) - float(knob.min)
    step: float
    if knob.kind == "int":
        step = max(1, int(knob.step or 1))
    else:
        step = float(knob.step) if knob.step else _round_step(span / 100.0)
    limit = _MAX_INT_SLIDER_STEPS if knob.kind == "int" else _MAX_SLIDER_STEPS
    return step if span / step <= limit else None


def _round_step(raw: float) -> float:
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    return next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)


def knob_widget(knob: Knob, value: Any | None = None) -> widgets.ValueWidget:
    """The control for ``knob`` showing ``value`` (default: the knob's default)."""
    value = knob.default if value is None else knob.check(value)
    common: dict[str, Any] = {
        "description": knob_label(knob),
        "tooltip": knob_tooltip(knob),
        "style": {"description_width": DESCRIPTION_WIDTH},
        "layout": widgets.Layout(width="100%", max_width="440px"),
    }
    if knob.kind == "bool":
        w: widgets.ValueWidget = widgets.Checkbox(value=bool(value), indent=True, **common)
    elif knob.kind == "choice":
        w = widgets.Dropdown(options=list(knob.choices), value=value, **common)
    elif knob.kind == "multi":
        w = widgets.TagsInput(value=list(value), allowed_tags=list(knob.choices),
                              allow_duplicates=knob.allow_repeats,
                              tooltip=common["tooltip"], layout=common["layout"])
        w.add_class("labkit-tags")  # it has no label of its own: see control_row
    else:
        step = _slider_step(knob)
        low, high = knob.min, knob.max          # both set whenever a slider step exists
        if knob.kind == "int":
            if step is not None and low is not None and high is not None:
                w = widgets.IntSlider(value=value, min=int(low), max=int(high),
                                      step=int(step), continuous_update=False, **common)
            else:
                w = widgets.BoundedIntText(
                    value=value, min=int(knob.min if knob.min is not None else -_TEXT_MAX),
                    max=int(knob.max if knob.max is not None else _TEXT_MAX),
                    step=int(knob.step or 1), continuous_update=False, **common)
        elif step is not None and low is not None and high is not None:
            w = widgets.FloatSlider(value=value, min=float(low), max=float(high),
                                    step=step, continuous_update=False,
                                    readout_format=".4g", **common)
        else:
            w = widgets.BoundedFloatText(
                value=value, min=float(knob.min if knob.min is not None else -_TEXT_MAX),
                max=float(knob.max if knob.max is not None else _TEXT_MAX),
                step=float(knob.step) if knob.step else None, continuous_update=False,
                **common)
    w.add_class("labkit-knob")
    w.add_class(dom_class(knob.name))
    return w


def control_row(knob: Knob, widget: widgets.ValueWidget) -> widgets.Widget:
    """What to display for a knob: the widget, with a label beside it when it has none."""
    if not isinstance(widget, widgets.TagsInput):
        return widget
    label = widgets.HTML(f"<span title='{_escape(knob_tooltip(knob))}'>{knob_label(knob)}</span>",
                         layout=widgets.Layout(width=DESCRIPTION_WIDTH,
                                               min_width=DESCRIPTION_WIDTH))
    label.add_class("labkit-tags-label")
    return widgets.HBox([label, widget], layout=widgets.Layout(width="100%", max_width="440px"))


def _escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace("'", "&#39;").replace("<", "&lt;")
            .replace(">", "&gt;"))


def widget_value(knob: Knob, widget: widgets.ValueWidget) -> Any:
    """The knob value a widget holds (a tuple for ``multi`` knobs)."""
    if knob.kind == "multi":
        return tuple(widget.value)
    return widget.value


def set_widget_value(knob: Knob, widget: widgets.ValueWidget, value: Any) -> None:
    """Show ``value`` (checked against the knob) in ``widget``."""
    value = knob.check(value)
    widget.value = list(value) if knob.kind == "multi" else value
