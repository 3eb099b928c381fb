"""Lab 1's scenarios, variants and task judges: right answers pass, plausible wrong ones fail.

The judges grade learners, so each must be able to fail, for the reason it
names, for every learner's numbers (``labkit.labs.lab1.draws``).  Every variant
value is run here on the notebook's visible seed (1) and hidden seeds, with the
reference answer (passes) and its neighbours (fail), so a copied answer from a
learner with other numbers fails:

* task 1: at each rate the smallest RAG fleet holding the 400 ms p95 budget
  (M/M/c response p95 plus ~60 ms of retrieval steps) is 3, 4, 5 or 6
  replicas; the learner's cost budget is 45% of one replica's cost per 1,000
  requests above that fleet's mean cost, so one replica more breaks it, and so
  does rebuilding the index every 10 s ($0.20 a rebuild);
* task 2: M/M/c at 26-66 req/s of 100 ms needs 4-8 replicas (p95 ~350-370 ms,
  one fewer ~670 ms and more), against 450 ms;
* task 3: the review p95 wait (Erlang C) at the fewest reviewers is ~3.5 s,
  with one fewer over 8 s;
* task 5: in each of the nine deployments the short step's utilisation is at most 0.83
  with the fewest servers (p95 ~500-660 ms, all answered, against 800 ms and 99%) and at
  least 1.10 with one fewer, whose queue grows until requests miss the 2 s deadline.
"""

from __future__ import annotations

import math

import pytest

from labkit.labs import lab1
from labkit.labs.lab1 import draws
from labkit.labs.lab1 import judges as lab1_judges
from labkit.labs.lab1.analysis import fewest_reviewers, incident_truth
from labkit.sim import simulate, theory

SEEDS = (3, 5)
ADA = "ada"                       # a learner id the tests work as, where numbers do not matter
#: One seed per world-change time: 4 -> 41 s, 5 -> 70 s, 6 -> 88 s, 7 -> 103 s.
EVERY_CHANGE = (4, 5, 6, 7)
#: The notebook's seeds: visible 1, then each task's hidden seeds.
SHAPE_SEEDS = (1, 11, 12, 14, 23, 36, 38)
REPLICA_SEEDS = (1, 11, 23, 37)
BOUNDARY_SEEDS = (1, 11, 23, 37)
INCIDENT_SEEDS = (1, 13, 22, 23, 40)
HOP_SEEDS = (1, 11, 23, 37)


def learner_with(draw, **values) -> str:
    """A learner id whose draw gives exactly ``values``."""
    for i in range(2000):
        who = f"learner-{i:04d}"
        if all(draw(learner=who)[k] == v for k, v in values.items()):
            return who
    raise AssertionError(f"no learner draws {values}")


def good_shape(who: str) -> dict:
    rate = draws.shape_draw(learner=who).rate_rps
    return {"serving.pattern": "rag", "retrieval.index_refresh_s": 25.0,
            "retrieval.permission_check": True, "model.replicas": SMALLEST_FLEET[rate]}


#: The smallest fleet that holds p95 at each task-1 rate (from M/M/c plus the retrieval steps).
SMALLEST_FLEET = {20: 3, 30: 4, 42: 5, 54: 6}
ADA_SHAPE = good_shape(ADA)


def test_shapes_each_break_a_different_budget_on_the_shared_workload():
    rows = {r["shape"]: r for r in lab1.compare_shapes(seed=2, learner=ADA)}
    assert rows["realtime"]["quality"] == pytest.approx(0.8)   # no grounding
    assert rows["batch"]["max_lag_s"] > 30 and rows["batch"]["p95_ms"] < 20
    assert rows["rag"]["quality"] > 0.9 and rows["rag"]["max_lag_s"] > 30  # 300 s index
    assert not any(r["all_pass"] for r in rows.values())


