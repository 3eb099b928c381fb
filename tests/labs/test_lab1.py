"""Lab 1's scenarios and task judges: right answers pass, plausible wrong ones fail.

The judges grade learners, so each must be able to fail, for the reason it
names.  The seeds here are not the notebook's hidden seeds (those stay in the
notebook); the margins are chosen from theory so any seed gives the same
verdict:

* task 1: 4 RAG replicas at 30 req/s of an 80 ms model have an M/M/4 response
  p95 of ~270 ms plus ~63 ms of retrieval steps, against a 400 ms budget;
  3 replicas give ~460 ms + 63 ms.
* task 2: M/M/c at 45 req/s of 100 ms: p95 is ~351 ms with 6 replicas and
  ~680 ms with 5, against 450 ms.
* task 3: review p95 wait is ~4.7 s with 5 reviewers and ~13.9 s with 4,
  against 8 s.
"""

from __future__ import annotations

import math

import pytest

from labkit.labs import lab1
from labkit.labs.lab1 import judges as lab1_judges
from labkit.sim import simulate, theory

SEEDS = (3, 5)
GOOD_SHAPE = {"serving.pattern": "rag", "retrieval.index_refresh_s": 20.0, "model.replicas": 4}
#: One seed per world-change time: 4 -> 41 s, 5 -> 70 s, 6 -> 88 s, 7 -> 103 s.
EVERY_CHANGE = (4, 5, 6, 7)


def test_shapes_each_break_a_different_budget_on_the_shared_workload():
    rows = {r["shape"]: r for r in lab1.compare_shapes(seed=2)}
    assert rows["realtime"]["quality"] == pytest.approx(0.8)   # no grounding
    assert rows["batch"]["max_lag_s"] > 30 and rows["batch"]["p95_ms"] < 20
    assert rows["rag"]["quality"] > 0.9 and rows["rag"]["max_lag_s"] > 30  # 300 s index
    assert not any(r["all_pass"] for r in rows.values())


def test_each_seed_picks_a_world_change_time():
    assert [lab1.shape_case(s)["world.change_at_s"] for s in EVERY_CHANGE] == [
        41.0, 70.0, 88.0, 103.0]
    assert lab1.shape_case(1) == {"world.change_at_s": 70.0}   # the notebook's visible seed


def test_good_shape_passes_wherever_the_world_changes():
    assert lab1.judge_shape(GOOD_SHAPE, seeds=EVERY_CHANGE) == []


def test_a_refresh_aligned_with_the_visible_change_fails_another_case():
    aligned = {"serving.pattern": "rag", "retrieval.index_refresh_s": 70.0, "model.replicas": 4}
    assert lab1.judge_shape(aligned, seeds=[1]) == []
    problems = lab1.judge_shape(aligned, seeds=EVERY_CHANGE)
    assert problems and all("world change at 88 s: max_lag_s" in p for p in problems), problems


@pytest.mark.parametrize("wrong, budget", [
    ({"serving.pattern": "realtime"}, "quality"),
    ({"serving.pattern": "batch", "serving.batch_interval_s": 3600.0}, "max_lag_s"),
    ({"serving.pattern": "batch", "serving.batch_interval_s": 20.0}, "cost_per_1k"),
    ({"serving.pattern": "rag"}, "max_lag_s"),                       # index rebuilt every 300 s
    ({**GOOD_SHAPE, "retrieval.permission_check": False}, "leaks"),
    ({**GOOD_SHAPE, "model.replicas": 3}, "p95_ms"),
    ({**GOOD_SHAPE, "model.replicas": 30}, "cost_per_1k"),
])
def test_wrong_shapes_fail_on_the_budget_they_break(wrong, budget):
    problems = lab1.judge_shape(wrong, seeds=EVERY_CHANGE[:1])   # the world changes at 41 s
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
    problems = lab1.judge_shape(answer, seeds=SEEDS)
    assert len(problems) == 1 and problems[0].startswith(message), problems


