"""The capstone's judges: the reference design holds every budget on the hidden seeds, plausible
wrong designs lose the right points, and each incident has one diagnosis and a containment that
works in time, which another learner's incident does not share."""

from __future__ import annotations

import itertools
import json
import math
import re

import pytest

from labkit.labs import capstone
from labkit.labs.capstone import gameday
from labkit.labs.capstone import scenarios as sc

HIDDEN_DESIGN = [2301, 2302, 2303]     # the seeds of the source notebook's hidden tests
HIDDEN_GD = [2311, 2312, 2313]
RIGHT = {"slow-retrieval": {"action": "gate-retrieval", "run_fraction": 0.0},
         "quota-cut": {"action": "trim-context", "prompt_tokens": 450},
         "lost-replicas": {"action": "scale-out", "add_replicas": 1},
         "bad-release": {"action": "rollback", "version": "v2"}}


def learner_with(draw, case: int) -> str:
    return next(f"learner-{i:03d}" for i in range(2000)
                if draw(learner=f"learner-{i:03d}")["case"] == case)


def reference_design(learner: str) -> dict:
    """The source notebook's solution: the fewest replicas and reviewers on seeds 1 and 2, and
    one reviewer more for the review queue's swings."""
    draft = {"llm.prefix_cache": True, "cache.enabled": True, "cache.capacity_items": 3000,
             "rerank.enabled": False, "fallback.chain": ["small_model", "safe_message"],
             "boundary.policy": "approval"}
    replicas = next(n for n in range(1, 6) if not capstone.budget_problems(
        "ttft", {**draft, "model.replicas": n}, seeds=[1, 2], learner=learner))
    reviewers = next(k for k in range(1, 9) if not capstone.budget_problems(
        "refunds", {**draft, "model.replicas": replicas, "boundary.reviewers": k}, seeds=[1, 2],
        learner=learner))
    return {**draft, "model.replicas": replicas, "boundary.reviewers": reviewers + 1}


def held(design: dict, learner: str, seeds=HIDDEN_DESIGN) -> dict[str, bool]:
    return {b: not capstone.JUDGES[b](design, seeds=seeds, learner=learner) for b in sc.BUDGETS}


CASES = range(len(sc.DESIGN_CASES))


@pytest.fixture(scope="module")
def references():
    out = {}
    for case in CASES:
        who = learner_with(capstone.design_case, case)
        out[case] = (who, reference_design(who))
    return out


@pytest.mark.parametrize("case", CASES)
def test_the_reference_design_holds_every_budget_on_the_hidden_seeds(references, case):
    who, design = references[case]
    assert held(design, who) == dict.fromkeys(sc.BUDGETS, True), (case, design)


@pytest.mark.parametrize("case", CASES)
def test_the_reference_holds_the_cost_budget_with_a_margin_and_one_replica_more_breaks_it(
        references, case):
    who, design = references[case]
    limit = sc.DESIGN_CASES[case].cost_per_1k
    costs = [capstone.measure(design, seed=s, learner=who)["cost_per_1k"] for s in HIDDEN_DESIGN]
    assert max(costs) <= 0.97 * limit, (case, costs, limit)     # 3% headroom at least
    bigger = {**design, "model.replicas": design["model.replicas"] + 1}
    assert held(bigger, who) == {"ttft": True, "cost": False, "success": True, "refunds": True}


@pytest.mark.parametrize("case", CASES)
def test_refunds_without_approval_lose_only_the_refund_point(references, case):
    who, design = references[case]
    direct = {**design, "boundary.policy": "none"}
    assert held(direct, who) == {"ttft": True, "cost": True, "success": True, "refunds": False}


@pytest.mark.parametrize("case", [0, 3, 5])     # the tight quotas
def test_without_a_fallback_the_quota_breaks_the_success_budget(references, case):
    who, design = references[case]
    alone = {k: v for k, v in design.items() if k != "fallback.chain"}
    verdict = held(alone, who)
    assert verdict["success"] is False and verdict["refunds"] is True, verdict


@pytest.mark.parametrize("case", [1, 2])
def test_without_the_response_cache_cost_breaks(references, case):
    who, design = references[case]
    assert held({**design, "cache.enabled": False}, who)["cost"] is False


@pytest.mark.parametrize("case", [2, 5])
def test_without_the_prefix_cache_and_one_replica_ttft_breaks(references, case):
    who, design = references[case]
    assert held({**design, "llm.prefix_cache": False, "model.replicas": 1}, who)["ttft"] is False


def test_one_reviewer_cannot_keep_up_with_a_six_percent_refund_share(references):
    who, design = references[3]
    assert sc.DESIGN_CASES[3].write_fraction == 0.06
    assert held({**design, "boundary.reviewers": 1}, who)["refunds"] is False


