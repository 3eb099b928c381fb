"""Lab 1 notebook: the source runs, the release runs up to its first task, and every graded
check can fail.

* The source notebook (solutions in) is executed once, top to bottom, in a real kernel: every
  code cell must run without an error or a byte on stderr (nbgrader zeroes a check cell that
  writes to stderr); its running time against the issue's 60 s is bench/bench_notebooks.py's job.
* The committed release must run without errors up to the first unanswered task, and stop
  there with the NotImplementedError of an answer stub.
* For every graded check, a plausible wrong answer is run in the same kernel: it must pass the
  visible part of the check (so the learner is not told) and fail the whole check, hidden part
  included, with a specific message.  A check that cannot fail grades nothing.
"""

from __future__ import annotations

import json
import re

import nbformat
import pytest

from .nbrun import (
    cell_errors,
    executed,
    grade_index,
    lab_paths,
    nbgrader_meta,
    release_run_stops_at_first_task,
    run_snippet,
)

LAB = "lab1-system-shapes"
SOURCE, RELEASE = lab_paths(LAB)
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.S)


@pytest.fixture(scope="module")
def source_run():
    """The source notebook executed top to bottom; the kernel stays up for the wrong answers."""
    with executed(SOURCE) as (nb, client):
        yield nb, client


def test_source_runs_top_to_bottom_without_errors_or_stderr(source_run):
    nb, _ = source_run
    problems = [f"cell {i} ({nbgrader_meta(c).get('grade_id', 'no id')}): {e}"
                for i, c in enumerate(nb.cells) if c.cell_type == "code" for e in cell_errors(c)]
    assert not problems, "\n".join(problems)
    ran = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in ran), "some code cells did not run"


def test_every_check_cell_says_it_passed(source_run):
    nb, _ = source_run
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade") and cell.cell_type == "code":
            text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            assert "graded" in text, f"{meta['grade_id']} printed no confirmation: {text!r}"


def test_structure_tags_and_grade_ids():
    nb = nbformat.read(SOURCE, as_version=4)
    tags = [t for c in nb.cells for t in c.metadata.get("tags", [])]
    assert tags.count("activity") == 5
    assert tags.count("checkpoint") == 1 and tags.count("reflection") == 1
    assert tags.count("written") == 5 and tags.count("design") == 3
    assert tags.count("evidence:system-sketch") == 1 and tags.count("evidence:reflection") == 1
    assert tags.count("reading") >= 8
    ids = [nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c)]
    assert len(ids) == len(set(ids)), "duplicate grade_id"
    for q in range(1, 10):   # all nine questions of the block
        assert f"q{q}_check" in ids or f"q{q}_task" in ids, f"Q{q} has no graded cell"
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade") and cell.cell_type == "code":
            assert cell.source.lstrip().startswith('"""'), f"{meta['grade_id']} has no docstring"
        if meta.get("task"):
            assert "=== BEGIN MARK SCHEME ===" in cell.source, f"{meta['grade_id']}: no mark scheme"
        assert not cell.get("outputs"), "source must be committed with outputs cleared"


def test_release_runs_until_the_first_unanswered_task():
    release_run_stops_at_first_task(RELEASE)


# Each case: the answer cell's grade_id, a plausible wrong answer that the visible check lets
# through, the check cell's grade_id, and words the hidden failure message must contain.
WRONG = [
    pytest.param("a1_shape_answer",   # the index rebuild lines up with the visible change only
                 'shape_knobs = {**shape_knobs, "retrieval.index_refresh_s": 70.0}',
                 "a1_shape_check", "max_lag_s", id="task1-aligned-refresh"),
    pytest.param("a2_replicas_answer",   # over-provisioned: passes the budget, wastes a replica
                 'replicas_needed = int(replicas_needed) + 1\nconfirmed_p95_ms = simulate('
                 '{**lab1.replica_task(), "model.replicas": replicas_needed}, seed=1)'
                 '.summary["latency_ms"]["p95"]',
                 "a2_replicas_check", "is not the fewest replicas", id="task2-overprovisioned"),
    pytest.param("a3_boundary_answer",
                 'boundary_knobs = {"boundary.policy": "approval", '
                 '"boundary.reviewers": boundary_knobs["boundary.reviewers"] + 2}',
                 "a3_boundary_check", "not the fewest", id="task3-overstaffed"),
    pytest.param("a4_explain_answer",   # copies the visible run's values instead of the trail
                 'def explain(result, request_id):\n    s = result.scenario\n    return '
                 '{"data_snapshot": "retrieval-index@0s", "model_version": s.model.version, '
                 '"threshold": s.guardrail.threshold}',
                 "a4_explain_check", "is not what the audit trail records", id="task4-hardcoded"),
    pytest.param("a4b_answer", 'a4b_answer = "A"', "a4b_check", "not the right option",
                 id="task4b-blames-model"),
    pytest.param("a5_hops_answer",   # one server more than needed: passes, wastes a server
                 'hop_knobs = {k: v + 1 for k, v in hop_knobs.items()}',
                 "a5_hops_check", "not the fewest", id="task5-overprovisioned"),
    pytest.param("a5_hops_answer",   # the short step fixed, and a server added to another one
                 'hop_knobs = {**hop_knobs, **{f"{h}.servers": T5[f"{h}.servers"] + 1 '
                 'for h in lab1.HOPS if f"{h}.servers" not in hop_knobs}}',
                 "a5_hops_check", "was not holding the requests up", id="task5-extra-step"),
    pytest.param("q2_answer", 'q2_answer = "C"', "q2_check", "not the right option", id="q2"),
    pytest.param("q3_answer", 'q3_answer = "A"', "q3_check", "not the right option", id="q3"),
    pytest.param("q4_answer", "q4_answer = v4.rate_rps * 0.1", "q4_check",
                 "not the expected number", id="q4-old-latency"),
    pytest.param("q5_answer", 'q5_answer = "A"', "q5_check", "not the right option", id="q5"),
    pytest.param("q6_answer", 'q6_answer = "B"', "q6_check", "not the right option", id="q6"),
    pytest.param("q7_answer", 'q7_answer = "B"', "q7_check", "not the right option", id="q7"),
]


