"""Failure and resilience: the simulator must reproduce what the field knows (issue 3).

Each test names its source in its docstring.  Scenarios are chosen so the effect is large
compared with seed-to-seed variation, and each is run on several seeds; where a threshold
is not exact, the comment says where it comes from.  Capacity throughout: 4 replicas of
80 ms mean service, C = 50 req/s (unless a test says otherwise).
"""
from __future__ import annotations

import numpy as np
import pytest

from labkit.sim import simulate
from labkit.sim.codes import ATTEMPT_RESULTS, DEGRADED, FAILED, OK, PATH_BITS, REASONS

SEEDS = (1, 2, 3)
A_OK, A_ERROR, A_TIMEOUT, A_THROTTLED = (ATTEMPT_RESULTS.index(x)
                                         for x in ("ok", "error", "timeout", "throttled"))
A_BREAKER = ATTEMPT_RESULTS.index("breaker_open")


def goodput(res, t0, t1):
    """Requests answered ok by the primary path per second, over [t0, t1)."""
    r = res.records
    done = (r["end_s"] >= t0) & (r["end_s"] < t1) & (r["outcome"] == OK)
    return done.sum() / (t1 - t0)


# -- backoff and jitter -----------------------------------------------------------------------
def retry_peak_to_mean(res, t0, t1, bucket_s=0.1):
    a = res.attempts
    starts = a["start_s"][(a["attempt"] > 1) & (a["start_s"] >= t0) & (a["start_s"] < t1)]
    counts = np.bincount(((starts - t0) / bucket_s).astype(int),
                         minlength=int(round((t1 - t0) / bucket_s)))
    return counts.max() / counts.mean(), counts.max()


@pytest.mark.parametrize("seed", SEEDS)
def test_jitter_spreads_retries_where_plain_exponential_backoff_sends_waves(seed):
    """Brooker, "Exponential Backoff and Jitter" (AWS Architecture Blog, 2015): clients that
    fail together and back off exponentially without jitter retry together, in waves;
    full, equal and decorrelated jitter spread them out.

    A flash crowd (~60 clients in 30 ms) hits an error-mode outage and every attempt fails
    fast.  Without jitter the crowd's 3rd, 4th and 5th retries each land inside one or two
    100 ms buckets (peak-to-mean ~5 on these seeds); with jitter they spread over 0.4-1.6 s
    (peak-to-mean ~2-3).  Window 10.5-14 s skips the first two rounds, which even full
    jitter keeps within 100-200 ms.  Equal jitter keeps half of each wait fixed, so it is
    held to a looser bound (observed <= 0.6 of the plain peak; bound 0.75).
    """
    knobs = {"load.rate_rps": 20.0, "load.duration_s": 20.0, "load.pattern": "spike",
             "load.spike_multiplier": 100.0, "load.spike_start_s": 10.0,
             "load.spike_duration_s": 0.03, "fault.mode": "error",
             "fault.outage_start_s": 9.0, "fault.outage_duration_s": 6.0,
             "retry.max_attempts": 6, "retry.backoff": "exponential", "retry.base_ms": 100.0,
             "retry.cap_ms": 5000.0}
    plain = simulate({**knobs, "retry.jitter": "none"}, seed=seed)
    crowd = int(((plain.records["arrival_s"] >= 10.0) & (plain.records["arrival_s"] < 10.03)).sum())
    ptm_plain, peak_plain = retry_peak_to_mean(plain, 10.5, 14.0)
    # Clients that failed together retry together: most of the crowd in one 100 ms bucket
    # (it can straddle a bucket edge, hence half).
    assert peak_plain >= crowd / 2
    assert ptm_plain >= 4.0
    for jitter, bound in (("full", 0.5), ("decorrelated", 0.5), ("equal", 0.75)):
        ptm, _ = retry_peak_to_mean(simulate({**knobs, "retry.jitter": jitter}, seed=seed),
                                    10.5, 14.0)
        assert ptm <= bound * ptm_plain, f"{jitter}: {ptm:.2f} vs plain {ptm_plain:.2f}"


# -- metastable failure -------------------------------------------------------------------------
STORM = {"load.rate_rps": 30.0, "load.duration_s": 60.0, "model.replicas": 4,
         "model.service_ms": 80.0, "fault.mode": "hang", "fault.outage_start_s": 10.0,
         "fault.outage_duration_s": 3.0, "retry.max_attempts": 4, "retry.timeout_ms": 1000.0,
         "retry.backoff": "none"}


