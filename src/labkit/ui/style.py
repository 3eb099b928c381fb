"""The panels' look: one small stylesheet, scoped to ``.labkit-*`` classes.

ipywidgets draws plain form controls; a few rules make a panel read like an
instrument: a header bar with the run controls, a status line that changes
colour with the state of the run (ready, running, stale, error), a knob
column that scrolls on its own, chips for budget verdicts and a code box
for "copy as code".  The rules only touch elements carrying a ``labkit-``
class, so they cannot restyle the rest of the notebook.
"""

from __future__ import annotations

import ipywidgets as widgets

from labkit.viz.colors import CHANGE_COLOR, FAIL_COLOR, PASS_COLOR

__all__ = ["stylesheet", "CSS"]

CSS = f"""
.labkit-panel {{ border: 1px solid #E3E3E3; border-radius: 8px; padding: 10px 12px;
  background: #FFFFFF; gap: 8px; }}
.labkit-header {{ align-items: center; gap: 8px; flex-wrap: wrap;
  border-bottom: 1px solid #EEEEEE; padding-bottom: 8px; }}
.labkit-title {{ font-size: 15px; font-weight: 600; color: #262626; margin-right: 8px; }}
.labkit-status {{ font-size: 13px; line-height: 1.4; }}
.labkit-status .labkit-state {{ display: inline-block; padding: 4px 10px; border-radius: 6px;
  background: #F5F7FA; color: #333333; }}
.labkit-status .labkit-state.ok {{ background: #EEF8F4; color: #0B5E45; }}
.labkit-status .labkit-state.running {{ background: #EEF3FB; color: {CHANGE_COLOR}; }}
.labkit-status .labkit-state.stale {{ background: #FFF6E5; color: #7A4E00; }}
.labkit-status .labkit-state.error {{ background: #FDEEE8; color: {FAIL_COLOR};
  border: 1px solid {FAIL_COLOR}; font-weight: 500; }}
.labkit-controls {{ overflow-y: auto; overflow-x: hidden; padding-right: 6px; }}
.labkit-section-title {{ font-weight: 600; font-size: 13px; color: #262626;
  margin: 6px 0 2px 0; }}
.labkit-budgets {{ border: 1px solid #EEEEEE; border-radius: 6px; padding: 4px 8px 8px 8px;
  margin-bottom: 8px; background: #FCFCFC; }}
.labkit-verdicts {{ display: flex; flex-wrap: wrap; gap: 4px; margin-top: 4px; }}
.labkit-chip {{ border: 1px solid; border-radius: 12px; padding: 1px 8px; font-size: 12px;
  background: #FFFFFF; white-space: nowrap; }}
.labkit-muted {{ color: #8C8C8C; font-size: 12px; }}
.labkit-code pre {{ background: #F7F7F7; border: 1px solid #E3E3E3; border-radius: 6px;
  padding: 8px 10px; font-size: 12px; user-select: all; white-space: pre; overflow-x: auto; }}
.labkit-charts {{ gap: 10px; }}
.labkit-view-cell {{ min-width: 0; }}
.labkit-view-cell > .labkit-view {{ width: 100%; min-width: 0; flex: 1 1 auto;
  border: 1px solid #F0F0F0; border-radius: 6px; overflow: hidden; }}
.labkit-ok {{ color: {PASS_COLOR}; }}
"""


def stylesheet() -> widgets.HTML:
    """An invisible widget that carries the stylesheet into the page."""
    w = widgets.HTML(f"<style>{CSS}</style>", layout=widgets.Layout(height="0px",
                                                                     margin="0px"))
    w.add_class("labkit-style")
    return w
