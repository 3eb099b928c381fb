"""labkit.course.judge: checks judged in a kernel that never ran learner code, with real kernels.

One notebook in nbgrader's cell format (answer cells, check cells with their hidden parts, as
they are after the gradebook restored them) goes through SandboxedExecute, which runs the
learner's cells and only takes out answers at each check, then through TrustedJudge.  The
learner's cells try every way of cheating a kernel-side check; each check must score as its
literal answer deserves.
"""

from __future__ import annotations

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from labkit.course.judge import TrustedJudge
from labkit.course.kernel import SandboxedExecute

pytestmark = pytest.mark.kernel


def answer(gid: str, source: str):
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": False, "grade_id": gid, "locked": False,
                                 "schema_version": 3, "solution": True}
    return cell


def check(gid: str, source: str, points: int = 1):
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": gid, "locked": True, "points": points,
                                 "schema_version": 3, "solution": False}
    return cell


FORGERY = r'''
import builtins, labkit.checkpoints as cp
cp.check_choice = lambda *a, **k: "B"                     # patched labkit
builtins.abs = lambda x: 0                                # patched builtins
ip = get_ipython()
ip.input_transformers_post.append(                        # rewrites every later cell
    lambda lines: [l.replace("assert ", "assert True or ") for l in lines])
ip.events.register("pre_run_cell", lambda info: None)
class AlwaysEqual:
    def __eq__(self, other): return True
    def __bool__(self): return True
class Sneaky(str):
    def __eq__(self, other): return True
'''

CELLS = [
    new_code_cell(FORGERY),
    answer("a_mc", 'q1 = "A"'),                                           # wrong literal answer
    check("c_mc", 'from labkit.checkpoints import check_choice\n'
                  'q = check_choice(q1, "ABCD", question="Q1")\nprint("recorded", q)\n'
                  '### BEGIN HIDDEN TESTS\nassert q == "B", "wrong"\n### END HIDDEN TESTS'),
    answer("a_num", "q2 = 3.0"),
    check("c_num", "### BEGIN HIDDEN TESTS\nassert abs(q2 - 3.2) <= 0.05\n### END HIDDEN TESTS"),
    answer("a_eq", "q3 = AlwaysEqual()"),
    check("c_eq", "assert q3 == 'anything'"),
    answer("a_sub", 'q4 = Sneaky("nope")'),
    check("c_sub", 'assert q4 == "B"'),
    answer("a_ok", 'q5 = {"model.replicas": 6}'),
    check("c_ok", 'assert q5 == {"model.replicas": 6}\nprint("ok")'),
    answer("a_fn", "def double(x):\n    return 2 * x\n\ndef cheat(x):\n    return AlwaysEqual()"),
    check("c_fn", "#| learner: doubled = [double(i) for i in range(3)]\nassert doubled == [0, 2, 4]"),
    check("c_fn_cheat", "#| learner: cheated = [cheat(i) for i in range(3)]\nassert cheated == [0, 2, 4]"),
    check("c_who", "import os\nassert os.environ['LABKIT_LEARNER'] == 'ada'\n"
                   "assert os.environ['LABKIT_GRADING'] == '1'\nprint(os.getcwd(), sorted(os.listdir('.')))"),
    new_code_cell("print(repr('\\n'.join(In)))"),                           # what its history holds
]


@pytest.fixture(scope="module")
def judged(tmp_path_factory):
    nb = new_notebook(cells=CELLS, metadata={"kernelspec": {"name": "python3",
                      "display_name": "Python 3", "language": "python"}})
    path = tmp_path_factory.mktemp("learner")
    resources = {"metadata": {"path": str(path)}, "nbgrader": {"student": "ada"}}
    nb, resources = SandboxedExecute(timeout=30, iopub_timeout=5).preprocess(nb, resources)
    learner_view = [list(c.outputs) for c in nb.cells]
    nb, resources = TrustedJudge(timeout=30, iopub_timeout=5).preprocess(nb, resources)
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id", f"cell{i}"): c for i, c in enumerate(nb.cells)}
    return by_id, resources, learner_view


def errors(cell):
    return [(o.ename, o.evalue) for o in cell.outputs if o.output_type == "error"]


def text(cell):
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def test_a_patched_checker_or_builtin_changes_nothing(judged):
    cells, _, _ = judged
    assert errors(cells["c_mc"])[0] == ("AssertionError", "wrong")          # A is wrong, as written
    assert text(cells["c_mc"]).strip() == "recorded A"
    assert errors(cells["c_num"])[0][0] == "AssertionError"                # 3.0 is not 3.2


def test_objects_that_equal_everything_never_cross(judged):
    cells, _, _ = judged
    (ename, evalue), = errors(cells["c_eq"])
    assert ename == "AnswerNotRecorded" and "AlwaysEqual, not plain data" in evalue
    (ename, evalue), = errors(cells["c_sub"])
    assert ename == "AnswerNotRecorded" and "Sneaky, not plain data" in evalue
    (ename, evalue), = errors(cells["c_fn_cheat"])
    assert ename == "AnswerNotRecorded" and "cheated[0] is a" in evalue


def test_honest_answers_and_function_answers_pass(judged):
    cells, resources, _ = judged
    assert errors(cells["c_ok"]) == [] and text(cells["c_ok"]).strip() == "ok"
    assert errors(cells["c_fn"]) == []
    assert cells["c_ok"].metadata["labkit"]["answers"] == {"q5": {"model.replicas": 6}}
    assert resources["labkit"]["exports"]["c_fn"]["answers"] == {"doubled": [0, 2, 4]}


def test_the_judge_knows_the_student_and_sees_no_learner_files(judged):
    cells, _, _ = judged
    assert errors(cells["c_who"]) == []
    assert text(cells["c_who"]).strip().startswith("/labkit/work [")     # an empty work folder
    assert "'.ipython'" in text(cells["c_who"]) and "q1" not in text(cells["c_who"])


def test_the_learners_kernel_never_saw_a_check(judged):
    cells, _, learner_view = judged
    history = text(cells["cell15"])
    for secret in ('assert q == "B"', "HIDDEN", "check_choice(q1", "doubled", "__labkit"):
        assert secret not in history, secret                    # no check, probe or export code
    checks = [i for i, c in enumerate(CELLS) if c.metadata.get("nbgrader", {}).get("grade")]
    assert all([o.get("ename") for o in learner_view[i]] == ["NotJudged"]   # nothing ran there:
               for i in checks)                                  # a placeholder, no output


def test_bind_code_is_one_line_that_leaves_only_the_current_answers():
    from labkit.course.judge import bind_code

    first, second = bind_code({"q1_answer": "B", "q2": [1, 2.5]}), bind_code({"q3": None})
    assert first.count("\n") == 1 and first.endswith("\n")
    namespace: dict = {}
    exec(first + "seen = (q1_answer, q2)", namespace)
    assert namespace["seen"] == ("B", [1, 2.5])
    exec(second, namespace)
    assert namespace["q3"] is None and "q1_answer" not in namespace and "q2" not in namespace


def test_before_the_judge_every_check_holds_an_error_and_after_it_no_kernel_is_left(judged):
    """Fail closed: a pipeline that ran SandboxedExecute but not TrustedJudge grades checks 0."""
    _, resources, learner_view = judged
    checks = [i for i, c in enumerate(CELLS) if c.metadata.get("nbgrader", {}).get("grade")]
    for i in checks:
        assert [(o.output_type, o.ename) for o in learner_view[i]] == [("error", "NotJudged")], i
    assert "judge" not in resources["labkit"]          # the pre-started judge was shut down
