"""A plotly ``FigureWidget`` that ships plotly's browser code once per page and opens whole.

Since plotly 6, every ``FigureWidget`` is an anywidget whose front-end code
(the whole of plotly.js, about 5 MB) travels inside the widget's own state:
a panel with eight charts sent 40 MB to the browser, which then compiled
the same module eight times.  :class:`LabFigureWidget` behaves exactly like
``go.FigureWidget`` in Python and uses plotly's own front end, with three
changes that make a panel appear at once, even on a busy machine:

* **One copy of plotly.js per kernel.**  The first chart a kernel opens (the
  *carrier*) holds plotly's bundle as one binary buffer in the state it opens
  with; every other chart's state carries only a small loader.  The page
  compiles the bundle once and keeps the module.  Should the carrier be gone
  (closed), the next chart carries it; should a page never see a carrier, the
  loader asks the kernel for the bundle (an anywidget command) after a while.
  The bundle is keyed by plotly's version, so a page never mixes two versions.
* **The state a chart opens with holds its data and layout.**  plotly opens
  the widget's comm before it has built the figure and sends the traces as
  updates just after.  anywidget (0.9.17 and later) gives a model 2 s to load
  its module; when the page is busy for longer, it drops every later message
  to that model, and such a chart stays empty for good.  Here the comm opens
  only once the figure is built, so a chart always draws what it was made with,
  and the loader patches anywidget's message handler so that a model that
  missed the 2 s still takes later updates (a knob moved, a new run).
* **The bundle compiles when the page is quiet.**  Compiling plotly.js holds
  the browser's main thread for a second or more; the loader waits until no
  chart has been set up for 2.5 s, longer than anywidget's 2 s, so no chart
  can still be loading its module when the compile blocks the page.
"""

from __future__ import annotations

import json
import weakref
from functools import lru_cache
from pathlib import Path
from typing import Any

import plotly
import plotly.graph_objects as go
import traitlets
from anywidget.experimental import command

from labkit.ui.resize import RESPONSIVE_CONFIG

__all__ = ["LabFigureWidget", "BUNDLE_COMMAND", "BUNDLE_TRAIT"]

BUNDLE_COMMAND = "_labkit_plotly_bundle"
BUNDLE_TRAIT = "_labkit_bundle"

_LOADER = """
const KEY = %(key)s;
const COMMAND = %(command)s;
const TRAIT = %(trait)s;
const QUIET_MS = 2500;       // compile once no chart has been set up for longer than
                             // anywidget's 2 s: none can still be waiting to load
const ASK_AFTER_MS = 10000;  // no carrier on the page by then: ask the kernel
const MESSAGES = ["_py2js_addTraces", "_py2js_deleteTraces", "_py2js_moveTraces",
  "_py2js_restyle", "_py2js_relayout", "_py2js_update", "_py2js_animate",
  "_py2js_removeLayoutProps", "_py2js_removeTraceProps"];

// What the page knows about plotly's bundle, shared by every chart on it.
function page() {
  let s = globalThis[KEY];
  if (!s) {
    s = globalThis[KEY] = { module: null, carried: false, asking: false, askers: [],
                            lastSetup: 0 };
    s.bytes = new Promise((resolve) => {
      s.carry = (bytes) => { s.carried = true; resolve(bytes); };
    });
  }
  return s;
}
page().lastSetup = performance.now();   // this module runs once for each chart set up

function quiet(s) {
  return new Promise((resolve) => {
    const check = () => {
      const idle = performance.now() - s.lastSetup;
      if (idle >= QUIET_MS) resolve(); else setTimeout(check, QUIET_MS - idle + 10);
    };
    check();
  });
}

// The fallback when no carrier reached the page: ask the kernel through the latest chart
// that rendered, and through the one before it should that chart never hear back.
function ask(s) {
  if (s.carried || s.asking) return;
  const invoke = s.askers.pop();
  if (!invoke) return;
  s.asking = true;
  invoke(COMMAND, {}, { signal: AbortSignal.timeout(60000) })
    .then(([, buffers]) => s.carry(buffers[0]))
    .catch(() => { s.asking = false; ask(s); });
}

function plotlyModule(s, invoke) {
  if (!s.carried) {
    s.askers.push(invoke);
    setTimeout(() => ask(s), ASK_AFTER_MS);
  }
  if (!s.module) {
    s.module = s.bytes.then(async (bytes) => {
      await quiet(s);
      const url = URL.createObjectURL(new Blob([bytes], { type: "text/javascript" }));
      try {
        return await import(/* @vite-ignore */ url);
      } finally {
        URL.revokeObjectURL(url);
      }
    });
    s.module.catch(() => { s.module = null; });
  }
  return s.module;
}

// anywidget (0.9.17 to 0.11) gives each model 2 s to load its module; past that, every
// message Python sends the model afterwards waits on a rejected promise and is dropped, so a
// chart that loaded late on a busy page never shows another update.  The model's handler is
// anywidget's override of ipywidgets' one: where the wait failed for that reason only, the
// patched handler hands the message to ipywidgets' handler, as anywidget does once a model
// is ready.  The class every anywidget model shares is patched once per page (found through
// the widget manager, the one page object anywidget hands a module), and since ipywidgets
// binds a model's handler to its comm when the model is made, the models made before the
// patch are bound again (each chart that loads looks for such models).
const FAILED_INIT = "Failed to initialize model";
const REBOUND = Symbol.for("labkit.anywidget.rebound");
function keepMessages(model) {
  const manager = model.widget_manager;
  if (!manager || !manager._models) return;
  Promise.all(Object.values(manager._models).map((p) => Promise.resolve(p).catch(() => null)))
    .then((models) => {
      for (const m of models) {
        const proto = m && Object.getPrototypeOf(m);
        if (!proto || m[REBOUND] || !m.comm || m.get("_model_module") !== "anywidget" ||
            !Object.prototype.hasOwnProperty.call(proto, "_handle_comm_msg")) continue;
        if (!proto[REBOUND]) {
          const anywidgets = proto._handle_comm_msg;
          const ipywidgets = Object.getPrototypeOf(proto)._handle_comm_msg;
          proto._handle_comm_msg = function (...msg) {
            return anywidgets.apply(this, msg).catch((err) => {
              if (String((err && err.message) || err).includes(FAILED_INIT)) {
                return ipywidgets.apply(this, msg);
              }
              throw err;
            });
          };
          proto[REBOUND] = true;
        }
        m.comm.on_msg(m._handle_comm_msg.bind(m));
        m[REBOUND] = true;
      }
    });
}

export default () => {
  let real = null;        // plotly's widget, once its code is here
  let pending = [];       // updates from Python that arrive before it is
  return {
    initialize({ model }) {
      keepMessages(model);
      const s = page();
      s.lastSetup = performance.now();
      const carried = model.get(TRAIT);
      if (carried && carried.byteLength) s.carry(carried);
      for (const name of MESSAGES) {
        model.on("change:" + name, () => {
          const value = model.get(name);
          if (pending !== null && value !== null) pending.push([name, value]);
        });
      }
    },
    async render(ctx) {
      if (real === null) {
        real = plotlyModule(page(), ctx.experimental.invoke).then(async (mod) => {
          const widget = mod.default();
          if (widget.initialize) await widget.initialize({ model: ctx.model,
                                                           experimental: ctx.experimental });
          const replay = pending;
          pending = null;
          for (const [name, value] of replay) {
            ctx.model.set(name, value);
            ctx.model.set(name, null);
          }
          return widget;
        });
      }
      return (await real).render(ctx);
    },
  };
};
"""