def test_scorecard_max_lag_is_bounded_by_the_refresh_interval():
    res = simulate({**lab1.SHAPE_WORKLOAD, **GOOD_SHAPE, "world.change_at_s": 65.0}, seed=4)
    card = lab1.shape_scorecard(res)
    lag = card["budgets"]["max_lag_s"]["actual"]
    assert 0 < lag <= 20.0   # change at 65 s, rebuild at 80 s: lag just under 15 s
    assert lag == pytest.approx(15.0, abs=1.0)


def test_utilisation_table_matches_erlang_c_below_saturation():
    rows = lab1.utilisation_table([20.0, 40.0, 60.0], seed=1)
    assert [r["utilisation"] for r in rows] == pytest.approx([0.4, 0.8, 1.2])
    mid = rows[1]
    # 40 req/s on 4 x 80 ms: Erlang C Wq ~ 60 ms; one 120 s run is within ~35 %.
    assert mid["theory_wait_ms"] == pytest.approx(theory.mmc(40, 80, 4).wq_ms)
    assert mid["sim_wait_ms"] == pytest.approx(mid["theory_wait_ms"], rel=0.35)
    assert rows[2]["theory_p95_ms"] is None and rows[2]["timed_out"] > 0.05


def test_replica_judge_accepts_theory_answer_confirmed_by_simulation():
    assert theory.min_replicas_for_p95(45, 100, 450) == 6
    assert lab1.judge_replicas(6, seeds=SEEDS) == []


def test_replica_judge_takes_a_whole_float_as_the_number():
    assert lab1.judge_replicas(6.0, seeds=SEEDS[:1]) == []


@pytest.mark.parametrize("wrong, message", [
    (5, "with 5 replicas the p95 is over the 450 ms budget"),   # ceil(load): utilisation alone
    (7, "7 replicas meet the 450 ms p95 budget, but a smaller fleet does too"),
    (6.5, "must be a whole number"),
    (True, "must be a number in replicas, got True"),
    ("6", "not text"),
    (None, "not answered yet"),
])
def test_replica_judge_rejects_wrong_answers(wrong, message):
    problems = lab1.judge_replicas(wrong, seeds=SEEDS)
    assert len(problems) == 1 and message in problems[0], problems


def test_review_wait_theory_matches_erlang_c_tail():
    # 0.5 writes/s, 6 s reviews: a = 3 erlangs.
    for c in (4, 5, 6):
        q = lab1.review_wait_theory_s(c)
        lam, mu = 0.5, 1 / 6
        assert theory.erlang_c(c, 3.0) * math.exp(-(c * mu - lam) * q) == pytest.approx(0.05)
    assert lab1.review_wait_theory_s(3) == math.inf
    assert lab1.review_wait_theory_s(9) == 0.0   # fewer than 5 % of writes wait at all


def test_boundary_judge_accepts_approval_with_fewest_reviewers():
    assert lab1.judge_boundary({"boundary.policy": "approval", "boundary.reviewers": 5},
                               seeds=SEEDS) == []


@pytest.mark.parametrize("wrong, message", [
    ({"boundary.policy": "none"}, "unauthorised writes went through"),
    ({"boundary.policy": "approval", "boundary.reviewers": 3}, "over the 8 s budget"),
    ({"boundary.policy": "approval", "boundary.reviewers": 9},
     "9 reviewers meet the budget, but a smaller team does too"),
    ({"boundary.policy": "approval", "boundary.review_s": 1.0}, "remove 'boundary.review_s'"),
])
def test_boundary_judge_rejects_wrong_answers(wrong, message):
    problems = lab1.judge_boundary(wrong, seeds=SEEDS)
    assert problems and message in problems[0], problems


