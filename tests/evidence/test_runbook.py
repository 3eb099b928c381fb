"""Incident runbooks: completeness rules, one page, rendering, serialising."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from labkit.evidence import EvidenceError, Runbook, from_dict
from labkit.evidence.pack import EVIDENCE_MIME
from labkit.evidence.runbook import MAX_WORDS


def good(**kw: object) -> Runbook:
    base = dict(
        title="A model input goes null", system="card fraud scoring", owner="ML on-call",
        trigger="alert null-rate:device_risk (null rate above 30% over 3 h)",
        fallback="rules-based review queue (shutdown.fallback = rules_review)",
        severity="SEV2; SEV1 if the flag rate halves",
        triage=["Open the monitoring dashboard: which feature, since when, how many "
                "transactions?",
                "Check the audit trail for the model version and threshold live at the time."],
        containment=["Switch decisions to the rules-based review fallback (kill switch).",
                     "Ask the data platform team to roll back the backend change."],
        communications=["Tell fraud operations and support within 30 minutes.",
                        "Update the risk owner every 2 hours until resolved."],
        post_incident=["Blameless review within 5 days with the root cause.",
                       "Add a schema test on the device feed and keep the null-rate alert."],
    )
    base.update(kw)
    return Runbook(**base)  # type: ignore[arg-type]


def test_a_complete_runbook_passes() -> None:
    rb = good()
    assert rb.check() == [] and rb.complete
    assert rb.words < MAX_WORDS


@pytest.mark.parametrize("change, problem", [
    ({"title": ""}, "title is empty"),
    ({"fallback": ""}, "fallback is empty"),
    ({"owner": "everyone"}, "owner 'everyone' names nobody in particular: name the role that "
                            "runs the incident (for example 'ML on-call')"),
    ({"trigger": "things look odd"}, "trigger is not measurable: name the alert or the "
                                     "threshold that starts this runbook"),
    ({"triage": []}, "triage has no steps"),
    ({"triage": ["Look at the dashboard."]}, "triage has one step: confirm the problem, then "
                                             "size it"),
    ({"triage": ["Ask around.", "Think hard."]}, "triage does not say where to look: name the "
                                                 "dashboard, alert, log or audit trail"),
    ({"containment": ["Fix it quickly."]}, "containment does not name the fallback or kill "
                                           "switch you switch to"),
    ({"communications": ["Send an email."]}, "communications do not say who is told (users, "
                                             "support, risk owner, leadership ...)"),
    ({"communications": ["Tell support."]}, "communications do not say when (within 30 "
                                            "minutes, every hour ...)"),
    ({"post_incident": ["Move on."]}, "post-incident fixes do not include learning: a root "
                                     "cause, a review, or the test or alert that would have "
                                     "caught it"),
    ({"post_incident": ["Blameless review.", ""]}, "post-incident step 2 is empty"),
    ({"communications": []}, "communications has no steps"),
])
def test_each_gap_is_named(change: dict, problem: str) -> None:
    assert problem in good(**change).check()


def test_one_page_limit() -> None:
    long = good(triage=["Check the dashboard and the logs carefully. " * 100, "Confirm."])
    assert long.words > MAX_WORDS
    assert f"the runbook has {long.words} words: keep it to one page (at most {MAX_WORDS})" \
        in long.check()


@pytest.mark.parametrize("change, message", [
    ({"owner": None}, "owner must be text, got NoneType None"),
    ({"triage": 5}, "triage must be a list of text, got int"),
    ({"triage": ["ok", 2]}, "triage[1] must be text, got int 2"),
    ({"containment": {"a": 1}}, "containment must be a list of text, got dict"),
])
def test_declaration_errors(change: dict, message: str) -> None:
    with pytest.raises(EvidenceError) as exc:
        good(**change)
    assert str(exc.value) == message


def test_a_single_string_is_one_step() -> None:
    assert good(containment="Switch to the fallback.").containment == ("Switch to the "
                                                                       "fallback.",)


def test_round_trip_and_dispatch() -> None:
    rb = good()
    data = json.loads(json.dumps(rb.to_dict()))
    assert data["kind"] == "incident-runbook" and data["triage"] == list(rb.triage)
    assert Runbook.from_dict(data) == rb and from_dict(data) == rb
    with pytest.raises(EvidenceError, match="^incident-runbook data is missing 'fallback'$"):
        Runbook.from_dict({"title": "t", "system": "s", "owner": "o", "trigger": "alert"})


def test_rendering() -> None:
    rb = good()
    md = rb.to_markdown()
    assert "### 2. Containment\n\n1. Switch decisions to the rules-based review fallback" in md
    assert "| fallback / kill switch | rules-based review queue" in md
    page = replace(rb, containment=("<b>wait</b>",)).to_html()
    assert "&lt;b&gt;wait&lt;/b&gt;" in page and "<script" not in page
    assert "containment does not name the fallback" in page
    bundle = rb._repr_mimebundle_()
    assert bundle[EVIDENCE_MIME]["kind"] == "incident-runbook"
    assert bundle["text/markdown"].startswith("## Incident runbook: A model input goes null")
