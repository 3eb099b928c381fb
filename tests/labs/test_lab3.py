"""Lab 3 judges: right answers pass on unseen seeds, plausible wrong answers fail, answers of
the wrong form get a problem in words instead of a traceback, and every learner's variant is
solvable while another learner's answer fails it."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from labkit.checkpoints import CheckpointError
from labkit.labs import lab3
from labkit.labs.lab3 import variants as lab3_variants
from labkit.monitor import best_threshold_for_cost, run_monitor

SEEDS = [21, 22]
#: The learner these tests work as: a missed fraud at $150, the world "deep incident, long
#: blips", the drift world "sudden switch, quick labels", the drill's threshold lowered to 0.15.
LEARNER = "ada-lovelace"


@pytest.fixture(autouse=True)
def _as_learner(monkeypatch):
    monkeypatch.setenv("LABKIT_LEARNER", LEARNER)
    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)
    monkeypatch.delenv("LABKIT_GRADING", raising=False)


def test_the_tests_learner_has_the_numbers_they_assume() -> None:
    assert lab3.threshold_costs(learner=LEARNER) == {"cost_fn": 150.0, "cost_fp": 15.0}
    assert lab3.world(learner=LEARNER).world == "deep incident, long blips"
    assert lab3_variants.t3(learner=LEARNER).world == "sudden switch, quick labels"
    assert lab3_variants.t4(learner=LEARNER).new_threshold == 0.15


def learner_with(draw, **values) -> str:
    """The first of learner-000, learner-001, ... whose draw gives ``values``."""
    return next(who for who in (f"learner-{i:03d}" for i in range(2000))
                if all(draw(learner=who).values[k] == v for k, v in values.items()))


@functools.lru_cache(maxsize=None)
def reference_rule(world: str) -> tuple[float, int]:
    """The notebook's model answer to T2 in ``world``: of the rules that hold on seeds 1-6,
    the one with the most holding neighbours."""
    who = learner_with(lab3.world, world=world)
    tried = [(t / 20, w) for t in range(6, 19) for w in range(1, 11)]
    holds = [r for r in tried if not lab3.judge_null_rules(
        {"threshold": r[0], "window_h": r[1]}, seeds=[1, 2, 3, 4, 5, 6], learner=who)]
    return max(holds, key=lambda r: sum((round(r[0] + dt / 20, 2), r[1] + dw) in holds
                                        for dt in (-1, 0, 1) for dw in (-1, 0, 1)))



def test_threshold_task() -> None:
    y, s = lab3.evaluation_set(1)
    best = best_threshold_for_cost(y, s, **lab3.THRESHOLD_COSTS)
    assert lab3.judge_threshold(best, seeds=SEEDS) == []
    # the accuracy habit (0.5) and the default (0.2) cost clearly more
    assert len(lab3.judge_threshold(0.5, seeds=SEEDS)) == 2
    assert len(lab3.judge_threshold(0.2, seeds=SEEDS)) == 2
    assert lab3.judge_threshold(1.5, seeds=SEEDS) == [
        "T1: 1.5 is outside the possible range 0 .. 1; check your units and your arithmetic."]
    assert lab3.judge_threshold(None, seeds=SEEDS) == [
        "T1: not answered yet; set your answer to a number."]


def test_evaluation_set_only_holds_labels_that_have_arrived() -> None:
    y, s = lab3.evaluation_set(1)
    res = run_monitor(lab3.OFFLINE_SCENARIO, seed=1)
    known = res.transactions["hour"] < res.config.horizon_h - res.config.labels.delay_h
    assert y.size == known.sum() < res.transactions.size
    assert not y.flags.writeable and s.min() >= 0 and s.max() <= 1


@pytest.mark.parametrize("answer, ok", [
    ({"threshold": 0.85, "window_h": 3}, True),
    ({"threshold": 0.8, "window_h": 5}, True),
    ({"threshold": 0.05, "window_h": 1}, False),     # pages for every blip
    ({"threshold": 0.5, "window_h": 2}, False),      # long blips at 75% cross it
    ({"threshold": 0.4, "window_h": 24}, False),     # too slow
    ({"threshold": 0.97, "window_h": 6}, False),     # never fires
])
def test_null_rule_task(answer: dict, ok: bool) -> None:
    assert (lab3.judge_null_rules(answer, seeds=SEEDS) == []) is ok


@pytest.mark.parametrize("answer, message", [
    ({"threshold": 0.5}, "T2: the answer must be a dict with exactly the keys 'threshold' and "
                         "'window_h', got {'threshold': 0.5}."),
    ({"threshold": 0.5, "window_h": 2.5}, "T2 (window_h): the answer must be a whole number in "
                                          "hours, got 2.5."),
    ({"threshold": "high", "window_h": 2}, "T2 (threshold): the answer must be a number, not "
                                           "text: remove the quotes around 'high'."),
    (None, "T2: not answered yet; set it to a dict such as {'threshold': 0.5, 'window_h': 2}."),
])
def test_null_rule_form(answer: dict, message: str) -> None:
    assert lab3.judge_null_rules(answer, seeds=SEEDS) == [message]
    with pytest.raises(CheckpointError) as exc:   # a helper that needs a rule raises them
        lab3.null_rules(answer)
    assert str(exc.value) == message.replace("T2", "rule", 1)


def test_rule_report_and_runs_are_shared() -> None:
    r = lab3.rule_report({"threshold": 0.85, "window_h": 3}, 1)
    assert r["time_to_detect_h"] <= lab3.ALERT_BUDGET["detect_h"]
    assert lab3.alert_run(1) is r["result"]


@pytest.mark.parametrize("answer, ok", [
    ({"retrain.policy": "trigger", "retrain.trigger_on": "recall", "alerts.recall_floor": 0.25,
      "retrain.cooldown_days": 10}, True),
    ({"retrain.policy": "schedule", "retrain.every_days": 21}, True),  # one release after it
    ({}, False),                                                      # never retrain
    ({"retrain.policy": "schedule", "retrain.every_days": 7}, False),  # too many releases
    ({"retrain.policy": "schedule", "retrain.every_days": 14}, False),  # the second comes late
    ({"retrain.policy": "trigger", "retrain.trigger_on": "recall",     # no cooldown
      "alerts.recall_floor": 0.25, "retrain.cooldown_days": 0}, False),
])
def test_retraining_task(answer: dict, ok: bool) -> None:
    assert (lab3.judge_retraining(answer, seeds=SEEDS) == []) is ok


def test_retraining_form() -> None:
    assert lab3.judge_retraining({"labels.delay_h": 1}, seeds=SEEDS)[0].startswith(
        "T3: this task lets you change only retrain.")
    assert lab3.judge_retraining({"retrain.every_days": 0}, seeds=SEEDS) == [
        "T3: retrain.every_days must be >= 1, got 0"]
    assert lab3.judge_retraining({"retrain.policy": "trigger", "retrain.trigger_on": "recall"},
                                 seeds=SEEDS)[0].startswith(
        "T3: these knobs cannot run together: retrain.policy is 'trigger' but no alert ")
    assert lab3.judge_retraining({"retrain.polcy": "never"}, seeds=SEEDS) == [
        "T3: unknown knob 'retrain.polcy'; did you mean 'retrain.policy'?"]


def test_trace_task() -> None:
    drill = run_monitor(lab3.drill_scenario(), seed=1)
    assert lab3.drill_run(1) is lab3.drill_run(1, learner=LEARNER)
    tx = lab3.drill_transaction(drill)
    row = drill.transactions[tx]
    assert row["label"] and row["decision"] == 0 and np.isnan(row["device_risk"])
    t = drill.trace(tx)
    right = {k: t[k] for k in lab3.TRACE_KEYS}
    assert right["threshold"] == 0.15 and right["missing"] == ["device_risk"]
    assert lab3.judge_trace(right, seeds=[1]) == []
    wrong = dict(right, threshold=0.2, model_version="v2", missing=[])
    problems = lab3.judge_trace(wrong, seeds=[1])
    assert len(problems) == 3 and problems[0].startswith("T4: model_version 'v2'")
    assert lab3.judge_trace({"model_version": "v1"}, seeds=[1])[0].startswith(
        "T4: the answer must be a dict with exactly")
    assert lab3.trace_answer_problems(right) == []
    assert lab3.judge_trace(dict(right, threshold=np.float64(0.15)), seeds=[1])[0].startswith(
        "T4: answers are graded as plain Python data")


@pytest.mark.parametrize("answer, fragment", [
    ({"threshold": 0.85, "window_h": 3, "fallback": "rules_review", "duration_h": 24}, None),
    ({"threshold": 0.85, "window_h": 3, "fallback": "review_all", "duration_h": 24},
     "reviews waited"),
    ({"threshold": 0.85, "window_h": 3, "fallback": "allow_all", "duration_h": 24},
     "cut it by at least"),
    ({"threshold": 0.85, "window_h": 3, "fallback": "rules_review", "duration_h": 168},
     "still off two days after"),
    ({"threshold": 0.97, "window_h": 6, "fallback": "rules_review", "duration_h": 24},
     "was not switched off within"),
])
def test_containment_task(answer: dict, fragment: str | None) -> None:
    problems = lab3.judge_containment(answer, seeds=SEEDS)
    if fragment is None:
        assert problems == []
    else:
        assert problems and any(fragment in p for p in problems), problems


def test_a_twitchy_shutdown_rule_switches_off_on_blips() -> None:
    answer = {"threshold": 0.3, "window_h": 1, "fallback": "rules_review", "duration_h": 24}
    problems = lab3.judge_containment(answer, seeds=[1, 13])
    assert any("outside the incident" in p for p in problems)


def test_containment_form() -> None:
    assert lab3.judge_containment({"threshold": 0.5, "window_h": 6, "fallback": "pray",
                                   "duration_h": 6}, seeds=SEEDS) == [
        "T5: fallback must be one of rules_review, review_all, allow_all, got 'pray'."]
    assert lab3.judge_containment({"threshold": 0.5, "window_h": 6, "fallback": "allow_all",
                                   "duration_h": 0}, seeds=SEEDS) == [
        "T5 (duration_h): 0 is outside the possible range 1 .. 168 in hours; check your units "
        "and your arithmetic."]
    with pytest.raises(CheckpointError, match="^T5: not answered yet"):
        lab3.containment(None, seed=1)


def test_tables_render() -> None:
    res = run_monitor({"stream.weeks": 1, "stream.tx_per_hour": 50}, seed=1)
    md = lab3.quality_table(res)._repr_markdown_()
    assert md.splitlines()[0] == "| where | precision | recall | flag rate | cost per tx ($) |"
    known = lab3.labels_known(res, [2, 6])
    assert known.rows[0]["labels known"] == 0 and known.rows[1]["share known"] > 0.3
    noise = lab3.noise_table((0.01,), weeks=8).rows[0]
    assert noise["theory: pages a week"] == pytest.approx(1.68)
    assert 0.5 < noise["simulated: pages a week"] < 3.5


# ------------------------------------------------------------------ variants
@pytest.mark.parametrize("cost_fn", lab3_variants.T1_PARAMS["cost_fn"])
def test_t1_every_price_has_its_own_cheapest_threshold(cost_fn: float) -> None:
    """The reference (the cheapest threshold on seed 1) passes the hidden seeds; the reference
    of the next price in the list fails (a copied threshold costs over 3% more)."""
    who = learner_with(lab3_variants.t1, cost_fn=cost_fn)
    y, s = lab3.evaluation_set(1)
    mine = float(best_threshold_for_cost(y, s, **lab3.threshold_costs(learner=who)))
    assert lab3.judge_threshold(mine, seeds=[1, 31, 32, 33], learner=who) == []
    prices = lab3_variants.T1_PARAMS["cost_fn"]
    for other in prices:
        if other != cost_fn:
            theirs = float(best_threshold_for_cost(y, s, cost_fn=other, cost_fp=15.0))
            assert lab3.judge_threshold(theirs, seeds=[31, 32, 33], learner=who), (cost_fn, other)


@pytest.mark.parametrize("world", list(lab3_variants.WORLDS))
def test_t2_and_t5_every_world_is_solvable_and_other_worlds_answers_fail(world: str) -> None:
    who = learner_with(lab3.world, world=world)
    th, w = reference_rule(world)
    rule = {"threshold": th, "window_h": w}
    assert lab3.judge_null_rules(rule, seeds=[41, 42, 43], learner=who) == []
    plan = {**rule, "fallback": "rules_review", "duration_h": 24}
    assert lab3.judge_containment(plan, seeds=[1, 61, 62, 63], learner=who) == []
    assert lab3.judge_null_rules({"threshold": 0.05, "window_h": 1}, seeds=[1], learner=who)
    for other in lab3_variants.WORLDS:
        if other != world:
            oth, ow = reference_rule(other)
            copied = {"threshold": oth, "window_h": ow}
            assert lab3.judge_null_rules(copied, seeds=[1, 41, 42, 43], learner=who), (world, other)


#: T3's hidden seeds (the notebook's seed 1 and its three unseen ones).
T3_SEEDS = [1, 51, 52, 53]
#: A sound policy for each drift world, worked out from the world's own runs.  A retraining
#: learns only from labelled data (up to ``labels.delay_h`` ago, less a holdout), so: after a
#: sudden switch with quick labels, the recall floor fires soon after the drift and a cooldown
#: long enough that the second release learns from the new pattern alone; a slow creep wants a
#: release about every six days while the pattern keeps moving; with labels a week late the one
#: allowed release must wait until a week of the new pattern's labels is in.
SUDDEN, LATE, CREEP = lab3_variants.RETRAIN_WORLDS
REFERENCE_POLICIES = {
    SUDDEN: {"retrain.policy": "trigger", "retrain.trigger_on": ["recall"],
             "alerts.recall_floor": 0.25, "retrain.cooldown_days": 10},
    CREEP: {"retrain.policy": "trigger", "retrain.trigger_on": ["recall"],
            "alerts.recall_floor": 0.25, "retrain.cooldown_days": 6},
    LATE: {"retrain.policy": "schedule", "retrain.every_days": 28},
}


def drift_learner(world: str) -> str:
    return learner_with(lab3_variants.t3, world=world)


def test_every_drift_world_has_a_reference_policy() -> None:
    assert set(REFERENCE_POLICIES) == set(lab3_variants.RETRAIN_WORLDS)


@pytest.mark.parametrize("world", lab3_variants.RETRAIN_WORLDS)
def test_t3_every_drift_world_is_solvable(world: str) -> None:
    who = drift_learner(world)
    assert lab3.judge_retraining(REFERENCE_POLICIES[world], seeds=T3_SEEDS, learner=who) == []


#: Plausible wrong policies, each with the budget it breaks (the cut or the retrainings) in
#: the worlds where it must fail.  Weekly retraining is right where the drift creeps, so it
#: must fail only the other two worlds; so must the one-size answer the task had before worlds.
CUT, RETRAINS = "a cut of", "retrainings;"
RECALL = {"retrain.policy": "trigger", "retrain.trigger_on": ["recall"],
          "alerts.recall_floor": 0.25}
T3_MISTAKES = {
    "never": ({}, {SUDDEN: CUT, CREEP: CUT, LATE: CUT}),
    "every 7 days": ({"retrain.policy": "schedule", "retrain.every_days": 7},
                     {SUDDEN: RETRAINS, LATE: RETRAINS}),
    "every 14 days (shown in the activity)": (
        {"retrain.policy": "schedule", "retrain.every_days": 14},
        {SUDDEN: CUT, CREEP: CUT, LATE: RETRAINS}),
    "a recall trigger as shown (3-day cooldown)": (RECALL, {w: RETRAINS for w in (SUDDEN, CREEP,
                                                                                  LATE)}),
    "a trigger without cooldown": ({**RECALL, "retrain.cooldown_days": 0},
                                   {SUDDEN: RETRAINS, CREEP: RETRAINS, LATE: RETRAINS}),
    "one release that ignores the label delay": (
        {"retrain.policy": "schedule", "retrain.every_days": 21}, {CREEP: CUT, LATE: CUT}),
    "the old one-size answer": ({**RECALL, "retrain.cooldown_days": 5},
                                {SUDDEN: RETRAINS, LATE: RETRAINS}),
}


@pytest.mark.parametrize("name", T3_MISTAKES)
def test_t3_plausible_wrong_policies_fail(name: str) -> None:
    policy, fails = T3_MISTAKES[name]
    for world, broken in fails.items():
        problems = lab3.judge_retraining(policy, seeds=T3_SEEDS, learner=drift_learner(world))
        assert any(broken in p for p in problems), (name, world, problems)


#: Other policies a learner of each world may hand in (each passes its own world): one
#: release on day 21 after a sudden switch; a recall trigger learning from the last three days
#: only where the drift creeps; the earliest single release that waits for late labels.
ALTERNATIVE_POLICIES = {
    SUDDEN: {"retrain.policy": "schedule", "retrain.every_days": 21},
    CREEP: {**RECALL, "retrain.cooldown_days": 7, "retrain.train_days": 3},
    LATE: {"retrain.policy": "schedule", "retrain.every_days": 24},
}
#: The copies among them that pass another world (answer's world, copied into): a short
#: training window keeps a creep's trigger to two releases after a sudden switch too, and one
#: release on day 24 is still early enough after a sudden switch with quick labels.
T3_COPIES_THAT_PASS = {(CREEP, SUDDEN), (LATE, SUDDEN)}


@pytest.mark.slow
def test_t3_a_classmates_policy_fails_most_other_worlds() -> None:
    """Each world's reference policy, copied into each other world on the hidden seeds, fails:
    all 6 ordered pairs of different worlds.  Learners of the same world share the numbers a
    policy responds to, so among learners drawn at random (a third share a world) a reference
    copy fails for 6 of 9 pairs, the most three worlds allow.  With the alternatives above,
    10 of the 12 copies fail; on a grid of 28 schedules and recall triggers (cooldown 5-14
    days, train_days 3 or 7), 42 of the 56 copies of a policy that passes its own world fail
    another (75%): both worlds with quick labels reward a prompt trigger with a short training
    window, and a single release around day 24 suits both sudden worlds."""
    worlds = list(lab3_variants.RETRAIN_WORLDS)
    for answers in (REFERENCE_POLICIES, ALTERNATIVE_POLICIES):
        for world in worlds:
            assert lab3.judge_retraining(answers[world], seeds=T3_SEEDS,
                                         learner=drift_learner(world)) == [], world
    references = {(i, j) for i in worlds for j in worlds if i != j and not lab3.judge_retraining(
        REFERENCE_POLICIES[i], seeds=T3_SEEDS, learner=drift_learner(j))}
    assert references == set()
    alternatives = {(i, j) for i in worlds for j in worlds if i != j and not lab3.judge_retraining(
        ALTERNATIVE_POLICIES[i], seeds=T3_SEEDS, learner=drift_learner(j))}
    assert alternatives == T3_COPIES_THAT_PASS


def test_t3_messages_name_the_learners_budget_not_an_answer() -> None:
    who = drift_learner(LATE)
    problems = lab3.judge_retraining({"retrain.policy": "schedule", "retrain.every_days": 7},
                                     seeds=[1], learner=who)
    assert problems == ["T3: seed 1: 4 retrainings; your team can review 1 (what starts a "
                        "retraining, and how soon can it start another?)."]
    never = lab3.judge_retraining({}, seeds=[1], learner=who)
    assert len(never) == 1 and never[0].startswith("T3: seed 1: $")
    assert "a cut of 0.0%; your budget asks for 9.5%" in never[0]


@pytest.mark.parametrize("threshold", lab3_variants.T4_PARAMS["new_threshold"])
def test_t4_every_drill_has_its_own_threshold(threshold: float) -> None:
    who = learner_with(lab3_variants.t4, new_threshold=threshold)
    drill = lab3.drill_run(1, learner=who)
    trail = drill.trace(lab3.drill_transaction(drill))
    right = {k: lab3.plain(trail[k]) for k in lab3.TRACE_KEYS}
    assert right["threshold"] == threshold
    assert lab3.judge_trace(right, seeds=[1], learner=who) == []
    for other in lab3_variants.T4_PARAMS["new_threshold"]:
        if other != threshold:
            assert lab3.judge_trace(dict(right, threshold=other), seeds=[1], learner=who)


def test_answers_must_be_plain_data() -> None:
    assert lab3.judge_threshold(np.float64(0.1), seeds=[1])[0].startswith(
        "T1: answers are graded as plain Python data")
    assert lab3.judge_null_rules({"threshold": np.float64(0.85), "window_h": 3}, seeds=[1])
    assert lab3.judge_retraining({"retrain.policy": "schedule",
                                  "retrain.every_days": np.int64(10)}, seeds=[1])


def test_evidence_checks_take_the_artifact_or_its_data() -> None:
    from labkit.evidence import Runbook
    book = Runbook(title="t", system="s", owner="ML on-call engineer", trigger="x",
                   fallback="rules", severity="SEV2", triage=["a"], containment=["b"],
                   communications=["c"], post_incident=["d"])
    assert lab3.evidence_problems(book, "runbook") == lab3.evidence_problems(book.to_dict(),
                                                                               "runbook")
    assert lab3.runbook_extent_problems(book.to_dict()) == [
        f"runbook: fewer than 2 steps in {s}" for s in
        ("triage", "containment", "communications", "post_incident")]
    assert lab3.evidence_problems("a runbook", "runbook") == [
        "runbook must be a Runbook (see the cell above), got 'a runbook'."]
    assert lab3.risk_entry_extent_problems({"kind": "incident-runbook"})[0].startswith(
        "risk_entry could not be read back from its data")


# ------------------------------------------------------------------ what the prose claims
def test_psi_bands_are_noisy_on_a_day_of_traffic() -> None:
    """Section 3: the world with no drift reaches the 'moderate shift' band on 24 h windows."""
    res = lab3.drift_runs(1)["no drift"]
    psi = np.asarray(res.series("input.psi.amount", 24))[res.config.reference_h:]
    assert 0.1 < np.nanmax(psi) < 0.25
    assert np.nanmedian(psi) < 0.05          # most quiet days read as stable


def test_concept_drift_leaves_the_inputs_as_they_were() -> None:
    """Section 5: in the simulator, concept drift changes which payments are fraud, not the
    payments; data drift moves the inputs."""
    runs = lab3.drift_runs(1)
    quiet, concept = runs["no drift"].transactions, runs["concept drift"].transactions
    assert np.array_equal(quiet["amount"], concept["amount"], equal_nan=True)
    assert np.array_equal(quiet["velocity"], concept["velocity"], equal_nan=True)
    assert not np.array_equal(quiet["label"], concept["label"])
    data = runs["data drift"]
    psi = np.asarray(data.series("input.psi.amount", 24))[data.config.reference_h:]
    assert np.nanmax(psi) > 0.25


# --- T6: SLO burn-rate alerts ----------------------------------------------------------
T6_SEEDS = [1, 2, 3, 4, 5, 6]
T6_HIDDEN = [71, 72, 73, 74]


@functools.lru_cache(maxsize=None)
def reference_burn_rule(service: str) -> tuple[int, float]:
    """The notebook's model answer to T6 for ``service``: of the (window, burn rate) rules with a
    short window of a twelfth that hold on seeds 1-6, the one with the most holding neighbours."""
    who = learner_with(lab3_variants.t6, service=service)
    windows = (5, 10, 15, 20, 30, 45, 60, 90, 120, 180)
    rates = (2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 12.0, 14.4, 16.0, 18.0, 20.0,
             25.0, 30.0)

    def rule(w, r):
        return [{"long_window_min": w, "short_window_min": max(1, w // 12), "burn_rate": r}]

    holds = [(w, r) for w in windows for r in rates
             if not lab3.judge_burn_alerts(rule(w, r), seeds=T6_SEEDS, learner=who)]
    assert holds, service

    def neighbours(p):
        i, j = windows.index(p[0]), rates.index(p[1])
        return sum((windows[a], rates[b]) in holds for a in (i - 1, i, i + 1) for b in (j - 1, j, j + 1)
                   if 0 <= a < len(windows) and 0 <= b < len(rates))
    return max(holds, key=neighbours)


def _burn_answer(rule: tuple[int, float]) -> list[dict]:
    return [{"long_window_min": rule[0], "short_window_min": max(1, rule[0] // 12),
             "burn_rate": rule[1]}]


@pytest.mark.parametrize("service", list(lab3.SLO_WORLDS))
def test_t6_every_service_is_solvable_and_other_services_answers_fail(service: str) -> None:
    """Each service's model answer holds on unseen seeds; any other service's model answer (a
    copied answer) fails this one, and so does the workbook's rule taken as it is."""
    who = learner_with(lab3_variants.t6, service=service)
    mine = _burn_answer(reference_burn_rule(service))
    assert lab3.judge_burn_alerts(mine, seeds=T6_HIDDEN, learner=who) == []
    for other in lab3.SLO_WORLDS:
        if other != service:
            copied = _burn_answer(reference_burn_rule(other))
            assert lab3.judge_burn_alerts(copied, seeds=[1, *T6_HIDDEN], learner=who), (service, other)
    workbook = [{"long_window_min": 60, "short_window_min": 5, "burn_rate": 14.4}]
    assert lab3.judge_burn_alerts(workbook, seeds=[1, *T6_HIDDEN], learner=who)