@pytest.mark.parametrize("seed", SEEDS)
def test_a_short_outage_with_immediate_retries_leaves_the_service_stuck(seed):
    """Bronson et al., "Metastable Failures in Distributed Systems" (HotOS 2021); Huang et al.
    (OSDI 2022): with r retries per request a system of capacity C offered
    lambda stays stuck when C/(1+r) < lambda < C, sustained by work for clients that already
    timed out.

    C = 50 req/s, r = 3: the band is 12.5 < lambda < 50; lambda = 30 (rho = 0.6).  Before the
    3 s hang the service is healthy (a 1 s timeout is ~e^-20 likely at this load); 17-47 s
    after the hang ended goodput is still near zero.  "Near zero" is < 10% of lambda; the
    healthy runs deliver lambda within Poisson noise (sd ~1 req/s over 30 s), so their bound
    is 85% of lambda.
    """
    lam = STORM["load.rate_rps"]
    storm = simulate(STORM, seed=seed)
    assert goodput(storm, 2.0, 10.0) > 0.85 * lam          # healthy before the trigger
    assert goodput(storm, 30.0, 60.0) < 0.1 * lam          # stuck long after it
    assert storm.summary["wasted_work_s"] > 100.0          # work for clients that left
    assert storm.summary["amplification"] > 2.5            # nearly every request retried

    untriggered = simulate({**STORM, "fault.outage_duration_s": 0.0}, seed=seed)
    assert goodput(untriggered, 30.0, 60.0) > 0.85 * lam   # the trigger is what did it


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("fix", [
    {"retry.max_attempts": 1},                                    # no retries
    {"retry.budget_ratio": 0.1},                                  # SRE retry budget
    {"retry.budget_ratio": 0.1, "model.cancel_on_timeout": True},
    {"load.rate_rps": 10.0},                                      # below C/(1+r) = 12.5
], ids=["no-retries", "budget", "budget+cancel", "below-band"])
def test_the_same_outage_without_the_sustaining_effect_recovers(seed, fix):
    """Same sources: remove the sustaining effect (retries, or their volume via a retry
    budget, Google SRE book "Handling Overload") or stay below the band, and the service
    recovers once the trigger is gone."""
    knobs = {**STORM, **fix}
    lam = knobs["load.rate_rps"]
    res = simulate(knobs, seed=seed)
    # 300 (or 900) requests in the window: 0.8 of lambda is > 3 Poisson sd below the mean.
    assert goodput(res, 30.0, 60.0) > 0.8 * lam


def test_cancelling_timed_out_work_alone_reduces_waste_in_the_storm():
    """Bronson et al.: work for requests whose clients already timed out is what makes it stick;
    abandoning it (model.cancel_on_timeout) must cut that work."""
    off = simulate(STORM, seed=1)
    on = simulate({**STORM, "model.cancel_on_timeout": True}, seed=1)
    assert on.summary["wasted_work_s"] < 0.5 * off.summary["wasted_work_s"]
    assert goodput(on, 30.0, 60.0) >= goodput(off, 30.0, 60.0)


# -- wasted work -----------------------------------------------------------------------------------
@pytest.mark.parametrize("knobs", [
    {"load.rate_rps": 60.0, "load.duration_s": 20.0, "retry.timeout_ms": 300.0},
    {"load.rate_rps": 30.0, "load.duration_s": 30.0, "retry.timeout_ms": 400.0,
     "fault.slowdown_start_s": 10.0, "fault.slowdown_duration_s": 5.0,
     "fault.slowdown_factor": 8.0},
], ids=["overload", "slowdown"])
def test_wasted_work_counts_work_nobody_waits_for_unless_the_server_abandons_it(knobs):
    """Issue 3, model.cancel_on_timeout: "whether a timed-out call is abandoned by the server
    too; by default it is not, so the server keeps doing work nobody waits for (count that
    wasted work)".  Off: every timed-out call is still served, so wasted work > 0.  On: the
    server abandons timed-out calls, so (almost) nothing is served for a client that left;
    1% of the off figure leaves room for float dust only."""
    off = simulate({**knobs, "model.cancel_on_timeout": False}, seed=1).summary
    on = simulate({**knobs, "model.cancel_on_timeout": True}, seed=1).summary
    assert off["wasted_work_s"] > 5.0 and off["wasted_calls"] > 100
    assert on["wasted_work_s"] <= 0.01 * off["wasted_work_s"], (
        f"cancel on: {on['wasted_work_s']:.1f} s / {on['wasted_calls']} calls wasted, "
        f"off: {off['wasted_work_s']:.1f} s")


