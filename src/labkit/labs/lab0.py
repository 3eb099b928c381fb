"""Lab 0 (orientation): its two tasks with numbers of their own for every learner.

* **Q2** (Little's law): requests arrive at ``rate_rps`` and each keeps a
  replica busy for ``service_ms`` on average; how many replicas are busy?
* **Q3** (simulation): traffic has grown to ``rate_rps``; find the
  **smallest** ``model.replicas`` for which every budget holds (right-sizing:
  every replica costs money while it is warm).  It passes when every budget
  holds on unseen seeds and one replica fewer breaks a budget there, so the
  answer depends on the learner's traffic.

Both draw from :mod:`labkit.variants`, so the numbers are the learner's own
(at grading: the student the submission is filed under).  Judges follow the
labs' contract (:mod:`labkit.labs.common`): plain data in, problems out,
never a passing value named.  After grading, ``REVEAL`` gives the feedback's
explanation of each task for one learner (``labkit course feedback --reveal``).

>>> v = q2(learner="ada")
>>> v.rate_rps * v.service_ms / 1000 == expected_q2(learner="ada")
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from labkit import variants
from labkit.checkpoints import CheckpointError, SimTask, check_number
from labkit.labs.common import check_seeds

__all__ = ["q2", "q3", "q3_task", "expected_q2", "judge_q2", "judge_q3", "Q2_TOLERANCE", "JUDGES",
           "VARIANTS", "REVEAL", "Q3_SMALLEST"]

LAB = "lab0"
Q2_PARAMS = {"rate_rps": (24, 30, 36, 40, 45, 50, 56, 60),
             "service_ms": (60, 70, 80, 90, 110, 120)}
#: traffic levels whose smallest sufficient fleet differs (4, 5, 6 and 7 replicas), each well
#: inside its band, so one replica fewer overloads the fleet on every seed
Q3_PARAMS = {"rate_rps": (36, 48, 60, 72)}
#: the smallest fleet that holds every Q3 budget at each traffic level (what the feedback
#: reveals; tests/course/test_feedback_reveal.py checks it against judge_q3)
Q3_SMALLEST = {36: 4, 48: 5, 60: 6, 72: 7}
Q2_TOLERANCE = 0.05
_Q3_BASE = {"load.duration_s": 60.0, "cache.enabled": False,
            "budget.p95_ms": 500.0,          # 95% of answers within half a second
            "budget.p99_ms": 0.0,            # (0 = not judged)
            "budget.cost_per_1k": 2.20,      # dollars per 1,000 requests
            "budget.success_rate": 0.99}     # at least 99% of requests answered


def q2(*, learner: str | None = None) -> variants.Variant:
    """This learner's numbers for Q2."""
    return variants.draw(LAB, "q2", Q2_PARAMS, learner=learner)


def q3(*, learner: str | None = None) -> variants.Variant:
    """This learner's traffic for Q3."""
    return variants.draw(LAB, "q3", Q3_PARAMS, learner=learner)


def q3_task(*, learner: str | None = None) -> SimTask:
    """Q3 as a simulation task: this learner's traffic, the budgets, one knob to turn."""
    rate = float(q3(learner=learner).rate_rps)
    return SimTask(task_id="Q3", allowed=("model.replicas",),
                   base={"load.rate_rps": rate, **_Q3_BASE},
                   prompt=f"Traffic has grown to {rate:g} requests per second. Find the smallest "
                          f"number of replicas for which every budget holds.")


def expected_q2(*, learner: str | None = None) -> float:
    """Replicas busy on average in this learner's Q2 (the grader's reference)."""
    v = q2(learner=learner)
    return v.rate_rps * v.service_ms / 1000.0


def judge_q2(answer: Any, *, seeds: Sequence[int] = (), learner: str | None = None) -> list[str]:
    """Q2: within ``Q2_TOLERANCE`` of this learner's rate x time (seeds are not used)."""
    try:
        value = check_number(answer, minimum=0, unit="replicas", question="Q2")
    except CheckpointError as exc:
        return [str(exc)]
    if abs(value - expected_q2(learner=learner)) > Q2_TOLERANCE:
        return ["Q2: not the expected number; multiply your arrival rate by the time each request "
                "keeps a replica busy, in seconds."]
    return []


def judge_q3(answer: Any, *, seeds: Sequence[int], learner: str | None = None) -> list[str]:
    """Q3: every budget holds on every seed for this learner's traffic, and not with one fewer."""
    seeds = check_seeds(seeds)
    task = q3_task(learner=learner)
    try:
        verdict = task.judge(answer, seeds=seeds, reveal_seeds=False)
    except CheckpointError as exc:
        return [str(exc)]
    if not verdict.passed:
        return [verdict.message]
    fewer = int(answer["model.replicas"]) - 1
    if fewer >= 1 and task.judge({"model.replicas": fewer}, seeds=seeds, reveal_seeds=False).passed:
        return ["Q3: every budget holds, but this is not the smallest fleet that holds them on "
                "unseen traffic; each replica costs money while it is warm."]
    return []


JUDGES = {"q2": judge_q2, "q3": judge_q3}
#: check cell (grade_id) -> the draw of its numbers, for tools that list or test variants
VARIANTS = {"q2_check": q2, "q3_check": q3}


def _reveal_q2(learner: str) -> str:
    v = q2(learner=learner)
    return (f"with your numbers, {v.rate_rps} requests/s x {v.service_ms} ms = {v.rate_rps} x "
            f"{v.service_ms / 1000:g} s = {expected_q2(learner=learner):g} replicas busy on average "
            f"(Little's law: busy replicas = arrival rate x time in service, in seconds).")


def _reveal_q3(learner: str) -> str:
    rate = q3(learner=learner).rate_rps
    return (f"at your traffic of {rate} requests/s the smallest fleet that holds every budget on "
            f"unseen seeds is {Q3_SMALLEST[rate]} replicas; one fewer overloads the fleet.")


#: check cell (grade_id) -> the explanation feedback shows a learner after grading, on request
REVEAL = {"q2_check": _reveal_q2, "q3_check": _reveal_q3}