def test_t6_hidden_seeds_reach_every_case() -> None:
    from labkit.labs.common import case_for
    assert {case_for(s, lab3.scenarios.SLO_CASES) for s in T6_HIDDEN} == set(lab3.scenarios.SLO_CASES)


@pytest.mark.parametrize("service", list(lab3.SLO_WORLDS))
def test_t6_plausible_wrong_answers_fail(service: str) -> None:
    """A threshold just under the benign burn pages for it; a threshold above the outage's burn
    never pages; a window so long that the outage waits past the bound is late."""
    who = learner_with(lab3_variants.t6, service=service)
    w = lab3.SLO_WORLDS[service]
    budget = 1 - w["objective"]
    slow_burn, fast_burn = w["slow_error_ratio"] / budget, w["fast_error_ratio"] / budget
    window, _ = reference_burn_rule(service)
    low = _burn_answer((window, round(0.8 * slow_burn, 2)))
    assert any("no outage" in p for p in lab3.judge_burn_alerts(low, seeds=T6_SEEDS, learner=who))
    high = _burn_answer((window, round(1.3 * fast_burn, 2)))
    assert any("no page at all" in p for p in lab3.judge_burn_alerts(high, seeds=T6_SEEDS,
                                                                     learner=who))
    _, rate = reference_burn_rule(service)
    late = _burn_answer((int(3 * w["detect_min"] * fast_burn / rate), rate))
    assert any("must page within" in p for p in lab3.judge_burn_alerts(late, seeds=T6_SEEDS,
                                                                       learner=who))