def test_cases_ask_for_different_designs(references):
    designs = {json.dumps(d, sort_keys=True) for _, d in references.values()}
    assert len(designs) >= 5


def test_a_copied_design_loses_points_where_the_variant_differs(references):
    small_who, small = references[0]       # 12 requests/s, 2% refunds
    big_who, big = references[5]           # 36 requests/s, 4% refunds
    assert not all(held(small, big_who).values())      # too small for the bigger product
    assert held(big, small_who)["cost"] is False        # too dear for the smaller one


def test_the_cost_includes_the_reviewers_at_their_price(references):
    who, design = references[2]
    one = capstone.measure({**design, "boundary.reviewers": 1}, seed=1, learner=who)
    two = capstone.measure({**design, "boundary.reviewers": 2}, seed=1, learner=who)
    requests = sc.DESIGN_CASES[2].rate_rps * sc.DAY_S       # about this many requests
    expected = 1000.0 * sc.REVIEWER_HOUR_USD * sc.DAY_S / 3600.0 / requests
    assert math.isclose(two["cost_per_1k"] - one["cost_per_1k"], expected, rel_tol=0.1)


@pytest.mark.parametrize("answer, fragment", [
    (None, "not answered yet"),
    ([1, 2], "must be a dict"),
    ({"model.replicas": 0}, "model.replicas must be >= 1, got 0"),
    ({"model.replica": 2}, "model.replicas"),
    ({"load.rate_rps": 5.0}, "remove 'load.rate_rps'"),
])
def test_malformed_designs_are_problems_not_exceptions(answer, fragment):
    problems = capstone.judge_budget("cost", answer, seeds=[1], learner="ada")
    assert problems and fragment in " ".join(problems), problems


def test_no_seed_is_the_authors_mistake():
    with pytest.raises(ValueError, match="at least one seed"):
        capstone.JUDGES["ttft"]({"model.replicas": 2}, seeds=[])


def test_a_design_message_names_no_passing_value(references):
    who, design = references[3]
    problems = capstone.judge_budget("ttft", {**design, "model.replicas": 1}, seeds=HIDDEN_DESIGN,
                                     learner=who)
    assert problems and "unseen seeds" in problems[0]
    assert not re.search(r"\b[2-9] replicas\b|replicas\D{0,5}[2-9]", problems[0]), problems


# ------------------------------------------------------------------ game day
FAULTS = [c.fault for c in sc.INCIDENT_CASES]


@pytest.fixture(scope="module")
def on_call():
    return {c.fault: learner_with(capstone.incident_case, i)
            for i, c in enumerate(sc.INCIDENT_CASES)}


@pytest.mark.parametrize("fault", FAULTS)
def test_only_the_right_diagnosis_earns_the_points(on_call, fault):
    who = on_call[fault]
    component, mechanism = sc.DIAGNOSES[fault]
    assert capstone.judge_diagnosis({"component": component, "mechanism": mechanism},
                                    seeds=[1], learner=who) == []
    for other in FAULTS:
        if other != fault:
            c, m = sc.DIAGNOSES[other]
            problems = capstone.judge_diagnosis({"component": c, "mechanism": m}, seeds=[1],
                                                learner=who)
            assert len(problems) == 2, (fault, other, problems)
            assert component not in " ".join(problems) and mechanism not in " ".join(problems)
    half = capstone.judge_diagnosis({"component": component, "mechanism": "cache-misses"},
                                    seeds=[1], learner=who)
    assert len(half) == 1 and "mechanism" in half[0]


@pytest.mark.parametrize("fault", FAULTS)
def test_the_fault_starts_at_its_minute_and_holds_until_someone_acts(fault):
    """The replay is healthy until the fault's minute, then out of the service level in every
    minute to the end of the window: nothing recovers without a containment."""
    holds = gameday.minute_levels(gameday._run(fault, None, HIDDEN_GD[0]))["holds"]
    start = int(sc.FAULT_AT_MIN)
    assert holds[:start].all() and not holds[start + 1:].any()
    assert len(holds) == sc.WINDOW_MIN


@pytest.mark.parametrize("fault", FAULTS)
def test_the_right_containment_restores_the_service_level_in_time(on_call, fault):
    who = on_call[fault]
    assert capstone.judge_containment(RIGHT[fault], seeds=HIDDEN_GD, learner=who) == []
    assert capstone.judge_ttm(RIGHT[fault], seeds=HIDDEN_GD, learner=who) == []
    bound = sc.incident_case(learner=who)["ttm_bound_min"]
    for seed in HIDDEN_GD:
        took = capstone.measured_ttm(RIGHT[fault], seed=seed, learner=who)
        # measured on the replay: never before the action takes effect, and within the bound
        # with at least a minute to spare
        assert capstone.ttm_min(RIGHT[fault]) <= took <= bound - 1, (fault, seed, took)


