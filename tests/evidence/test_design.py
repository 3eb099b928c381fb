"""The load-and-failure design: declared, checked, rendered, round-tripped, collected."""

from __future__ import annotations

import json

import pytest

from labkit.evidence.common import EvidenceError
from labkit.evidence.design import DesignError, LoadFailureDesign
from labkit.evidence.pack import EVIDENCE_MIME, collect

GOOD = dict(
    service="Policy assistant (RAG over the policy library)",
    budgets={"p95_ms": 800, "success_rate": 0.99, "cost_per_1k": 1.3, "quality": 0.75},
    cache={"enabled": True, "capacity_items": 5000, "ttl_s": 12},
    scaling={"replicas": 2, "autoscale": True, "min_replicas": 2, "max_replicas": 8,
             "stateless": True},
    retry={"max_attempts": 3, "timeout_ms": 1000, "backoff": "exponential", "base_ms": 100,
           "cap_ms": 1000, "jitter": "full", "budget_ratio": 0.1, "on": ["error", "timeout"],
           "deadline_ms": 3000},
    breaker={"enabled": True, "failure_rate": 0.5, "open_s": 2},
    fallback=["small_model", "skip_retrieval", "stale_cache", "safe_message"],
    kill_switch="feature flag kill.primary, thrown by the on-call engineer",
    logging={"trace": ["request id", "path", "attempts"], "data": ["index snapshot", "model"],
             "access": ["user id", "document ids"]},
    evidence={"p95_ms": 369, "success_rate": 1.0},
)


def design(**changes):
    return LoadFailureDesign(**{**GOOD, **changes})


def test_a_complete_design_passes_every_check():
    assert design().check() == []


@pytest.mark.parametrize("changes, expected", [
    ({"budgets": {"p95_ms": 800}}, "budgets: declare success_rate"),
    ({"budgets": {**GOOD["budgets"], "quality": 0}}, "budgets.quality must be > 0, got 0"),
    ({"cache": {"enabled": True, "capacity_items": 100}}, "cache: ttl_s is 0 or missing"),
    ({"cache": {"enabled": True, "ttl_s": 5}}, "cache: declare capacity_items"),
    ({"scaling": {"replicas": 2}}, "scaling: declare the replicas stateless"),
    ({"scaling": {"autoscale": True, "min_replicas": 1, "stateless": True}},
     "scaling: an autoscaler needs max_replicas"),
    ({"scaling": {"stateless": True}}, "scaling: declare replicas"),
    ({"retry": {**GOOD["retry"], "timeout_ms": 0}}, "retry: a retry without timeout_ms"),
    ({"retry": {**GOOD["retry"], "timeout_ms": 5000}}, "retry: timeout_ms must be shorter"),
    ({"retry": {**GOOD["retry"], "jitter": "none"}}, "retry: declare jitter"),
    ({"retry": {**GOOD["retry"], "backoff": "none"}}, "retry: declare backoff"),
    ({"retry": {**GOOD["retry"], "budget_ratio": 0}}, "retry: declare budget_ratio"),
    ({"retry": {**GOOD["retry"], "cap_ms": 0}}, "retry: declare cap_ms"),
    ({"retry": {**GOOD["retry"], "max_attempts": 8}}, "retry: max_attempts 8 is no cap"),
    ({"retry": {**GOOD["retry"], "on": []}}, "retry: declare on"),
    ({"retry": {**GOOD["retry"], "on": ["throttled"]}}, "retry: do not retry 'throttled'"),
    ({"retry": {"max_attempts": 1}}, "retry: declare deadline_ms"),
    ({"breaker": {}}, "breaker: no circuit breaker"),
    ({"fallback": []}, "fallback: no fallback path"),
    ({"fallback": ["small_model"]}, "fallback: the chain ends in 'small_model'"),
    ({"kill_switch": ""}, "kill_switch: name how the model is turned off"),
    ({"logging": {"trace": ["id"], "data": ["index"]}}, "logging.access: say what is recorded"),
])
def test_each_gap_is_named(changes, expected):
    problems = design(**changes).check()
    assert any(p.startswith(expected) for p in problems), problems


def test_no_retries_needs_no_backoff_but_still_a_deadline():
    problems = design(retry={"max_attempts": 1, "deadline_ms": 2000}).check()
    assert not any(p.startswith("retry") for p in problems), problems


