"""The judge of record: check cells run where learner code never ran, on answers sent as data.

Stock nbgrader runs a notebook's check cells (hidden tests included) in the
learner's own kernel, so code earlier in the notebook can decide what the
checks see: replace a checking function, make an answer that equals
everything, rewrite later cells as they arrive.  labkit splits grading in
two, both in the configured autograde preprocessors (so plain ``nbgrader
autograde`` grades the same way as ``labkit course autograde``):

1. :class:`labkit.course.kernel.SandboxedExecute` runs the learner's cells in
   the learner's sandboxed kernel, but **not** the check cells: at each check
   cell's place it takes out the answers that cell reads, as plain data
   (:mod:`labkit.course.answers`), into ``resources["labkit"]["exports"]``;
2. :class:`TrustedJudge` (this module) judges in a fresh sandboxed kernel
   that has never run learner code, in an empty folder, with labkit imported
   from the installation and the learner's variant fixed by the student id
   the submission is filed under (``SandboxedExecute`` starts that kernel as
   the learner's cells begin, so it boots meanwhile); for each check cell it
   binds that cell's answers (decoded JSON) and runs the cell's source
   (restored from the gradebook, so the author's) in one execution.  Its
   outputs replace the check cell's ``NotJudged`` placeholder, and nbgrader's
   ``SaveAutoGrades`` takes the points from them.

A check whose answers could not be taken (not defined, not plain data, the
kernel stopped, the time budget was used) is not run: its cell gets an
``AnswerNotRecorded`` error saying why, and scores zero.  The answers each
check used are kept in the graded notebook (cell metadata ``labkit.answers``)
for the instructor's item analysis.
"""

from __future__ import annotations

import copy
import json
import tempfile
from typing import Any

from nbclient.util import run_sync
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_notebook
from traitlets import Integer

from labkit.course.kernel import SandboxedExecute, is_check, sandbox_notes, stop_judge

__all__ = ["TrustedJudge", "bind_code"]

_BOUND = "__labkit_bound"


def bind_code(answers: dict[str, Any]) -> str:
    """One line that makes exactly ``answers`` the answer names of the check after it (the
    previous check's names are removed first), so a check is one execution in the judge."""
    text = json.dumps(answers)
    return (f"[globals().pop(__n, None) for __n in globals().pop({_BOUND!r}, [])]; "
            f"globals().update(__import__('json').loads({text!r})); "
            f"{_BOUND} = {sorted(answers)!r}\n")


def _not_recorded(problems: dict[str, str]) -> NotebookNode:
    why = "; ".join(problems.values()) or "this check was not reached"
    return NotebookNode(output_type="error", ename="AnswerNotRecorded", evalue=why,
                        traceback=[f"AnswerNotRecorded: {why}"])


class TrustedJudge(SandboxedExecute):
    """Run every check cell in a kernel that never ran learner code, on its answers as data."""

    max_answer_chars = Integer(2_000_000, help="Largest set of answers (JSON characters) one "
                               "check may receive.").tag(config=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.trusted = False          # in here, check cells are what runs

    def preprocess(self, nb: NotebookNode, resources: Any = None, km: Any = None) -> Any:
        exports = (resources or {}).get("labkit", {}).get("exports")
        if exports is None:           # checks already ran in the notebook's kernel (trusted=False)
            return nb, resources
        try:
            return self._judge(nb, resources, exports)
        finally:
            for note in sandbox_notes(stop_judge(resources)):
                self.log.warning("judge kernel: %s", note)

    def _judge(self, nb: NotebookNode, resources: Any, exports: dict) -> Any:
        cells: list[NotebookNode] = []
        targets: list[tuple[int, int]] = []
        for index, cell in enumerate(nb.cells):
            if not is_check(cell):
                continue
            export = exports.get(cell.metadata["nbgrader"]["grade_id"])
            if export is None or export["problems"]:
                cell.outputs = [_not_recorded(export["problems"] if export else {})]
                continue
            if len(json.dumps(export["answers"])) > self.max_answer_chars:
                cell.outputs = [_not_recorded({"answers": "the answers are too large"})]
                continue
            cell.metadata.setdefault("labkit", {})["answers"] = copy.deepcopy(export["answers"])
            cells.append(new_code_cell(bind_code(export["answers"]) + cell.source))
            targets.append((index, len(cells) - 1))
        if not targets:
            return nb, resources
        judged_nb = new_notebook(cells=cells, metadata=copy.deepcopy(nb.metadata))
        started = resources["labkit"].get("judge")     # booted while the learner's cells ran
        with tempfile.TemporaryDirectory(prefix="labkit-judge-") as spare:
            empty = started[1] if started else spare
            mine = {"metadata": {"path": empty}, "nbgrader": dict(resources.get("nbgrader", {}))}
            try:
                judged, _ = super().preprocess(judged_nb, mine, started[0] if started else None)
            finally:            # a kernel restarted mid-judging replaced the one lent to it
                if started and self.km is not None and self.km is not started[0]:
                    run_sync(self.km.shutdown_kernel)(now=True)
        for index, at in targets:
            nb.cells[index].outputs = judged.cells[at].outputs
            nb.cells[index].execution_count = judged.cells[at].get("execution_count")
        return nb, resources

    def _write_report(self) -> None:
        """The judge kernel runs the author's code: its notes go to the log, not the student's line."""
        for note in self._notes:
            self.log.warning("judge kernel: %s", note)