def test_each_seed_picks_a_world_change_time():
    assert [lab1.shape_case(s)["world.change_at_s"] for s in EVERY_CHANGE] == [
        41.0, 70.0, 88.0, 103.0]
    assert lab1.shape_case(1) == {"world.change_at_s": 70.0}   # the notebook's visible seed


def test_variants_are_the_learners_own_and_stable():
    assert set(lab1.VARIANTS) == {"a1_shape_check", "a2_replicas_check", "a3_boundary_check",
                                  "a4_explain_check", "a5_hops_check", "q4_check"}
    for draw in lab1.VARIANTS.values():
        assert draw(learner=ADA) == draw(learner=ADA)
        seen = {tuple(sorted(draw(learner=f"l{i}").values.items())) for i in range(200)}
        assert len(seen) > 1, draw   # learners do get different numbers
    w = lab1.shape_workload(learner=ADA)
    assert w["load.rate_rps"] == draws.shape_draw(learner=ADA).rate_rps
    assert lab1.shape_budgets(learner=ADA)["cost_per_1k"] == draws.SHAPE_COST_BUDGETS[
        int(w["load.rate_rps"])]
    with pytest.raises(TypeError):
        w["load.rate_rps"] = 1.0   # type: ignore[index]


def test_the_learner_comes_from_the_environment_while_grading(monkeypatch):
    who = learner_with(draws.replica_draw, rate_rps=66)
    monkeypatch.setenv("LABKIT_GRADING", "1")
    monkeypatch.setenv("LABKIT_LEARNER", who)
    assert lab1.replica_task()["load.rate_rps"] == 66.0
    assert lab1.judge_replicas(8, seeds=[11]) == []


@pytest.mark.parametrize("rate", draws.SHAPE_PARAMS["rate_rps"])
def test_every_task1_variant_has_one_right_fleet(rate):
    who = learner_with(draws.shape_draw, rate_rps=rate)
    good = good_shape(who)
    assert lab1.judge_shape(good, seeds=SHAPE_SEEDS, learner=who) == []
    fewer = lab1.judge_shape({**good, "model.replicas": good["model.replicas"] - 1},
                             seeds=SHAPE_SEEDS, learner=who)
    assert any(": p95_ms = " in p for p in fewer), fewer
    # one replica more breaks the cost budget even with the index rebuilt as rarely as
    # freshness allows on these change times
    more = lab1.judge_shape({**good, "model.replicas": good["model.replicas"] + 1,
                             "retrieval.index_refresh_s": 35.0}, seeds=SHAPE_SEEDS, learner=who)
    assert more and all(": cost_per_1k = " in p for p in more), more
    often = lab1.judge_shape({**good, "retrieval.index_refresh_s": 10.0}, seeds=SHAPE_SEEDS,
                             learner=who)
    assert often and all(": cost_per_1k = " in p for p in often), often


@pytest.mark.slow
def test_a_task1_answer_copied_from_another_rate_fails():
    for a in draws.SHAPE_PARAMS["rate_rps"]:
        copied = good_shape(learner_with(draws.shape_draw, rate_rps=a))
        for b in draws.SHAPE_PARAMS["rate_rps"]:
            if a != b:
                who = learner_with(draws.shape_draw, rate_rps=b)
                assert lab1.judge_shape(copied, seeds=SHAPE_SEEDS[1:], learner=who), (a, b)


def test_good_shape_passes_wherever_the_world_changes():
    assert lab1.judge_shape(ADA_SHAPE, seeds=EVERY_CHANGE, learner=ADA) == []


def test_a_refresh_aligned_with_the_visible_change_fails_another_case():
    aligned = {**ADA_SHAPE, "retrieval.index_refresh_s": 70.0}
    assert lab1.judge_shape(aligned, seeds=[1], learner=ADA) == []
    problems = lab1.judge_shape(aligned, seeds=EVERY_CHANGE, learner=ADA)
    assert problems and all("world change at 88 s: max_lag_s" in p for p in problems), problems