@pytest.mark.parametrize("changes, message", [
    ({"service": " "}, "service must name the system in a few words, got ' '"),
    ({"budgets": [1]}, "budgets must be a dict, got list"),
    ({"budgets": {"p95_ms": "fast"}}, "budgets.p95_ms must be a number, got 'fast'"),
    ({"fallback": ["cache"]}, "fallback steps must be from small_model, skip_retrieval, "
                              "stale_cache, safe_message, got 'cache'"),
    ({"fallback": "safe_message"}, "fallback must be a list of strings, got 'safe_message'"),
    ({"logging": {"audit": ["x"]}}, "logging areas must be from trace, data, access, got 'audit'"),
    ({"logging": {"trace": [1]}}, "logging.trace must be a list of strings, got [1]"),
    ({"kill_switch": None}, "kill_switch must be text, got None"),
    ({"cache": {1: 2}}, "cache keys must be strings, got 1"),
])
def test_bad_fields_are_refused_by_name(changes, message):
    with pytest.raises(DesignError) as err:
        design(**changes)
    assert str(err.value) == message


def test_round_trip_through_json():
    d = design()
    data = json.loads(json.dumps(d.to_dict()))
    assert data["kind"] == "load-failure-design" and data["version"] == 1
    assert data["fallback"][-1] == "safe_message" and data["retry"]["on"] == ["error", "timeout"]
    assert LoadFailureDesign.from_dict(data) == d


def test_from_dict_refuses_bad_envelopes():
    with pytest.raises(EvidenceError, match="load-failure-design data has unknown field 'owner'"):
        LoadFailureDesign.from_dict({**GOOD, "owner": "me"})
    with pytest.raises(EvidenceError, match="load-failure-design data must be a dict, got str"):
        LoadFailureDesign.from_dict("design")
    with pytest.raises(EvidenceError, match="not a 'load-failure-design' one"):
        LoadFailureDesign.from_dict({**GOOD, "kind": "risk-register"})
    with pytest.raises(DesignError, match="load-failure-design data is missing 'service'"):
        LoadFailureDesign.from_dict({"budgets": {}})
    assert issubclass(DesignError, EvidenceError)


def test_markdown_and_html_show_every_part_and_escape():
    d = design(service="Bot <b>", notes="Peak is 3x at 09:00.")
    md, page = d.to_markdown(), d.to_html()
    assert md.startswith("## Design for load and failure: Bot <b>")
    for part in ("budgets", "cache", "scaling", "retry", "breaker", "fallback", "kill switch",
                 "logged for trace", "logged for data", "logged for access",
                 "evidence from runs"):
        assert f"| {part} |" in md and f"<td>{part}</td>" in page
    assert "small_model -> skip_retrieval -> stale_cache -> safe_message" in md
    assert "Bot &lt;b&gt;" in page and "Bot <b>" not in page
    assert "<script" not in page and "Still to fix" not in md
    assert "Complete: every check passes." in page and page.startswith("<!DOCTYPE html>")


def test_failing_checks_are_listed_in_the_rendering():
    d = design(fallback=[])
    assert "**Still to fix:**" in d.to_markdown() and "- fallback: no fallback path" in d.to_markdown()
    assert "Still to fix" in d.to_html(full_page=False) and not d.complete
    with pytest.raises(EvidenceError, match="fallback: no fallback path"):
        d.assert_complete()


def _notebook(path, bundle):
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{
        "cell_type": "code", "source": "design", "execution_count": 1,
        "metadata": {"tags": ["evidence:load-failure-design"]},
        "outputs": [{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                     "data": dict(bundle)}]}]}
    path.write_text(json.dumps(nb))
    return next(a for a in collect([path]).artifacts if a.name == "load-failure-design")


def test_the_notebook_output_is_what_the_evidence_pack_reads(tmp_path):
    gappy = design(breaker={})
    bundle = gappy._repr_mimebundle_()
    payload = bundle[EVIDENCE_MIME]
    assert payload["kind"] == "load-failure-design"
    assert payload["problems"] == gappy.check() and payload["data"] == gappy.to_dict()
    assert "text/markdown" in bundle and "Still to fix" in bundle["text/markdown"]
    art = _notebook(tmp_path / "gappy.ipynb", bundle)
    assert art.status == "incomplete"
    assert any("breaker: no circuit breaker" in m for m in art.messages)
    art = _notebook(tmp_path / "whole.ipynb", design()._repr_mimebundle_())
    assert art.status == "complete" and "Policy assistant" in art.markdown


def test_the_pack_rechecks_the_data_not_the_stored_verdict(tmp_path):
    """A saved payload whose problems were edited away is still judged on its data."""
    bundle = design(fallback=[])._repr_mimebundle_()
    bundle[EVIDENCE_MIME] = {**bundle[EVIDENCE_MIME], "problems": []}
    art = _notebook(tmp_path / "edited.ipynb", bundle)
    assert art.status == "incomplete"
    assert any("fallback: no fallback path" in m for m in art.messages)
