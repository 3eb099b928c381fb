"""Grade cells kept honest: restoring tampered cells, and keeping secrets out of what learners see.

Three things a learner must never see are written into source notebooks
between delimiters: solutions (``### BEGIN SOLUTION`` ... ``### END
SOLUTION``), hidden tests (``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN
TESTS``) and mark schemes (``=== BEGIN MARK SCHEME ===`` ... ``=== END MARK
SCHEME ===``).  :func:`secret_lines` collects their text so the release and
the feedback can be checked line by line.

:class:`RestoreCells` is nbgrader's ``OverwriteCells`` made robust for the
sanitising step of autograde: a test cell whose source, flags, points or id
were edited is restored from the gradebook, and a deleted one is put back
after the nearest surviving cell that preceded it (nbgrader's own version
fails the whole submission when that neighbour is not an answer or test
cell).  :class:`ScrubFeedback` removes hidden tests and mark schemes from the
autograded notebook before nbgrader renders feedback, and withholds any
output or traceback that would quote them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from nbformat import NotebookNode
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import NbGraderPreprocessor, OverwriteCells

__all__ = ["REGIONS", "DELIMITERS", "secret_lines", "strip_regions", "normalise",
           "RestoreCells", "ScrubFeedback"]

#: region name -> (begin marker, end marker), as nbgrader 0.9 recognises them
REGIONS = {"solution": ("BEGIN SOLUTION", "END SOLUTION"),
           "hidden_tests": ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS"),
           "mark_scheme": ("BEGIN MARK SCHEME", "END MARK SCHEME")}
DELIMITERS = tuple(marker for pair in REGIONS.values() for marker in pair)
_MIN_CHARS = 8
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def normalise(text: str) -> str:
    """Collapse whitespace and drop ANSI colour codes, for robust line matching."""
    return " ".join(_ANSI.sub("", text).split())


def _split(source: str, kinds: Iterable[str]) -> tuple[list[str], list[str]]:
    """(lines inside the given regions, lines outside every region)."""
    markers = {REGIONS[k]: k for k in kinds}
    inside, outside, current = [], [], None
    for line in source.splitlines():
        if current is None:
            begin = next((pair for pair in markers if pair[0] in line), None)
            if begin is not None:
                current = begin
                continue
            if not any(m in line for m in DELIMITERS):
                outside.append(line)
        elif current[1] in line:
            current = None
        else:
            inside.append(line)
    return inside, outside


def secret_lines(sources: Iterable[str], kinds: Iterable[str] = ("hidden_tests", "mark_scheme")
                 ) -> set[str]:
    """Normalised lines that occur only inside the given regions of these cell sources."""
    kinds = tuple(kinds)
    inside: set[str] = set()
    outside: set[str] = set()
    for source in sources:
        ins, outs = _split(source, kinds)
        inside.update(normalise(x) for x in ins)
        outside.update(normalise(x) for x in outs)
    return {x for x in inside - outside if len(x) >= _MIN_CHARS}


def strip_regions(source: str, kinds: Iterable[str] = ("hidden_tests", "mark_scheme")) -> str:
    """``source`` without the given regions and their delimiter lines."""
    kinds = tuple(kinds)
    keep, current = [], None
    for line in source.split("\n"):
        if current is None:
            begin = next((REGIONS[k] for k in kinds if REGIONS[k][0] in line), None)
            if begin is not None:
                current = begin
                continue
            keep.append(line)
        elif current[1] in line:
            current = None
    return "\n".join(keep)


def _grade_id(cell: NotebookNode) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


class RestoreCells(OverwriteCells):
    """``OverwriteCells`` that also restores flags and puts deleted grade cells back safely."""

    def preprocess_cell(self, cell: NotebookNode, resources: Any, cell_index: int) -> Any:
        grade_id = _grade_id(cell)
        if grade_id is None:
            if "nbgrader" in cell.get("metadata", {}):
                del cell.metadata["nbgrader"]          # half-stripped metadata: a plain cell
            return cell, resources
        try:
            source = self.gradebook.find_source_cell(grade_id, self.notebook_id, self.assignment_id)
        except MissingEntry:
            del cell.metadata["nbgrader"]             # an id we never issued: a plain cell
            return cell, resources
        meta = cell.metadata.nbgrader
        meta["grade"] = self._exists(self.gradebook.find_grade_cell, grade_id)
        meta["solution"] = self._exists(self.gradebook.find_solution_cell, grade_id)
        meta["task"] = self._exists(self.gradebook.find_task_cell, grade_id)
        if not meta["task"]:
            meta.pop("task", None)
        meta["locked"] = bool(source.locked)
        if meta["grade"] or meta.get("task"):
            graded = self.gradebook.find_graded_cell(grade_id, self.notebook_id, self.assignment_id)
            meta["points"] = float(graded.max_score)
        return super().preprocess_cell(cell, resources, cell_index)

    def _exists(self, finder: Any, grade_id: str) -> bool:
        try:
            finder(grade_id, self.notebook_id, self.assignment_id)
        except MissingEntry:
            return False
        return True

    def add_missing_grade_cells(self, nb: NotebookNode, resources: Any) -> Any:
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        order = [c.name for c in source_nb.source_cells]
        by_name = {c.name: c for c in source_nb.source_cells}
        solutions = {c.name for c in source_nb.solution_cells}
        for grade_cell in sorted(source_nb.grade_cells, key=lambda c: order.index(c.name)):
            name = grade_cell.name
            present = {_grade_id(c): i for i, c in enumerate(nb.cells) if _grade_id(c)}
            if name in present:
                continue
            self.log.warning("Missing grade cell %s: adding it back", name)
            new = self.missing_cell_transform(by_name[name], grade_cell.max_score,
                                              is_solution=name in solutions)
            position = 0
            for earlier in reversed(order[:order.index(name)]):
                if earlier in present:
                    position = present[earlier] + 1
                    break
            nb.cells.insert(position, new)
        return nb, resources

    def add_missing_task_cells(self, nb: NotebookNode, resources: Any) -> Any:
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        by_name = {c.name: c for c in source_nb.source_cells}
        present = {_grade_id(c) for c in nb.cells}
        for task in source_nb.task_cells:
            if task.name not in present:
                nb.cells.append(self.missing_cell_transform(by_name[task.name], task.max_score,
                                                            is_task=True))
        return nb, resources


_WITHHELD_ERROR = ("a hidden check in this cell did not pass. Hidden checks test your answer on "
                   "cases you were not shown (for example other seeds); their details are "
                   "withheld so they stay fair. Re-read the task and test your answer more widely.")


def _output_text(out: NotebookNode) -> str:
    if out.get("output_type") == "error":
        return "\n".join([out.get("ename", ""), out.get("evalue", ""), *out.get("traceback", [])])
    if out.get("output_type") == "stream":
        return str(out.get("text", ""))
    data = out.get("data", {})
    return "\n".join(str(v) if not isinstance(v, list) else "".join(v) for v in data.values())


def _arrow_lines(traceback: list[str]) -> list[str]:
    """The source lines IPython marks with an arrow (the lines that were running)."""
    found = []
    for block in traceback:
        for line in _ANSI.sub("", block).splitlines():
            m = re.match(r"\s*-*>\s*\d+\s(.*)$", line)
            if m:
                found.append(normalise(m.group(1)))
    return [x for x in found if x]


def _mentions(text: str, secrets: set[str]) -> bool:
    flat = normalise(text)
    return any(s in flat for s in secrets)


class ScrubFeedback(NbGraderPreprocessor):
    """Remove hidden tests and mark schemes from a graded notebook, including from its outputs."""

    def preprocess(self, nb: NotebookNode, resources: Any) -> Any:
        sources = [c.source for c in nb.cells]
        info = resources.get("nbgrader", {}) if resources else {}
        if info.get("db_url"):
            with Gradebook(info["db_url"]) as gb:
                try:
                    source_nb = gb.find_notebook(info["notebook"], info["assignment"])
                    sources += [c.source or "" for c in source_nb.source_cells]
                except MissingEntry:
                    pass
        self.secrets = secret_lines(sources)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int) -> Any:
        cell.source = strip_regions(cell.source)
        if cell.cell_type != "code":
            return cell, resources
        kept = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                kept.append(self._scrub_error(out))
            elif _mentions(_output_text(out), self.secrets):
                kept.append(NotebookNode(output_type="stream", name="stdout",
                                         text="[output withheld: it quoted a hidden test]\n"))
            else:
                kept.append(out)
        cell.outputs = kept
        return cell, resources

    def _scrub_error(self, out: NotebookNode) -> NotebookNode:
        ename, evalue = out.get("ename", "Error"), out.get("evalue", "")
        arrows = [a for a in _arrow_lines(out.get("traceback", [])) if len(a) >= _MIN_CHARS]
        hidden = (any(a in s for a in arrows for s in self.secrets)
                  or _mentions(_output_text(out), self.secrets)
                  or (len(normalise(evalue)) >= 4 and any(normalise(evalue) in s for s in self.secrets)))
        if hidden:
            ename, evalue = "HiddenCheckFailed", _WITHHELD_ERROR
        # keep only the message: code context lines could quote test code
        return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                            traceback=[f"{ename}: {evalue}"])

