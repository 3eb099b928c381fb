"""The capstone notebook: runs clean, shows the learner's own brief and incident, marks wrong
designs and diagnoses, stops its release at the first task, and its written artifacts reach the
evidence pack.

Executed in a real kernel with nbclient (run time is bench/bench_notebooks.py's job).
"""

from __future__ import annotations

import json

import nbformat
import pytest

from labkit.labs import capstone
from labkit.labs.capstone import scenarios as sc

from .nbrun import cell_errors as problems
from .nbrun import (
    cell_of,
    lab_paths,
    outputs_text,
    release_run_stops_at_first_task,
    source_run_fixture,
)
from .nbrun import run_snippet as run_in

LAB = "capstone-support-assistant"
SOURCE, RELEASE = lab_paths(LAB)
WHO = "self-study"


source_run = source_run_fixture(LAB)


def test_source_runs_top_to_bottom_without_errors_or_stderr(source_run):
    nb, _ = source_run
    for index, cell in enumerate(nb.cells):
        assert problems(cell) == [], index


def test_the_brief_and_the_incident_are_the_learners_own(source_run):
    nb, _ = source_run
    text = "\n".join(outputs_text(c) for c in nb.cells if c.cell_type == "code")
    case = capstone.design_case(learner=WHO)
    assert f"{case['rate_rps']:g} requests/s" in text
    assert f"{case['upstream_tpm']:,.0f} tokens/min" in text
    assert f"<= ${case['cost_per_1k']:.2f}" in text
    for check in ("time to first token", "cost per 1,000 requests", "success and quality",
                  "refunds after approval"):
        assert f"Design ({check}): recorded" in text
    assert "Diagnosis: recorded" in text and "Containment: recorded" in text
    fault = capstone.incident_case(learner=WHO)["fault"]
    alerts = {row["alert"] for row in capstone.game_day(seed=1, learner=WHO).alerts.rows}
    start = next(i for i, c in enumerate(nb.cells) if "capstone.game_day(" in c.source)
    on_call = "\n".join(outputs_text(c) for c in nb.cells[start:] if c.cell_type == "code")
    assert alerts and all(a in on_call for a in alerts)
    assert fault not in on_call                # on-call never sees the fault or the knobs
    assert "retrieval.latency_ms" not in on_call and "model.error_rate" not in on_call
    # trying a containment shows the replay's clock and the measured minutes, not the menu's
    tried = next(c for c in nb.cells
                 if c.cell_type == "code" and "capstone.try_containment(" in c.source)
    assert "minutes to mitigate" in outputs_text(tried) and "14:" in outputs_text(tried)


def test_the_release_stops_at_the_first_answer():
    before = release_run_stops_at_first_task(RELEASE)
    assert before and "requests/s" in outputs_text(before[0])


def _wrong_diagnosis() -> str:
    fault = capstone.incident_case(learner=WHO)["fault"]
    other = next(f for f in sc.DIAGNOSES if f != fault)
    c, m = sc.DIAGNOSES[other]
    return f"diagnosis = {{'component': {c!r}, 'mechanism': {m!r}}}"


def _wrong_containment() -> str:
    fault = capstone.incident_case(learner=WHO)["fault"]
    wrong = "restart-replicas" if fault != "lost-replicas" else "rebuild-index"
    return f"containment = {{'action': {wrong!r}}}"


@pytest.mark.parametrize("answer, check, message", [
    ("design = {**design, 'boundary.policy': 'none'}", "d_refunds_check",
     "Design: the refunds after approval budget breaks on 3 of 3 unseen seeds"),
    ("design = {**design, 'model.replicas': design['model.replicas'] + 2}", "d_cost_check",
     "Design: the cost per 1k budget breaks"),
    ("design = {'model.replicas': 0}", "d_ttft_check", "Design: model.replicas must be >= 1"),
    ("design = {'load.rate_rps': 1.0}", "d_success_check",
     "this task lets you change only model.replicas"),
    (_wrong_diagnosis(), "g1_diagnosis_check", "Diagnosis: the component is not the one"),
    ("diagnosis = {'component': 'retrieval'}", "g1_diagnosis_check",
     "Diagnosis: 'mechanism' is missing."),
    (_wrong_containment(), "g2_containment_check",
     "the service level does not hold for 5 minutes in a row before the replay ends"),
    (_wrong_containment(), "g3_ttm_check", "the incident is not mitigated at all"),
    ("containment = {'action': 'scale-out'}", "g2_containment_check",
     "Containment: scale-out needs 'add_replicas'"),
])
def test_wrong_answers_fail_their_check(source_run, answer, check, message):
    nb, client = source_run
    keep = run_in(client, "_kept = dict(design=design, diagnosis=diagnosis, "
                          "containment=containment)")
    assert keep == []
    try:
        errors = run_in(client, answer) + run_in(client, cell_of(nb, check).source)
    finally:
        assert run_in(client, "globals().update(_kept)") == []
    assert any(message in e for e in errors), errors


def test_the_written_artifacts_reach_the_evidence_pack(tmp_path):
    from labkit.evidence.pack import collect

    nb = json.loads(RELEASE.read_text(encoding="utf-8"))
    filled = {"evidence:design-document": "Design document. " + "The assistant holds its "
              "budgets with two replicas, the prefix cache and the response cache. " * 4,
              "evidence:postmortem": "Postmortem, blameless. " + "At 09:00 the TTFT alert "
              "fired; the audit records showed slow requests on the retrieval path. " * 4}
    for cell in nb["cells"]:
        for tag, text in filled.items():
            if tag in cell.get("metadata", {}).get("tags", []):
                cell["source"] = text
    path = tmp_path / f"{LAB}.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    pack = collect([path])
    status = {a.name: a.status for a in pack.artifacts}
    assert status["design-document"] == "complete" and status["postmortem"] == "complete"
    assert status["reflection"] == "missing"
    nbformat.validate(nbformat.read(path, as_version=4))
