"""What every lab's simulation task checks first: the form of a learner's knob answer.

A task lets the learner change a few knobs, sometimes within task-specific bounds.  Before
anything is simulated, the answer must be a dict of those knobs with values the catalogue
accepts; each problem is one sentence naming the task, the knob, the rule and the value.

>>> check_task_knobs({"model.replicas": 0}, {"model.replicas": None}, "Task 2")
['Task 2: model.replicas must be >= 1, got 0']
>>> check_task_knobs({"cache.enabled": True}, {"model.replicas": (1, 8)}, "Task 2")
["Task 2: 'cache.enabled' is not a knob this task lets you change; allowed: model.replicas"]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labkit.knobs import CATALOGUE, KnobError

__all__ = ["check_task_knobs"]


def check_task_knobs(answer: Any, allowed: Mapping[str, tuple[float, float] | None],
                     task: str) -> list[str]:
    """Problems with the *form* of a knob answer: a dict of allowed, valid knob values.

    ``allowed`` maps each knob the task lets the learner change to its (low, high) bounds
    for this task, or ``None`` for the catalogue's own range.
    """
    if not isinstance(answer, Mapping):
        return [f"{task}: the answer must be a dict of knob names to values, "
                f"got {type(answer).__name__}"]
    problems = []
    for name, value in answer.items():
        if name not in allowed:
            problems.append(f"{task}: {name!r} is not a knob this task lets you change; "
                            f"allowed: {', '.join(allowed)}")
            continue
        try:
            value = CATALOGUE[name].check(value)
        except KnobError as exc:
            problems.append(f"{task}: {exc}")
            continue
        bounds = allowed[name]
        if bounds is not None and not bounds[0] <= value <= bounds[1]:
            problems.append(f"{task}: {name} must lie in {bounds[0]:g}..{bounds[1]:g} for "
                            f"this task, got {value!r}")
    return problems