@pytest.mark.parametrize("fault", FAULTS)
def test_another_incidents_containment_fails_here(on_call, fault):
    # failing one hidden seed fails the judge (it needs all of them to hold), so one replay
    # per containment shows it; test_the_whole_menu_on_every_fault judges all three seeds
    who = on_call[fault]
    for other, answer in RIGHT.items():
        if other != fault:
            problems = capstone.judge_containment(answer, seeds=HIDDEN_GD[:1], learner=who)
            assert problems, (fault, other)
            assert capstone.judge_ttm(answer, seeds=HIDDEN_GD[:1], learner=who), (fault, other)
            assert RIGHT[fault]["action"] not in " ".join(problems)


@pytest.mark.parametrize("fault, answer", [
    ("slow-retrieval", {"action": "gate-retrieval", "run_fraction": 0.25}),
    ("quota-cut", {"action": "trim-context", "prompt_tokens": 550}),
    ("quota-cut", {"action": "enable-fallback"}),
    ("bad-release", {"action": "rollback", "version": "v1"}),
    ("bad-release", {"action": "enable-fallback"}),
    ("lost-replicas", {"action": "restart-replicas"}),
])
def test_plausible_but_wrong_containments_fail(on_call, fault, answer):
    # one hidden seed that breaks is enough to fail the judge
    assert capstone.judge_containment(answer, seeds=HIDDEN_GD[:1], learner=on_call[fault])


def test_a_slow_containment_works_but_misses_the_time_bound(on_call):
    """Six new replicas take longer to schedule than one: the service level comes back, but
    later than the bound; the message says how many seeds missed it, never the minutes."""
    who = on_call["lost-replicas"]
    slow = {"action": "scale-out", "add_replicas": 6}
    seeds = HIDDEN_GD[:2]      # the whole-menu test judges it on all three
    assert capstone.judge_containment(slow, seeds=seeds, learner=who) == []
    (problem,) = capstone.judge_ttm(slow, seeds=seeds, learner=who)
    assert problem == ("Time to mitigate: more than the 6 minutes your service allows on 2 of "
                       "2 unseen seeds; a faster containment exists.")
    took = [capstone.measured_ttm(slow, seed=s, learner=who) for s in seeds]
    assert all(t > 6 for t in took)
    assert not any(f"{t:g} minutes" in problem for t in took if t != 6)


def test_an_action_that_takes_effect_after_the_window_does_not_mitigate_it(on_call):
    who = on_call["quota-cut"]
    late = {"action": "request-quota-increase"}
    assert gameday.effect_min(late) > sc.WINDOW_MIN
    seeds = HIDDEN_GD[:2]      # the whole-menu test judges it on all three
    problems = capstone.judge_containment(late, seeds=seeds, learner=who)
    assert problems[0] == ("Containment: with request-quota-increase the service level does "
                           "not hold for 5 minutes in a row before the replay ends on 2 of 2 "
                           "unseen seeds.")
    assert capstone.judge_ttm(late, seeds=seeds, learner=who) == [
        "Time to mitigate: the containment does not restore the service level, so the "
        "incident is not mitigated at all."]


def test_time_to_mitigate_adds_the_minutes_per_replica():
    assert capstone.ttm_min({"action": "scale-out", "add_replicas": 4}) == 6.0
    assert capstone.ttm_min({"action": "rollback", "version": "v2"}) == 6.0
    assert gameday.effect_min({"action": "rollback", "version": "v2"}) == sc.DECISION_MIN + 6


def test_the_replay_schedules_the_fault_and_the_containment_as_changes():
    fault = gameday.incident_changes("lost-replicas")
    assert [(c.at_s, dict(c.knobs)) for c in fault] == [(300.0, {"model.replicas": 1})]
    both = gameday.incident_changes("lost-replicas", {"action": "scale-out", "add_replicas": 2})
    assert [(c.at_s, dict(c.knobs)) for c in both] == [
        (300.0, {"model.replicas": 1}), ((10 + 5.0) * 60, {"model.replicas": 3})]
    # an action that changes nothing the fault depends on schedules nothing
    assert len(gameday.incident_changes("slow-retrieval", {"action": "rebuild-index"})) == 1
    roll = gameday.containment_knobs("bad-release", {"action": "rollback", "version": "v1"})
    assert roll == {"model.version": "v1", "model.error_rate": sc.RETIRED_ERROR_RATE}
    # the replay starts with the usual quota: the cut is the scheduled change
    assert (gameday.incident_knobs("quota-cut")["model.upstream_tpm"]
            == sc.INCIDENT_PRODUCT["model.upstream_tpm"])


