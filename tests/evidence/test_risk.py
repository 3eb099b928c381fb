"""Risk register entries: NIST mapping checks, rendering, serialising, the pack."""

from __future__ import annotations

import json
from dataclasses import replace

import nbformat
import pytest

from labkit.evidence import EvidenceError, RiskEntry, from_dict
from labkit.evidence.pack import EVIDENCE_MIME, collect
from labkit.evidence.risk import Control, RmfMapping, rating_level


def good(**kw: object) -> RiskEntry:
    base = dict(
        risk_id="R-3", title="Device feature silently goes null",
        risk="A backend change leaves device_risk mostly missing; the model imputes it and "
             "misses fraud for days while every health check stays green.",
        system="card fraud scoring", owner="Head of fraud ML", likelihood="possible",
        impact=4, response="mitigate", review="monthly, and after every incident",
        controls=[
            Control(description="Null-rate alert per feature, 3 h window", owner="data "
                    "platform on-call", evidence="alert rule in the monitoring repo"),
            Control(description="Kill switch to rules-based review", owner="fraud ops lead",
                    evidence="quarterly drill record"),
        ],
        nist=[
            RmfMapping(subcategory="MEASURE 2.4", how="null-rate and PSI monitors in "
                       "production", owner="data platform on-call", evidence="alert history"),
            {"subcategory": "manage-2.4", "how": "documented shutdown to the fallback",
             "owner": "fraud ops lead", "evidence": "runbook and drill log"},
        ])
    base.update(kw)
    return RiskEntry(**base)  # type: ignore[arg-type]


def test_a_complete_entry_passes_and_rates() -> None:
    entry = good()
    assert entry.check() == [] and entry.complete
    entry.assert_complete()
    assert entry.likelihood == 3 and entry.impact == 4
    assert entry.rating == (12, "high")
    assert [m.subcategory for m in entry.nist] == ["MEASURE 2.4", "MANAGE 2.4"]


@pytest.mark.parametrize("score, level", [(1, "low"), (4, "low"), (5, "medium"),
                                          (9, "medium"), (10, "high"), (16, "high"),
                                          (20, "critical"), (25, "critical")])
def test_rating_bands(score: int, level: str) -> None:
    assert rating_level(score) == level


@pytest.mark.parametrize("change, problem", [
    ({"title": ""}, "title is empty"),
    ({"review": " "}, "review is empty"),
    ({"risk": "It breaks."}, "risk has 2 words: describe the cause, what happens and the "
                            "consequence (at least 8 words)"),
    ({"owner": "the team"}, "the risk owner 'the team' names nobody in particular: name one "
                            "role or person"),
    ({"owner": ""}, "the risk has no owner: name one role or person"),
    ({"controls": []}, "no controls: list what reduces the likelihood or the impact"),
    ({"nist": []}, "no NIST AI RMF mapping: map the controls to subcategories such as GOVERN "
                   "2.1, MEASURE 2.4 or MANAGE 2.4"),
])
def test_each_gap_is_named(change: dict, problem: str) -> None:
    assert problem in good(**change).check()


def test_mapping_problems() -> None:
    entry = good(nist=[
        RmfMapping(subcategory="MEASURE 2.44", how="x", owner="sre lead", evidence="y"),
        RmfMapping(subcategory="MANAGE 2.4", how="", owner="everyone", evidence=""),
        RmfMapping(subcategory="manage 2.4", how="again", owner="sre lead", evidence="z"),
        RmfMapping(subcategory="govern two", how="x", owner="sre lead", evidence="y"),
    ])
    problems = entry.check()
    assert "'MEASURE 2.44' is not a NIST AI RMF 1.0 subcategory; did you mean MEASURE 2.4?" \
        in problems
    assert "'govern two' is not a NIST AI RMF 1.0 subcategory" in problems
    assert "MANAGE 2.4: say how this entry meets it" in problems
    assert "MANAGE 2.4 owner 'everyone' names nobody in particular: name one role or person" \
        in problems
    assert "MANAGE 2.4 has no evidence: say where the proof lives" in problems
    assert "MANAGE 2.4 is mapped twice: merge the two rows" in problems
    assert "a high risk needs a MEASURE mapping: how will you know it is happening (e.g. "\
           "MEASURE 2.4)?" in problems


def test_control_problems() -> None:
    entry = good(controls=[Control(description="", owner="nobody", evidence="")])
    problems = entry.check()
    assert "control 1 has no description" in problems
    assert "control 1 owner 'nobody' names nobody in particular: name one role or person" \
        in problems
    assert "control 1 has no evidence: say where the proof lives" in problems
    assert "a high risk needs at least 2 controls, got 1" in problems


