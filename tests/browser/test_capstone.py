"""The capstone's release in a real JupyterLab, as a learner works through it.

Run All stops at the design task (the release's first stub); the learner then types a design,
a diagnosis and a containment into the page and runs the rest.  What they see must work: no
error or stderr anywhere, the design panel draws its three charts with the numbers
``simulate`` gives for the team's first draft, and the game day's four dashboards are drawn
with the traces of this learner's incident at the width of their cell.  The numbers of the
judges are the notebook tests' job (tests/notebooks/test_capstone.py); this is what the page
shows.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from labkit.labs import capstone
from labkit.sim import Scenario, simulate
from labkit.viz.common import series

from .answers import (
    answer_cells,
    problems,
    run_from,
    run_to_first_task,
    show_cell,
    text,
    type_answer,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LAB = "capstone-support-assistant"
RELEASE = Path(__file__).resolve().parents[2] / "release" / LAB / f"{LAB}.ipynb"
WHO = "self-study"          # the learner of a kernel nobody named (labkit.variants)
LATENCY = ".labkit-panel .labkit-view-latency"

# the plotly charts in plain outputs (the game day's dashboards), with what each holds
_OUTPUT_CHARTS_JS = """() => Array.from(document.querySelectorAll(
    '.jp-OutputArea-output.js-plotly-plot, .jp-OutputArea-output .js-plotly-plot'))
  .filter(gd => !gd.closest('.labkit-panel'))
  .map(gd => ({title: gd.layout && gd.layout.title ? (gd.layout.title.text || '') : '',
               traces: (gd._fullData || []).map(t => ({name: t.name || '', type: t.type,
                                         x: Array.from(t.x || []), y: Array.from(t.y || [])})),
               drawn: gd._fullLayout ? gd._fullLayout.width : -1,
               width: gd.getBoundingClientRect().width,
               right: gd.getBoundingClientRect().right,
               cell_right: gd.closest('.jp-Cell').getBoundingClientRect().right}))"""


def _containment() -> dict:
    """The containment a learner who read the dashboards picks for their incident."""
    return {"slow-retrieval": {"action": "gate-retrieval", "run_fraction": 0.0},
            "quota-cut": {"action": "trim-context", "prompt_tokens": 450},
            "lost-replicas": {"action": "scale-out", "add_replicas": 1},
            "bad-release": {"action": "rollback", "version": "v2"}}[
        capstone.incident_case(learner=WHO)["fault"]]


def _answers() -> dict[str, str]:
    """What a learner who read their incident types: a design, a diagnosis, a containment."""
    fault = capstone.incident_case(learner=WHO)["fault"]
    component, mechanism = capstone.scenarios.DIAGNOSES[fault]
    return {
        "d_design_answer": 'design = {"model.replicas": 2, "llm.prefix_cache": True, '
                           '"cache.enabled": True, "rerank.enabled": False, '
                           '"boundary.policy": "approval", "boundary.reviewers": 3}\ndesign',
        "g1_diagnosis_answer": f"diagnosis = {{'component': {component!r}, "
                               f"'mechanism': {mechanism!r}}}",
        "g2_containment_answer": f"containment = {_containment()!r}",
    }


def _gap(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _same(browser_values: list, expected: list) -> bool:
    """The same series, a gap (None or NaN) where the other has a gap."""
    return len(browser_values) == len(expected) and all(
        (_gap(b) and _gap(e)) or
        (not _gap(b) and not _gap(e) and math.isclose(b, e, rel_tol=1e-9, abs_tol=1e-9))
        for b, e in zip(browser_values, expected))


def test_a_learner_works_through_the_capstone_in_the_browser(open_notebook):
    tasks = answer_cells(RELEASE)
    first = min(tasks.values())
    page = open_notebook(RELEASE, run_all=False, viewport=(1600, 1200), sidebar=False)

    # 1. Run All: the brief, the draft panel and the first tries, then the design stub stops it.
    before = run_to_first_task(page, first)
    brief = text(before[1])
    case = capstone.design_case(learner=WHO)
    assert f"{case['rate_rps']:g} requests/s" in brief
    assert f"{case['upstream_tpm']:,.0f} tokens/min" in brief
    page.page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.labkit-panel .labkit-view')).filter("
        "el => { const gd = el.classList.contains('js-plotly-plot') ? el"
        " : el.querySelector('.js-plotly-plot'); return gd && gd.data && gd.data.length; })"
        ".length === 3", timeout=90_000)
    views = page.page.evaluate("""() => Array.from(document.querySelectorAll(
        '.labkit-panel .labkit-view')).map(el => Array.from(el.classList).find(
        c => c.startsWith('labkit-view-')))""")
    assert views == ["labkit-view-latency", "labkit-view-outcomes", "labkit-view-cost"]
    draft = simulate(Scenario.from_knobs(capstone.design_knobs(dict(capstone.STARTING_DESIGN),
                                                               learner=WHO)), seed=1)
    p95 = page.figure_data(LATENCY)[1]["y"]
    assert _same(p95, series(draft)["p95_ms"].tolist())     # the panel shows the draft's run
    assert any(v is not None and v > capstone.scenarios.TTFT_BUDGET_MS for v in p95)

    # 2. The learner types their answers and runs the rest.
    for grade_id, source in _answers().items():
        type_answer(page, tasks[grade_id], source)
    after = run_from(page, first)
    assert [p for c in after for p in problems(c)] == []
    assert all(c["count"] for c in after if c["type"] == "code")
    shown = "\n".join(text(c) for c in after)
    for check in ("time to first token", "cost per 1,000 requests", "success and quality",
                  "refunds after approval"):
        assert f"Design ({check}): recorded" in shown
    assert "Time to mitigate: recorded; it is measured on unseen seeds" in shown

    # 3. The game day's dashboards: four charts of this learner's incident, at their cell's width.
    expected = capstone.game_day(seed=1, learner=WHO).dashboards()
    dash = next(c for c in after if "incident.dashboards()" in c["source"])
    assert len(dash["outputs"]) == len(expected) and all(       # interactive charts, each
        "application/vnd.plotly.v1+json" in o.get("data", {}) for o in dash["outputs"])
    show_cell(page, dash["index"]).scroll_into_view_if_needed()
    page.page.wait_for_function(
        f"() => ({_OUTPUT_CHARTS_JS})().filter(c => c.traces.length).length >= {len(expected)}",
        timeout=60_000)
    page.page.wait_for_timeout(1000)          # plotly's autosize after the output settles
    charts = page.page.evaluate(_OUTPUT_CHARTS_JS)
    assert len(charts) == len(expected)
    compared = 0
    for got, fig in zip(charts, expected):
        assert len(got["traces"]) == len(fig.data), got["title"]
        assert [t["name"] for t in got["traces"]] == [t.name or "" for t in fig.data]
        for trace, want in zip(got["traces"], fig.data):
            if want.y is not None and len(want.y) and isinstance(want.y[0], (int, float)):
                assert _same(trace["y"], [float(v) for v in want.y]), (got["title"], trace["name"])
                compared += 1
        assert got["right"] <= got["cell_right"] + 1, got            # no spill over the cell
        assert abs(got["drawn"] - got["width"]) <= 2, got["title"]   # drawn at that width
        assert got["width"] > 600, got["title"]                      # and not squeezed
    assert compared >= len(expected)           # every chart's series checked, not just drawn
    alerts = [row["alert"] for row in capstone.game_day(seed=1, learner=WHO).alerts.rows]
    assert alerts and all(a in shown for a in alerts)
    assert page.error_outputs() == []
    assert page.console_errors == []
    page.screenshot("capstone-release")
