"""What the labs share: the judge contract, answer forms, seeded cases, tables and panels.

Every graded simulation task of every lab has a *judge*, and every judge has one signature::

    judge_x(answer, *, seeds) -> list[str]

* ``answer`` is plain data: dicts, lists, strings, numbers, booleans, ``None``.  It is never a
  function or a run.  When a task asks for a function (read an audit trail), the lab's
  ``collect_*`` helper first calls that function on the runs of each seed, where the learner's
  code runs, and the judge reads what it returned.
* ``seeds`` are the seeds to grade on.  Whatever else a case needs (when the outage starts,
  which deployment is traced) follows from the seed through :func:`case_for`, so a judge needs
  nothing but the answer and the seeds, and a variant per learner is a seed per learner.
* It returns problems, one sentence each, saying what failed, on which seed and where to
  look; ``[]`` means the answer passes.  An answer of the wrong form is a problem too, never
  an exception, so grading code can call every judge the same way.
* No message names an answer that passes.  A message may quote the learner's own value, a
  budget or a knob to look at, never the value to choose (``tests/labs`` checks this over a
  grid of right and wrong answers).

Besides ``JUDGES``, a lab module converted to trusted grading may declare two mappings keyed by
the grade id of a check cell, which the instructor's tools read (only ``labkit.commands``
imports lab modules; the course tools receive these mappings as arguments):

* ``VARIANTS = {grade_id: draw}``: ``draw(*, learner=None) -> labkit.variants.Variant`` gives
  a learner's numbers for that check (``labkit course items`` lists the parameters and the
  values they are drawn from; the trusted-grading tests copy answers between learners);
* ``REVEAL = {grade_id: fn}`` (optional): ``fn(learner: str) -> str`` is one or two plain
  sentences explaining the right answer *for that learner's variant*, shown under the check
  cell by ``labkit course feedback LAB --reveal`` (never by default).  It is called after
  grading, in the instructor's process, with the student id the submission is filed under; it
  must not quote hidden test code (the feedback is still checked line by line for it).
  Multiple-choice checks need no entry: their key is read from the source notebook.

Forms are checked by :func:`~labkit.checkpoints.knob_answer_problems`, the one check of a
knob answer, and :func:`form_problems`, which turns any :mod:`labkit.checkpoints` check into
problems.  A mistake of the notebook's author (no seeds at all) raises ``ValueError``.

>>> case_for(7, ("a", "b", "c"))
'b'
>>> from labkit.checkpoints import check_number
>>> form_problems(check_number, "3", question="Task 2")
["Task 2: the answer must be a number, not text: remove the quotes around '3'."]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Protocol, TypeVar

import numpy as np

from labkit.checkpoints import CheckpointError, knob_answer_problems

__all__ = ["Judge", "knob_answer_problems", "form_problems", "check_seeds", "case_for",
           "frozen", "NO_BUDGETS", "plain", "call_learner", "Table", "table", "beside",
           "panel"]

T = TypeVar("T")


class Judge(Protocol):
    """A task's judge: plain-data answer and seeds in, problems out (empty: it passes)."""

    def __call__(self, answer: Any, *, seeds: Sequence[int]) -> list[str]: ...


def form_problems(check: Callable[..., Any], *args: Any, **kwargs: Any) -> list[str]:
    """Run a :mod:`labkit.checkpoints` form check; its :class:`CheckpointError` as problems."""
    try:
        check(*args, **kwargs)
    except CheckpointError as exc:
        return [str(exc)]
    return []


def check_seeds(seeds: Iterable[int]) -> tuple[int, ...]:
    """The seeds a judge grades on, as ints; none at all is the author's mistake.

    >>> check_seeds([1, np.int64(2)])
    (1, 2)
    """
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Iterable):
        raise ValueError(f"seeds must be a list of whole numbers, got {seeds!r}")
    out = []
    for seed in seeds:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"every seed must be a whole number >= 0, got {seed!r}")
        out.append(int(seed))
    if not out:
        raise ValueError("seeds must name at least one seed: a judge with no seed passes "
                         "any answer")
    return tuple(out)


def case_for(seed: int, cases: Sequence[T]) -> T:
    """The case ``seed`` stands for: ``cases[seed % len(cases)]``.

    A task lists its cases (outage timings, deployments) once; the seed picks one, so the
    learner can look up the case of a seed they were shown, and hidden seeds reach every case.
    """
    if not cases:
        raise ValueError("cases must not be empty")
    return cases[int(seed) % len(cases)]


def frozen(knobs: Mapping[str, Any]) -> Mapping[str, Any]:
    """A read-only view, so a notebook cannot change a scenario the hidden tests also use."""
    return MappingProxyType(dict(knobs))