#: Which containments hold the service level on every hidden seed, and which of those also
#: mitigate within the bound (the rest of the menu fails both).
PASSING = {
    "slow-retrieval": {"gate-retrieval run_fraction=0.0": True},
    "quota-cut": {"trim-context prompt_tokens=450": True},
    "lost-replicas": {"scale-out add_replicas=1": True, "scale-out add_replicas=2": True,
                      "scale-out add_replicas=3": True, "scale-out add_replicas=4": False,
                      "scale-out add_replicas=5": False, "scale-out add_replicas=6": False},
    "bad-release": {"rollback version=v2": True},
}


def _menu() -> list[dict]:
    out = []
    for a in sc.ACTIONS.values():
        keys = list(a.params)
        for combo in itertools.product(*(a.params[k] for k in keys)):
            out.append({"action": a.name, **dict(zip(keys, combo, strict=True))})
    return out


def _name(answer: dict) -> str:
    return " ".join([answer["action"]] + [f"{k}={v}" for k, v in answer.items() if k != "action"])


@pytest.mark.slow
@pytest.mark.parametrize("fault", FAULTS)
def test_the_whole_menu_on_every_fault(on_call, fault):
    who = on_call[fault]
    got = {}
    for answer in _menu():
        # the judge needs every seed to hold, so a containment failing the first fails it
        # (and the first seed's replay is cached for the full check): one replay per answer
        # instead of three for most of the menu
        if capstone.judge_containment(answer, seeds=HIDDEN_GD[:1], learner=who):
            continue
        if not capstone.judge_containment(answer, seeds=HIDDEN_GD, learner=who):
            got[_name(answer)] = not capstone.judge_ttm(answer, seeds=HIDDEN_GD, learner=who)
    assert got == PASSING[fault]


@pytest.mark.parametrize("answer, fragment", [
    (None, "not answered yet"),
    ({"component": "retrieval"}, "'mechanism' is missing"),
    ({"component": "gpu", "mechanism": "slow-dependency"}, "'component' must be one of"),
    ({"component": "retrieval", "mechanism": "slow-dependency", "why": "x"}, "unknown key 'why'"),
])
def test_malformed_diagnoses_are_problems(answer, fragment):
    problems = capstone.judge_diagnosis(answer, seeds=[1], learner="ada")
    assert problems and fragment in " ".join(problems), problems


@pytest.mark.parametrize("answer, fragment", [
    (None, "not answered yet"),
    ({"action": "panic"}, "'action' must be one of"),
    ({"action": "scale-out"}, "needs 'add_replicas'"),
    ({"action": "scale-out", "add_replicas": 40}, "'add_replicas' must be one of"),
    ({"action": "rollback", "version": "v2", "force": True}, "takes no parameter 'force'"),
])
def test_malformed_containments_are_problems(answer, fragment):
    for judge in (capstone.judge_containment, capstone.judge_ttm):
        problems = judge(answer, seeds=[1], learner="ada")
        assert problems and fragment in " ".join(problems), problems


@pytest.mark.parametrize("fault, alert", [
    ("slow-retrieval", "TTFT p95 above 400 ms"), ("quota-cut", "provider 429s above 1% of calls"),
    ("lost-replicas", "model queue above 20 requests"),
    ("bad-release", "model errors above 2% of calls"),
])
def test_on_call_sees_the_alerts_and_audit_records_but_no_knob(on_call, fault, alert):
    seen = capstone.game_day(seed=1, learner=on_call[fault])
    assert alert in {row["alert"] for row in seen.alerts.rows}
    sample = seen.audit_sample(8)
    assert 1 <= len(sample.rows) <= 8
    text = repr(sample) + repr(seen.alerts) + repr(seen)
    assert not re.search(r"\b(retrieval|model|load)\.[a-z_]+", text), text
    assert fault not in text
    assert not any("result" in name or "scenario" in name for name in vars(seen))
    with pytest.raises(ValueError, match="n must be a whole number from 1 to 16, got 40"):
        seen.audit_sample(40)


def test_the_variants_name_the_check_cells_of_the_source():
    import nbformat

    from labkit.course.layout import Course

    course = Course.at(".")
    nb = nbformat.read(course.source_dir / "capstone-support-assistant"
                       / "capstone-support-assistant.ipynb", as_version=4)
    graded = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"].get("points")
              for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}
    assert set(capstone.VARIANTS) == set(graded)
    assert set(capstone.REVEAL) == set(capstone.VARIANTS)
    assert sum(graded.values()) == 9
    for gid, reveal in capstone.REVEAL.items():
        assert reveal("ada") and "{" not in reveal("ada"), gid