@pytest.mark.parametrize("wrong, budget", [
    ({"serving.pattern": "realtime"}, "quality"),
    ({"serving.pattern": "batch", "serving.batch_interval_s": 3600.0}, "max_lag_s"),
    ({"serving.pattern": "batch", "serving.batch_interval_s": 20.0}, "cost_per_1k"),
    ({"serving.pattern": "rag"}, "max_lag_s"),                       # index rebuilt every 300 s
    ({**ADA_SHAPE, "retrieval.permission_check": False}, "leaks"),
    ({**ADA_SHAPE, "model.replicas": ADA_SHAPE["model.replicas"] - 1}, "p95_ms"),
    ({**ADA_SHAPE, "model.replicas": 30}, "cost_per_1k"),
])
def test_wrong_shapes_fail_on_the_budget_they_break(wrong, budget):
    problems = lab1.judge_shape(wrong, seeds=EVERY_CHANGE[:1], learner=ADA)   # change at 41 s
    assert any(f": {budget} = " in p for p in problems), problems


@pytest.mark.parametrize("answer, message", [
    ({"cache.enabled": True}, "shape_knobs: this task lets you change only serving.pattern, "
                              "serving.batch_interval_s, retrieval.index_refresh_s, "
                              "retrieval.permission_check, model.replicas; remove "
                              "'cache.enabled'."),
    ({"retrieval.index_refresh_s": 2.0}, "shape_knobs: retrieval.index_refresh_s must lie in "
                                         "10..86400 for this task, got 2.0"),
    ({"serving.pattern": "stream"}, "shape_knobs: serving.pattern must be one of realtime, "
                                    "batch, rag"),
    ({"model.replica": 4}, "shape_knobs: unknown knob 'model.replica'; did you mean "
                           "'model.replicas'?"),
    ("rag", "shape_knobs: the answer must be a dict such as {'serving.pattern': ...}, got a str."),
    (None, "shape_knobs: not answered yet; set your answer to a dict of knobs, using only "
           "serving.pattern, "),
])
def test_shape_answer_form_errors_name_the_knob(answer, message):
    problems = lab1.judge_shape(answer, seeds=SEEDS, learner=ADA)
    assert len(problems) == 1 and problems[0].startswith(message), problems


def test_scorecard_max_lag_is_bounded_by_the_refresh_interval():
    res = simulate({**lab1.shape_workload(learner=ADA), **ADA_SHAPE,
                    "retrieval.index_refresh_s": 20.0, "world.change_at_s": 65.0}, seed=4)
    card = lab1.shape_scorecard(res, lab1.shape_budgets(learner=ADA))
    lag = card["budgets"]["max_lag_s"]["actual"]
    assert 0 < lag <= 20.0   # change at 65 s, rebuild at 80 s: lag just under 15 s
    assert lag == pytest.approx(15.0, abs=1.0)


def test_index_rebuilds_cost_money():
    base = {**lab1.shape_workload(learner=ADA), **ADA_SHAPE}
    cheap, dear = (simulate({**base, "retrieval.index_refresh_s": r}, seed=2).summary["cost"]
                   for r in (60.0, 10.0))
    rate, duration = base["load.rate_rps"], base["load.duration_s"]
    # $0.20 a rebuild: 10 more rebuilds in 120 s, per 1,000 requests
    assert dear["per_1k"] - cheap["per_1k"] == pytest.approx(
        0.2 * (12 - 2) / (rate * duration / 1000), rel=0.05)


def test_utilisation_table_matches_erlang_c_below_saturation():
    rows = lab1.utilisation_table([20.0, 40.0, 60.0], seed=1)
    assert [r["utilisation"] for r in rows] == pytest.approx([0.4, 0.8, 1.2])
    mid = rows[1]
    # 40 req/s on 4 x 80 ms: Erlang C Wq ~ 60 ms; one 120 s run is within ~35 %.
    assert mid["theory_wait_ms"] == pytest.approx(theory.mmc(40, 80, 4).wq_ms)
    assert mid["sim_wait_ms"] == pytest.approx(mid["theory_wait_ms"], rel=0.35)
    assert rows[2]["theory_p95_ms"] is None and rows[2]["timed_out"] > 0.05


