"""Production system sketches: the rules, rendering, serialising."""

from __future__ import annotations

import json

import pytest

from labkit.evidence import Boundary, Component, DataPath, EvidenceError, SystemSketch, from_dict
from labkit.evidence.pack import EVIDENCE_MIME


def good(**kw: object) -> SystemSketch:
    base = dict(
        title="Refund assistant", owner="Payments product lead",
        components=[
            Component(name="customer", kind="client"),
            Component(name="api", kind="api", purpose="auth, routing, validation",
                      logs=["request id", "user id"]),
            Component(name="llm", kind="model", purpose="drafts answers"),
            Component(name="policies", kind="data", purpose="policy documents"),
            Component(name="refunds", kind="data", purpose="refund ledger"),
            Component(name="agent", kind="human", purpose="approves refunds"),
            Component(name="monitoring", kind="monitor", logs=["latency", "errors"]),
        ],
        paths=[
            DataPath(source="customer", target="api", action="call", data="question"),
            DataPath(source="api", target="policies", action="read", data="policy text",
                     permission="customer may read public policies"),
            DataPath(source="api", target="llm", action="call", data="prompt + policy",
                     timeout_ms=2000, fallback="canned answer with a link to the policy"),
            DataPath(source="agent", target="refunds", action="write", data="refund",
                     permission="refund:approve role", approval="human agent", logged=True),
            DataPath(source="api", target="agent", action="call", data="refund request"),
        ],
        boundaries=[Boundary(name="assistant", statement="The assistant can explain the "
                             "refund policy but cannot approve a refund.",
                             inside=["api", "llm", "policies"])],
        logged=["request id", "model version", "documents retrieved", "who approved a refund"])
    base.update(kw)
    return SystemSketch(**base)  # type: ignore[arg-type]


def test_a_good_sketch_passes() -> None:
    assert good().check() == []


def _with_path(path: DataPath) -> SystemSketch:
    return good(paths=list(good().paths) + [path])


@pytest.mark.parametrize("path, problem", [
    (DataPath(source="llm", target="refunds", action="write", permission="service account"),
     "path 6 (write llm -> refunds): a write has no approval step"),
    (DataPath(source="llm", target="refunds", action="write", permission="p", approval="x"),
     "path 6 (write llm -> refunds): a write is not logged"),
    (DataPath(source="api", target="llm", action="call", fallback="cached answer"),
     "path 6 (call api -> llm): a call to a model has no timeout"),
    (DataPath(source="api", target="llm", action="call", timeout_ms=500),
     "path 6 (call api -> llm): a call to a model has no fallback"),
    (DataPath(source="api", target="refunds", action="read"),
     "path 6 (read api -> refunds): access to a data store names no permission check"),
    (DataPath(source="customer", target="llm", action="call", timeout_ms=1, fallback="x"),
     "path 6 (call customer -> llm): a client reaches a model directly; route it through "
     "the API layer"),
    (DataPath(source="api", target="db", action="read"),
     "path 6 (read api -> db): unknown component 'db'; declared: customer, api, llm, "
     "policies, refunds, agent, monitoring"),
])
def test_path_rules(path: DataPath, problem: str) -> None:
    assert problem in _with_path(path).check()


def test_external_calls_need_timeout_and_fallback() -> None:
    s = good(components=list(good().components) + [Component(name="kyc", kind="external")],
             paths=list(good().paths) + [DataPath(source="api", target="kyc", action="call")])
    problems = s.check()
    assert "path 6 (call api -> kyc): a call to a external has no timeout" in problems
    assert "path 6 (call api -> kyc): a call to a external has no fallback" in problems


