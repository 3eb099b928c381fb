"""Every source notebook follows source/README.md: ids, docstrings, roles, tags, cleared outputs."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "source").glob("*/*.ipynb"))
TAGS = {"reading", "activity", "checkpoint", "reflection", "written", "design"}   # source/README.md
EVIDENCE = {"system-sketch", "load-failure-design", "risk-register", "incident-runbook",
            "agent-boundary-sheet", "design-document", "postmortem", "reflection"}
GRADE_ID = re.compile(r"^[a-z][a-z0-9_]*$")


def nbgrader(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


@pytest.fixture(params=SOURCES, ids=lambda p: p.parent.name)
def notebook(request):
    path = request.param
    assert path.stem == path.parent.name, f"{path}: the notebook must be named after its folder"
    return path, nbformat.read(path, as_version=4)


def test_there_are_labs():
    assert any(p.parent.name == "lab0-orientation" for p in SOURCES)


def test_outputs_are_cleared(notebook):
    path, nb = notebook
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name} cell {i}"


def test_grade_ids_are_stable_names_and_unique(notebook):
    path, nb = notebook
    ids = [nbgrader(c)["grade_id"] for c in nb.cells if nbgrader(c).get("grade_id")]
    assert ids, f"{path.name} has no nbgrader cells"
    assert len(ids) == len(set(ids)), f"{path.name}: duplicate grade ids"
    for gid in ids:
        assert GRADE_ID.match(gid), f"{path.name}: grade_id {gid!r} must be lower_snake_case"


def test_check_cells_open_with_a_docstring_and_have_points(notebook):
    path, nb = notebook
    for cell in nb.cells:
        meta = nbgrader(cell)
        if meta.get("grade") and not meta.get("solution") and cell.cell_type == "code":
            assert cell.source.lstrip().startswith(('"""', "'''")), \
                f"{path.name} {meta['grade_id']}: a check cell starts with a docstring"
            assert float(meta.get("points", 0)) > 0, f"{path.name} {meta['grade_id']}: no points"
            assert meta.get("locked"), f"{path.name} {meta['grade_id']}: check cells are locked"


def test_answer_cells_hold_a_solution_and_tasks_a_mark_scheme(notebook):
    path, nb = notebook
    for cell in nb.cells:
        meta = nbgrader(cell)
        if meta.get("solution") and cell.cell_type == "code":
            assert "### BEGIN SOLUTION" in cell.source, f"{path.name} {meta['grade_id']}"
        if meta.get("task"):
            assert "=== BEGIN MARK SCHEME ===" in cell.source, f"{path.name} {meta['grade_id']}"
        for marker in ("BEGIN HIDDEN TESTS", "BEGIN MARK SCHEME", "BEGIN SOLUTION"):
            if marker in cell.source and not meta:
                pytest.fail(f"{path.name}: {marker!r} in a cell without an nbgrader role")


def test_tags_are_the_documented_ones(notebook):
    path, nb = notebook
    seen = set()
    for cell in nb.cells:
        for tag in cell.metadata.get("tags", []):
            seen.add(tag)
            if tag.startswith("evidence:"):
                assert tag.split(":", 1)[1] in EVIDENCE, f"{path.name}: unknown tag {tag!r}"
            else:
                assert tag in TAGS, f"{path.name}: unknown tag {tag!r}"
            if tag == "reading":
                assert cell.cell_type == "markdown", f"{path.name}: 'reading' is for markdown"
    if not nb.metadata.get("labkit", {}).get("assessment"):    # a timed paper is all checks
        assert "checkpoint" in seen, f"{path.name}: tag the first cell of the checkpoint block"