@pytest.mark.parametrize("rate", draws.REPLICA_PARAMS["rate_rps"])
def test_every_task2_variant_is_confirmed_by_simulation(rate):
    who = learner_with(draws.replica_draw, rate_rps=rate)
    t = lab1.replica_task(learner=who)
    c = theory.min_replicas_for_p95(rate, t["model.service_ms"], t["budget.p95_ms"])
    assert lab1.judge_replicas(c, seeds=REPLICA_SEEDS, learner=who) == []
    for wrong in (c - 1, c + 1):
        problems = lab1.judge_replicas(wrong, seeds=REPLICA_SEEDS, learner=who)
        assert problems == [
            f"replicas_needed: {wrong} is not the fewest replicas whose p95 (Erlang C) meets the "
            f"450 ms budget at {rate:g} req/s; compare theory.mmc_response_quantile_ms(rate, "
            "service_ms, c, 0.95) with the budget for each c"]
    # the margins: theory well inside the budget with c, far outside with c - 1
    assert theory.mmc_response_quantile_ms(rate, 100, c, 0.95) < 0.85 * 450
    assert theory.mmc_response_quantile_ms(rate, 100, c - 1, 0.95) > 1.3 * 450


def test_task2_answers_differ_between_every_pair_of_rates():
    fleets = [theory.min_replicas_for_p95(r, 100, 450) for r in draws.REPLICA_PARAMS["rate_rps"]]
    assert fleets == [4, 5, 6, 7, 8]


def test_replica_judge_takes_a_whole_float_as_the_number():
    c = theory.min_replicas_for_p95(lab1.replica_task(learner=ADA)["load.rate_rps"], 100, 450)
    assert lab1.judge_replicas(float(c), seeds=SEEDS[:1], learner=ADA) == []


@pytest.mark.parametrize("wrong, message", [
    (6.5, "must be a whole number"),
    (True, "must be a number in replicas, got True"),
    ("6", "not text"),
    (None, "not answered yet"),
])
def test_replica_judge_rejects_wrong_forms(wrong, message):
    problems = lab1.judge_replicas(wrong, seeds=SEEDS, learner=ADA)
    assert len(problems) == 1 and message in problems[0], problems


def test_review_wait_theory_matches_erlang_c_tail():
    # 0.5 writes/s, 6 s reviews: a = 3 erlangs.
    for c in (4, 5, 6):
        q = lab1.review_wait_theory_s(c)
        lam, mu = 0.5, 1 / 6
        assert theory.erlang_c(c, 3.0) * math.exp(-(c * mu - lam) * q) == pytest.approx(0.05)
    assert lab1.review_wait_theory_s(3) == math.inf
    assert lab1.review_wait_theory_s(9) == 0.0   # fewer than 5 % of writes wait at all


def test_the_task3_answer_is_not_the_activity_table_answer():
    activity = fewest_reviewers(lab1.REVIEW_P95_BUDGET_S)
    tasks = [fewest_reviewers(lab1.REVIEW_P95_BUDGET_S,
                              lab1.boundary_task(learner=learner_with(draws.boundary_draw,
                                                                      write_fraction=w)))
             for w in draws.BOUNDARY_PARAMS["write_fraction"]]
    assert activity == 5 and tasks == [6, 7, 8]


