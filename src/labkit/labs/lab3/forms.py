"""What lab 3's answers look like: the form checks of its non-knob answers.

Each check returns problems, one sentence each ([] = the form is right), as
every form check of the labs does; a knob answer (task 3) is checked by
:func:`~labkit.labs.common.knob_answer_problems`.  Helpers that need a
well-formed answer to run (:func:`~labkit.labs.lab3.analysis.null_rules`,
:func:`~labkit.labs.lab3.analysis.containment`) raise these problems as a
:class:`~labkit.checkpoints.CheckpointError`.

>>> rule_answer_problems({"threshold": 0.5}, "T2")
["T2: the answer must be a dict with exactly the keys 'threshold' and 'window_h', got ..."]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labkit.checkpoints import check_number
from labkit.labs.common import form_problems
from labkit.labs.lab3.scenarios import TRACE_KEYS
from labkit.monitor.knobs import MONITOR_CATALOGUE

__all__ = ["threshold_answer_problems", "rule_answer_problems", "containment_answer_problems",
           "trace_answer_problems", "plain_answer_problems", "burn_rules_answer_problems",
           "FALLBACKS", "BURN_RULE_KEYS", "MAX_BURN_RULES"]

#: What each burn-rate rule of T6 names.
BURN_RULE_KEYS = ("long_window_min", "short_window_min", "burn_rate")
#: The most paging rules T6 accepts (the workbook pages on two).
MAX_BURN_RULES = 2
#: What a shut-down model falls back to.
FALLBACKS: tuple[str, ...] = tuple(MONITOR_CATALOGUE["shutdown.fallback"].choices)


def _unanswered(answer: Any) -> bool:
    return answer is None or answer is Ellipsis


def _not_plain(value: Any, where: str, depth: int = 0) -> str:
    kind = type(value)
    if value is None or kind in (bool, int, float, str):
        return ""
    if depth > 8:
        return f"{where} is nested too deeply"
    if kind in (list, tuple):
        return next((p for i, v in enumerate(value)
                     if (p := _not_plain(v, f"{where}[{i}]", depth + 1))), "")
    if kind is dict:
        for key, v in value.items():
            if type(key) is not str:
                return f"{where} has a key {key!r} that is not text"
            problem = _not_plain(v, f"{where}[{key!r}]", depth + 1)
            if problem:
                return problem
        return ""
    return f"{where} is a {kind.__module__}.{kind.__qualname__}"


def plain_answer_problems(answer: Any, task: str) -> list[str]:
    """An answer is graded as plain data: Python numbers, text, True/False/None, and lists
    and dicts of them (a numpy number is not one: wrap it in ``float(...)``).

    >>> import numpy as np
    >>> plain_answer_problems({"threshold": np.float64(0.5)}, "T2")[0].split("; ")[1]
    "the answer['threshold'] is a numpy.float64: convert it, e.g. with float(...) or list(...)."
    """
    problem = _not_plain(answer, "the answer")
    if not problem:
        return []
    return [f"{task}: answers are graded as plain Python data (numbers, text, lists, dicts); "
            f"{problem}: convert it, e.g. with float(...) or list(...)."]


def threshold_answer_problems(answer: Any, task: str = "T1") -> list[str]:
    """A decision threshold: a number from 0 to 1."""
    return (form_problems(check_number, answer, minimum=0.0, maximum=1.0, question=task)
            or plain_answer_problems(answer, task))


def rule_answer_problems(answer: Any, task: str = "T2") -> list[str]:
    """A null-rate rule: ``{"threshold": 0..1, "window_h": whole hours 1..168}``."""
    if _unanswered(answer):
        return [f"{task}: not answered yet; set it to a dict such as "
                "{'threshold': 0.5, 'window_h': 2}."]
    if not isinstance(answer, Mapping) or set(answer) != {"threshold", "window_h"}:
        return [f"{task}: the answer must be a dict with exactly the keys 'threshold' and "
                f"'window_h', got {answer!r}."]
    return (form_problems(check_number, answer["threshold"], minimum=0.0, maximum=1.0,
                          question=f"{task} (threshold)")
            + form_problems(check_number, answer["window_h"], minimum=1, maximum=168,
                            integer=True, unit="hours", question=f"{task} (window_h)")
            or plain_answer_problems(answer, task))


def containment_answer_problems(answer: Any, task: str = "T5") -> list[str]:
    """A shutdown rule: a null-rate rule plus the fallback and how long the model stays off."""
    keys = ("threshold", "window_h", "fallback", "duration_h")
    if _unanswered(answer):
        return [f"{task}: not answered yet; set it to a dict with the keys "
                f"{', '.join(keys)}."]
    if not isinstance(answer, Mapping) or set(answer) != set(keys):
        return [f"{task}: the answer must be a dict with exactly the keys {', '.join(keys)}, "
                f"got {answer!r}."]
    problems = rule_answer_problems({"threshold": answer["threshold"],
                                     "window_h": answer["window_h"]}, task)
    fallback = answer["fallback"]
    if not isinstance(fallback, str) or fallback not in FALLBACKS:
        problems.append(f"{task}: fallback must be one of {', '.join(FALLBACKS)}, got "
                        f"{fallback!r}.")
    return (problems + form_problems(check_number, answer["duration_h"], minimum=1, maximum=168,
                                     integer=True, unit="hours", question=f"{task} (duration_h)")
            or plain_answer_problems(answer, task))


def trace_answer_problems(answer: Any, task: str = "T4") -> list[str]:
    """What produced one decision: a dict with exactly the keys of :data:`TRACE_KEYS`."""
    if _unanswered(answer):
        return [f"{task}: not answered yet; set it to a dict with the keys "
                f"{', '.join(TRACE_KEYS)}."]
    if not isinstance(answer, Mapping) or set(answer) != set(TRACE_KEYS):
        return [f"{task}: the answer must be a dict with exactly the keys "
                f"{', '.join(TRACE_KEYS)}, got {answer!r}."]
    return plain_answer_problems(answer, task)


def burn_rules_answer_problems(answer: Any, task: str = "T6") -> list[str]:
    """Paging rules: a list of one or two dicts, each with ``long_window_min`` and
    ``short_window_min`` (whole minutes, short <= long <= 3 days) and ``burn_rate`` (> 0)."""
    example = "[{'long_window_min': 60, 'short_window_min': 5, 'burn_rate': 14.4}]"
    if _unanswered(answer):
        return [f"{task}: not answered yet; set it to a list of rules such as {example}."]
    if type(answer) not in (list, tuple) or not 1 <= len(answer) <= MAX_BURN_RULES:
        return [f"{task}: the answer must be a list of 1 to {MAX_BURN_RULES} rules (dicts), "
                f"got {answer!r:.120}."]
    problems: list[str] = []
    for i, rule in enumerate(answer, 1):
        where = f"{task} (rule {i})"
        if not isinstance(rule, Mapping) or set(rule) != set(BURN_RULE_KEYS):
            problems.append(f"{where}: each rule must be a dict with exactly the keys "
                            f"{', '.join(BURN_RULE_KEYS)}, got {rule!r:.120}.")
            continue
        for key in ("long_window_min", "short_window_min"):
            problems += form_problems(check_number, rule[key], minimum=1, maximum=3 * 24 * 60,
                                      integer=True, unit="minutes", question=f"{where} ({key})")
        problems += form_problems(check_number, rule["burn_rate"], minimum=0.01,
                                  maximum=1000.0, question=f"{where} (burn_rate)")
        if not problems and rule["short_window_min"] > rule["long_window_min"]:
            problems.append(f"{where}: short_window_min ({rule['short_window_min']}) must not "
                            f"be longer than long_window_min ({rule['long_window_min']}).")
    return problems or plain_answer_problems(answer, task)
