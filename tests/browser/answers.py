"""A released notebook in the browser as a learner meets it: it stops at the first task, the
learner types the answers into the page, and the rest of the notebook runs.

JupyterLab's *Run All* stops at the first cell that raises, so a release (whose answer cells
hold ``raise NotImplementedError()`` stubs) runs down to its first answer cell and no further.
:func:`run_to_first_task` runs it that far and checks that every code cell before the stub ran
cleanly, that the stub raised and that nothing after it ran.  :func:`type_answer` types a
learner's answer into a cell's editor (click, select all, type), and :func:`run_from` runs the
rest, as *Run Selected Cell and All Below* does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .lab import LabPage

_CELLS_JS = """
() => {
  const w = window.jupyterapp.shell.currentWidget;
  return w.content.widgets.map((c, i) => ({index: i, type: c.model.type,
    count: c.model.type === 'code' ? c.model.executionCount : null,
    outputs: c.model.type === 'code' ? c.model.outputs.toJSON() : [],
    source: c.model.sharedModel.getSource()}));
}
"""


def answer_cells(notebook: Path) -> dict[str, int]:
    """grade_id -> cell index of every autograded answer cell (a stub in the release)."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return {c["metadata"]["nbgrader"]["grade_id"]: i for i, c in enumerate(cells)
            if c.get("metadata", {}).get("nbgrader", {}).get("solution")}


def cells(page: LabPage) -> list[dict[str, Any]]:
    """Every cell of the page's notebook: type, execution count, outputs and source."""
    return page.page.evaluate(_CELLS_JS)


def problems(cell: dict[str, Any]) -> list[str]:
    """Errors and stderr lines of one cell (nbgrader zeroes a check cell that writes stderr)."""
    out = []
    for o in cell["outputs"]:
        if o.get("output_type") == "error":
            out.append(f"cell {cell['index']}: {o.get('ename')}: {o.get('evalue')}")
        elif o.get("output_type") == "stream" and o.get("name") == "stderr":
            out.append(f"cell {cell['index']} stderr: {''.join(o.get('text', ''))}")
    return out


def text(cell: dict[str, Any]) -> str:
    """What a cell printed or displayed as text (streams, Markdown, plain text)."""
    parts = []
    for o in cell["outputs"]:
        parts.append("".join(o.get("text", "")))
        data = o.get("data", {})
        parts.append("".join(data.get("text/markdown", "")) or "".join(data.get("text/html", ""))
                     or "".join(data.get("text/plain", "")))
    return "".join(parts)


def run_to_first_task(page: LabPage, first_task: int, timeout_s: float = 180.0) -> list[dict]:
    """*Run All* on a fresh release; return its cells once it has stopped at ``first_task``.

    Asserts what a learner sees: every code cell above the task ran without an error or a
    stderr line, the task's stub raised ``NotImplementedError`` and no cell below it ran.
    """
    page.page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.page.wait_for_function(
        """(i) => { const w = window.jupyterapp.shell.currentWidget;
             const k = w.sessionContext.session && w.sessionContext.session.kernel;
             const c = w.content.widgets[i];
             return !!k && k.status === 'idle' && c.model.executionCount !== null
               && w.content.widgets.every(x => x.model.type !== 'code'
                                               || x.model.executionState !== 'running'); }""",
        arg=first_task, timeout=timeout_s * 1000)
    got = cells(page)
    code = [c for c in got if c["type"] == "code"]
    above = [c for c in code if c["index"] < first_task]
    assert above and all(c["count"] for c in above), [(c["index"], c["count"]) for c in above]
    assert [p for c in above for p in problems(c)] == []
    stub = got[first_task]
    assert [o.get("ename") for o in stub["outputs"] if o.get("output_type") == "error"] == [
        "NotImplementedError"]
    assert all(c["count"] is None for c in code if c["index"] > first_task)
    return got


def show_cell(page: LabPage, index: int) -> Any:
    """Scroll cell ``index`` of the open notebook into view; return its locator.

    JupyterLab renders only the cells near the viewport (a windowed notebook), so a cell far
    below may not be drawn yet: the notebook scrolls to it, as a learner would.  Notebooks
    opened earlier in the session stay in the page as hidden tabs, so the cell is looked for
    in this notebook's panel only.
    """
    panel = page.page.evaluate(
        """async (i) => { const w = window.jupyterapp.shell.currentWidget;
             w.content.activeCellIndex = i; await w.content.scrollToItem(i, 'center');
             return w.id; }""", index)
    return page.page.locator(f'[id="{panel}"] .jp-Notebook .jp-Cell').nth(index)


def type_answer(page: LabPage, index: int, source: str) -> None:
    """Type ``source`` into cell ``index`` in place of what it holds, as a learner would."""
    editor = show_cell(page, index).locator(".cm-content")
    editor.wait_for(state="visible", timeout=30_000)
    editor.scroll_into_view_if_needed()
    editor.click()
    page.page.keyboard.press("Control+A")
    page.page.keyboard.insert_text(source)
    got = page.page.evaluate(
        "(i) => window.jupyterapp.shell.currentWidget.content.widgets[i].model.sharedModel"
        ".getSource()", index)
    assert got == source, (index, got)


def run_from(page: LabPage, index: int, timeout_s: float = 240.0) -> list[dict]:
    """Run cell ``index`` and every cell below it; return every cell once all have run."""
    page.page.evaluate(
        """(i) => { const w = window.jupyterapp.shell.currentWidget;
             w.content.widgets.slice(i).forEach(c => { if (c.model.type === 'code') {
               c.model.outputs.clear(); c.model.executionCount = null; } });
             w.content.activeCellIndex = i; w.content.mode = 'command';
             return window.jupyterapp.commands.execute('notebook:run-all-below'); }""", index)
    page.page.wait_for_function(
        """(i) => { const w = window.jupyterapp.shell.currentWidget;
             const k = w.sessionContext.session && w.sessionContext.session.kernel;
             const code = w.content.widgets.filter(c => c.model.type === 'code');
             const failed = code.some(c => c.model.outputs.toJSON().some(
                 o => o.output_type === 'error'));
             return !!k && k.status === 'idle'
               && code.every(c => c.model.executionState !== 'running')
               && (failed || code.every(c => c.model.executionCount !== null)); }""",
        arg=index, timeout=timeout_s * 1000)
    return cells(page)