@pytest.mark.parametrize("share", draws.BOUNDARY_PARAMS["write_fraction"])
def test_every_task3_variant_has_one_right_team(share):
    who = learner_with(draws.boundary_draw, write_fraction=share)
    scenario = lab1.boundary_task(learner=who)
    fewest = fewest_reviewers(lab1.REVIEW_P95_BUDGET_S, scenario)
    right = {"boundary.policy": "approval", "boundary.reviewers": fewest}
    assert lab1.judge_boundary(right, seeds=BOUNDARY_SEEDS, learner=who) == []
    assert lab1.review_wait_theory_s(fewest, scenario=scenario) < 0.6 * lab1.REVIEW_P95_BUDGET_S
    assert lab1.review_wait_theory_s(fewest - 1, scenario=scenario) > lab1.REVIEW_P95_BUDGET_S
    for c in (fewest - 1, fewest + 1):
        problems = lab1.judge_boundary({**right, "boundary.reviewers": c}, seeds=BOUNDARY_SEEDS,
                                       learner=who)
        assert problems, c


@pytest.mark.parametrize("wrong, message", [
    ({"boundary.policy": "none"}, "unauthorised writes went through"),
    ({"boundary.policy": "approval", "boundary.reviewers": 3}, "over the 8 s budget"),
    ({"boundary.policy": "approval", "boundary.reviewers": 12},
     "12 reviewers held the budget on these seeds, but that is not the fewest"),
    ({"boundary.policy": "approval", "boundary.review_s": 1.0}, "remove 'boundary.review_s'"),
])
def test_boundary_judge_rejects_wrong_answers(wrong, message):
    problems = lab1.judge_boundary(wrong, seeds=SEEDS, learner=ADA)
    assert problems and message in problems[0], problems


def test_boundary_judge_does_not_let_luck_pass_a_short_team(monkeypatch):
    # Whatever the seeds say, one reviewer short is short over a long run.
    fewest = fewest_reviewers(lab1.REVIEW_P95_BUDGET_S, lab1.boundary_task(learner=ADA))
    monkeypatch.setattr(lab1_judges, "simulate", lambda knobs, seed: _Fake())
    problems = lab1.judge_boundary({"boundary.policy": "approval",
                                    "boundary.reviewers": fewest - 1}, seeds=(1,), learner=ADA)
    assert problems and "is not the fewest" in problems[0]


class _Fake:
    summary = {"unauthorised_writes": 0, "review_wait_ms_p95": 1000.0}


def _explain(result, request_id):
    t = result.trace(request_id)
    guard = t["guardrail"]
    return {"data_snapshot": t["data_snapshot"], "model_version": t["model"]["version"],
            "threshold": guard["threshold"] if isinstance(guard, dict) else guard}


#: One seed per deployment: 4 audit off, 5 as the learner's, 6 real time v1, 7 threshold 0.8 v2.
CASES = (4, 5, 6, 7)


def test_each_seed_picks_a_deployment_to_explain():
    assert [lab1.incident_case(s) for s in CASES] == [dict(c) for c in lab1.INCIDENT_CASES]
    assert lab1.incident_case(1) == {}    # the notebook's visible seed: the learner's own
    assert lab1.incident_run(6, learner=ADA).scenario.serving.pattern == "realtime"


@pytest.mark.parametrize("threshold", draws.INCIDENT_PARAMS["threshold"])
def test_every_incident_variant_has_complaints_to_explain(threshold):
    for version in draws.INCIDENT_PARAMS["model_version"]:
        who = learner_with(draws.incident_draw, threshold=threshold, model_version=version)
        for seed in INCIDENT_SEEDS:
            res = lab1.incident_run(seed, learner=who)
            assert len(lab1.incident_requests(res)) == 3, (who, seed)
        res = lab1.incident_run(1, learner=who)
        truth = incident_truth(res, lab1.incident_requests(res)[0])
        assert truth["model_version"] == version and truth["threshold"] == threshold
        answers = lab1.collect_explanations(_explain, seeds=INCIDENT_SEEDS, learner=who)
        assert lab1.judge_incident_report(answers, seeds=INCIDENT_SEEDS, learner=who) == []