#: The simulator's own budgets switched off (0 = not judged), for scenarios whose task judges
#: its own numbers, so a run's ``all_budgets_pass`` never disagrees with the task.
NO_BUDGETS: Mapping[str, float] = frozen({
    "budget.p95_ms": 0.0, "budget.p99_ms": 0.0, "budget.cost_per_1k": 0.0,
    "budget.success_rate": 0.0,
})


def plain(value: Any) -> Any:
    """``value`` as plain data: numpy scalars as Python numbers, tuples and arrays as lists.

    >>> plain({"a": np.float64(0.5), "b": (np.int64(1), "x")})
    {'a': 0.5, 'b': [1, 'x']}
    """
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def call_learner(fn: Any, *args: Any, name: str) -> dict[str, Any]:
    """Call the learner's function ``name(*args)``: ``{"answer": <plain dict>}``, or
    ``{"error": <sentence>}`` when it is no function, raises or returns no dict."""
    if not callable(fn):
        return {"error": f"{name} must be a function, got {fn!r}"}
    try:
        got = fn(*args)
    except Exception as exc:  # noqa: BLE001 - report the learner's error, do not crash
        shown = ", ".join(["result", *map(repr, args[1:])])
        return {"error": f"{name}({shown}) raised {type(exc).__name__}: {exc}"}
    if not isinstance(got, Mapping):
        return {"error": f"{name} must return a dict, got {type(got).__name__}"}
    return {"answer": plain(got)}


# ------------------------------------------------------------------------------ tables
def _cell(value: Any, digits: int) -> str:
    if value is None:
        return "-"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isnan(v):
            return "-"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.{digits}g}"
    return str(value)


class Table:
    """Rows of dicts shown as a Markdown table in a notebook and as aligned text elsewhere.

    >>> t = Table([{"shape": "rag", "p95_ms": 334.239, "ok": False, "lag_s": None}])
    >>> print(t.markdown())
    | shape | p95_ms | ok | lag_s |
    |---|---|---|---|
    | rag | 334 | no | - |
    >>> t
    shape | p95_ms | ok | lag_s
    rag   | 334    | no | -
    """

    def __init__(self, rows: Iterable[Mapping[str, Any]], digits: int = 3):
        self.rows = [dict(r) for r in rows]
        self.digits = digits

    def _cells(self) -> tuple[list[str], list[list[str]]]:
        cols = list(dict.fromkeys(k for r in self.rows for k in r))
        return cols, [[_cell(r.get(c), self.digits) for c in cols] for r in self.rows]

    def markdown(self) -> str:
        """The table as Markdown text (``(no rows)`` when empty)."""
        if not self.rows:
            return "(no rows)"
        cols, body = self._cells()
        return "\n".join(["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
                         + ["| " + " | ".join(row) + " |" for row in body])

    def _repr_markdown_(self) -> str:
        return self.markdown()

    def __repr__(self) -> str:
        if not self.rows:
            return "(no rows)"
        cols, body = self._cells()
        widths = [max(len(x) for x in col) for col in zip(cols, *body, strict=True)]
        return "\n".join(" | ".join(x.ljust(w) for x, w in zip(row, widths, strict=True)).rstrip()
                         for row in [cols, *body])


def table(rows: Iterable[Mapping[str, Any]], digits: int = 3) -> Table:
    """Rows of dicts as a :class:`Table` (numbers to ``digits`` significant figures)."""
    return Table(rows, digits)


def beside(prediction: Any, observed: str) -> Table:
    """The learner's prediction, written before a run, next to what the run showed.

    Predictions are not marked: they make the run a test of what the learner expected.  Every
    lab's activities end with this table (labs 1, 2 and 4 re-export it as ``labN.beside``).

    >>> beside("  ", "p95 doubled").rows
    [{'you predicted': '(no prediction written)', 'the run shows': 'p95 doubled'}]
    >>> beside(None, "recall fell").rows[0]["you predicted"]
    '(no prediction written)'
    """
    said = str(prediction).strip() if prediction is not None else ""
    return table([{"you predicted": said or "(no prediction written)", "the run shows": observed}])


# ------------------------------------------------------------------------------ panels
def panel(knobs: str | Sequence[str], base: Mapping[str, Any], *,
          views: Sequence[str] | None = None, **options: Any) -> Any:
    """A :class:`labkit.ui.Panel` showing ``knobs``, started (and reset) at the scenario ``base``.

    Shown knobs start at their value in ``base``; the rest of ``base`` stays as it is.  The
    panel simulates once as it is built.  ``options`` go to the Panel (``seed=``,
    ``title=`` ...).
    """
    from labkit.ui import Panel  # deferred: judges and grading kernels need no widgets

    return Panel(knobs, base=base, views=views, **options)