# -- circuit breaker --------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
def test_breaker_stops_calls_to_a_dead_dependency_and_probes_every_open_s(seed):
    """Circuit breaker (Nygard, "Release It!"; resilience4j and Hystrix defaults):
    it opens once failures dominate its window, sends no calls while open, and after open_s
    lets probes through; a failing probe opens it again.

    Error-mode outage 10-30 s at 40 req/s; window 5 s, min_calls 20, open_s 2 s.  The window
    holds ~200 successes at 10 s, so failures reach 50% at the latest when it has rolled over:
    open by 10 + 5 s.  While open, the attempt log shows refusals and no model calls; each
    probe fails fast and reopens it, so model calls come one at a time, >= open_s apart, and
    there are about (30 - first_open) / open_s of them.
    """
    open_s = 2.0
    res = simulate({"load.rate_rps": 40.0, "load.duration_s": 40.0, "fault.mode": "error",
                    "fault.outage_start_s": 10.0, "fault.outage_duration_s": 20.0,
                    "breaker.enabled": True, "breaker.window_s": 5.0, "breaker.min_calls": 20,
                    "breaker.open_s": open_s, "fallback.chain": ("safe_message",)}, seed=seed)
    a = res.attempts
    refused = a[a["result"] == A_BREAKER]
    first_open = refused["start_s"].min()
    assert 10.0 < first_open <= 15.0
    assert not refused["model_call"].any()
    probes = np.sort(a["start_s"][a["model_call"] & (a["start_s"] > first_open)
                                  & (a["start_s"] < 30.0)])
    assert len(probes) >= 2
    assert np.diff(probes).min() >= open_s - 1e-9
    expected = (30.0 - first_open) / open_s
    assert expected - 2 <= len(probes) <= expected + 1
    # every probe during the outage failed, and every refusal was answered by the fallback
    assert (a["result"][a["model_call"] & (a["start_s"] > first_open) & (a["start_s"] < 30.0)]
            == A_ERROR).all()
    r = res.records
    assert (r["outcome"][np.unique(refused["request"])] == DEGRADED).all()
    # After the outage a probe succeeds, the breaker closes and the model answers again:
    # ~280 arrivals in 33-40 s, so 0.8 of the rate is > 3 Poisson sd below a full recovery.
    assert goodput(res, 33.0, 40.0) > 0.8 * 40.0


def test_a_refused_call_is_not_retried():
    """A breaker refusal short-cuts to the fallback: retrying against an open breaker would
    only be refused again (issue 3: retry.on lists timeout, error, throttled only)."""
    res = simulate({"load.rate_rps": 40.0, "load.duration_s": 20.0, "model.error_rate": 1.0,
                    "breaker.enabled": True, "retry.max_attempts": 4, "retry.backoff": "none",
                    "fallback.chain": ("safe_message",)}, seed=2)
    a = np.sort(res.attempts, order=["request", "attempt"])
    refused = a["result"] == A_BREAKER
    assert refused.sum() > 100
    follows = (a["request"][1:] == a["request"][:-1]) & refused[:-1]
    assert not follows.any()


# -- retry.on ----------------------------------------------------------------------------------------
MIXED = {"load.rate_rps": 60.0, "load.duration_s": 15.0, "model.error_rate": 0.2,
         "retry.timeout_ms": 250.0, "model.upstream_limit_rps": 45.0,
         "retry.max_attempts": 3, "retry.backoff": "constant", "retry.base_ms": 20.0,
         "retry.jitter": "none", "model.cancel_on_timeout": True}


@pytest.mark.parametrize("on", [(), ("error",), ("timeout",), ("throttled",),
                                ("error", "timeout"), ("timeout", "error", "throttled")])
def test_only_the_failure_kinds_in_retry_on_are_retried(on):
    """Issue 3: retry.on says which failures are retried.  Errors (20%), timeouts (overload
    at 60 req/s against 50) and upstream throttling (45 calls/s) all occur in this run; an
    attempt is followed by another exactly when its kind is listed (and attempts remain)."""
    res = simulate({**MIXED, "retry.on": on}, seed=3)
    a = np.sort(res.attempts, order=["request", "attempt"])
    kinds = {A_ERROR: "error", A_TIMEOUT: "timeout", A_THROTTLED: "throttled"}
    counts = {k: int((a["result"] == code).sum()) for code, k in kinds.items()}
    assert min(counts.values()) > 20, counts                   # every kind really occurs
    same = a["request"][1:] == a["request"][:-1]
    for code, kind in kinds.items():
        failed_here = (a["result"][:-1] == code) & (a["attempt"][:-1] < 3)
        retried = failed_here & same
        if kind in on:
            # retried unless the budget/deadline forbade it: neither is set, so always
            assert retried.sum() == failed_here.sum(), kind
        else:
            assert retried.sum() == 0, kind