def test_an_explanation_of_another_deployment_fails():
    a = learner_with(draws.incident_draw, threshold=0.85, model_version="v2")
    b = learner_with(draws.incident_draw, threshold=0.95, model_version="v3")
    copied = lab1.collect_explanations(_explain, seeds=INCIDENT_SEEDS, learner=a)
    assert lab1.judge_incident_report(copied, seeds=INCIDENT_SEEDS, learner=b)


def test_incident_judge_accepts_reading_the_trail():
    answers = lab1.collect_explanations(_explain, seeds=CASES, learner=ADA)
    assert len(answers) == 3 * len(CASES)
    assert {r["seed"] for r in answers} == set(CASES)
    assert lab1.judge_incident_report(answers, seeds=CASES, learner=ADA) == []


def test_collected_explanations_are_plain_data_and_can_be_collected_again():
    import json

    answers = lab1.collect_explanations(_explain, seeds=[5, 6], learner=ADA)
    assert json.loads(json.dumps(answers)) == answers
    # what the grader sends back in place of the function: the records of the seeds asked for
    assert lab1.collect_explanations(answers, seeds=[6]) == [r for r in answers if r["seed"] == 6]
    assert lab1.judge_incident_report(lab1.collect_explanations(answers, seeds=[6]), seeds=[6],
                                      learner=ADA) == []


@pytest.mark.parametrize("wrong, message", [
    (lambda r, i: {"data_snapshot": "retrieval-index@0s", "model_version": "v3",
                   "threshold": 0.9}, "is not what the audit trail records"),
    (lambda r, i: {**_explain(r, i), "model_version": r.scenario.model.version},
     "model_version 'v2' is not what the audit trail records"),
    (lambda r, i: {**_explain(r, i), "threshold": _Equal()}, "threshold"),
    (lambda r, i: {"model_version": "v3"}, "has no 'data_snapshot' key"),
    (lambda r, i: 1 / 0, "explain(result, "),
    (lambda r, i: [1], "explain must return a dict, got list"),
    ("v3", "explain must be a function explain(result, request_id), got 'v3'"),
])
def test_incident_judge_rejects_wrong_answers(wrong, message):
    problems = lab1.judge_incident_report(
        lab1.collect_explanations(wrong, seeds=CASES, learner=ADA), seeds=CASES, learner=ADA)
    assert problems and message in problems[0], problems


class _Equal:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False


def test_incident_judge_wants_an_answer_for_every_complaint_of_its_seeds():
    answers = lab1.collect_explanations(_explain, seeds=[5], learner=ADA)
    assert lab1.judge_incident_report(answers, seeds=[5, 6], learner=ADA)[0].startswith(
        "seed 6: no answer for request ")
    assert lab1.judge_incident_report(_explain, seeds=[5], learner=ADA) == [
        "explain: the answer must be the records lab1.collect_explanations(explain, "
        "seeds=...) returns, got function"]


def test_q4_answers_differ_between_learners_and_the_judge_uses_yours():
    products = sorted(r * t for r in draws.LITTLE_PARAMS["rate_rps"]
                      for t in draws.LITTLE_PARAMS["slow_s"])
    assert min(b - a for a, b in zip(products, products[1:])) > 2 * lab1_judges.Q4_TOLERANCE
    v = lab1.little_draw(learner=ADA)
    assert lab1.judge_q4(v.rate_rps * v.slow_s, learner=ADA) == []
    for wrong in (v.rate_rps * 0.1, v.rate_rps * (v.slow_s - 0.1), v.rate_rps / v.slow_s):
        assert lab1.judge_q4(wrong, learner=ADA) == [
            "Q4: not the expected number; Little's law: requests in the system = arrival rate x "
            "the time each one stays (in seconds), at the response time the question asks about."]
    assert "not text" in lab1.judge_q4("24", learner=ADA)[0]