def test_t6_detection_matches_the_runs_firing() -> None:
    answer = _burn_answer((30, 9.0))
    r = lab3.slo_report(answer, 1, learner=LEARNER)
    run = lab3.slo_run(1, learner=LEARNER)
    rule = lab3.burn_rules(answer)[0]
    fire = rule.firing(run.errors, run.requests, objective=run.objective)
    assert (r["firing"] == fire).all()
    outage = next(b for b in run.burns if not b.benign)
    if r["detect_min"] is not None:
        assert fire[outage.start_min + r["detect_min"] - 1]
        assert not fire[outage.start_min:outage.start_min + r["detect_min"] - 1].any()


@pytest.mark.parametrize("answer,message", [
    (None, "not answered yet"),
    ({"long_window_min": 60, "short_window_min": 5, "burn_rate": 14.4}, "must be a list"),
    ([], "must be a list of 1 to 2"),
    ([{"long_window_min": 60, "burn_rate": 14.4}], "exactly the keys"),
    ([{"long_window_min": 5, "short_window_min": 60, "burn_rate": 14.4}], "must not be longer"),
    ([{"long_window_min": 60.5, "short_window_min": 5, "burn_rate": 14.4}], "long_window_min"),
    ([{"long_window_min": 60, "short_window_min": 5, "burn_rate": "14"}], "burn_rate"),
    ([{"long_window_min": 60, "short_window_min": 5, "burn_rate": np.float64(14.4)}], "plain"),
])
def test_t6_form(answer, message: str) -> None:
    problems = lab3.judge_burn_alerts(answer, seeds=[1])
    assert problems and message in " ".join(problems)
    with pytest.raises(CheckpointError):
        lab3.burn_rules(answer)


def test_t4_the_learner_must_find_the_payment() -> None:
    """The payment is not shown: an answer about another payment (one before it, or the trail of
    any payment of the incident) fails, and the message does not name the right payment."""
    drill = lab3.drill_run(1)
    right_id = lab3.drill_transaction(drill)
    t = drill.trace(right_id)
    right = {k: lab3.plain(t[k]) for k in lab3.TRACE_KEYS}
    assert lab3.judge_trace(right, seeds=[1]) == []
    for other in (right_id - 1, 0):
        wrong = {k: lab3.plain(drill.trace(other)[k]) for k in lab3.TRACE_KEYS}
        problems = lab3.judge_trace(wrong, seeds=[1])
        assert problems and "is not the payment described" in problems[0]
        assert str(right_id) not in " ".join(problems)
