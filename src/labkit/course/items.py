"""The graded items of a lab, read from its source notebook without running anything.

An *item* is one cell that earns points: an autograded check cell (nbgrader
``grade``) or a cell the tutor marks (an nbgrader ``task``, or an answer cell
that is also graded).  Its kind is read from the cell's own code, the way an
instructor would read it:

========================  =================================================================
kind                      how it is recognised
========================  =================================================================
``multiple choice``       the check calls ``check_choice(answer, "ABCD", ...)``; the key is the
                          letter a hidden ``assert x == "B"`` compares with, the options come
                          from the ``MultipleChoice(...)`` call above it in the notebook
``function``              the answer is a function the grader calls: a ``#| learner:`` probe
                          line or a ``collect_*`` helper
``simulation``            a ``judge_*(..., seeds=[...])`` call: judged by running the
                          simulator on seeds
``number``                ``check_number(...)`` (and no judge with seeds)
``evidence``              a CPD artifact from :mod:`labkit.evidence`, checked for completeness
``manual``                marked by the tutor (nbgrader task, or graded answer cell)
``check``                 any other autograded cell
========================  =================================================================

The first matching row wins, in that order.  Which parameters vary per learner is not in the
notebook: the lab's ``labkit.labs`` module lists, per check cell, the function that draws its
numbers (``VARIANTS``, see :mod:`labkit.variants`); the caller passes that mapping in (the
course tools never import lab code themselves).

:meth:`Item.to_dict` gives the stable JSON form ``labkit course items --json`` prints: ``lab``,
``grade_id``, ``kind``, ``points``, ``answers`` (names the check reads; for multiple choice
the letter's first), ``question`` (the
label the check uses, such as ``"Q1"``, or ``null``), ``options`` (letter -> text, multiple
choice only, else ``{}``), ``key`` (the right letter, or ``null``), ``varies`` (parameter ->
list of the values it is drawn from, ``null`` when the draw does not expose them; ``{}`` when
nothing varies) and ``description`` (the first line of the check's docstring).
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from labkit.course.answers import needs
from labkit.course.layout import Course, CourseError
from labkit.variants import SELF_STUDY, Variant

__all__ = ["Item", "KINDS", "lab_items", "notebook_items", "items_table"]

KINDS = ("multiple choice", "function", "simulation", "number", "evidence", "manual", "check")
Draw = Callable[..., Any]


@dataclass(frozen=True, kw_only=True)
class Item:
    """One graded cell of a lab."""

    lab: str
    grade_id: str
    kind: str
    points: float
    answers: tuple[str, ...] = ()
    question: str | None = None
    options: Mapping[str, str] = field(default_factory=dict)
    key: str | None = None
    varies: Mapping[str, tuple[Any, ...] | None] = field(default_factory=dict)
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The item as plain JSON data, with the keys the module docstring lists."""
        return {"lab": self.lab, "grade_id": self.grade_id, "kind": self.kind,
                "points": self.points, "answers": list(self.answers), "question": self.question,
                "options": dict(self.options), "key": self.key,
                "varies": {k: (list(v) if v is not None else None) for k, v in self.varies.items()},
                "description": self.description}


def _nbgrader(cell: Mapping[str, Any]) -> Mapping[str, Any]:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _source(cell: Mapping[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _literal(node: ast.expr | None) -> Any:
    if node is None:
        return None
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _calls(tree: ast.AST) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)]


def _multiple_choice(tree: ast.AST) -> dict[str, Any] | None:
    """``{"question", "options"}`` of the last ``MultipleChoice(...)`` call in a cell, if any."""
    found = None
    for call in _calls(tree):
        if _name(call.func) != "MultipleChoice":
            continue
        args = list(call.args)
        question = _literal(args[0] if args else _keyword(call, "question_id"))
        options = _literal(args[2] if len(args) > 2 else _keyword(call, "options"))
        if isinstance(options, (list, tuple)):           # texts lettered A, B, C ... in order
            options = {chr(ord("A") + i): v for i, v in enumerate(options)}
        if isinstance(options, Mapping):
            found = {"question": question if isinstance(question, str) else None,
                     "options": {str(k).strip().upper(): str(v) for k, v in options.items()}}
    return found