@pytest.mark.parametrize("answer_id, wrong, check_id, message", WRONG)
def test_hidden_check_fails_a_plausible_wrong_answer(source_run, answer_id, wrong, check_id,
                                                     message):
    nb, client = source_run
    ids = grade_index(nb)
    check = nb.cells[ids[check_id]].source
    good = nb.cells[ids[answer_id]].source
    try:
        assert run_snippet(client, wrong) == []
        visible = run_snippet(client, HIDDEN.sub("", check))
        assert visible == [], f"the visible check already rejects it: {visible}"
        errors = run_snippet(client, check)
        assert errors and errors[0].startswith("AssertionError"), errors
        assert message in errors[0], errors[0]
    finally:
        assert run_snippet(client, good) == [], "could not restore the model answer"


def test_sketch_check_fails_the_starter_sketch(source_run):
    """The starter sketch (a write with no approval, no timeouts) must fail the check."""
    nb, client = source_run
    ids = grade_index(nb)
    try:
        assert run_snippet(client, "sketch = starter") == []
        errors = run_snippet(client, nb.cells[ids["sketch_check"]].source)
        assert errors and errors[0].startswith("AssertionError"), errors
        assert "a write has no approval step" in errors[0], errors[0]
    finally:
        assert run_snippet(client, nb.cells[ids["sketch_answer"]].source) == []


def test_sketch_cell_output_is_complete_evidence(source_run):
    """The evidence pack reads the sketch cell's output: it must carry a complete artifact."""
    from labkit.evidence.pack import EVIDENCE_MIME

    nb, _ = source_run
    cell = nb.cells[grade_index(nb)["sketch_answer"]]
    payloads = [o["data"][EVIDENCE_MIME] for o in cell.outputs if EVIDENCE_MIME in o.get("data", {})]
    assert len(payloads) == 1
    payload = payloads[0] if isinstance(payloads[0], dict) else json.loads(payloads[0])
    assert payload["kind"] == "system-sketch" and payload["problems"] == []


def _choices(nb) -> dict[str, tuple[dict[str, str], str]]:
    """Each multiple-choice item of the notebook: its options, and the key its hidden test holds."""
    import ast

    options: dict[str, dict[str, str]] = {}
    for cell in nb.cells:
        if cell.cell_type != "code" or "MultipleChoice(" not in cell.source:
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "MultipleChoice":
                options[ast.literal_eval(node.args[0])] = ast.literal_eval(node.args[2])
    keys = {}
    for cell in nb.cells:
        found = re.search(r'assert (\w+) == "([A-D])", "([^:"]+):', cell.source)
        if nbgrader_meta(cell).get("grade") and found:
            keys[found.group(3)] = found.group(2)
    assert set(options) == set(keys), (sorted(options), sorted(keys))
    return {q: (options[q], keys[q]) for q in options}


def test_multiple_choice_cannot_be_guessed_from_the_options():
    """Options close in length (longest at most twice the shortest), the key never the one
    longest option, and keys spread over the letters (none the key of more than 35%)."""
    items = _choices(nbformat.read(SOURCE, as_version=4))
    assert len(items) >= 5
    for question, (options, key) in items.items():
        lengths = {letter: len(text) for letter, text in options.items()}
        assert max(lengths.values()) <= 2 * min(lengths.values()), (question, lengths)
        longer = [letter for letter, n in lengths.items() if n >= lengths[key] and letter != key]
        assert longer, f"{question}: the key {key} is the unique longest option {lengths}"
    letters = [key for _, key in items.values()]
    assert max(letters.count(x) for x in "ABCD") <= 0.35 * len(letters), letters


def test_every_activity_opens_with_a_prediction_shown_beside_its_result():
    """Each activity's cells hold a prediction_<n> = "" cell before its first run, and a later
    cell shows it with lab1.beside."""
    nb = nbformat.read(SOURCE, as_version=4)
    starts = [i for i, c in enumerate(nb.cells) if "activity" in c.metadata.get("tags", [])]
    for n, (start, end) in enumerate(zip(starts, [*starts[1:], len(nb.cells)]), 1):
        block = nb.cells[start:end]
        predict = next(i for i, c in enumerate(block) if f'prediction_{n} = ""' in c.source)
        runs = [i for i, c in enumerate(block)
                if c.cell_type == "code" and ("simulate(" in c.source or "lab1.compare_shapes" in c.source
                                              or "utilisation_table" in c.source)]
        assert runs and predict < min(runs), f"activity {n}: the prediction comes after a run"
        assert any(f"lab1.beside(prediction_{n}," in c.source for c in block[predict + 1:]), n
