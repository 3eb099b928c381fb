"""Keeping the charts as wide as their grid cells.

plotly's ``FigureWidget`` (plotly 6 and later, built on anywidget) draws a
chart once, at the size its element has at that moment, and never looks at
its container again; a chart drawn before the panel is laid out comes out
700 px wide and spills over its cell.  plotly.js can follow its container
(``responsive`` in the figure's config), but only on a window ``resize``
event.  :class:`ChartResizer` is an invisible anywidget that watches the
panel with a ``ResizeObserver`` and turns a change of its size (first
layout, a sidebar opened, the window resized) into one debounced
``resize`` event, so every chart redraws at the width of its cell.
"""

from __future__ import annotations

import anywidget

__all__ = ["ChartResizer", "RESPONSIVE_CONFIG"]

# plotly config of a chart that follows its container (LabFigureWidget(responsive=True)).
RESPONSIVE_CONFIG = {"responsive": True, "displaylogo": False}

_ESM = """
export default {
  render({ el }) {
    el.style.display = "none";
    let timer = null;
    let last = "";
    const fire = () => {
      timer = null;
      window.dispatchEvent(new Event("resize"));
    };
    const later = (ms) => { if (timer === null) { timer = setTimeout(fire, ms); } };
    const observer = new ResizeObserver((entries) => {
      const box = entries[entries.length - 1].contentRect;
      const size = Math.round(box.width) + "x" + Math.round(box.height / 50);
      if (size !== last) { last = size; later(120); }
    });
    let tries = 0;
    const attach = () => {
      const root = el.closest(".labkit-panel");
      if (root) { observer.observe(root); later(60); }
      else if (tries++ < 50) { setTimeout(attach, 100); }
    };
    attach();
    return () => { observer.disconnect(); if (timer !== null) clearTimeout(timer); };
  }
};
"""


class ChartResizer(anywidget.AnyWidget):
    """Invisible: redraws the panel's responsive charts when the panel changes size."""

    _esm = _ESM

