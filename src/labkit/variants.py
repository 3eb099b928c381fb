"""Per-learner variants: every learner gets their own numbers for each numeric and simulation task.

A task with variants (after PrairieLearn's parametrised questions) draws its
parameters (an arrival rate, a budget, a fault time, a price) from a short
list of values, by a hash of the lab, the task and the **learner**.  Two
learners usually get different numbers, so an answer worked out by one is
wrong for the other; the same learner always gets the same numbers, on
every machine, so a notebook reopened next week shows what it showed today.

Who the learner is:

* **while grading**, the grader sets ``LABKIT_GRADING=1`` and
  ``LABKIT_LEARNER`` to the student id the submission is filed under, in
  the learner's kernel and in the kernel that judges it; nothing in the
  notebook can change it (:func:`set_learner` is then ignored);
* **while working**, the hub user (``JUPYTERHUB_USER``), else
  ``LABKIT_LEARNER``, else the id given to :func:`set_learner` in the
  notebook's first cell, else ``"self-study"``, one stable variant for
  everyone working alone.

>>> v = draw("lab0", "q2", {"rate_rps": [30, 40, 50], "service_ms": [60, 80]}, learner="ada")
>>> v == draw("lab0", "q2", {"rate_rps": [30, 40, 50], "service_ms": [60, 80]}, learner="ada")
True
>>> sorted(v.values)
['rate_rps', 'service_ms']
>>> v.choices["service_ms"]
(60, 80)

A variant keeps the lists its values were drawn from (``choices``), so tools
can say which parameters vary and over what (``labkit course items``).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from labkit.errors import LabkitError

__all__ = ["Variant", "VariantError", "learner", "set_learner", "attempt", "set_attempt", "draw",
           "grading", "SELF_STUDY"]

SELF_STUDY = "self-study"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")
_chosen: dict[str, str] = {}


class VariantError(LabkitError, ValueError):
    """A learner id or a variant's parameters broke a rule; the message says which."""


def grading() -> bool:
    """True inside a grading kernel (the learner is fixed by the grader)."""
    return os.environ.get("LABKIT_GRADING") == "1"


def _check_id(value: str, where: str) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise VariantError(f"{where} must be a learner id of letters, digits, '.', '_', '@' or '-' "
                           f"(at most 100), got {value!r}")
    return value


def learner() -> str:
    """The learner whose variant this kernel shows (see the module's docstring for the order)."""
    return _active()


def _active() -> str:
    if grading():
        return _check_id(os.environ.get("LABKIT_LEARNER", ""), "LABKIT_LEARNER (set by the grader)")
    for name in ("JUPYTERHUB_USER", "LABKIT_LEARNER"):
        if os.environ.get(name):
            return _check_id(os.environ[name], name)
    return _chosen.get("id", SELF_STUDY)


def set_learner(learner_id: str) -> str:
    """Choose the learner id for this kernel when no hub or environment names one.

    Returns the learner whose variant is shown.  While grading, and when the
    hub or ``LABKIT_LEARNER`` names the learner, the call changes nothing.
    """
    _chosen["id"] = _check_id(learner_id, "set_learner(learner_id)")
    return learner()


def attempt() -> int:
    """Which sitting this kernel draws for: 0 the first, 1 the first re-sit, ...

    While grading it is ``LABKIT_ATTEMPT`` as the grader sets it from the course's record of
    re-sits (absent: 0); while working, ``LABKIT_ATTEMPT``, else the number given to
    :func:`set_attempt`, else 0.  A re-sit draws fresh numbers and items for every task.
    """
    return _sitting()


def _sitting() -> int:
    if grading() or os.environ.get("LABKIT_ATTEMPT"):
        text = os.environ.get("LABKIT_ATTEMPT", "0") or "0"
        if not text.isdigit() or len(text) > 3:
            raise VariantError(f"LABKIT_ATTEMPT must be a whole number from 0 to 999, got {text!r}")
        return int(text)
    return int(_chosen.get("attempt", "0"))


def set_attempt(number: int) -> int:
    """Choose the sitting for this kernel when the environment does not (see :func:`attempt`)."""
    if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number <= 999:
        raise VariantError(f"set_attempt(number) must be a whole number from 0 to 999, "
                           f"got {number!r}")
    _chosen["attempt"] = str(number)
    return attempt()


def _seed(lab: str, item: str, who: str, attempt: int) -> int:
    text = f"labkit-variant/v1|{lab}|{item}|{who}|{attempt}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


@dataclass(frozen=True)
class Variant:
    """One learner's parameters for one task.

    ``choices`` holds, per parameter, the values it was drawn from (empty for a variant made
    by hand); it does not take part in comparisons.  Parameters are read as ``v.rate_rps`` or
    ``v["rate_rps"]``, so no parameter may be named like a field.
    """

    lab: str
    item: str
    learner: str
    values: Mapping[str, Any] = field(default_factory=dict)
    choices: Mapping[str, tuple[Any, ...]] = field(default_factory=dict, compare=False, repr=False)

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def __getattr__(self, name: str) -> Any:
        values = object.__getattribute__(self, "values")
        if name in values:
            return values[name]
        raise AttributeError(f"variant {self.lab}/{self.item} has no parameter {name!r} "
                             f"(it has {', '.join(values)})")


def draw(lab: str, item: str, params: Mapping[str, Sequence[Any]], *, learner: str | None = None,
         attempt: int | None = None) -> Variant:
    """Draw one value per parameter from its list, for ``learner`` (default: this kernel's).

    The draw depends only on the lab, the task, the learner and ``attempt``
    (a re-sit draws afresh), never on the order of other calls.
    """
    who = _check_id(learner, "learner") if learner is not None else _active()
    if attempt is None:
        attempt = _sitting()
    if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 0:
        raise VariantError(f"attempt must be a whole number >= 0, got {attempt!r}")
    values: dict[str, Any] = {}
    choices: dict[str, tuple[Any, ...]] = {}
    for name, options in params.items():
        options = tuple(options)
        if not options:
            raise VariantError(f"variant {lab}/{item}: parameter {name!r} has no values to draw from")
        pick = _seed(lab, f"{item}/{name}", who, attempt) % len(options)
        values[name] = options[pick]
        choices[name] = options
    return Variant(lab=lab, item=item, learner=who, values=values, choices=choices)
