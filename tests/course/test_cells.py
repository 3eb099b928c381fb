"""labkit.course.cells: secret regions, and feedback scrubbing on synthetic graded notebooks."""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from labkit.course.cells import ScrubFeedback, normalise, secret_lines, strip_regions

CHECK = '''"""Q1 check."""
q1 = check_choice(q1_answer, "ABCD", question="Q1")
### BEGIN HIDDEN TESTS
assert q1 == "B", "Q1: the right answer is B"
### END HIDDEN TESTS'''
TASK = '''**Q4** Explain.

=== BEGIN MARK SCHEME ===
1 point: mentions independent random samples
=== END MARK SCHEME ==='''
ANSWER = '''q1_answer = None
### BEGIN SOLUTION
q1_answer = "B"
### END SOLUTION'''


def test_secret_lines_are_the_lines_only_found_inside_regions():
    found = secret_lines([CHECK, TASK, ANSWER])
    assert found == {'assert q1 == "B", "Q1: the right answer is B"',
                     "1 point: mentions independent random samples"}
    with_solutions = secret_lines([CHECK, TASK, ANSWER],
                                  kinds=("solution", "hidden_tests", "mark_scheme"))
    assert 'q1_answer = "B"' in with_solutions
    # a line that also appears outside a region is not a secret (it is shown anyway)
    assert secret_lines(["x_is_visible = 1\n### BEGIN HIDDEN TESTS\nx_is_visible = 1\n"
                         "### END HIDDEN TESTS"]) == set()


def test_strip_regions_keeps_everything_else():
    assert strip_regions(CHECK) == '"""Q1 check."""\nq1 = check_choice(q1_answer, "ABCD", question="Q1")'
    assert strip_regions(TASK) == "**Q4** Explain.\n"
    assert strip_regions(ANSWER) == ANSWER               # solutions are the learner's own text


def test_normalise_drops_ansi_and_collapses_space():
    assert normalise("\x1b[0;31mAssertionError\x1b[0m:   Q1\n  x") == "AssertionError: Q1 x"


def _error(ename, evalue, arrow_line):
    tb = ["\x1b[0;31m-------\x1b[0m",
          f"\x1b[0;32m----> 3\x1b[0m {arrow_line}",
          f"\x1b[0;31m{ename}\x1b[0m: {evalue}"]
    return new_output("error", ename=ename, evalue=evalue, traceback=tb)


def scrub(cells):
    nb = new_notebook(cells=cells)
    nb, _ = ScrubFeedback().preprocess(nb, {})
    return nb


def test_a_failing_hidden_check_is_replaced_by_a_generic_message():
    cell = new_code_cell(CHECK, outputs=[_error("AssertionError", "Q1: the right answer is B",
                                                'assert q1 == "B", "Q1: the right answer is B"')])
    out, = scrub([cell]).cells[0].outputs
    assert out.ename == "HiddenCheckFailed"
    assert "hidden check in this cell did not pass" in out.evalue
    assert "right answer" not in str(out) and "BEGIN HIDDEN" not in scrub([cell]).cells[0].source


def test_a_hidden_failure_is_caught_by_its_message_alone():
    # no arrow line (e.g. a short traceback): the evalue quotes a hidden line
    cell = new_code_cell(CHECK, outputs=[new_output("error", ename="AssertionError",
                                                    evalue="Q1: the right answer is B",
                                                    traceback=["AssertionError: ..."])])
    assert scrub([cell]).cells[0].outputs[0].ename == "HiddenCheckFailed"


def test_a_visible_failure_keeps_its_message_but_loses_code_context():
    cell = new_code_cell(CHECK, outputs=[_error(
        "CheckpointError", 'Q1: not answered yet; set your answer to one of "A", "B", "C" or "D".',
        'q1 = check_choice(q1_answer, "ABCD", question="Q1")')])
    out, = scrub([cell]).cells[0].outputs
    assert out.ename == "CheckpointError" and out.evalue.startswith("Q1: not answered yet")
    assert out.traceback == [f"CheckpointError: {out.evalue}"]


def test_outputs_quoting_hidden_text_are_withheld_and_mark_schemes_removed():
    printed = new_code_cell(CHECK, outputs=[new_output(
        "stream", name="stdout", text='assert q1 == "B", "Q1: the right answer is B"\n'),
        new_output("stream", name="stdout", text="Q1: answer B recorded\n")])
    nb = scrub([printed, new_markdown_cell(TASK)])
    texts = [o.text for o in nb.cells[0].outputs]
    assert texts == ["[output withheld: it quoted a hidden test]\n", "Q1: answer B recorded\n"]
    assert nb.cells[1].source == "**Q4** Explain.\n"
    assert "MARK SCHEME" not in nbformat.writes(nb)