@lru_cache(maxsize=1)
def _bundle() -> bytes:
    """plotly's widget front end, as shipped inside the plotly package."""
    return (Path(plotly.__file__).parent / "package_data" / "widgetbundle.js").read_bytes()


def _loader() -> str:
    key = f"__labkit_plotly_widget_{plotly.__version__}__"
    return _LOADER % {"key": json.dumps(key), "command": json.dumps(BUNDLE_COMMAND),
                      "trait": json.dumps(BUNDLE_TRAIT)}


class _Carrier:
    """The chart of this kernel that holds plotly's bundle in its state (weakly held)."""

    def __init__(self) -> None:
        self._ref: weakref.ref[LabFigureWidget] | None = None

    def needed(self) -> bool:
        """True when no open chart of this kernel carries the bundle."""
        chart = self._ref() if self._ref is not None else None
        return chart is None or chart.comm is None

    def take(self, chart: LabFigureWidget) -> None:
        self._ref = weakref.ref(chart)


_CARRIER = _Carrier()


class LabFigureWidget(go.FigureWidget):
    """``go.FigureWidget`` that opens with its figure, classes and config in its state,
    and whose state holds plotly.js only for the first chart of a kernel.

    ``classes`` are DOM classes (``add_class``) and ``responsive=True`` lets the chart follow
    its container's width (see :mod:`labkit.ui.resize`); given here, they arrive with the
    chart instead of as messages after it.
    """

    _esm = _loader()
    _labkit_bundle = traitlets.Bytes(b"").tag(sync=True)

    def __init__(self, *args: Any, classes: tuple[str, ...] | list[str] = (),
                 responsive: bool = False, **kwargs: Any):
        self._labkit_building = True       # plotly opens the comm before it builds the figure
        try:
            super().__init__(*args, **kwargs)
        finally:
            self._labkit_building = False
        for name in classes:
            self.add_class(name)
        if responsive:
            self._config = {**self._config, **RESPONSIVE_CONFIG}  # type: ignore[has-type]
        if _CARRIER.needed():
            self._labkit_bundle = _bundle()
            _CARRIER.take(self)
        self.open()

    def open(self) -> None:
        """Open the comm, once the figure is built (plotly's own constructor asks earlier)."""
        if getattr(self, "_labkit_building", False):
            return
        super().open()

    @command
    def _labkit_plotly_bundle(self, msg: Any, buffers: list[bytes]) -> tuple[dict, list[bytes]]:
        """Answer a loader that saw no carrier: plotly's widget bundle as one binary buffer."""
        return {"plotly": plotly.__version__}, [_bundle()]
