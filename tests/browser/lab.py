"""Driving one JupyterLab notebook page: open, run all, poke widgets, read charts.

JupyterLab is started with ``expose_app_in_browser`` so the page can ask the
application itself (``window.jupyterapp``) for the notebook's kernel state
and cell outputs instead of guessing from pixels.  Widgets and figures are
found by the DOM classes the panels put on them (``labkit-knob-<name>``,
``labkit-view-<view>``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

# Console messages that are not failures of the page under test.  Each entry
# is narrow and says why it is harmless.
BENIGN_CONSOLE = (
    # Chromium logs a 404 for the browser's automatic favicon probe.
    re.compile(r"Failed to load resource: the server responded with a status of 404 .*favicon"),
)

# anywidget (0.9.17 to 0.11) gives each model 2 s to load its module and then rejects a promise
# nobody awaits, and would drop every later message to that model.  labkit's charts open with
# their figure in their state and their loader keeps such a model's later messages
# (labkit.ui.figurewidget; tests/browser/test_harness.py), and the loader compiles plotly.js only
# when the page is quiet, which keeps this rare.  On a loaded 2-core machine it can still
# happen, so the message is counted apart from real errors (``slow_widget_inits``).
SLOW_WIDGET_INIT = re.compile(r"^pageerror: \[anywidget\] Failed to initialize model\.$")

_STATE_JS = """
(path) => {
  const app = window.jupyterapp;
  if (!app) return {ready: false, why: 'no app'};
  const w = app.shell.currentWidget;
  if (!w || !w.context || w.context.path !== path) return {ready: false, why: 'no notebook'};
  const sc = w.sessionContext;
  const kernel = sc && sc.session && sc.session.kernel;
  const cells = w.content.widgets.filter(c => c.model.type === 'code');
  return {
    ready: !!(kernel && sc.isReady),
    status: kernel ? kernel.status : 'none',
    counts: cells.map(c => c.model.executionCount),
  };
}
"""

# The plotly graph div of a FigureWidget: anywidget puts the widget's DOM
# classes on the graph div itself, so accept the element or a descendant.
_GD_JS = """(sel) => { const el = document.querySelector(sel); if (!el) return null;
  return el.classList.contains('js-plotly-plot') ? el : el.querySelector('.js-plotly-plot'); }"""

_OUTPUTS_JS = """
() => {
  const w = window.jupyterapp.shell.currentWidget;
  const out = [];
  w.content.widgets.forEach((c, i) => {
    if (c.model.type !== 'code') return;
    out.push({index: i, outputs: c.model.outputs.toJSON()});
  });
  return out;
}
"""


class LabPage:
    """One browser tab holding one notebook in JupyterLab."""

    def __init__(self, page: Any, server: Any, path: str, artifacts: Path):
        self.page, self.server, self.path, self.artifacts = page, server, path, artifacts
        self.console_errors: list[str] = []
        page.on("console", self._on_console)
        self.slow_widget_inits = 0
        page.on("pageerror", self._on_page_error)

    def _on_console(self, msg: Any) -> None:
        if msg.type != "error":
            return
        text = msg.text
        if any(rx.search(text) for rx in BENIGN_CONSOLE):
            return
        self.console_errors.append(text)

    def _on_page_error(self, exc: Any) -> None:
        text = f"pageerror: {exc}"
        if SLOW_WIDGET_INIT.match(text):
            self.slow_widget_inits += 1
            return
        self.console_errors.append(text)

    # --- lifecycle -----------------------------------------------------------
    def open(self, timeout_s: float = 60.0) -> None:
        self.page.goto(self.server.url(f"lab/tree/{self.path}"))
        self.page.wait_for_function(
            """(path) => { const a = window.jupyterapp; const w = a && a.shell.currentWidget;
                 return !!(w && w.context && w.context.path === path && w.sessionContext
                    && w.sessionContext.isReady && w.sessionContext.session
                    && w.sessionContext.session.kernel
                    && w.sessionContext.session.kernel.status === 'idle'); }""",
            arg=self.path, timeout=timeout_s * 1000,
        )

    def run_all(self, timeout_s: float = 90.0) -> None:
        self.page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        self.wait_idle(timeout_s)

    def wait_idle(self, timeout_s: float = 60.0) -> None:
        """Wait until every code cell has run and the kernel is idle again."""
        self.page.wait_for_function(
            """(path) => { const w = window.jupyterapp.shell.currentWidget;
                 if (!w || w.context.path !== path) return false;
                 const k = w.sessionContext.session && w.sessionContext.session.kernel;
                 const cells = w.content.widgets.filter(c => c.model.type === 'code');
                 return !!k && k.status === 'idle'
                   && cells.every(c => c.model.executionCount !== null
                                       && c.model.executionState !== 'running'); }""",
            arg=self.path, timeout=timeout_s * 1000,
        )

    def state(self) -> dict:
        return self.page.evaluate(_STATE_JS, self.path)

    # --- outputs -------------------------------------------------------------
    def outputs(self) -> list[dict]:
        return self.page.evaluate(_OUTPUTS_JS)

    def error_outputs(self) -> list[str]:
        """Every error or stderr output of every cell, plus widget render failures."""
        problems = []
        for cell in self.outputs():
            for out in cell["outputs"]:
                kind = out.get("output_type")
                if kind == "error":
                    problems.append(f"cell {cell['index']}: {out.get('ename')}: {out.get('evalue')}")
                elif kind == "stream" and out.get("name") == "stderr":
                    problems.append(f"cell {cell['index']} stderr: {''.join(out.get('text', ''))}")
        for text in self.page.locator(".jp-OutputArea-output").all_inner_texts():
            if "Error displaying widget" in text or "Failed to load model class" in text:
                problems.append(f"widget failed to render: {text[:200]}")
        return problems

    # --- widgets and figures -------------------------------------------------
    def figure_data(self, selector: str) -> list[dict] | None:
        """The plotly trace data held by the rendered chart matching ``selector``."""
        return self.page.evaluate(
            f"""(sel) => {{ const gd = ({_GD_JS})(sel);
                 if (!gd || !gd.data) return null;
                 return gd.data.map(t => ({{type: t.type, name: t.name,
                    x: Array.from(t.x || []), y: Array.from(t.y || [])}})); }}""",
            selector,
        )

    def wait_figure(self, selector: str, timeout_s: float = 30.0) -> None:
        self.page.wait_for_function(
            f"(sel) => {{ const gd = ({_GD_JS})(sel); return !!(gd && gd.data && gd.data.length); }}",
            arg=selector, timeout=timeout_s * 1000,
        )

    def svg_paths(self, selector: str) -> list[str]:
        """The ``d`` attributes of the chart's trace lines (what the reader sees)."""
        return self.page.evaluate(
            f"""(sel) => {{ const gd = ({_GD_JS})(sel); if (!gd) return null;
                 return Array.from(gd.querySelectorAll('.scatterlayer path.js-line'))
                   .map(p => p.getAttribute('d')); }}""",
            selector,
        )

    def set_readout(self, widget_selector: str, value: str) -> None:
        """Type ``value`` into a slider's editable readout and press Enter (a release)."""
        readout = self.page.locator(f"{widget_selector} .widget-readout").first
        readout.click()
        self.page.keyboard.press("Control+A")
        self.page.keyboard.type(value)
        self.page.keyboard.press("Enter")

    def wait_trace(self, selector: str, predicate_js: str, timeout_s: float = 30.0) -> None:
        """Wait until ``predicate_js`` (a JS expression over ``data``) holds for the chart."""
        self.page.wait_for_function(
            f"""(sel) => {{ const gd = ({_GD_JS})(sel); if (!gd || !gd.data) return false;
                 const data = gd.data; return !!({predicate_js}); }}""",
            arg=selector, timeout=timeout_s * 1000,
        )

    def set_number(self, widget_selector: str, value: str) -> None:
        """Type ``value`` into a number box and press Enter (what a learner does)."""
        box = self.page.locator(f"{widget_selector} input").first
        box.scroll_into_view_if_needed()
        box.fill(value)
        box.press("Enter")

    def open_section(self, title: str) -> None:
        """Open the accordion section of a panel whose title starts with ``title``."""
        header = self.page.locator(".labkit-accordion .jupyter-widget-Collapse-header",
                                   has_text=title).first
        header.scroll_into_view_if_needed()
        header.click()

    def screenshot(self, name: str, selector: str | None = None) -> Path:
        self.artifacts.mkdir(parents=True, exist_ok=True)
        path = self.artifacts / f"{name}.png"
        if selector:
            self.page.locator(selector).first.screenshot(path=str(path))
        else:
            self.page.screenshot(path=str(path), full_page=False)
        return path