def _key(tree: ast.AST, names: set[str]) -> str | None:
    """The string a check compares one of ``names`` with (``assert q == "B"``)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq):
            left, right = node.left, node.comparators[0]
            for a, b in ((left, right), (right, left)):
                if isinstance(a, ast.Name) and a.id in names and isinstance(b, ast.Constant) \
                        and isinstance(b.value, str):
                    return b.value
    return None


def _choice_item(tree: ast.AST, call: ast.Call, above: dict[str, Any] | None
                 ) -> dict[str, Any]:
    first = [a.id for a in call.args[:1] if isinstance(a, ast.Name)]
    names = set(first)
    for node in ast.walk(tree):                       # q1 = check_choice(q1_answer, ...)
        if isinstance(node, ast.Assign) and node.value is call:
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    letters = _literal(call.args[1] if len(call.args) > 1 else _keyword(call, "options"))
    question = _literal(_keyword(call, "question"))
    options: dict[str, str] = {}
    if above and (above["question"] is None or question is None or above["question"] == question):
        options = dict(above["options"])
    elif isinstance(letters, str):
        options = {letter: "" for letter in letters}
    return {"kind": "multiple choice", "options": options, "key": _key(tree, names),
            "question": question if isinstance(question, str) else None,
            "letter": first[0] if first else None}


def _kind(source: str, tree: ast.AST, above: dict[str, Any] | None) -> dict[str, Any]:
    calls = _calls(tree)
    names = [_name(c.func) for c in calls]
    question = next((_literal(_keyword(c, "question")) for c in calls
                     if isinstance(_literal(_keyword(c, "question")), str)), None)
    choice = next((c for c in calls if _name(c.func) == "check_choice"), None)
    if choice is not None:
        return _choice_item(tree, choice, above)
    if "#| learner:" in source or any(n.startswith("collect_") for n in names):
        kind = "function"
    elif any(n.startswith("judge_") and _keyword(c, "seeds") is not None
             for n, c in zip(names, calls)):
        kind = "simulation"
    elif "check_number" in names:
        kind = "number"
    elif any(isinstance(n, ast.ImportFrom) and (n.module or "").startswith("labkit.evidence")
             for n in ast.walk(tree)):
        kind = "evidence"
    else:
        kind = "check"
    return {"kind": kind, "question": question}


def _description(tree: ast.Module) -> str:
    doc = ast.get_docstring(tree, clean=True) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def _varies(lab: str, grade_id: str, draw: Draw) -> dict[str, tuple[Any, ...] | None]:
    try:
        variant = draw(learner=SELF_STUDY)
    except Exception as exc:  # noqa: BLE001 - the lab's draw is named in the message
        raise CourseError(f"{lab}: VARIANTS[{grade_id!r}] could not draw a variant "
                          f"({type(exc).__name__}: {exc})") from None
    if isinstance(variant, Variant):
        return {name: (tuple(variant.choices[name]) if name in variant.choices else None)
                for name in variant.values}
    if isinstance(variant, Mapping):
        return {str(name): None for name in variant}
    raise CourseError(f"{lab}: VARIANTS[{grade_id!r}] must return a labkit.variants.Variant, "
                      f"got {type(variant).__name__}")


def notebook_items(nb: Mapping[str, Any], lab: str,
                   variants: Mapping[str, Draw] | None = None) -> list[Item]:
    """The items of one source notebook (a dict as ``nbformat`` or ``json`` reads it)."""
    items: list[Item] = []
    above: dict[str, Any] | None = None
    for index, cell in enumerate(nb.get("cells", [])):
        meta = _nbgrader(cell)
        source = _source(cell)
        tree: ast.Module | None = None
        if cell.get("cell_type") == "code":
            try:
                tree = ast.parse(source)
            except SyntaxError:
                tree = None                 # an answer stub or a magic: not a check
            mc = _multiple_choice(tree) if tree is not None else None
            if mc is not None:
                above = mc
        if not (meta.get("grade") or meta.get("task")):
            continue
        grade_id = str(meta.get("grade_id", f"cell {index}"))
        points = float(meta.get("points", 0) or 0)
        if meta.get("task") or meta.get("solution") or cell.get("cell_type") != "code":
            info: dict[str, Any] = {"kind": "manual"}
            answers: tuple[str, ...] = ()
            description = next((re.sub(r"[*_#`]", "", line).strip()
                                for line in source.splitlines() if line.strip()), "")
        else:
            if tree is None:
                raise CourseError(f"{lab}: check cell {grade_id} is not valid Python")
            info = _kind(source, tree, above)
            wanted = needs(source, where=f"{lab}: check cell {grade_id}")
            answers = wanted.names + wanted.probed
            letter = info.get("letter")
            if letter in answers:              # multiple choice: the letter's name comes first
                answers = (letter, *[a for a in answers if a != letter])
            description = _description(tree)
            if info["kind"] == "multiple choice":
                above = None                # one MultipleChoice cell per question
        varies = (_varies(lab, grade_id, variants[grade_id])
                  if variants and grade_id in variants else {})
        items.append(Item(lab=lab, grade_id=grade_id, kind=info["kind"], points=points,
                          answers=answers, question=info.get("question"),
                          options=info.get("options", {}), key=info.get("key"), varies=varies,
                          description=description))
    if variants:
        unknown = sorted(set(variants) - {i.grade_id for i in items})
        if unknown:
            raise CourseError(f"{lab}: VARIANTS names {', '.join(unknown)}, which "
                              f"{'is not a graded cell' if len(unknown) == 1 else 'are not graded cells'}"
                              f" of the source notebook")
    return items


def lab_items(course: Course, lab: str, variants: Mapping[str, Draw] | None = None) -> list[Item]:
    """Every graded item of ``lab``, in notebook order, read from ``source/<lab>/<lab>.ipynb``.

    ``variants`` is the lab module's ``VARIANTS`` (check grade id -> draw function), if any.
    """
    course.check_lab(lab)
    path = course.source_dir / lab / f"{lab}.ipynb"
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CourseError(f"{path}: not a readable notebook ({exc})") from None
    return notebook_items(nb, lab, variants)


def _varies_text(item: Item) -> str:
    parts = []
    for name, values in item.varies.items():
        if values is None:
            parts.append(name)
        elif len(values) > 8:          # e.g. every order of four options: say how many
            parts.append(f"{name}: {len(values)} values")
        else:
            parts.append(f"{name} in {{{', '.join(map(str, values))}}}")
    return "; ".join(parts) or "-"


def items_table(items: list[Item]) -> str:
    """Aligned text: lab, grade id, kind, points, key (multiple choice) and what varies."""
    rows = [("lab", "grade id", "kind", "points", "key", "varies")]
    for it in items:
        key = "-"
        if it.kind == "multiple choice":
            key = (f"drawn, of {''.join(it.options)}" if it.key is None and it.varies
                   else f"{it.key or '?'} of {''.join(it.options) or '?'}")
        rows.append((it.lab, it.grade_id, it.kind, f"{it.points:g}", key, _varies_text(it)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)
