"""Checkpoint helpers: questions answered in code, checked for form, judged fairly.

A lab's checkpoint asks three kinds of objective question, each answered by
assigning a variable in an answer cell:

* **multiple choice** (:class:`MultipleChoice`, :func:`check_choice`): the
  answer is one option letter, such as ``q1_answer = "B"``;
* **numeric** (:class:`NumericQuestion`, :func:`check_number`): the answer is
  a number in a stated unit;
* **simulation tasks** (:class:`SimTask`, :func:`judge_simulation`): the
  answer is a dict of the knobs the task lets the learner turn; it is judged
  by running :func:`labkit.sim.simulate` on fixed seeds and reporting which
  budgets hold.

The ``check_*`` functions validate only the *form* of an answer (its type,
range, which option letters exist) and raise :class:`CheckpointError` with a
message for the learner; they never know, so never reveal, the right answer.
The right answer lives in the lab's hidden tests.  Nothing here prints or
writes to stderr (nbgrader zeroes a test cell that does), and nothing imports
ipywidgets; questions render through IPython's ``_repr_markdown_`` protocol
and fall back to plain text.

>>> q = MultipleChoice("Q1", "Which is a latency budget?", ["p95 <= 500 ms", "$2 per 1k"])
>>> q.letters
('A', 'B')
>>> check_choice(" b ", q)
'B'
>>> check_choice("E", q)
Traceback (most recent call last):
...
labkit.checkpoints.CheckpointError: Q1: 'E' is not one of the options; answer with one of "A" or "B".
>>> check_number(3.2, minimum=0, question="Q2")
3.2
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from labkit.errors import LabkitError
from labkit.knobs import Catalogue, KnobError
from labkit.sim.scenario import CATALOGUE

__all__ = ["CheckpointError", "MultipleChoice", "NumericQuestion", "check_choice",
           "check_number", "knob_answer_problems", "SimTask", "SimVerdict", "BudgetCheck",
           "judge_simulation"]

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class CheckpointError(LabkitError, ValueError):
    """An answer has the wrong form; the message tells the learner what to fix."""


def _quoted(letters: Sequence[str]) -> str:
    items = [f'"{x}"' for x in letters]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _type_name(value: Any) -> str:
    """The value's type with its article: 'an int', 'a list'."""
    name = type(value).__name__
    return ("an " if name[:1].lower() in "aeiou" else "a ") + name


@dataclass(frozen=True)
class MultipleChoice:
    """A multiple-choice question whose answer is one option letter.

    ``options`` is a list of texts (lettered A, B, C ... in order) or a
    mapping from letter to text.  The last expression of a cell renders it.
    """

    question_id: str
    prompt: str
    options: Mapping[str, str] | Sequence[str]
    _options: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.question_id, str) or not self.question_id.strip():
            raise ValueError(f"question_id must be a non-empty string, got {self.question_id!r}")
        if isinstance(self.options, Mapping):
            opts = {str(k).strip().upper(): str(v) for k, v in self.options.items()}
        elif isinstance(self.options, Iterable) and not isinstance(self.options, str):
            opts = {_LETTERS[i]: str(v) for i, v in enumerate(self.options)}
        else:
            raise ValueError(f"{self.question_id}: options must be a list or a mapping, "
                             f"got {self.options!r}")
        if len(opts) < 2:
            raise ValueError(f"{self.question_id}: a multiple-choice question needs >= 2 "
                             f"options, got {len(opts)}")
        bad = [k for k in opts if len(k) != 1 or k not in _LETTERS]
        if bad:
            raise ValueError(f"{self.question_id}: option keys must be single letters A-Z, "
                             f"got {bad[0]!r}")
        object.__setattr__(self, "_options", opts)

    @property
    def letters(self) -> tuple[str, ...]:
        return tuple(self._options)

    def check(self, answer: Any) -> str:
        """The answer's letter in upper case, or :class:`CheckpointError`."""
        return check_choice(answer, self)

    def text(self) -> str:
        lines = [f"{self.question_id}. {self.prompt}", ""]
        lines += [f"  {k})  {v}" for k, v in self._options.items()]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    def _repr_markdown_(self) -> str:
        items = "\n".join(f"- **{k}**: {v}" for k, v in self._options.items())
        return f"**{self.question_id}.** {self.prompt}\n\n{items}\n"

    def show(self) -> None:
        """Display the question (as Markdown under IPython, as text nowhere else)."""
        _display(self)


