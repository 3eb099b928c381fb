"""The timed assessment: a mixed-format paper drawn per learner and sitting, with a pass standard.

The paper has fifteen slots over the course's four blocks (:data:`bank.BLOCKS`: the course
page's three, and lab 4's serving of language models and agents):

* **eight multiple-choice slots** (``m1`` ... ``m8``, 1 point each, two per block), each
  filled from a pool of items, with the options in a per-learner order;
* **five numeric slots** (``n1`` ... ``n5``, 2 points each) whose numbers are the learner's own;
* **one simulation decision** (``s1``, 4 points): the learner's traffic level, budgets on
  latency, cost and success; the answer is the cheapest configuration that holds them, judged
  on seeds the learner never sees;
* **one written answer** (``w1``, 4 points, marked by a tutor with the scheme in the source).

26 points: architecture 4, scaling 10, governance 8 (the written answer's 4 included), lab 4's
``llm`` block 4.

**Pass standard** (:data:`PASS_STANDARD`): at least 70% of all points, and at least half of the
points of every block, so a strong block cannot hide a missing one.

**Time limit**: :data:`TIME_LIMIT_MIN` minutes unless the instructor sets another in
``nbgrader_config.py`` (``c.TimedAssessment.time_limit_min = {"assessment-advanced": 60}``).
55 minutes is the paper's parts at the pace the CPD model uses for the labs (eight choice items
at a minute, five numeric items at four, the simulation decision at ten, the written answer at
ten, and five to read the instructions and check the answers: 53 minutes) with two minutes to
save and hand in: it is meant to be sat, not researched.  Lab 4's block added two choice items
and one numeric item (10 minutes) to the 45-minute paper of three blocks.

Every draw comes from :mod:`labkit.variants` with the lab, the slot, the learner and the
**sitting** (:func:`labkit.variants.attempt`), so a re-sit gets other items, other option orders
and other numbers.  Judges follow the labs' contract (plain data in, problems out, no passing
answer named) and take the learner from the kernel, which the grader fixes to the student id.

>>> item, question, key = choice("m3", learner="ada")
>>> question.check(key) == key and key in "ABCD"
True
"""

from __future__ import annotations

import datetime as _dt
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from labkit import variants
from labkit.checkpoints import (
    CheckpointError,
    MultipleChoice,
    NumericQuestion,
    SimTask,
    check_choice,
    check_number,
)
from labkit.labs.assessment.bank import BLOCKS, CHOICE_POOLS, NUMERIC_ITEMS, ChoiceItem, NumericItem
from labkit.labs.common import check_seeds

__all__ = ["LAB", "BLOCKS", "TIME_LIMIT_MIN", "PASS_STANDARD", "SLOTS", "BLOCK_OF", "POINTS",
           "choice", "numeric", "expected", "sim_variant", "sim_task", "show", "judge",
           "time_limit_min", "start", "Sitting", "JUDGES", "VARIANTS", "REVEAL",
           "CHOICE_POOLS", "NUMERIC_ITEMS", "option_roles"]

LAB = "assessment"
NOTEBOOK = "assessment-advanced"
TIME_LIMIT_MIN = 55
PASS_STANDARD = {"overall": 0.70, "per_block": 0.50}
_ORDERS = tuple(itertools.permutations(range(4)))
_LETTERS = "ABCD"

#: traffic level -> the cheapest fleet that holds every budget with the cache on (3, 4 and 5
#: replicas): chosen where one replica fewer breaks the latency budget on every seed and the
#: answer holds it with a margin (tests/labs/test_assessment.py searches them again)
SIM_PARAMS = {"rate_rps": (45, 75, 110)}
_SIM_BASE = {"load.duration_s": 120.0,
             "budget.p95_ms": 300.0,          # 95% of answers within 0.3 s
             "budget.p99_ms": 0.0,            # (not judged)
             "budget.cost_per_1k": 1.50,      # dollars per 1,000 requests
             "budget.success_rate": 0.99}
SIM_ALLOWED = ("model.replicas", "cache.enabled")

SLOTS: dict[str, str] = {**{slot: "choice" for slot in CHOICE_POOLS},
                         **{slot: "numeric" for slot in NUMERIC_ITEMS},
                         "s1": "simulation", "w1": "written"}
POINTS = {**{slot: 1 for slot in CHOICE_POOLS}, **{slot: 2 for slot in NUMERIC_ITEMS},
          "s1": 4, "w1": 4}
#: grade id -> block, for the pass standard (check cells and the written task)
BLOCK_OF: dict[str, str] = {**{f"{slot}_check": pool[0].block for slot, pool in CHOICE_POOLS.items()},
                            **{f"{slot}_check": item.block for slot, item in NUMERIC_ITEMS.items()},
                            "s1_check": "scaling", "w1_task": "governance"}