def test_sketch_data_crosses_as_plain_data_and_is_judged_the_same():
    import json

    from labkit.evidence import Component, DataPath, SystemSketch

    bare = SystemSketch(title="FAQ bot", owner="Support lead",
                        components=[Component(name="user", kind="client"),
                                    Component(name="api", kind="api")],
                        paths=[DataPath(source="user", target="api", action="call")])
    data = lab1.sketch_data(bare)
    assert json.loads(json.dumps(data)) == data
    assert lab1.sketch_problems(data) == lab1.sketch_problems(bare) != []
    assert lab1.sketch_data(data) == data and lab1.sketch_data(None) is None
    assert lab1.sketch_problems({"title": "x", "bogus": 1})[0].startswith(
        "sketch: its data does not describe a system sketch (system-sketch data has unknown "
        "field 'bogus'")
    assert lab1.sketch_problems(None) == [
        "sketch must be a SystemSketch (from labkit.evidence), got NoneType"]


def test_scenarios_are_read_only():
    with pytest.raises(TypeError):
        lab1.REPLICA_BASE["budget.p95_ms"] = 10_000.0   # type: ignore[index]
    with pytest.raises(TypeError):
        lab1.SHAPES["rag"]["serving.pattern"] = "batch"   # type: ignore[index]
    with pytest.raises(TypeError):
        lab1.replica_task(learner=ADA)["budget.p95_ms"] = 10_000.0   # type: ignore[index]


def test_table_and_figure():
    text = lab1.table([{"a": 1.23456, "b": None, "c": math.inf, "d": True}])._repr_markdown_()
    assert text.splitlines()[2] == "| 1.23 | - | inf | yes |"
    assert lab1.table([]).markdown() == "(no rows)"
    fig = lab1.utilisation_figure(lab1.utilisation_table([20.0, 60.0], seed=1))
    assert [t.name for t in fig.data] == ["Erlang C (M/M/c) p95", "simulated p95", "timed out (%)"]
    assert fig.data[0].y[1] is None   # theory has no value past saturation


def test_panel_starts_from_the_scenario_with_shown_knobs_free():
    p = lab1.panel(["model.replicas", "boundary.reviewers"], lab1.BOUNDARY_SCENARIO,
                   views=["outcomes"])
    assert p.scenario.model.replicas == 2 and p.scenario.boundary.review_s == 6.0
    assert p.result is not None and p.result.summary["writes"] > 0
    p.set({"model.replicas": 5})
    p.reset()
    assert p.scenario.model.replicas == 2    # the lab's starting point, not the catalogue's



# --- task 5: the data path ----------------------------------------------------------------

@pytest.mark.parametrize("case", range(len(draws.HOP_CASES)))
def test_every_task5_deployment_has_one_right_number_of_servers(case):
    who = learner_with(draws.hop_draw, case=case)
    (short, n), = draws.hop_fix(learner=who).items()
    hop, rate = draws.HOP_CASES[case]
    assert short == f"{hop}.servers" and lab1.hop_task(learner=who)["load.rate_rps"] == rate
    assert 2 <= n <= 4 and lab1.hop_task(learner=who)[short] < n
    assert lab1.judge_hops({short: n}, seeds=HOP_SEEDS, learner=who) == []
    fewer = lab1.judge_hops({short: n - 1}, seeds=HOP_SEEDS, learner=who)
    assert len(fewer) == len(HOP_SEEDS) and all("answered" in p for p in fewer), fewer
    more = lab1.judge_hops({short: n + 1}, seeds=HOP_SEEDS[:1], learner=who)
    assert more and "not the fewest" in more[0], more


def test_task5_utilisations_match_the_draws_docstring():
    for case, (hop, rate) in enumerate(draws.HOP_CASES):
        who = learner_with(draws.hop_draw, case=case)
        task = lab1.hop_task(learner=who)
        ms = {"embed": task["embed.latency_ms"], "rerank": task["rerank.latency_ms"],
              "retrieval": task["retrieval.latency_ms"] + task["retrieval.permission_ms"]}
        (short, n), = draws.hop_fix(learner=who).items()
        offered = rate * ms[hop] / 1000.0
        assert offered / n <= 0.83 and offered / (n - 1) >= 1.099, (hop, rate)
        for other in lab1.HOPS:   # the other steps have servers to spare
            if other != hop:
                assert rate * ms[other] / 1000.0 / task[f"{other}.servers"] <= 0.6