def test_boundary_judge_does_not_let_luck_pass_four_reviewers(monkeypatch):
    # Whatever the seeds say, 4 reviewers are short over a long run (p95 ~13.9 s).
    monkeypatch.setattr(lab1_judges, "simulate", lambda knobs, seed: _Fake())
    problems = lab1.judge_boundary({"boundary.policy": "approval", "boundary.reviewers": 4},
                                   seeds=(1,))
    assert problems and "passed on these seeds by luck" in problems[0]


class _Fake:
    summary = {"unauthorised_writes": 0, "review_wait_ms_p95": 1000.0}


def _explain(result, request_id):
    t = result.trace(request_id)
    guard = t["guardrail"]
    return {"data_snapshot": t["data_snapshot"], "model_version": t["model"]["version"],
            "threshold": guard["threshold"] if isinstance(guard, dict) else guard}


#: One seed per deployment: 4 audit off, 5 as shipped, 6 real time v1, 7 threshold 0.8 v2.
CASES = (4, 5, 6, 7)


def test_each_seed_picks_a_deployment_to_explain():
    assert [lab1.incident_case(s) for s in CASES] == [dict(c) for c in lab1.INCIDENT_CASES]
    assert lab1.incident_case(1) == {}    # the notebook's visible seed: as shipped
    assert lab1.incident_run(6).scenario.serving.pattern == "realtime"


def test_incident_scenario_delivers_harmful_answers_to_explain():
    res = simulate(lab1.INCIDENT_SCENARIO, seed=3)
    ids = lab1.harmful_request_ids(res)
    assert len(ids) >= 5
    truth = lab1.incident_truth(res, ids[0])
    assert truth["model_version"] == "v3" and truth["threshold"] == 0.9
    assert truth["data_snapshot"].startswith("retrieval-index@")


def test_incident_judge_accepts_reading_the_trail():
    answers = lab1.collect_explanations(_explain, seeds=CASES)
    assert len(answers) == 3 * len(CASES)
    assert {r["seed"] for r in answers} == set(CASES)
    assert lab1.judge_incident_report(answers, seeds=CASES) == []


def test_collected_explanations_are_plain_data():
    import json

    answers = lab1.collect_explanations(_explain, seeds=[5])
    assert json.loads(json.dumps(answers)) == answers


@pytest.mark.parametrize("wrong, message", [
    (lambda r, i: {"data_snapshot": "retrieval-index@0s", "model_version": "v3",
                   "threshold": 0.9}, "data_snapshot 'retrieval-index@0s' is not what the "
                                      "audit trail records"),
    (lambda r, i: {**_explain(r, i), "model_version": r.scenario.model.version},
     "model_version 'v3' is not what the audit trail records"),
    (lambda r, i: {"model_version": "v3"}, "has no 'data_snapshot' key"),
    (lambda r, i: 1 / 0, "explain(result, "),
    (lambda r, i: [1], "explain must return a dict, got list"),
    ("v3", "explain must be a function explain(result, request_id), got 'v3'"),
])
def test_incident_judge_rejects_wrong_answers(wrong, message):
    problems = lab1.judge_incident_report(lab1.collect_explanations(wrong, seeds=CASES),
                                          seeds=CASES)
    assert problems and message in problems[0], problems


def test_incident_judge_wants_an_answer_for_every_complaint_of_its_seeds():
    answers = lab1.collect_explanations(_explain, seeds=[5])
    assert lab1.judge_incident_report(answers, seeds=[5, 6])[0].startswith(
        "seed 6: no answer for request ")
    assert lab1.judge_incident_report(_explain, seeds=[5]) == [
        "explain: the answer must be the records lab1.collect_explanations(explain, "
        "seeds=...) returns, got function"]


def test_scenarios_are_read_only():
    with pytest.raises(TypeError):
        lab1.REPLICA_TASK["budget.p95_ms"] = 10_000.0   # type: ignore[index]
    with pytest.raises(TypeError):
        lab1.SHAPES["rag"]["serving.pattern"] = "batch"   # type: ignore[index]


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
