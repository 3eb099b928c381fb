"""The capstone: a customer-support assistant designed, run through a game day, and written up.

One product brief (:mod:`~labkit.labs.capstone.scenarios`): an assistant that answers from a
retrieval index, proposes refunds that need a person's approval, runs token by token behind
an upstream quota, on a monthly budget, through a day of diurnal traffic compressed into one
run.  Four parts:

1. **Design** (:mod:`~labkit.labs.capstone.design`): the learner sets the whole system's knobs
   as one dict; it is judged on unseen seeds against four budgets (TTFT, cost per 1k, success
   with quality, refunds only after approval), one point each;
2. **Game day** (:mod:`~labkit.labs.capstone.gameday`): an incident window replayed in real
   time with the dashboards, alerts and audit records on-call sees; graded on the diagnosis,
   the containment (applied mid-replay as a scheduled change) and the time to mitigate measured
   on the replay;
3. **Design document** and 4. **postmortem**: written, marked by a tutor with the mark scheme
   in the source notebook; both are evidence artifacts of the CPD pack.

Every number that grades a learner is drawn for that learner (:mod:`labkit.variants`): the
traffic, quota, refund share and cost budget of the design, and the fault of the game day.
Judges follow the labs' contract (plain data in, problems out, no passing answer named);
``VARIANTS`` maps each check cell to its draw and ``REVEAL`` to an explanation for
``labkit course feedback --reveal``.

>>> sorted(JUDGES)
['containment', 'cost', 'diagnosis', 'refunds', 'success', 'ttft', 'ttm']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

from labkit import variants
from labkit.labs.capstone import scenarios
from labkit.labs.capstone.design import (
    brief_rows,
    budget_problems,
    budget_rows,
    design_data,
    design_knobs,
    design_problems,
    judge_budget,
    measure,
    try_design,
)
from labkit.labs.capstone.gameday import (
    GameDay,
    containment_problems,
    diagnosis_problems,
    game_day,
    judge_containment,
    judge_diagnosis,
    judge_ttm,
    measured_ttm,
    menu,
    try_containment,
    ttm_min,
)
from labkit.labs.capstone.scenarios import (
    ACTIONS,
    BASE,
    BUDGETS,
    COMPONENTS,
    DESIGN_KNOBS,
    MECHANISMS,
    STARTING_DESIGN,
    design_case,
    incident_case,
)
from labkit.labs.common import check_seeds, table

__all__ = ["LAB", "BASE", "BUDGETS", "DESIGN_KNOBS", "STARTING_DESIGN", "COMPONENTS",
           "MECHANISMS", "ACTIONS", "scenarios", "design_case", "incident_case", "brief",
           "design_knobs", "design_data", "design_problems", "measure", "budget_rows", "budget_problems",
           "judge_budget", "try_design", "panel", "GameDay", "game_day", "menu",
           "diagnosis_problems", "containment_problems", "judge_diagnosis",
           "judge_containment", "judge_ttm", "try_containment", "ttm_min", "measured_ttm", "JUDGES",
           "VARIANTS", "REVEAL"]

LAB = scenarios.LAB


def brief(*, learner: str | None = None) -> Any:
    """The learner's product numbers and budgets, as a table."""
    return table(brief_rows(learner=learner))


def panel(**options: Any) -> Any:
    """A :class:`labkit.ui.Panel` on the learner's product, started at the team's first draft:
    the design knobs on the left, latency, outcomes and cost on the right."""
    from labkit.labs.common import panel as lab_panel

    base = design_knobs(dict(STARTING_DESIGN))
    options.setdefault("title", "Capstone: the support assistant")
    return lab_panel(list(DESIGN_KNOBS), base, views=["latency", "outcomes", "cost"], **options)


def _budget_judge(budget: str) -> Callable[..., list[str]]:
    def judge(answer: Any, *, seeds: Sequence[int], learner: str | None = None) -> list[str]:
        return judge_budget(budget, answer, seeds=check_seeds(seeds), learner=learner)
    judge.__name__ = f"judge_{budget}"
    judge.__doc__ = f"The design's {budget} budget, held on every seed."
    return judge


#: task -> judge (the labs' signature, plus ``learner=None``)
JUDGES: Mapping[str, Callable[..., list[str]]] = {
    **{budget: _budget_judge(budget) for budget in BUDGETS},
    "diagnosis": judge_diagnosis, "containment": judge_containment, "ttm": judge_ttm,
}

#: check cell (grade id) -> the draw of its numbers, for the instructor's tools
VARIANTS: dict[str, Callable[..., variants.Variant]] = {
    **{f"d_{budget}_check": design_case for budget in BUDGETS},
    "g1_diagnosis_check": incident_case, "g2_containment_check": incident_case,
    "g3_ttm_check": incident_case,
}


def _reveal_design(budget: str, learner: str) -> str:
    case = design_case(learner=learner)
    return (f"Your product had {case['rate_rps']:g} requests/s on average, a quota of "
            f"{case['upstream_tpm']:,.0f} tokens/min, {case['write_fraction']:.0%} refund "
            f"requests and a cost budget of ${case['cost_per_1k']:.2f} per 1k; the {budget} "
            "budget was judged on unseen seeds.")


def _reveal_incident(learner: str) -> str:
    case = incident_case(learner=learner)
    component, mechanism = scenarios.DIAGNOSES[case["fault"]]
    return (f"The injected fault was {case['fault']}: component {component}, mechanism "
            f"{mechanism}; your time-to-mitigate bound was {case['ttm_bound_min']:g} minutes.")


#: grade id -> the explanation feedback may show after grading (``--reveal`` only)
REVEAL: dict[str, Callable[[str], str]] = {
    **{f"d_{budget}_check": partial(_reveal_design, budget) for budget in BUDGETS},
    "g1_diagnosis_check": _reveal_incident, "g2_containment_check": _reveal_incident,
    "g3_ttm_check": _reveal_incident,
}
