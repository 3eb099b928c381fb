"""labkit.course.answers: which names a check reads, and what may cross over as an answer."""

from __future__ import annotations

import json

import pytest

from labkit.course.answers import MAX_EXPORT_CHARS, Needs, export_code, needs, plain_problem, read_export
from labkit.course.layout import CourseError


@pytest.mark.parametrize("source, names", [
    ("from labkit.checkpoints import check_choice\nq = check_choice(q1_answer, 'ABCD')", ("q1_answer",)),
    ("assert abs(q2_answer - 3.2) <= 0.05\nprint(len(str(q2_answer)))", ("q2_answer",)),
    ("import labkit.labs.lab1 as lab1\nproblems = lab1.judge(a, b, seeds=[1])\nassert not problems",
     ("a", "b")),
    ("x = 1\nassert x == answer", ("answer",)),                          # bound before: not read
    ("def f(v):\n    return v + hidden\nassert f(answer)", ("hidden", "answer")),
    ("assert all(k in knobs for k in ('a', 'b'))", ("knobs",)),           # comprehension variable
    ("try:\n    pass\nexcept ValueError as exc:\n    print(exc)\nprint(answer)", ("answer",)),
    ("display(answer)\nget_ipython()", ("answer",)),                       # IPython's own names
    ("y = [answer for answer in range(3)]\nprint(y)", ()),                  # comprehension-local
])
def test_the_names_a_check_reads_are_its_free_names(source, names):
    assert needs(source).names == names


def test_a_probe_sends_what_it_binds_and_is_not_an_answer_name():
    source = ("from labkit.labs import lab1\n"
              "#| learner: from labkit.labs import lab1\n"
              "#| learner: explained = lab1.collect_explanations(explain, seeds=[11])\n"
              "assert not lab1.judge_incident_report(explained, seeds=[11])\n")
    found = needs(source)
    assert found == Needs(names=(), probe="from labkit.labs import lab1\nexplained = "
                          "lab1.collect_explanations(explain, seeds=[11])", probed=("explained",))


def test_a_broken_check_or_probe_is_named():
    with pytest.raises(CourseError, match="check cell q9: not valid Python"):
        needs("assert (", where="check cell q9")
    with pytest.raises(CourseError, match="assign no name to send over"):
        needs("#| learner: print(1)\nassert True")


class Sneaky(str):
    def __eq__(self, other):
        return True


class AlwaysEqual:
    def __eq__(self, other):
        return True


@pytest.mark.parametrize("value, problem", [
    ("B", ""), (3.2, ""), (float("nan"), ""), (None, ""), (True, ""),
    ({"model.replicas": 6, "cache.enabled": False}, ""), ([1, (2, "x")], ""),
    (Sneaky("B"), "answer is a *.Sneaky, not plain data"),
    (AlwaysEqual(), "answer is a *.AlwaysEqual, not plain data"),
    ({"a": [1, AlwaysEqual()]}, "answer['a'][1] is a *.AlwaysEqual, not plain data"),
    ({1: "x"}, "answer has a key 1 that is not a plain string"),
    (type("F", (float,), {})(1.0), "answer is a *.F, not plain data"),
])
def test_only_exact_built_in_types_are_plain(value, problem):
    found = plain_problem(value)
    if not problem:
        assert found == ""
    else:                                   # "*" stands for the defining module's name
        head, _, tail = problem.partition("*")
        assert found.startswith(head) and (tail == "" or tail in found), found


def test_deep_nesting_is_refused():
    value: list = []
    for _ in range(20):
        value = [value]
    assert "nested more than" in plain_problem(value)


WANT = Needs(names=("q1_answer", "q2_answer"), probe="", probed=())


def as_reply(payload: object) -> str:
    return repr(json.dumps(payload))            # what IPython shows for the exported string


def test_a_clean_export_crosses_as_data():
    export = read_export(as_reply({"answers": {"q1_answer": "B", "q2_answer": 3.2, "other": 1},
                                   "problems": {}}), WANT)
    assert export.answers == {"q1_answer": "B", "q2_answer": 3.2}     # unasked names dropped
    assert export.problems == {}


@pytest.mark.parametrize("text, why", [
    (None, "the notebook's kernel gave no answers at this check"),
    ("'not json'", "sent something other than plain answers"),
    ("__import__('os').system('x')", "sent something other than plain answers"),
    (as_reply(["answers"]), "sent something other than plain answers"),
    ("'" + "x" * (2 * MAX_EXPORT_CHARS + 20) + "'", "larger than"),
])
def test_anything_but_the_expected_shape_refuses_every_answer(text, why):
    export = read_export(text, WANT)
    assert export.answers == {}
    assert set(export.problems) == {"q1_answer", "q2_answer"}
    assert all(why in p for p in export.problems.values())


def test_the_kernels_own_problems_are_kept_and_missing_names_named():
    export = read_export(as_reply({"answers": {"q1_answer": "B"},
                                   "problems": {"q2_answer": "q2_answer is not defined"}}), WANT)
    assert export.answers == {"q1_answer": "B"}
    assert export.problems == {"q2_answer": "q2_answer is not defined"}
    export = read_export(as_reply({"answers": {}, "problems": {}}), WANT)
    assert export.problems == {"q1_answer": "q1_answer was not sent", "q2_answer": "q2_answer was not sent"}


def test_the_export_code_runs_alone_and_refuses_objects():
    namespace = {"q1_answer": "B", "q2_answer": AlwaysEqual()}
    ipython = type("IP", (), {"user_ns": namespace})()
    scope = {"get_ipython": lambda: ipython}
    exec(export_code(WANT), scope)
    sent = json.loads(scope["__labkit_export_json"])
    assert sent["answers"] == {"q1_answer": "B"}
    assert "AlwaysEqual, not plain data" in sent["problems"]["q2_answer"]
