"""Grades that can be trusted, per lab: forgeries earn nothing, copied answers earn little.

For every lab whose checks the trusted judge grades (``TRUSTED``), one scratch course grades,
through ``labkit.course.autograde`` with the repository's nbgrader configuration:

* ``perfect`` (as learner ``ada-lovelace``): every answer stub filled with the source's solution
  code, which works out the learner's own numbers; every check earns its points;
* ``copy`` (as another learner): the *literal* answers the perfect submission sent (taken from
  its graded notebook), filed under a learner whose numbers differ on every task with numbers;
  those tasks may earn at most half their points;
* the forgery fixtures of grading/fixtures/<lab>-forgery/ (blank notebooks that patch labkit,
  builtins, answers or IPython itself): every one earns 0.
"""

from __future__ import annotations

import ast
import importlib
import json
import sys
from pathlib import Path

import nbformat
import pytest

from labkit.course.autograde import autograde
from labkit.course.collect import collect
from labkit.course.gradebook import cell_grades
from labkit.course.release import release_labs

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "notebooks"))
from nbrun import course_copy, lab_paths, nbgrader_meta, submission  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.kernel]

ROOT = Path(__file__).resolve().parents[2]


def trusted_labs() -> dict[str, str]:
    """lab -> its ``labkit.labs`` module, for every lab whose module declares ``VARIANTS``.

    ``VARIANTS`` (check grade_id -> the draw of its numbers) is what a lab converted to trusted
    grading declares; a lab without it is still judged in the learner's kernel.
    """
    labs = {}
    for folder in sorted((ROOT / "source").iterdir()):
        if (folder / f"{folder.name}.ipynb").is_file():
            name = f"labkit.labs.{folder.name.split('-')[0]}"
            if hasattr(importlib.import_module(name), "VARIANTS"):
                labs[folder.name] = name
    return labs


TRUSTED = trusted_labs()


def test_every_lab_is_judged_outside_the_learners_kernel():
    labs = sorted(p.name for p in (ROOT / "source").iterdir() if (p / f"{p.name}.ipynb").is_file())
    assert sorted(TRUSTED) == labs
    config = (ROOT / "nbgrader_config.py").read_text(encoding="utf-8")
    assert "\nc.SandboxedExecute.trusted = True" in config
AUTHOR = "ada-lovelace"


def other_learner(module, author: str) -> str:
    """A learner whose numbers differ from ``author``'s on every task with numbers."""
    mine = {check: draw(learner=author).values for check, draw in module.VARIANTS.items()}
    for i in range(1000):
        who = f"learner-{i:03d}"
        if all(draw(learner=who).values != mine[check] for check, draw in module.VARIANTS.items()):
            return who
    raise AssertionError("no learner with different numbers on every task")


def literal(release, answers_by_name: dict) -> nbformat.NotebookNode:
    """``release`` with every answer cell holding the literal values sent by ``graded``."""
    nb = nbformat.v4.new_notebook(cells=[], metadata=release.metadata)
    for cell in release.cells:
        cell = nbformat.from_dict(json.loads(json.dumps(cell)))
        if nbgrader_meta(cell).get("solution") and cell.cell_type == "code":
            names = [n.id for n in ast.walk(ast.parse(cell.source))
                     if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)]
            values = [f"{n} = {answers_by_name[n]!r}" for n in dict.fromkeys(names)
                      if n in answers_by_name]
            if values:
                cell.source = "\n".join(values)
        nb.cells.append(cell)
    return nb


@pytest.fixture(scope="module", params=sorted(TRUSTED))
def graded(request, tmp_path_factory):
    lab = request.param
    module = importlib.import_module(TRUSTED[lab])
    tmp = tmp_path_factory.mktemp(lab)
    course = course_copy(tmp, lab)
    (course.root / "grading").mkdir(exist_ok=True)
    release_labs(course, [lab])
    source, release = (nbformat.read(p, as_version=4) for p in lab_paths(lab))
    handed = tmp / "handed"
    handed.mkdir()
    nbformat.write(submission(release, source), handed / f"{AUTHOR}.ipynb")
    forgeries = sorted((ROOT / "grading" / "fixtures" / f"{lab}-forgery").glob("*.ipynb"))
    assert forgeries, f"build the forgeries: python tests/course/build_forgeries.py {lab}"
    collected = collect(course, lab, [handed / f"{AUTHOR}.ipynb", *forgeries])
    assert all(c.ok for c in collected), [c.message for c in collected if not c.ok]
    first = autograde(course, lab, workers=2)
    assert all(o.graded for o in first), [o.error for o in first if not o.graded]
    done = nbformat.read(course.autograded_dir / AUTHOR / lab / f"{lab}.ipynb", as_version=4)
    sent = {}
    for cell in done.cells:
        sent.update(cell.get("metadata", {}).get("labkit", {}).get("answers", {}))
    copier = other_learner(module, AUTHOR)
    nbformat.write(literal(release, sent), handed / f"{copier}.ipynb")
    collect(course, lab, [handed / f"{copier}.ipynb"])
    (copy_outcome,) = autograde(course, lab, workers=1, students=[copier])
    assert copy_outcome.graded, copy_outcome.error
    scores: dict[str, dict[str, tuple[float, float]]] = {}
    for g in cell_grades(course.db_url, lab):
        if g.auto_score is not None:
            scores.setdefault(g.student, {})[g.cell] = (g.auto_score, g.max_score)
    return {"lab": lab, "module": module, "scores": scores, "copier": copier,
            "forgeries": [p.stem for p in forgeries], "sent": sent}


def test_the_perfect_submission_earns_every_point(graded):
    mine = graded["scores"][AUTHOR]
    assert mine and all(score == top for score, top in mine.values()), mine


def test_every_forgery_earns_nothing(graded):
    for name in graded["forgeries"]:
        earned = {cell: s for cell, (s, _) in graded["scores"][name].items() if s}
        assert earned == {}, (name, earned)


def test_copied_answers_earn_at_most_half_of_the_tasks_with_numbers(graded):
    variant = set(graded["module"].VARIANTS)
    theirs = graded["scores"][graded["copier"]]
    got = sum(theirs[c][0] for c in variant)
    top = sum(theirs[c][1] for c in variant)
    assert top > 0 and got <= top / 2, (graded["copier"], {c: theirs[c] for c in variant})
    others = {c: s for c, s in theirs.items() if c not in variant}
    assert all(score == top for score, top in others.values()), others   # the rest is earned


def test_the_answers_the_checks_used_are_kept_as_plain_data(graded):
    assert graded["sent"] and json.loads(json.dumps(graded["sent"])) == graded["sent"]