@dataclass(frozen=True)
class NumericQuestion:
    """A question whose answer is a number, optionally in a unit and a possible range."""

    question_id: str
    prompt: str
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False

    def check(self, answer: Any) -> int | float:
        return check_number(answer, minimum=self.minimum, maximum=self.maximum,
                            integer=self.integer, unit=self.unit, question=self.question_id)

    def text(self) -> str:
        unit = f" (answer in {self.unit})" if self.unit else ""
        return f"{self.question_id}. {self.prompt}{unit}"

    def __str__(self) -> str:
        return self.text()

    def _repr_markdown_(self) -> str:
        unit = f" *(answer in {self.unit})*" if self.unit else ""
        return f"**{self.question_id}.** {self.prompt}{unit}\n"

    def show(self) -> None:
        _display(self)


def _display(obj: Any) -> None:
    try:
        from IPython.display import display  # lazily: labkit works without IPython
    except ImportError:  # pragma: no cover - IPython ships with every kernel
        return
    display(obj)


def check_choice(answer: Any, options: MultipleChoice | Iterable[str], *,
                 question: str | None = None) -> str:
    """Check that ``answer`` is exactly one of the option letters; return it upper-cased.

    ``options`` is a :class:`MultipleChoice` or the letters themselves (``"ABCD"``).
    """
    if isinstance(options, MultipleChoice):
        letters, question = options.letters, question or options.question_id
    else:
        letters = tuple(str(x).strip().upper() for x in options)
    q = question or "This question"
    if answer is None or answer is Ellipsis:
        raise CheckpointError(f"{q}: not answered yet; set your answer to one of "
                              f"{_quoted(letters)}.")
    if not isinstance(answer, str):
        raise CheckpointError(f"{q}: the answer must be one letter in quotes (a string), got "
                              f"{answer!r} ({_type_name(answer)}).")
    letter = answer.strip().upper()
    if len(letter) != 1:
        raise CheckpointError(f"{q}: choose exactly one option and write only its letter, got "
                              f"{answer!r}; answer with one of {_quoted(letters)}.")
    if letter not in letters:
        raise CheckpointError(f"{q}: {answer!r} is not one of the options; answer with one of "
                              f"{_quoted(letters)}.")
    return letter


def check_number(answer: Any, *, minimum: float | None = None, maximum: float | None = None,
                 integer: bool = False, unit: str = "", question: str | None = None) -> int | float:
    """Check that ``answer`` is a finite number in the possible range; return it as int or float."""
    q = question or "This question"
    in_unit = f" in {unit}" if unit else ""
    if answer is None or answer is Ellipsis:
        raise CheckpointError(f"{q}: not answered yet; set your answer to a number{in_unit}.")
    if isinstance(answer, str):
        raise CheckpointError(f"{q}: the answer must be a number, not text: remove the quotes "
                              f"around {answer!r}.")
    if isinstance(answer, bool) or not isinstance(answer, numbers.Real):
        raise CheckpointError(f"{q}: the answer must be a number{in_unit}, got {answer!r} "
                              f"({_type_name(answer)}).")
    value = float(answer)
    if not math.isfinite(value):
        raise CheckpointError(f"{q}: the answer must be a finite number, got {answer!r}.")
    if integer:
        if not value.is_integer():
            raise CheckpointError(f"{q}: the answer must be a whole number{in_unit}, got {answer!r}.")
        value = int(value)
    lo = "-inf" if minimum is None else f"{minimum:g}"
    hi = "inf" if maximum is None else f"{maximum:g}"
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise CheckpointError(f"{q}: {answer!r} is outside the possible range {lo} .. {hi}"
                              f"{in_unit}; check your units and your arithmetic.")
    return value