@pytest.mark.parametrize("change, problem", [
    ({"boundaries": []}, "no boundary: state in plain English what the system may and may not "
                         "do"),
    ({"boundaries": [Boundary(name="b", statement="Be careful.")]},
     "boundary 'b': state it as a plain-English sentence"),
    ({"boundaries": [Boundary(name="b", statement="The assistant explains the refund "
                                                  "policy to customers.")]},
     "boundary 'b' does not say what is not allowed"),
    ({"boundaries": [Boundary(name="b", statement="The bot may not approve any refund at all.",
                              inside=["ghost"])]},
     "boundary 'b' encloses unknown component 'ghost'"),
    ({"logged": ["request id"]}, "what is logged does not include the model version, so an "
                                 "output cannot be traced back"),
    ({"owner": "team"}, "owner 'team' names nobody in particular: name the role that owns the "
                        "system"),
    ({"title": ""}, "title is empty"),
    ({"components": [], "paths": []}, "no components: declare the client, API layer, model, "
                                      "data stores ..."),
])
def test_sketch_rules(change: dict, problem: str) -> None:
    assert problem in good(**change).check()


def test_unused_duplicate_and_missing_monitoring() -> None:
    comps = [c for c in good().components if c.kind != "monitor"]
    s = good(components=comps + [Component(name="cache", kind="cache"),
                                 Component(name="api", kind="service")], logged=[])
    problems = s.check()
    assert "component 'cache' is on no data path" in problems
    assert "component 'api' is declared twice" in problems
    assert "no monitoring component: add where latency, errors and quality signals go" \
        in problems
    assert "what is logged does not include the model version, so an output cannot be " \
           "traced back" in problems
    bare = good(components=comps, logged=[])
    assert "nothing is logged: list what is logged for audit and debugging" not in \
        bare.check()   # the api component still logs its request ids
    none = good(components=[Component(name="customer", kind="client"),
                            Component(name="api", kind="api")], logged=[],
                paths=[DataPath(source="customer", target="api", action="call")])
    assert "nothing is logged: list what is logged for audit and debugging" in none.check()


@pytest.mark.parametrize("make, message", [
    (lambda: Component(name="x", kind="robot"), "component 'x': kind must be one of client, "
     "api, model, data, cache, queue, human, external, monitor, service, got 'robot'"),
    (lambda: DataPath(source="a", target="b", action="delete"), "path a -> b: action must be "
     "one of read, write, call, got 'delete'"),
    (lambda: DataPath(source="a", target="b", action="call", timeout_ms=-1), "path a -> b: "
     "timeout_ms must be a number >= 0 (0 = none), got -1"),
    (lambda: DataPath(source="a", target="b", action="call", logged="yes"), "path a -> b: "
     "logged must be true or false, got 'yes'"),
    (lambda: Boundary(name="b", statement=None), "boundary 'b' statement must be text, got "
     "NoneType None"),
    (lambda: good(paths=[3]), "paths[0] must be a DataPath or a dict, got int"),
])
def test_declaration_errors(make, message: str) -> None:
    with pytest.raises(EvidenceError) as exc:
        make()
    assert str(exc.value) == message


def test_round_trip_through_json_and_dicts() -> None:
    s = good()
    data = json.loads(json.dumps(s.to_dict()))
    assert data["kind"] == "system-sketch" and data["paths"][2]["timeout_ms"] == 2000
    assert SystemSketch.from_dict(data) == s and from_dict(data) == s
    with pytest.raises(EvidenceError, match="^system-sketch data is missing 'title'$"):
        SystemSketch.from_dict({"kind": "system-sketch"})


def test_rendering() -> None:
    s = good()
    flow = s.flow()
    assert "agent --write--> refunds  [refund; permission: refund:approve role; approval: " \
           "human agent; logged]" in flow
    md = s.to_markdown()
    assert "| api | llm | call | prompt + policy | - | 2000 ms | canned answer" in md
    assert "- **assistant**: The assistant can explain the refund policy but cannot approve " \
           "a refund. (inside: api, llm, policies)" in md
    page = s.to_html()
    assert page.startswith("<!DOCTYPE html>") and "<pre>" in page and "<script" not in page
    bundle = s._repr_mimebundle_()
    assert bundle[EVIDENCE_MIME]["data"]["title"] == "Refund assistant"
    assert bundle[EVIDENCE_MIME]["problems"] == []