@pytest.mark.parametrize("f, n", [(0.3, 3), (0.5, 4)])
def test_attempts_per_request_follow_the_truncated_geometric_only_for_listed_kinds(f, n):
    """With independent failure probability f and at most n attempts, expected
    attempts are (1 - f^n) / (1 - f).  That holds when errors are listed in retry.on, and
    attempts are exactly 1 when they are not.  Tolerance: 4 standard errors of the mean of
    the truncated geometric over this run's requests."""
    knobs = {"load.rate_rps": 30.0, "load.duration_s": 40.0, "model.replicas": 16,
             "model.error_rate": f, "retry.max_attempts": n, "retry.backoff": "none"}
    listed = simulate({**knobs, "retry.on": ("error",)}, seed=5)
    att = listed.records["attempts"].astype(float)
    p = np.array([f ** (k - 1) * (1 - f) for k in range(1, n)] + [f ** (n - 1)])
    k = np.arange(1, n + 1)
    mean, var = (p * k).sum(), (p * k * k).sum() - (p * k).sum() ** 2
    assert mean == pytest.approx((1 - f ** n) / (1 - f))
    assert abs(att.mean() - mean) <= 4 * np.sqrt(var / len(att))
    unlisted = simulate({**knobs, "retry.on": ("timeout", "throttled")}, seed=5)
    assert (unlisted.records["attempts"] == 1).all()
    assert unlisted.summary["retries"] == 0


# -- deadlines -----------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
def test_retries_never_start_past_the_deadline(seed):
    """Deadlines propagate (Google SRE book, "Addressing Cascading Failures"): a retry that
    cannot fit in the remaining budget should not start; issue 3: "Retries never go past the
    request's deadline".  Every attempt starts before arrival + deadline, and none is still
    running (as far as the client is
    concerned) after it."""
    deadline_s = 0.6
    res = simulate({"load.rate_rps": 70.0, "load.duration_s": 15.0, "gateway.deadline_ms": 600.0,
                    "retry.timeout_ms": 150.0, "retry.max_attempts": 10,
                    "retry.backoff": "exponential", "retry.base_ms": 20.0, "retry.jitter": "full",
                    "model.error_rate": 0.1}, seed=seed)
    r, a = res.records, res.attempts
    due = r["arrival_s"][a["request"]] + deadline_s
    assert (a["attempt"] > 1).sum() > 200                 # plenty of retries happened
    assert (a["start_s"] < due + 1e-9).all()
    assert (a["end_s"] <= due + 1e-9).all()
    late = r["reason"] == REASONS.index("deadline")
    assert late.sum() > 20
    assert r["latency_ms"][late] == pytest.approx(np.full(late.sum(), 600.0), abs=1e-6)


# -- fallbacks ---------------------------------------------------------------------------------------
def test_a_safe_message_is_degraded_with_quality_zero():
    """Issue 3: "a safe message is degraded with quality 0, not ok"."""
    res = simulate({"load.duration_s": 10.0, "model.error_rate": 1.0,
                    "fallback.chain": ("safe_message",), "budget.quality": 0.5}, seed=1)
    r, s = res.records, res.summary
    assert s["outcomes"]["ok"] == 0 and s["outcomes"]["failed"] == 0
    assert s["outcomes"]["degraded"] == s["requests"]
    assert (r["quality"] == 0.0).all() and s["quality_mean"] == 0.0
    assert s["fallback_by_path"] == {"small_model": 0, "stale_cache": 0,
                                     "safe_message": s["requests"]}
    assert s["success_rate"] == 1.0                      # answered, if badly ...
    assert s["budgets"]["quality"]["pass"] is False      # ... and the quality floor says so
    assert res.trace(0)["answered_by"] == "fallback: safe_message"


