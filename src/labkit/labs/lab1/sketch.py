"""Lab 1's CPD evidence: what this lab asks of a production system sketch.

The sketch itself is a :class:`labkit.evidence.SystemSketch`, whose own
checker applies the course's rules (every write approved and logged, every
model call with a timeout and a fallback, every data access with a
permission check, a plain-English boundary, monitoring, the model version
logged).  :func:`sketch_problems` adds what this lab asks on top: the four
parts of a typical production system (API layer, model, data store,
monitoring) and at least one write path, so the approval rule is exercised.

>>> from labkit.evidence import Component, DataPath, SystemSketch
>>> bare = SystemSketch(title="FAQ bot", owner="Support lead",
...     components=[Component(name="user", kind="client"), Component(name="api", kind="api")],
...     paths=[DataPath(source="user", target="api", action="call")])
>>> [p for p in sketch_problems(bare) if p.startswith("the sketch")]
["the sketch has no 'model' component: a production system has a model",
 "the sketch has no 'data' component: a production system has a data store",
 "the sketch has no 'monitor' component: a production system has monitoring",
 'the sketch has no write path: show at least one action the system can take
  (and how it is approved)']
>>> sketch_problems("my sketch")
['sketch must be a SystemSketch (from labkit.evidence), got str']

At grading the sketch crosses to the judge as plain data (:func:`sketch_data`, run in
the learner's kernel), and :func:`sketch_problems` takes that data as well:

>>> sketch_problems(sketch_data(bare)) == sketch_problems(bare)
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labkit.evidence import SystemSketch
from labkit.evidence.common import EvidenceError

__all__ = ["sketch_problems", "sketch_data", "REQUIRED_KINDS"]

#: The four parts of a typical production AI system, by component kind.
REQUIRED_KINDS = {"api": "an API layer", "model": "a model", "data": "a data store",
                  "monitor": "monitoring"}


def sketch_data(sketch: Any) -> Any:
    """The sketch as plain data (``SystemSketch.to_dict()``); a dict is returned as a plain
    dict, anything else unchanged (the grader then says what it is)."""
    if isinstance(sketch, SystemSketch):
        return sketch.to_dict()
    if isinstance(sketch, Mapping):
        return dict(sketch)
    return sketch


def sketch_problems(sketch: Any) -> list[str]:
    """The sketch checker's problems plus this lab's requirements (empty = complete).

    ``sketch`` is a :class:`SystemSketch` or its plain data (``to_dict()``).
    """
    if type(sketch) is dict:
        try:
            sketch = SystemSketch.from_dict(sketch)
        except (EvidenceError, TypeError, ValueError) as exc:
            return [f"sketch: its data does not describe a system sketch ({exc})"]
    if not isinstance(sketch, SystemSketch):
        return [f"sketch must be a SystemSketch (from labkit.evidence), got "
                f"{type(sketch).__name__}"]
    problems = list(sketch.check())
    kinds = {c.kind for c in sketch.components}
    for kind, words in REQUIRED_KINDS.items():
        if kind not in kinds:
            problems.append(f"the sketch has no {kind!r} component: a production system has "
                            f"{words}")
    if not any(p.action == "write" for p in sketch.paths):
        problems.append("the sketch has no write path: show at least one action the system "
                        "can take (and how it is approved)")
    return problems
