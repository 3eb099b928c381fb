"""labkit.checkpoints: form checks with learner-facing messages, and simulation judging."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from labkit.checkpoints import (
    CheckpointError,
    MultipleChoice,
    NumericQuestion,
    SimTask,
    check_choice,
    check_number,
    judge_simulation,
)

Q = MultipleChoice("Q1", "Pick one.", {"A": "first", "B": "second", "C": "third"})
BASE = {"load.rate_rps": 60.0, "load.duration_s": 60.0, "budget.p95_ms": 500.0,
        "budget.p99_ms": 0.0, "budget.cost_per_1k": 2.10, "budget.success_rate": 0.99}
TASK = SimTask(task_id="Q3", base=BASE, allowed=("model.replicas", "cache.enabled"))


# ------------------------------------------------------------------ multiple choice
@pytest.mark.parametrize("answer", ["B", "b", " B ", "b\n"])
def test_check_choice_accepts_one_letter_in_any_case(answer):
    assert check_choice(answer, Q) == "B"
    assert check_choice(answer, "ABC", question="Q1") == "B"


@pytest.mark.parametrize("answer, message", [
    (None, 'Q1: not answered yet; set your answer to one of "A", "B" or "C".'),
    (..., 'Q1: not answered yet; set your answer to one of "A", "B" or "C".'),
    (2, "Q1: the answer must be one letter in quotes (a string), got 2 (an int)."),
    (["B"], "Q1: the answer must be one letter in quotes (a string), got ['B'] (a list)."),
    ("AB", "Q1: choose exactly one option and write only its letter, got 'AB'; answer with one "
           'of "A", "B" or "C".'),
    ("B)", "Q1: choose exactly one option and write only its letter, got 'B)'; answer with one "
           'of "A", "B" or "C".'),
    ("D", 'Q1: \'D\' is not one of the options; answer with one of "A", "B" or "C".'),
])
def test_check_choice_messages_say_what_to_fix(answer, message):
    with pytest.raises(CheckpointError) as info:
        check_choice(answer, Q)
    assert str(info.value) == message


def test_check_choice_never_mentions_a_right_answer():
    # the checker has no notion of a right answer: every letter of the form passes
    assert [check_choice(x, Q) for x in "abc"] == ["A", "B", "C"]


def test_str_subclass_cannot_smuggle_a_custom_equality():
    class Sneaky(str):
        def __eq__(self, other):  # noqa: D105 - would make any comparison true
            return True

        __hash__ = str.__hash__

    letter = check_choice(Sneaky("A"), Q)
    assert type(letter) is str and letter != "B"


def test_multiple_choice_renders_as_markdown_and_text():
    q = MultipleChoice("Q9", "Which?", ["yes", "no"])
    assert q.letters == ("A", "B")
    assert q._repr_markdown_() == "**Q9.** Which?\n\n- **A**: yes\n- **B**: no\n"
    assert "  A)  yes" in str(q)


@pytest.mark.parametrize("kwargs, message", [
    (dict(question_id="", prompt="p", options=["a", "b"]), "question_id must be a non-empty string"),
    (dict(question_id="Q", prompt="p", options=["a"]), "Q: a multiple-choice question needs >= 2 "
                                                       "options, got 1"),
    (dict(question_id="Q", prompt="p", options={"AA": "x", "B": "y"}), "Q: option keys must be "
                                                                       "single letters A-Z, got 'AA'"),
    (dict(question_id="Q", prompt="p", options="ab"), "Q: options must be a list or a mapping"),
])
def test_multiple_choice_author_errors(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        MultipleChoice(**kwargs)


# ------------------------------------------------------------------------ numbers
def test_check_number_accepts_numpy_and_returns_plain_numbers():
    value = check_number(np.float64(3.2), minimum=0, question="Q2")
    assert type(value) is float and value == pytest.approx(3.2)
    assert type(check_number(np.int64(4), integer=True)) is int
    assert check_number(4.0, integer=True) == 4


@pytest.mark.parametrize("answer, kwargs, message", [
    (None, {}, "Q2: not answered yet; set your answer to a number in replicas."),
    ("3.2", {}, "Q2: the answer must be a number, not text: remove the quotes around '3.2'."),
    (True, {}, "Q2: the answer must be a number in replicas, got True (a bool)."),
    ([3], {}, "Q2: the answer must be a number in replicas, got [3] (a list)."),
    (float("nan"), {}, "Q2: the answer must be a finite number, got nan."),
    (3.5, {"integer": True}, "Q2: the answer must be a whole number in replicas, got 3.5."),
    (-1, {"minimum": 0}, "Q2: -1 is outside the possible range 0 .. inf in replicas; check your "
                         "units and your arithmetic."),
    (3200, {"minimum": 0, "maximum": 100}, "Q2: 3200 is outside the possible range 0 .. 100 in "
                                           "replicas; check your units and your arithmetic."),
])
def test_check_number_messages(answer, kwargs, message):
    with pytest.raises(CheckpointError) as info:
        check_number(answer, unit="replicas", question="Q2", **kwargs)
    assert str(info.value) == message


def test_numeric_question_checks_with_its_own_range():
    q = NumericQuestion("Q2", "How many?", unit="replicas", minimum=0)
    assert q.check(3.2) == pytest.approx(3.2)
    assert q._repr_markdown_() == "**Q2.** How many? *(answer in replicas)*\n"
    with pytest.raises(CheckpointError, match="outside the possible range 0 .. inf"):
        q.check(-2)


# ------------------------------------------------------------------ simulation tasks
@pytest.mark.parametrize("knobs, message", [
    (None, "Q3: not answered yet; set your answer to a dict of knobs, using only "
           "model.replicas, cache.enabled."),
    (6, "Q3: the answer must be a dict such as {'model.replicas': ...}, got an int."),
    ({"budget.p95_ms": 5000}, "Q3: this task lets you change only model.replicas, "
                              "cache.enabled; remove 'budget.p95_ms'."),
    ({"model.replica": 6}, "Q3: unknown knob 'model.replica'; did you mean 'model.replicas'?"),
    ({"model.replicas": "six"}, "Q3: model.replicas must be a whole number, got 'six'"),
    ({"model.replicas": 0}, "Q3: model.replicas must be >= 1, got 0"),
])
def test_sim_task_refuses_bad_knobs_with_clear_messages(knobs, message):
    with pytest.raises(CheckpointError) as info:
        TASK.judge(knobs, seeds=[1])
    assert str(info.value) == message


def test_sim_task_reports_which_budgets_hold_per_seed():
    # 60 req/s x 80 ms = 4.8 busy replicas: 4 replicas are overloaded (rho = 1.2), so p95
    # explodes; cost holds because calls dominate it (~$2.06 per 1k for any replica count here).
    bad = TASK.judge({"model.replicas": 4}, seeds=[1, 2])
    assert not bad.passed and not bad.holds("p95_ms") and bad.holds("cost_per_1k")
    assert {c.budget for c in bad.checks} == {"p95_ms", "cost_per_1k", "success_rate"}
    assert [c.seed for c in bad.failures] == [1, 2]
    assert all(c.actual > 10 * c.limit for c in bad.failures)
    assert bad.message.startswith("Q3: p95_ms does not hold on seed 1, 2 (got ")
    assert bad.message.endswith("ms, the budget is at most 500 ms).")
    # 6 replicas: rho = 0.8, p95 a few hundred ms on every seed, cost still under $2.10
    good = TASK.judge({"model.replicas": 6}, seeds=[1, 101, 102, 103])
    assert good.passed, good.message
    assert good.message == "Q3: every budget holds on all 4 seeds."


def test_unseen_seeds_are_not_named():
    verdict = TASK.judge({"model.replicas": 4}, seeds=[101, 102, 103], reveal_seeds=False)
    assert "3 of 3 unseen seeds" in verdict.message
    assert "101" not in verdict.message and "101" not in verdict._repr_markdown_()


def test_judge_simulation_is_the_same_as_a_task():
    a = judge_simulation({"cache.enabled": True}, base=BASE, allowed=["cache.enabled"], seeds=[1],
                         task="Q3")
    b = SimTask(task_id="Q3", base=BASE, allowed=("cache.enabled",)).judge({"cache.enabled": True},
                                                                          [1])
    assert a == b and a.passed


def test_task_author_errors_name_the_knob():
    with pytest.raises(ValueError, match="unknown knob 'model.replica'"):
        SimTask(task_id="T", base={}, allowed=("model.replica",))
    with pytest.raises(ValueError, match="T: allowed must name at least one knob"):
        SimTask(task_id="T", base={}, allowed=())
    with pytest.raises(ValueError, match="T: judge needs at least one seed"):
        SimTask(task_id="T", base={}, allowed=("model.replicas",)).judge({}, [])


def test_checkpoints_are_silent_and_do_not_import_widgets():
    code = ("import sys\nfrom labkit.checkpoints import SimTask\n"
            "t = SimTask(task_id='T', base={'load.duration_s': 5}, allowed=('model.replicas',))\n"
            "t.judge({'model.replicas': 1}, [1])\n"
            "assert 'ipywidgets' not in sys.modules and 'IPython' not in sys.modules\n")
    proc = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "" and proc.stdout == ""