def test_fallback_answers_are_degraded_counted_by_path_and_costed_separately():
    """Issue 3: a request answered by a fallback is degraded and carries the fallback's
    quality; fallback calls are counted apart from primary model calls."""
    knobs = {"load.duration_s": 20.0, "fault.mode": "error", "fault.outage_start_s": 5.0,
             "fault.outage_duration_s": 5.0, "fallback.small_model_quality": 0.55,
             "fallback.small_model_cost_per_call": 0.001}
    res = simulate({**knobs, "fallback.chain": ("small_model", "safe_message")}, seed=4)
    r, s = res.records, res.summary
    small = (r["path"] & PATH_BITS["small_model"]) > 0
    assert small.sum() > 100
    assert (r["outcome"][small] == DEGRADED).all()
    assert r["quality"][small] == pytest.approx(np.full(small.sum(), 0.55))
    assert s["fallback_by_path"]["small_model"] == small.sum() == s["fallback_calls"]
    assert s["cost"]["fallback"] == pytest.approx(0.001 * small.sum())
    assert s["outcomes"]["degraded"] == sum(s["fallback_by_path"].values())
    # The primary's numbers are those of the same run without any fallback.
    bare = simulate({**knobs, "fallback.chain": ()}, seed=4)
    assert s["model_calls"] == bare.summary["model_calls"]
    assert s["amplification"] == pytest.approx(bare.summary["amplification"])
    assert bare.summary["outcomes"]["failed"] == small.sum()


def test_model_calls_and_amplification_count_primary_attempts_only():
    """Issue 3: model_calls and amplification count every attempt at the primary (retries
    included) and nothing else; a refused or locally throttled attempt is not a call."""
    res = simulate({"load.duration_s": 20.0, "model.error_rate": 0.4, "retry.max_attempts": 3,
                    "retry.backoff": "none", "breaker.enabled": True,
                    "fallback.chain": ("small_model",)}, seed=6)
    r, a, s = res.records, res.attempts, res.summary
    assert s["model_calls"] == int(a["model_call"].sum()) == int(r["model_calls"].sum())
    assert s["model_calls"] == int(((a["result"] == A_OK) | (a["result"] == A_ERROR)).sum())
    reached = (r["model_calls"] > 0).sum()
    assert s["amplification"] == pytest.approx(s["model_calls"] / reached)
    assert 1.0 < s["amplification"] < 3.0
    assert s["fallback_calls"] > 0


# -- kill switch -------------------------------------------------------------------------------------
def check_killed(res, kill_at):
    r, a, s = res.records, res.attempts, res.summary
    assert sum(s["outcomes"].values()) == s["requests"] == len(r)
    assert np.isfinite(r["end_s"]).all()
    assert not (a["model_call"] & (a["start_s"] >= kill_at)).any()
    validate_s = res.scenario.gateway.validate_ms / 1000.0
    after = r["arrival_s"] + validate_s >= kill_at
    assert after.sum() > 100
    assert (r["model_calls"][after] == 0).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_the_kill_switch_moves_all_traffic_to_the_fallbacks_and_loses_nothing(seed):
    """Issue 3: "with the kill switch thrown, the primary gets zero calls and nothing is
    lost"; NIST AI RMF MANAGE 2.4 (mechanisms to disengage a system)."""
    kill_at = 10.0
    res = simulate({"load.rate_rps": 45.0, "load.duration_s": 20.0, "kill.at_s": kill_at,
                    "fallback.chain": ("small_model", "safe_message")}, seed=seed)
    check_killed(res, kill_at)
    r = res.records
    after = r["arrival_s"] >= kill_at
    assert (r["outcome"][after] == DEGRADED).all()
    assert res.summary["outcomes"]["failed"] == 0
    # requests still queued when the switch was thrown were answered by the fallbacks too
    queued = (r["arrival_s"] < kill_at) & (r["reason"] == REASONS.index("killed"))
    assert (r["outcome"][queued] == DEGRADED).all()


def test_kill_switch_with_timeouts_still_ends_every_request_once():
    """Same source, with per-attempt timeouts in overload: timed-out calls still sit in the
    model queue (cancel_on_timeout off) when the switch is thrown; each request must still
    end exactly once."""
    kill_at = 10.0
    res = simulate({"load.rate_rps": 80.0, "load.duration_s": 20.0, "retry.timeout_ms": 300.0,
                    "kill.at_s": kill_at, "fallback.chain": ("safe_message",)}, seed=1)
    check_killed(res, kill_at)


def test_kill_switch_without_fallbacks_fails_requests_with_the_reason_named():
    kill_at = 5.0
    res = simulate({"load.duration_s": 10.0, "kill.at_s": kill_at}, seed=2)
    check_killed(res, kill_at)
    r = res.records
    after = r["arrival_s"] >= kill_at
    assert (r["outcome"][after] == FAILED).all()
    assert (r["reason"][after] == REASONS.index("killed")).all()