# ------------------------------------------------------------------ draws
def choice(slot: str, *, learner: str | None = None,
           attempt: int | None = None) -> tuple[ChoiceItem, MultipleChoice, str]:
    """This learner's item for a choice slot, as a question with its options in their order,
    and the key's letter (the grader's; the notebook shows only the question)."""
    v = _choice_draw(slot, learner=learner, attempt=attempt)
    item = CHOICE_POOLS[slot][v["pick"]]
    texts = (item.key, *item.distractors)
    options = {_LETTERS[i]: texts[k] for i, k in enumerate(v["order"])}
    question = MultipleChoice(slot.upper(), item.stem, options)
    return item, question, _LETTERS[v["order"].index(0)]


def _choice_draw(slot: str, *, learner: str | None = None,
                 attempt: int | None = None) -> variants.Variant:
    pool = CHOICE_POOLS[slot]
    return variants.draw(LAB, slot, {"pick": range(len(pool)), "order": _ORDERS},
                         learner=learner, attempt=attempt)


def option_roles(grade_id: str, *, learner: str,
                 attempt: int = 0) -> tuple[str, dict[str, str]] | None:
    """For a choice check: the bank item ``learner``'s sitting drew and what each letter of
    their paper stood for (``"key"``, ``"distractor 1"`` to ``"distractor 3"``, in the bank's
    order); None for any other check.  Item analysis reads answers through this, because the
    same letter names different options on different papers."""
    slot = grade_id.removesuffix("_check")
    if slot not in CHOICE_POOLS:
        return None
    v = _choice_draw(slot, learner=learner, attempt=attempt)
    roles = {_LETTERS[i]: "key" if k == 0 else f"distractor {k}" for i, k in enumerate(v["order"])}
    return CHOICE_POOLS[slot][v["pick"]].item_id, roles


def numeric(slot: str, *, learner: str | None = None,
            attempt: int | None = None) -> tuple[NumericItem, variants.Variant]:
    """This learner's numbers for a numeric slot."""
    item = NUMERIC_ITEMS[slot]
    return item, variants.draw(LAB, slot, item.params, learner=learner, attempt=attempt)


def expected(slot: str, *, learner: str | None = None) -> float:
    """The grader's reference for this learner's numeric slot."""
    item, v = numeric(slot, learner=learner)
    return float(item.answer(v.values))


def sim_variant(*, learner: str | None = None) -> variants.Variant:
    """This learner's traffic for the simulation decision."""
    return variants.draw(LAB, "s1", SIM_PARAMS, learner=learner)


def sim_task(*, learner: str | None = None) -> SimTask:
    """The simulation decision for this learner: their traffic, the budgets, two knobs."""
    rate = float(sim_variant(learner=learner).rate_rps)
    return SimTask(task_id="S1", allowed=SIM_ALLOWED, base={"load.rate_rps": rate, **_SIM_BASE},
                   prompt=f"Traffic is {rate:g} requests per second. Choose the number of "
                          "replicas and whether the response cache is on so that every budget "
                          "holds at the lowest cost: no replica more than the budgets need.")


def show(slot: str) -> Any:
    """The learner's question for ``slot`` (the last expression of a cell displays it)."""
    kind = SLOTS.get(slot)
    if kind == "choice":
        return choice(slot)[1]
    if kind == "numeric":
        item, v = numeric(slot)
        return NumericQuestion(slot.upper(), item.text(v.values), unit=item.unit,
                               minimum=item.minimum, maximum=item.maximum)
    if kind == "simulation":
        return sim_task()
    raise ValueError(f"slot must be one of {', '.join(s for s in SLOTS if s != 'w1')}, "
                     f"got {slot!r}")


# ------------------------------------------------------------------ judges
def judge(slot: str, answer: Any, *, seeds: Sequence[int] = (1,),
          learner: str | None = None) -> list[str]:
    """Problems with the learner's answer to ``slot`` (``[]``: it earns the points)."""
    kind = SLOTS.get(slot)
    name = slot.upper()
    if kind == "choice":
        try:
            letter = check_choice(answer, _LETTERS, question=name)
        except CheckpointError as exc:
            return [str(exc)]
        return [] if letter == choice(slot, learner=learner)[2] else [
            f"{name}: not the best option."]
    if kind == "numeric":
        item = NUMERIC_ITEMS[slot]
        try:
            value = check_number(answer, minimum=item.minimum, maximum=item.maximum,
                                 unit=item.unit, question=name)
        except CheckpointError as exc:
            return [str(exc)]
        target = expected(slot, learner=learner)
        if not math.isclose(value, target, rel_tol=0.0, abs_tol=item.tolerance(target)):
            return [f"{name}: not the expected number for your figures."]
        return []
    if kind == "simulation":
        return _judge_sim(answer, seeds=check_seeds(seeds), learner=learner)
    raise ValueError(f"slot must be one of {', '.join(SLOTS)}, got {slot!r}")


