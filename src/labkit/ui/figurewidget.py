"""A plotly ``FigureWidget`` that ships plotly's browser code once per page, not once per chart.

Since plotly 6, every ``FigureWidget`` is an anywidget whose front-end code
(the whole of plotly.js, about 5 MB) travels inside the widget's own state:
a panel with eight charts sent 40 MB to the browser, which then compiled
the same module eight times, and charts could take many seconds to appear
(or hit anywidget's initialisation time-out on a busy machine).

:class:`LabFigureWidget` behaves exactly like ``go.FigureWidget`` in Python
and uses plotly's own front end, but its widget state carries only a small
loader.  The first chart on a page asks the kernel for plotly's bundle once
(an anywidget command, answered with one binary buffer), compiles it, and keeps the module on
the page; every other chart reuses it.  The bundle is keyed by plotly's version, so a
page never mixes two versions.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import plotly
import plotly.graph_objects as go
from anywidget.experimental import command

__all__ = ["LabFigureWidget", "BUNDLE_COMMAND"]

BUNDLE_COMMAND = "_labkit_plotly_bundle"

_LOADER = """
const KEY = %(key)s;
const COMMAND = %(command)s;
const MESSAGES = ["_py2js_addTraces", "_py2js_deleteTraces", "_py2js_moveTraces",
  "_py2js_restyle", "_py2js_relayout", "_py2js_update", "_py2js_animate",
  "_py2js_removeLayoutProps", "_py2js_removeTraceProps"];

function bundle(invoke) {
  if (!globalThis[KEY]) {
    globalThis[KEY] = invoke(COMMAND, {}, { signal: AbortSignal.timeout(120000) })
      .then(([, buffers]) => {
        const url = URL.createObjectURL(new Blob([buffers[0]], { type: "text/javascript" }));
        return import(/* @vite-ignore */ url).finally(() => URL.revokeObjectURL(url));
      })
      .catch((err) => { delete globalThis[KEY]; throw err; });
  }
  return globalThis[KEY];
}

export default () => {
  let real = null;        // plotly's widget, once its code is here
  let pending = [];       // updates from Python that arrive before it is
  return {
    initialize({ model }) {
      // The kernel answers commands only once the model is bound, so the code is
      // fetched at the first render; keep any update that comes in meanwhile.
      for (const name of MESSAGES) {
        model.on("change:" + name, () => {
          const value = model.get(name);
          if (pending !== null && value !== null) pending.push([name, value]);
        });
      }
    },
    async render(ctx) {
      if (real === null) {
        real = bundle(ctx.experimental.invoke).then(async (mod) => {
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
    return _LOADER % {"key": json.dumps(key), "command": json.dumps(BUNDLE_COMMAND)}


class LabFigureWidget(go.FigureWidget):
    """``go.FigureWidget`` with a small loader instead of plotly.js in every chart's state."""

    _esm = _loader()

    @command
    def _labkit_plotly_bundle(self, msg: Any, buffers: list[bytes]) -> tuple[dict, list[bytes]]:
        """Answer the loader: plotly's widget bundle as one binary buffer."""
        return {"plotly": plotly.__version__}, [_bundle()]