def test_low_risks_need_less() -> None:
    entry = good(likelihood="rare", impact="minor", controls=good().controls[:1],
                 nist=good().nist[:1])
    assert entry.rating == (2, "low") and entry.check() == []
    critical = good(likelihood=5, impact="severe", nist=good().nist[1:])
    assert critical.rating[1] == "critical"
    assert any("a critical risk needs a MEASURE mapping" in p for p in critical.check())


@pytest.mark.parametrize("change, message", [
    ({"likelihood": "often"}, "likelihood must be 1-5 or one of rare, unlikely, possible, "
                              "likely, almost certain, got 'often'"),
    ({"impact": 6}, "impact must be 1-5 or one of negligible, minor, moderate, major, severe, "
                    "got 6"),
    ({"impact": True}, "impact must be 1-5 or one of negligible, minor, moderate, major, "
                       "severe, got True"),
    ({"response": "ignore"}, "response must be one of mitigate, transfer, avoid, accept, got "
                             "'ignore'"),
    ({"title": 3}, "title must be text, got int 3"),
    ({"controls": ["x"]}, "controls[0] must be a Control or a dict, got str"),
    ({"nist": [{"subcategory": "MAP 3.5"}]}, "nist[0]: RmfMapping.__init__() missing 3 "
                                             "required keyword-only arguments: 'how', 'owner', "
                                             "and 'evidence'"),
])
def test_declaration_errors(change: dict, message: str) -> None:
    with pytest.raises(EvidenceError) as exc:
        good(**change)
    assert str(exc.value) == message


def test_assert_complete_lists_every_problem() -> None:
    with pytest.raises(EvidenceError) as exc:
        good(title="", review="").assert_complete()
    assert str(exc.value) == ("Risk register entry is not complete:\n- title is empty\n"
                              "- review is empty")


def test_round_trip_through_json() -> None:
    entry = good()
    data = json.loads(json.dumps(entry.to_dict()))
    assert data["kind"] == "risk-register" and data["rating"] == {"score": 12, "level": "high"}
    assert RiskEntry.from_dict(data) == entry
    assert from_dict(data) == entry


@pytest.mark.parametrize("data, message", [
    ([], "risk-register data must be a dict, got list"),
    ({"kind": "incident-runbook"}, "data is a 'incident-runbook' artifact, not a "
                                   "'risk-register' one"),
    ({"kind": "risk-register", "colour": "red"}, "risk-register data has unknown field "
     "'colour'; known fields: risk_id, title, risk, system, owner, likelihood, impact, "
     "controls, nist, response, review, rating"),
    ({"kind": "risk-register", "title": "x"}, "risk-register data is missing 'risk_id'"),
])
def test_from_dict_errors(data: object, message: str) -> None:
    with pytest.raises(EvidenceError) as exc:
        RiskEntry.from_dict(data)  # type: ignore[arg-type]
    assert str(exc.value) == message


def test_from_dict_dispatch_error() -> None:
    with pytest.raises(EvidenceError, match="^kind must be one of risk-register, "
                                            "incident-runbook, system-sketch, got 'memo'$"):
        from_dict({"kind": "memo"})


def test_markdown_and_html() -> None:
    entry = good(title="Scores <drift> & nobody notices")
    md = entry.to_markdown()
    assert md.startswith("## Risk register entry: R-3 Scores <drift> & nobody notices")
    assert "| MEASURE 2.4 | The system's functionality and behaviour are monitored in " \
           "production. |" in md
    assert "| rating | 12 of 25 (high) |" in md and "Still to fix" not in md
    page = entry.to_html()
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert "http://" not in page and "https://" not in page
    assert "Scores &lt;drift&gt; &amp; nobody notices" in page
    assert 'class="ok"' in page
    fragment = replace(entry, review="").to_html(full_page=False)
    assert fragment.startswith("<section>") and "review is empty" in fragment


def test_notebook_output_is_what_the_pack_collects(tmp_path) -> None:
    entry = good()
    bundle = entry._repr_mimebundle_()
    assert bundle[EVIDENCE_MIME]["kind"] == "risk-register"
    assert bundle[EVIDENCE_MIME]["problems"] == []
    nb = nbformat.v4.new_notebook()
    for art, tag in ((entry, "evidence:risk-register"),
                     (replace(entry, owner="all"), "evidence:risk-register")):
        cell = nbformat.v4.new_code_cell("entry", metadata={"tags": [tag]})
        cell.outputs = [nbformat.v4.new_output("display_data",
                                               data=art._repr_mimebundle_())]
        nb.cells.append(cell)
    path = tmp_path / "lab3.ipynb"
    nbformat.write(nb, path)
    found = [a for a in collect([path]).artifacts if a.name == "risk-register"]
    assert [a.status for a in found] == ["complete", "incomplete"]
    assert any("names nobody in particular" in m for m in found[1].messages)