def _judge_sim(answer: Any, *, seeds: Sequence[int], learner: str | None) -> list[str]:
    task = sim_task(learner=learner)
    try:
        verdict = task.judge(answer, seeds=seeds, reveal_seeds=False)
    except CheckpointError as exc:
        return [str(exc)]
    if not verdict.passed:
        return [verdict.message]
    fewer = int(answer["model.replicas"]) - 1
    if fewer >= 1 and task.judge({**answer, "model.replicas": fewer}, seeds=seeds,
                                 reveal_seeds=False).passed:
        return ["S1: every budget holds, but not at the lowest cost: the budgets hold on "
                "unseen traffic with less."]
    return []


def _slot_judge(slot: str) -> Callable[..., list[str]]:
    def judge_slot(answer: Any, *, seeds: Sequence[int]) -> list[str]:
        check_seeds(seeds)
        return judge(slot, answer, seeds=seeds)
    judge_slot.__name__ = f"judge_{slot}"
    judge_slot.__doc__ = f"Slot {slot} of the assessment, for this kernel's learner."
    return judge_slot


JUDGES: dict[str, Callable[..., list[str]]] = {
    slot: _slot_judge(slot) for slot, kind in SLOTS.items() if kind != "written"}

#: check cell (grade id) -> the draw of its numbers or items, for the instructor's tools
VARIANTS: dict[str, Callable[..., variants.Variant]] = {
    **{f"{slot}_check": partial(_choice_draw, slot) for slot in CHOICE_POOLS},
    **{f"{slot}_check": partial(lambda s, learner=None: numeric(s, learner=learner)[1], slot)
       for slot in NUMERIC_ITEMS},
    "s1_check": sim_variant,
}


def _reveal_choice(slot: str, learner: str) -> str:
    item, _question, key = choice(slot, learner=learner)
    return f"The best option was {key}: {item.key} {item.why}"


def _reveal_numeric(slot: str, learner: str) -> str:
    item, v = numeric(slot, learner=learner)
    return (f"With your figures the answer was {item.answer(v.values):.4g} {item.unit}. "
            f"{item.why}")


def _reveal_sim(learner: str) -> str:
    rate = sim_variant(learner=learner).rate_rps
    return (f"At {rate} requests per second only the cache brings the cost under budget; the "
            "fewest replicas that keep the 95th percentile under 300 ms on unseen seeds were "
            "the answer.")


#: grade id -> the explanation feedback may show after grading (``--reveal`` only)
REVEAL: dict[str, Callable[[str], str]] = {
    **{f"{slot}_check": partial(_reveal_choice, slot) for slot in CHOICE_POOLS},
    **{f"{slot}_check": partial(_reveal_numeric, slot) for slot in NUMERIC_ITEMS},
    "s1_check": _reveal_sim,
}


@dataclass(frozen=True)
class Sitting:
    """What the first cell of the paper shows: whose paper, which sitting, the time allowed."""

    learner: str
    attempt: int
    limit_min: int
    started: _dt.datetime

    @property
    def submit_by(self) -> _dt.datetime:
        return self.started + _dt.timedelta(minutes=self.limit_min)

    def text(self) -> str:
        first = "first sitting" if self.attempt == 0 else f"re-sit {self.attempt}"
        return (f"Paper of learner {self.learner!r}, {first}. Time allowed: {self.limit_min} "
                f"minutes. Started {self.started:%H:%M} UTC: submit by {self.submit_by:%H:%M} "
                "UTC. Your submission's time is what counts; work handed in after the limit is "
                "flagged in your grade.")

    def __str__(self) -> str:
        return self.text()

    def _repr_markdown_(self) -> str:
        return f"**{self.text()}**"


def start(*, now: _dt.datetime | None = None) -> Sitting:
    """Begin the paper: the learner, the sitting and the time limit, shown in the first cell."""
    started = (now or _dt.datetime.now(_dt.timezone.utc)).astimezone(_dt.timezone.utc)
    return Sitting(learner=variants.learner(), attempt=variants.attempt(),
                   limit_min=time_limit_min(), started=started)


def time_limit_min(root: str | Path | None = None) -> int:
    """The sitting's time limit: ``c.TimedAssessment.time_limit_min`` in the workbook's
    ``nbgrader_config.py`` for this notebook when set there, else :data:`TIME_LIMIT_MIN`."""
    from traitlets.config.loader import PyFileConfigLoader

    start = Path(root) if root is not None else Path.cwd()
    for folder in (start.resolve(), *start.resolve().parents):
        config = folder / "nbgrader_config.py"
        if config.is_file():
            try:
                loaded = PyFileConfigLoader(config.name, path=str(folder)).load_config()
            except Exception:        # a broken config is the instructor's to fix; show the default
                return TIME_LIMIT_MIN
            limits = loaded.get("TimedAssessment", {}).get("time_limit_min", {})
            value = limits.get(NOTEBOOK) if isinstance(limits, dict) else None
            return int(value) if isinstance(value, int) and value > 0 else TIME_LIMIT_MIN
    return TIME_LIMIT_MIN