# --------------------------------------------------------------------- simulation tasks
def knob_answer_problems(answer: Any,
                         allowed: Mapping[str, tuple[float, float] | None] | Sequence[str], *,
                         task: str, catalogue: Catalogue | None = None,
                         build: Callable[[dict[str, Any]], object] | None = None) -> list[str]:
    """What is wrong with the *form* of a knob answer, one sentence per problem ([] = none).

    The one check of a learner's knob answer: it must be a dict of knobs the task lets the
    learner change (``allowed``: names, or names mapped to task bounds ``(low, high)`` or
    ``None`` for the catalogue's own range), each with a value the catalogue accepts.  With
    ``build``, the answer is also built into the task's full scenario, so a combination the
    simulator refuses is a problem too.  It returns problems instead of raising, so a judge
    can hand them on; :meth:`SimTask.check_knobs` raises them as a :class:`CheckpointError`.

    >>> knob_answer_problems({"model.replicas": 0}, ["model.replicas"], task="Q3")
    ['Q3: model.replicas must be >= 1, got 0']
    >>> knob_answer_problems({"model.replicas": 9}, {"model.replicas": (1, 8)}, task="Q3")
    ['Q3: model.replicas must lie in 1..8 for this task, got 9']
    """
    cat = CATALOGUE if catalogue is None else catalogue
    bounds = (dict(allowed) if isinstance(allowed, Mapping)
              else dict.fromkeys([allowed] if isinstance(allowed, str) else allowed))
    names = ", ".join(bounds)
    if answer is None or answer is Ellipsis:
        return [f"{task}: not answered yet; set your answer to a dict of knobs, using only "
                f"{names}."]
    if not isinstance(answer, Mapping):
        example = next(iter(bounds), "knob")
        return [f"{task}: the answer must be a dict such as {{{example!r}: ...}}, got "
                f"{_type_name(answer)}."]
    problems: list[str] = []
    for name, value in answer.items():
        if not isinstance(name, str) or name not in cat:
            problems.append(f"{task}: {cat.unknown_message(str(name))}")
            continue
        if name not in bounds:
            problems.append(f"{task}: this task lets you change only {names}; remove {name!r}.")
            continue
        try:
            value = cat[name].check(value)
        except KnobError as exc:
            problems.append(f"{task}: {exc}")
            continue
        limits = bounds[name]
        if limits is not None and not limits[0] <= value <= limits[1]:
            problems.append(f"{task}: {name} must lie in {limits[0]:g}..{limits[1]:g} for this "
                            f"task, got {value!r}")
    if not problems and build is not None:
        try:
            build(dict(answer))
        except KnobError as exc:
            problems.append(f"{task}: these knobs cannot run together: {exc}")
    return problems


def _fmt(budget: str, value: float) -> str:
    if budget == "success_rate":
        return f"{value:.2%}"
    if budget == "cost_per_1k":
        return f"${value:.3f} per 1k requests"
    if budget.endswith("_ms"):
        return f"{value:.0f} ms"
    return f"{value:.3g}"


@dataclass(frozen=True, kw_only=True)
class BudgetCheck:
    """One budget on one seed: the limit, what the run achieved and whether it held."""

    seed: int
    budget: str
    limit: float
    actual: float
    passed: bool