@pytest.mark.slow
def test_a_task5_answer_copied_from_another_deployment_fails():
    fixes = {c: draws.hop_fix(learner=learner_with(draws.hop_draw, case=c))
             for c in range(len(draws.HOP_CASES))}
    for b in fixes:
        who = learner_with(draws.hop_draw, case=b)
        for a in ((b + 1) % len(fixes), (b + 3) % len(fixes)):   # another level, another step
            assert fixes[a] != fixes[b]
            assert lab1.judge_hops(fixes[a], seeds=[11], learner=who), (a, b)


def test_task5_only_the_short_step_may_change():
    who = learner_with(draws.hop_draw, case=4)          # retrieval at 48 requests/s
    task = lab1.hop_task(learner=who)
    extra = lab1.judge_hops({"retrieval.servers": 3, "embed.servers": task["embed.servers"] + 1},
                            seeds=[11], learner=who)
    assert extra == ["embed.servers: 5 changes a hop that was not holding the requests up; its "
                     "servers belong to another team and cost money"]
    assert lab1.judge_hops({"retrieval.servers": 3, "embed.servers": task["embed.servers"]},
                           seeds=[11], learner=who) == []


@pytest.mark.parametrize("wrong, message", [
    ({"model.replicas": 32}, "remove 'model.replicas'"),
    ({"retrieval.servers": 0}, "retrieval.servers"),
    ({"retrieval.servers": 21}, "retrieval.servers"),
    ([("retrieval.servers", 3)], "hop_knobs"),
])
def test_hop_judge_rejects_wrong_forms(wrong, message):
    problems = lab1.judge_hops(wrong, seeds=[1], learner=ADA)
    assert problems and message in problems[0], problems


def test_the_activity5_bottleneck_is_retrieval_and_replicas_do_not_fix_it():
    runs = {n: simulate({**lab1.DATAPATH_SCENARIO, "model.replicas": n}, seed=1) for n in (4, 8)}
    p95 = {n: r.summary["latency_ms"]["p95"] for n, r in runs.items()}
    assert p95[4] > 800.0 and abs(p95[8] - p95[4]) < 0.1 * p95[4], p95
    rows = {row["hop"]: row for row in lab1.hop_table(runs[8]).rows}
    assert list(rows) == ["embed", "retrieval", "rerank", "model"]
    assert rows["retrieval"]["utilisation"] > 0.98 and rows["model"]["utilisation"] < 0.5
    assert rows["retrieval"]["wait_ms_mean"] > 10 * max(rows[h]["wait_ms_mean"]
                                                       for h in ("embed", "rerank", "model"))
    # 30 requests/s offered, at most 1 / 48 ms ~ 20.8 through one retrieval server
    assert rows["retrieval"]["calls_per_s"] <= 1000.0 / 48.0 * 1.03
    fixed = simulate({**lab1.DATAPATH_SCENARIO, "retrieval.servers": 3}, seed=1).summary
    assert fixed["latency_ms"]["p95"] <= 800.0 and fixed["success_rate"] >= 0.99


def test_beside_and_broken_budgets():
    shown = lab1.beside("  p95 doubles ", "it tripled").rows
    assert shown == [{"you predicted": "p95 doubles", "the run shows": "it tripled"}]
    rows = [{"shape": "a", "p95_ms": 10.0, "cost_per_1k": 1.0, "quality": 0.5, "max_lag_s": 0.0,
             "leaks": 0},
            {"shape": "b", "p95_ms": 10_000.0, "cost_per_1k": 1.0, "quality": 0.95,
             "max_lag_s": 0.0, "leaks": 3}]
    assert lab1.broken_budgets(rows, learner=ADA) == "a breaks quality; b breaks p95_ms, leaks"
