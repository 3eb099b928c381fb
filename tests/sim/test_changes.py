"""Scheduled changes (labkit.sim.Change): live knobs that take a new value mid-run.

What must hold: the run with a change at t equals the run without it for every request that
ends before t (the streams do not depend on the changes); after t the new value acts, each
knob checked where it shows (retrieval time, the provider's 60 s windows, the pool's ready
replicas, the audit trail's release, the fallbacks, the prompt lengths); bad changes are
refused before anything runs, naming the knob; every request still ends exactly once.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from labkit.knobs import KnobError
from labkit.sim import CATALOGUE, Change, Scenario, simulate
from labkit.sim.codes import DEGRADED, FAILED, Attempt, Path

from .test_conservation import KNOBS, PHASES, check_conservation, knob_strategy

LIVE = ("load.prompt_tokens", "retrieval.latency_ms", "retrieval.run_fraction",
        "model.replicas", "model.error_rate", "model.version", "model.upstream_tpm",
        "fallback.chain")

#: Token mode, retrieval on, a quota: every live knob acts on this service.
TOKENS = {"llm.enabled": True, "load.rate_rps": 12.0, "load.duration_s": 240.0,
          "load.prompt_tokens": 600, "load.output_tokens": 120, "model.replicas": 3,
          "retrieval.enabled": True, "model.error_rate": 0.05, "retry.max_attempts": 2}
#: Request mode, the same knobs where they exist.
REQUESTS = {"load.rate_rps": 60.0, "load.duration_s": 160.0, "model.replicas": 6,
            "retrieval.enabled": True, "model.error_rate": 0.05, "retry.max_attempts": 2}
AT = 100.0


def same_rows(a: np.ndarray, b: np.ndarray) -> bool:
    return a.tobytes() == b.tobytes()   # (NaN fields compare equal byte for byte)


# ------------------------------------------------------------------ the catalogue
def test_the_live_knobs_are_declared_on_their_fields_and_listed():
    assert CATALOGUE.live() == LIVE
    for name, knob in CATALOGUE.items():
        assert knob.as_dict()["live"] is (name in LIVE)


def test_knobs_json_and_text_show_which_knobs_are_live(capsys):
    from labkit.cli import main

    assert main(["knobs", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [k["name"] for k in listed if k["live"]] == list(LIVE)
    assert main(["knobs", "--group", "retrieval"]) == 0
    out = capsys.readouterr().out
    assert "retrieval.latency_ms = 40 ms" in out and "[live: may change mid-run]" in out
    assert out.count("[live") == 2


# ------------------------------------------------------------------ before t: nothing moves
CHANGES = [
    {"retrieval.latency_ms": 900.0}, {"retrieval.run_fraction": 0.25},
    {"model.replicas": 1}, {"model.replicas": 8}, {"model.error_rate": 0.3},
    {"model.version": "v3"}, {"model.upstream_tpm": 200_000.0},
    {"fallback.chain": ("small_model", "safe_message")}, {"load.prompt_tokens": 300},
]


@pytest.mark.parametrize("knobs", CHANGES, ids=lambda k: next(iter(k)))
@pytest.mark.parametrize("base", [TOKENS, REQUESTS], ids=["tokens", "requests"])
def test_a_change_at_t_leaves_every_request_that_ends_before_t_alone(base, knobs):
    seed = 5
    plain = simulate(base, seed=seed)
    changed = simulate(base, seed=seed, changes=[Change(at_s=AT, knobs=knobs)])
    before = plain.records["end_s"] < AT
    assert before.sum() > 500
    assert same_rows(plain.records[before], changed.records[before])
    a0, a1 = plain.attempts, changed.attempts
    assert same_rows(a0[a0["end_s"] < AT], a1[a1["end_s"] < AT])
    assert same_rows(plain.samples[plain.samples[:, 0] < AT],
                     changed.samples[changed.samples[:, 0] < AT])
    # and the change did something afterwards (the release only shows in the audit trail;
    # request mode has no prompt lengths or token quota)
    inert = {"model.version"} | ({"load.prompt_tokens", "model.upstream_tpm"}
                                 if base is REQUESTS else set())
    assert not same_rows(plain.records, changed.records) or set(knobs) <= inert


def test_a_run_without_changes_keeps_an_empty_schedule():
    r = simulate(REQUESTS, seed=1, changes=[])
    assert r.changes == () and r.scenario_at(1e9) is r.scenario
    assert "changes" not in r.to_dict()


# ------------------------------------------------------------------ after t: the new value acts
def test_retrieval_latency_acts_on_requests_that_start_retrieval_after_t():
    knobs = {**REQUESTS, "retrieval.latency_ms": 40.0}
    r = simulate(knobs, seed=2, changes=[Change(at_s=AT, knobs={"retrieval.latency_ms": 700.0})])
    rec = r.records
    retrieved = (rec["path"] & Path.RETRIEVAL) > 0
    validate_s = r.scenario.gateway.validate_ms / 1000.0
    late = retrieved & (rec["arrival_s"] + validate_s >= AT)
    early = retrieved & (rec["end_s"] < AT)
    assert late.sum() > 1000 and early.sum() > 1000
    # a request pays the retrieval time in force when its steps were planned (deterministic)
    assert (rec["latency_ms"][late] >= 700.0).all()
    assert np.percentile(rec["latency_ms"][early], 90) < 500.0
    assert r.scenario_at(AT - 1e-9).retrieval.latency_ms == 40.0
    assert r.scenario_at(AT).retrieval.latency_ms == 700.0


def test_run_fraction_gates_retrieval_after_t_to_its_share():
    r = simulate(REQUESTS, seed=3, changes=[Change(at_s=AT, knobs={"retrieval.run_fraction":
                                                                  0.25})])
    rec = r.records
    late = (rec["arrival_s"] >= AT + 1.0) & (rec["model_calls"] > 0) & ~rec["write"]
    share = ((rec["path"][late] & Path.RETRIEVAL) > 0).mean()
    n = late.sum()
    assert abs(share - 0.25) <= 4 * np.sqrt(0.25 * 0.75 / n)   # binomial, 4 sigma


def _max_window_tokens(times: np.ndarray, tokens: np.ndarray, window_s: float = 60.0) -> float:
    """The most tokens admitted in any window [s, s + window) that starts at an admission."""
    order = np.argsort(times, kind="stable")
    t, k = times[order], np.cumsum(tokens[order])
    ends = np.searchsorted(t, t + window_s, side="left")
    starts_before = np.concatenate([[0], k])[np.arange(len(t))]
    return float((np.concatenate([[0], k])[ends] - starts_before).max()) if len(t) else 0.0


def test_a_quota_cut_holds_in_every_60_s_window_after_t():
    quota = 150_000.0
    knobs = {**TOKENS, "model.upstream_tpm": 1_000_000.0}
    r = simulate(knobs, seed=4, changes=[Change(at_s=AT, knobs={"model.upstream_tpm": quota})])
    a, tok = r.attempts, r.tokens
    admitted = a[a["model_call"] & (a["result"] != Attempt.THROTTLED)]
    calls_tokens = (tok["prompt_tokens"] + tok["output_tokens"])[admitted["request"]]
    after = admitted["start_s"] >= AT
    assert _max_window_tokens(admitted["start_s"][after], calls_tokens[after]) <= quota
    # the old quota let more through per minute before the cut, and the cut throttles
    before = admitted["start_s"] < AT
    assert _max_window_tokens(admitted["start_s"][before], calls_tokens[before]) > quota
    throttled = a[a["result"] == Attempt.THROTTLED]
    assert (throttled["start_s"] >= AT).sum() > 100 and (throttled["start_s"] < AT).sum() == 0


@pytest.mark.parametrize("base", [TOKENS, REQUESTS], ids=["tokens", "requests"])
def test_added_replicas_are_ready_after_the_cold_start(base):
    cold = 20.0
    knobs = {**base, "autoscale.cold_start_s": cold}
    old = knobs["model.replicas"]
    r = simulate(knobs, seed=1, changes=[Change(at_s=AT, knobs={"model.replicas": old + 3})])
    t, provisioned, ready = r.samples[:, 0], r.samples[:, 2], r.samples[:, 3]
    assert (ready[t < AT + cold] == old).all() and (ready[t >= AT + cold] == old + 3).all()
    # paid for from the start of the cold start
    assert (provisioned[t < AT] == old).all() and (provisioned[t >= AT] == old + 3).all()


@pytest.mark.parametrize("base", [TOKENS, REQUESTS], ids=["tokens", "requests"])
def test_removed_replicas_are_lost_at_t_and_their_work_is_served_elsewhere(base):
    r = simulate(base, seed=1, changes=[Change(at_s=AT, knobs={"model.replicas": 1})])
    t, ready = r.samples[:, 0], r.samples[:, 3]
    assert (ready[t < AT] == base["model.replicas"]).all() and (ready[t >= AT] == 1).all()
    check_conservation(r)
    # with one replica left the queue grows after t: requests wait longer than before
    rec = r.records
    assert (np.median(rec["latency_ms"][rec["arrival_s"] >= AT + 20])
            > np.median(rec["latency_ms"][rec["end_s"] < AT]))


def test_the_audit_trail_shows_the_release_in_force_at_the_call():
    r = simulate({**REQUESTS, "audit.enabled": True}, seed=1,
                 changes=[Change(at_s=AT, knobs={"model.version": "v3",
                                                 "model.error_rate": 0.5})])
    a = r.attempts
    ok_calls = a[a["model_call"] & (a["result"] == Attempt.OK)]
    early = int(ok_calls["request"][ok_calls["end_s"] < AT - 5][0])
    late = int(ok_calls["request"][ok_calls["start_s"] > AT + 5][0])
    assert r.trace(early)["model"]["version"] == "v2"
    assert r.trace(late)["model"]["version"] == "v3"
    assert r.trace(late)["answered_by"] == "primary model v3"
    # the new error rate acts too: about half the calls made after t fail
    calls = a[a["model_call"] & (a["start_s"] > AT + 5)]
    failed = np.isin(calls["result"], (Attempt.ERROR,)).mean()
    assert 0.4 <= failed <= 0.6
    before = a[a["model_call"] & (a["end_s"] < AT)]
    assert (before["result"] == Attempt.ERROR).mean() < 0.1

def test_a_fallback_chain_added_at_t_answers_only_after_t():
    knobs = {**REQUESTS, "model.error_rate": 0.3, "retry.max_attempts": 1}
    r = simulate(knobs, seed=1, changes=[Change(at_s=AT, knobs={"fallback.chain":
                                                                ("small_model",)})])
    rec = r.records
    degraded = rec["outcome"] == DEGRADED
    assert degraded.sum() > 100
    assert (rec["end_s"][degraded] >= AT).all()
    assert ((rec["path"][degraded] & Path.SMALL_MODEL) > 0).all()
    failed_late = (rec["outcome"] == FAILED) & (rec["arrival_s"] > AT + 5)
    assert failed_late.sum() < 0.05 * (rec["arrival_s"] > AT + 5).sum()


def test_prompt_lengths_follow_the_mean_in_force_at_arrival():
    knobs = {**TOKENS, "load.prompt_tokens_cv": 0.5}
    plain = simulate(knobs, seed=6)
    r = simulate(knobs, seed=6, changes=[Change(at_s=AT, knobs={"load.prompt_tokens": 300})])
    late = r.records["arrival_s"] >= AT
    p0, p1 = plain.tokens["prompt_tokens"], r.tokens["prompt_tokens"]
    assert np.array_equal(p0[~late], p1[~late])
    # the same draws, scaled: each late prompt is about half its length without the change
    assert np.allclose(p1[late], p0[late] * 300 / 600, atol=1.0)
    assert abs(p1[late].mean() - 300) < 300 * 0.5 / np.sqrt(late.sum()) * 4


def test_changes_apply_in_time_order_and_accumulate():
    changes = [Change(at_s=120.0, knobs={"model.replicas": 2}),
               Change(at_s=50.0, knobs={"model.replicas": 5, "model.version": "v1"})]
    r = simulate(REQUESTS, seed=1, changes=changes)
    assert [c.at_s for c in r.changes] == [50.0, 120.0]
    assert r.scenario_at(10.0).model.replicas == 6
    assert (r.scenario_at(60.0).model.replicas, r.scenario_at(60.0).model.version) == (5, "v1")
    assert (r.scenario_at(130.0).model.replicas, r.scenario_at(200.0).model.version) == (2, "v1")
    t, ready = r.samples[:, 0], r.samples[:, 3]
    assert (ready[(t >= 50) & (t < 120)] == 5).all() and (ready[t >= 120] == 2).all()
    assert r.to_dict()["changes"] == [{"at_s": 50.0, "knobs": {"model.replicas": 5,
                                                               "model.version": "v1"}},
                                      {"at_s": 120.0, "knobs": {"model.replicas": 2}}]


# ------------------------------------------------------------------ refused before the run
def test_a_change_to_a_knob_that_is_not_live_is_refused_naming_it():
    with pytest.raises(KnobError, match=r"^cache\.enabled cannot change mid-run; live knobs "
                                        r"are load\.prompt_tokens, .*fallback\.chain; got True$"):
        Change(at_s=10.0, knobs={"cache.enabled": True})
    with pytest.raises(KnobError, match=r"unknown knob 'model\.replica'; did you mean "
                                        r"'model\.replicas'"):
        Change(at_s=10.0, knobs={"model.replica": 2})


def test_a_bad_value_or_time_is_refused_naming_the_knob():
    with pytest.raises(KnobError, match=r"^model\.replicas must be >= 1, got 0$"):
        Change(at_s=10.0, knobs={"model.replicas": 0})
    with pytest.raises(KnobError, match=r"^model\.version must be one of v1, v2, v3, got 'v9'$"):
        Change(at_s=10.0, knobs={"model.version": "v9"})
    for bad in (-1.0, float("nan"), "10", True):
        with pytest.raises(KnobError, match=r"^Change\.at_s must be a finite number of "
                                            r"seconds >= 0, got "):
            Change(at_s=bad, knobs={"model.replicas": 2})
    with pytest.raises(KnobError, match=r"^Change\.knobs must be a non-empty mapping"):
        Change(at_s=1.0, knobs={})
    with pytest.raises(KnobError, match=r"^changes must be a list of Change, got Change$"):
        simulate(REQUESTS, seed=1, changes=Change(at_s=1.0, knobs={"model.replicas": 2}))
    with pytest.raises(KnobError, match=r"^changes must be a list of Change, got an item of "
                                        r"type dict$"):
        simulate(REQUESTS, seed=1, changes=[{"at_s": 1.0}])


def test_a_change_that_breaks_a_scenario_rule_is_refused_before_the_run():
    cap = Scenario.from_knobs({**TOKENS, "llm.kv_capacity_tokens": 2000})
    with pytest.raises(KnobError, match=r"^change at 100 s: load\.prompt_tokens must be < the "
                                        r"KV-cache capacity of one replica \(2000 tokens\), "
                                        r"got 2500$"):
        simulate(cap, seed=1, changes=[Change(at_s=AT, knobs={"load.prompt_tokens": 2500})])
    auto = {**REQUESTS, "autoscale.enabled": True, "autoscale.max_replicas": 8}
    with pytest.raises(KnobError, match=r"^change at 100 s: model\.replicas must lie within "
                                        r"autoscale\.min_replicas\.\.autoscale\.max_replicas "
                                        r"\(1\.\.8\) when autoscaling, got 9$"):
        simulate(auto, seed=1, changes=[Change(at_s=AT, knobs={"model.replicas": 9})])


def test_a_change_at_or_after_the_duration_is_refused():
    for at in (160.0, 500.0):
        with pytest.raises(KnobError, match=r"^Change\.at_s must be < load\.duration_s \(160\) "
                                            r"so that requests still arrive after it, got "):
            simulate(REQUESTS, seed=1, changes=[Change(at_s=at, knobs={"model.replicas": 2})])
    # just before the end is allowed
    r = simulate(REQUESTS, seed=1, changes=[Change(at_s=159.0, knobs={"model.replicas": 2})])
    check_conservation(r)


def test_a_change_is_a_frozen_record_with_checked_values():
    c = Change(at_s=5, knobs={"retrieval.latency_ms": "900", "fallback.chain": "safe_message"})
    assert c.at_s == 5.0 and dict(c.knobs) == {"retrieval.latency_ms": 900.0,
                                                "fallback.chain": ("safe_message",)}
    assert c == Change(at_s=5.0, knobs={"retrieval.latency_ms": 900.0,
                                        "fallback.chain": ["safe_message"]})
    assert hash(c) == hash(Change(at_s=5.0, knobs=dict(c.knobs)))
    with pytest.raises(TypeError):
        c.knobs["model.replicas"] = 3  # type: ignore[index]
    with pytest.raises(AttributeError):
        c.at_s = 1.0  # type: ignore[misc]


# ------------------------------------------------------------------ conservation
@pytest.mark.parametrize("base", [TOKENS, REQUESTS], ids=["tokens", "requests"])
def test_every_request_ends_once_with_every_live_knob_changed_twice(base):
    changes = [Change(at_s=60.0, knobs={"retrieval.latency_ms": 500.0, "model.replicas": 1,
                                        "model.error_rate": 0.2, "model.version": "v3",
                                        "model.upstream_tpm": 120_000.0,
                                        "retrieval.run_fraction": 0.5,
                                        "load.prompt_tokens": 400}),
               Change(at_s=90.0, knobs={"model.replicas": 4, "fallback.chain":
                                        ("small_model", "stale_cache", "safe_message"),
                                        "model.upstream_tpm": 0.0, "model.error_rate": 0.0})]
    check_conservation(simulate(base, seed=11, changes=changes))


LIVE_VALUES = {"load.prompt_tokens": st.integers(1, 2000),
               "model.replicas": st.integers(1, 16),
               "model.upstream_tpm": st.floats(0.0, 200_000.0)}


@st.composite
def change_lists(draw, duration_s: float) -> list[Change]:
    out = []
    for _ in range(draw(st.integers(1, 3))):
        names = draw(st.lists(st.sampled_from(LIVE), min_size=1, max_size=3, unique=True))
        knobs = {n: draw(LIVE_VALUES.get(n, knob_strategy(CATALOGUE[n]))) for n in names}
        at = draw(st.floats(0.0, duration_s, exclude_max=True, allow_nan=False))
        out.append(Change(at_s=at, knobs=knobs))
    return out


@settings(max_examples=60, deadline=None, phases=PHASES,
          suppress_health_check=[HealthCheck.too_slow])
@pytest.mark.slow
@given(knobs=KNOBS, data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_conservation_with_random_changes(knobs, data, seed):
    changes = data.draw(change_lists(knobs["load.duration_s"]))
    try:
        result = simulate(knobs, seed=seed, changes=changes)
    except KnobError as err:   # a change may break a cross-knob rule: refused, named
        assert str(err).startswith("change at ")
        assume(False)
    check_conservation(result)