@dataclass(frozen=True, kw_only=True)
class SimVerdict:
    """Which budgets held on which seeds for a learner's knobs."""

    task: str
    knobs: Mapping[str, Any]
    seeds: tuple[int, ...]
    checks: tuple[BudgetCheck, ...]
    reveal_seeds: bool = True

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failures(self) -> tuple[BudgetCheck, ...]:
        return tuple(c for c in self.checks if not c.passed)

    def holds(self, budget: str) -> bool:
        """Did ``budget`` hold on every seed?"""
        return all(c.passed for c in self.checks if c.budget == budget)

    @property
    def message(self) -> str:
        if self.passed:
            where = (f"seed {self.seeds[0]}" if len(self.seeds) == 1 else f"all {len(self.seeds)} "
                     "seeds") if self.reveal_seeds else f"all {len(self.seeds)} unseen seeds"
            return f"{self.task}: every budget holds on {where}."
        parts = []
        for budget in dict.fromkeys(c.budget for c in self.failures):
            bad = [c for c in self.failures if c.budget == budget]
            worst = max(bad, key=lambda c: abs(c.actual - c.limit))
            rule = "at most" if worst.actual > worst.limit else "at least"
            seeds = (f"seed {', '.join(str(c.seed) for c in bad)}" if self.reveal_seeds
                     else f"{len(bad)} of {len(self.seeds)} unseen seeds")
            parts.append(f"{budget} does not hold on {seeds} (got {_fmt(budget, worst.actual)}, "
                         f"the budget is {rule} {_fmt(budget, worst.limit)})")
        return f"{self.task}: " + "; ".join(parts) + "."

    def _repr_markdown_(self) -> str:
        rows = ["| seed | budget | limit | actual | holds |", "|---|---|---|---|---|"]
        for c in self.checks:
            seed = str(c.seed) if self.reveal_seeds else "unseen"
            rows.append(f"| {seed} | {c.budget} | {_fmt(c.budget, c.limit)} | "
                        f"{_fmt(c.budget, c.actual)} | {'yes' if c.passed else '**no**'} |")
        return f"**{self.message}**\n\n" + "\n".join(rows) + "\n"

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, kw_only=True)
class SimTask:
    """A simulation task: a fixed starting scenario, the knobs a learner may turn, the budgets."""

    task_id: str
    base: Mapping[str, Any]
    allowed: tuple[str, ...]
    budgets: tuple[str, ...] = ()
    prompt: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "base", dict(CATALOGUE.validate(self.base)))
        allowed = tuple(self.allowed) if not isinstance(self.allowed, str) else (self.allowed,)
        for name in allowed:
            CATALOGUE.get_knob(name)
        if not allowed:
            raise ValueError(f"{self.task_id}: allowed must name at least one knob")
        object.__setattr__(self, "allowed", allowed)
        object.__setattr__(self, "budgets", tuple(self.budgets))

    def check_knobs(self, knobs: Any) -> dict[str, Any]:
        """The learner's knobs validated (see :func:`knob_answer_problems`), or
        :class:`CheckpointError` with every problem, one per line."""
        problems = knob_answer_problems(knobs, self.allowed, task=self.task_id)
        if problems:
            raise CheckpointError("\n".join(problems))
        return CATALOGUE.validate(knobs)

    def scenario(self, knobs: Any) -> dict[str, Any]:
        """The full knob mapping a run uses: the task's base with the learner's knobs on top."""
        return {**self.base, **self.check_knobs(knobs)}

    def run(self, knobs: Any, seed: int = 1) -> Any:
        """Run the learner's knobs on one seed and return the :class:`labkit.sim.Result`."""
        from labkit.sim import simulate  # lazily: the sim is only needed to judge

        scenario = self.scenario(knobs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return simulate(scenario, seed=int(seed))

    def judge(self, knobs: Any, seeds: Sequence[int], *, reveal_seeds: bool = True) -> SimVerdict:
        """Run on every seed and report, per seed and budget, whether the budget held."""
        clean = self.check_knobs(knobs)
        if not seeds:
            raise ValueError(f"{self.task_id}: judge needs at least one seed")
        checks: list[BudgetCheck] = []
        for seed in seeds:
            budgets = self.run(clean, seed).summary["budgets"]
            names = self.budgets or tuple(b for b, v in budgets.items() if v.get("judged", True))
            for name in names:
                b = budgets[name]
                checks.append(BudgetCheck(seed=int(seed), budget=name, limit=float(b["limit"]),
                                          actual=float(b["actual"]), passed=bool(b["pass"])))
        return SimVerdict(task=self.task_id, knobs=clean, seeds=tuple(int(s) for s in seeds),
                          checks=tuple(checks), reveal_seeds=reveal_seeds)

    def _repr_markdown_(self) -> str:
        start = ", ".join(f"`{k}={CATALOGUE[k].format(v)}`" for k, v in self.base.items()
                          if not k.startswith("budget."))
        budgets = ", ".join(f"`{k}={CATALOGUE[k].format(v)}`" for k, v in self.base.items()
                            if k.startswith("budget."))
        allowed = ", ".join(f"`{k}`" for k in self.allowed)
        prompt = f"{self.prompt}\n\n" if self.prompt else ""
        return (f"**{self.task_id}.** {prompt}- starting scenario: {start or 'the defaults'}\n"
                f"- budgets: {budgets or 'the defaults'}\n- knobs you may change: {allowed}\n")


def judge_simulation(knobs: Any, *, base: Mapping[str, Any], allowed: Sequence[str],
                     seeds: Sequence[int], budgets: Sequence[str] = (), task: str = "This task",
                     reveal_seeds: bool = True) -> SimVerdict:
    """Judge a learner's knobs: run ``base`` + ``knobs`` on ``seeds`` and report the budgets."""
    return SimTask(task_id=task, base=base, allowed=tuple(allowed), budgets=tuple(budgets)).judge(
        knobs, seeds, reveal_seeds=reveal_seeds)
