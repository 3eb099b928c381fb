"""Lab 4 judges: every learner's variant is solvable on the notebook's hidden seeds, plausible
wrong answers fail, another learner's answer fails, wrong forms get a sentence instead of a
traceback, and no message names an answer that passes.

Seeds here mix the notebook's visible seeds (1-3) with its hidden ones (41xx for T1, 43xx for
T3) and seeds of neither.  The judges' contract grid (one signature, wrong forms, no seeds, no
message naming a passing answer) of ``tests/labs/test_judges.py`` is run for lab 4 here."""

from __future__ import annotations

import inspect
import itertools
import re

import pytest

from labkit.labs import lab4
from labkit.labs.lab4 import variants as lab4_variants
from labkit.sim import simulate

#: T1's hidden seeds in the notebook, and T3's.
HIDDEN_1 = (4101, 4102, 4103, 4104, 4105)
HIDDEN_3 = (4301, 4302, 4303, 4304, 4305)

#: The model answer of T1 in each workload (found by a search over GPUs, 1-8 replicas and
#: BATCH_GRID on seeds 1-5; the tests below re-check that it is the cheapest).
FLEETS = {"support chat": {"gpu": "H100", "replicas": 1, "max_batch_seqs": 128},
          "code assistant": {"gpu": "H100", "replicas": 2, "max_batch_seqs": 128},
          "long answers": {"gpu": "A100", "replicas": 1, "max_batch_seqs": 256},
          "internal tool": {"gpu": "L40S", "replicas": 1, "max_batch_seqs": 128}}
#: The model answer of T3 in each agent world: a step cap in the passing window (refund helper
#: 8-9, ticket triage 13-16, travel booker 19-21 on seeds 1-3 and 4301-4305).
AGENTS = {"refund helper": 9, "ticket triage": 15, "travel booker": 20}


@pytest.fixture(autouse=True)
def _self_study(monkeypatch):
    monkeypatch.delenv("LABKIT_LEARNER", raising=False)
    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)
    monkeypatch.delenv("LABKIT_GRADING", raising=False)


def learner_with(draw, **values) -> str:
    """The first of learner-000, learner-001, ... whose draw gives ``values``."""
    return next(who for who in (f"learner-{i:03d}" for i in range(2000))
                if all(draw(learner=who).values[k] == v for k, v in values.items()))


def agent_answer(cap: int, **more) -> dict:
    return {"agent.max_steps": cap, "agent.write_policy": "approve",
            "agent.permission_policy": True, **more}


# --------------------------------------------------------------------------- T1: fleet
@pytest.mark.parametrize("workload", list(FLEETS))
def test_every_workload_has_its_own_cheapest_fleet(workload):
    who = learner_with(lab4_variants.t1, workload=workload)
    ref = FLEETS[workload]
    assert lab4.judge_fleet(ref, seeds=(1, 2, 3) + HIDDEN_1, learner=who) == []
    # one replica fewer, when there is one to drop, misses a budget
    if ref["replicas"] > 1:
        fewer = {**ref, "replicas": ref["replicas"] - 1}
        assert lab4.judge_fleet(fewer, seeds=HIDDEN_1, learner=who)
    # the other workloads' answers fail here: over budget, or dearer than this one
    for other, answer in FLEETS.items():
        if other != workload:
            assert lab4.judge_fleet(answer, seeds=HIDDEN_1, learner=who), (workload, other)


def test_fleet_over_provisioned_or_too_small_batch_fails():
    who = learner_with(lab4_variants.t1, workload="long answers")
    seeds = (1, 2)
    # meets the budgets, but costs more than the cheapest
    dear = lab4.judge_fleet({"gpu": "H100", "replicas": 2, "max_batch_seqs": 256}, seeds=seeds,
                            learner=who)
    assert len(dear) == 1 and "lower price per hour" in dear[0]
    # the right GPU with a batch limit too small for this traffic: requests queue for a slot
    small = lab4.judge_fleet({"gpu": "A100", "replicas": 1, "max_batch_seqs": 64}, seeds=seeds,
                             learner=who)
    assert small and all("TTFT" in p for p in small)
    # the cheapest GPU cannot hold this traffic alone
    assert lab4.judge_fleet({"gpu": "L40S", "replicas": 1, "max_batch_seqs": 256}, seeds=seeds,
                            learner=who)


def test_fleet_cost_per_1k_is_price_per_hour_over_requests_per_hour():
    who = learner_with(lab4_variants.t1, workload="support chat")
    assert lab4.fleet_price_per_hour("A100", 3) == pytest.approx(5.4)
    assert lab4.fleet_cost_per_1k("H100", 1, learner=who) == pytest.approx(3.5 * 1000 / (14 * 3600))
    # the simulator bills the fleet's price per hour over the two minutes of traffic and the
    # few seconds it takes to finish the last answers (at most 800 tokens at < 50 ms each)
    for gpu, n in (("H100", 1), ("A100", 3)):
        s = lab4.fleet_run(gpu, n, 128, 1, learner=who).summary
        hourly = lab4.fleet_price_per_hour(gpu, n)
        assert hourly * 120 / 3600 <= s["cost"]["replicas"] <= hourly * 160 / 3600
        assert s["cost"]["per_1k"] == pytest.approx(s["cost"]["total"] * 1000 / s["requests"])


@pytest.mark.parametrize("answer, start", [
    (None, "T1: not answered yet"),
    ({"gpu": "H100", "replicas": 1}, "T1: the answer must be a dict with exactly the keys"),
    ({"gpu": "B200", "replicas": 1, "max_batch_seqs": 64}, "T1 (gpu): 'B200' is not one of"),
    ({"gpu": "H100", "replicas": 1.5, "max_batch_seqs": 64},
     "T1 (replicas): the answer must be a whole number"),
    ({"gpu": "H100", "replicas": 1, "max_batch_seqs": 0}, "T1 (max_batch_seqs): 0 is outside"),
])
def test_fleet_form(answer, start):
    problems = lab4.judge_fleet(answer, seeds=[1])
    assert len(problems) == 1 and problems[0].startswith(start), problems


# --------------------------------------------------------------------------- T2: break-even
def test_break_even_is_fleet_per_day_over_api_per_request():
    who = learner_with(lab4_variants.t2, prices="frontier model", traffic="chat",
                       fleet="2 x A100")
    assert lab4.self_host_cost_per_day(learner=who) == pytest.approx(86.4)
    assert lab4.api_cost_per_request(learner=who) == pytest.approx(0.006)
    # $3.6/h x 24 = $86.40 a day; 1000 x $3 + 200 x $15 per million = $0.006 a request
    assert lab4.break_even_per_day(learner=who) == pytest.approx(86.4 / 0.006)
    assert lab4.judge_break_even(86.4 / 0.006 * 1.03, seeds=[1], learner=who) == []


def test_break_even_from_a_run_passes():
    """The learner's way: price one request from a run's billed tokens, the fleet from its
    hourly price (the run's token means are not exactly the nominal ones)."""
    for who in ("learner-000", "learner-001", "learner-002", "learner-003"):
        c = lab4.break_even_case(learner=who)
        r = simulate({**lab4.TOKEN_BASE, "load.rate_rps": 20, "load.duration_s": 120,
                      "load.prompt_tokens": c["prompt_tokens"],
                      "load.output_tokens": c["output_tokens"],
                      "model.cost_per_1m_input_tokens": c["cost_per_1m_input_tokens"],
                      "model.cost_per_1m_output_tokens": c["cost_per_1m_output_tokens"],
                      "model.cost_per_replica_hour": 0.0, "model.replicas": 4}, seed=3)
        cost = r.summary["cost"]
        per_request = (cost["input_tokens"] + cost["output_tokens"]) / r.summary["requests"]
        answer = c["replicas"] * c["replica_hour_usd"] * 24 / per_request
        assert lab4.judge_break_even(answer, seeds=[1], learner=who) == [], who


def test_break_even_slips_fail():
    for who in (f"learner-{i:03d}" for i in range(12)):
        c = lab4.break_even_case(learner=who)
        day = c["replicas"] * c["replica_hour_usd"] * 24
        pin, pout = c["cost_per_1m_input_tokens"], c["cost_per_1m_output_tokens"]
        nin, nout = c["prompt_tokens"], c["output_tokens"]
        right = day / ((nin * pin + nout * pout) / 1e6)
        slips = {"per hour": right / 24, "output tokens only": day / (nout * pout / 1e6),
                 "prices read per 1k": day / ((nin * pin + nout * pout) / 1e3),
                 "prices swapped": day / ((nin * pout + nout * pin) / 1e6)}
        for name, value in slips.items():
            problems = lab4.judge_break_even(value, seeds=[1], learner=who)
            assert len(problems) == 1, (who, name)
            assert f"{right:,.0f}" not in problems[0]


def test_break_even_of_another_learner_fails_unless_the_draw_agrees():
    people = [f"learner-{i:03d}" for i in range(30)]
    for a, b in itertools.combinations(people, 2):
        va, vb = lab4.break_even_per_day(learner=a), lab4.break_even_per_day(learner=b)
        same = lab4_variants.t2(learner=a).values == lab4_variants.t2(learner=b).values
        passes = lab4.judge_break_even(va, seeds=[1], learner=b) == []
        assert passes == same or abs(va - vb) <= 0.05 * vb, (a, b)
    draws = {tuple(lab4_variants.t2(learner=w).values.values()) for w in people}
    assert len(draws) >= 10
    different = [(a, b) for a, b in itertools.combinations(people, 2)
                 if lab4_variants.t2(learner=a).values != lab4_variants.t2(learner=b).values]
    copied = sum(lab4.judge_break_even(lab4.break_even_per_day(learner=a), seeds=[1],
                                       learner=b) == [] for a, b in different)
    assert copied <= 0.1 * len(different), (copied, len(different))


def test_break_even_form():
    assert lab4.judge_break_even(None, seeds=[1]) == [
        "T2: not answered yet; set your answer to a number in requests per day."]
    assert lab4.judge_break_even("10000", seeds=[1])[0].startswith("T2: the answer must be a "
                                                                   "number, not text")
    assert lab4.judge_break_even(-5, seeds=[1])[0].startswith("T2: -5 is outside")


# --------------------------------------------------------------------------- T3: agent
@pytest.mark.parametrize("world", list(AGENTS))
def test_every_agent_world_has_its_own_window(world):
    who = learner_with(lab4_variants.t3, agent=world)
    cap = AGENTS[world]
    assert lab4.judge_agent(agent_answer(cap), seeds=(1, 2, 3) + HIDDEN_3, learner=who) == []
    # a dollar budget instead of a cap works too: a task stops before a step it cannot pay
    price = lab4.agent_world(learner=who)["knobs"]["model.cost_per_call"]
    by_budget = agent_answer(40, **{"agent.budget_usd": round(cap * price, 4)})
    assert lab4.judge_agent(by_budget, seeds=HIDDEN_3[:3], learner=who) == []
    for other, other_cap in AGENTS.items():
        if other != world:
            assert lab4.judge_agent(agent_answer(other_cap), seeds=HIDDEN_3[:3], learner=who), \
                (world, other)


@pytest.mark.parametrize("world", list(AGENTS))
def test_the_prototype_as_it_is_fails_every_world(world):
    who = learner_with(lab4_variants.t3, agent=world)
    problems = lab4.judge_agent({}, seeds=(1,), learner=who)
    assert any("no human in the loop" in p for p in problems)
    assert any("ended unsafe" in p for p in problems)
    assert any("ceiling per task" in p for p in problems)


@pytest.mark.slow
def test_agent_plausible_wrong_answers_fail():
    who = learner_with(lab4_variants.t3, agent="ticket triage")
    seeds = (1, 2)
    cases = {
        "no permission policy": (agent_answer(15, **{"agent.permission_policy": False}),
                                 "ended unsafe"),
        "deny every write": (agent_answer(15, **{"agent.write_policy": "deny"}),
                             "tasks completed, below"),
        "writes without a human": (agent_answer(15, **{"agent.write_policy": "allow"}),
                                   "no human in the loop"),
        "only the cap changed": ({"agent.max_steps": 15}, "no human in the loop"),
        "no cap at all": (agent_answer(100), "ceiling per task"),
        "a tight cap": (agent_answer(6), "tasks completed, below"),
    }
    for name, (answer, says) in cases.items():
        problems = lab4.judge_agent(answer, seeds=seeds, learner=who)
        assert problems and any(says in p for p in problems), (name, problems)
        for p in problems:   # what happened, never the value to set
            assert "max_steps" not in p and "budget_usd" not in p, p


def test_a_lower_cap_never_raises_the_costliest_task():
    who = learner_with(lab4_variants.t3, agent="refund helper")
    costs = [lab4.agent_report({"agent.max_steps": c}, 1, learner=who)["max_cost_usd"]
             for c in (4, 8, 12, 16)]
    assert costs == sorted(costs) and costs[0] < costs[-1]


def test_agent_form():
    assert lab4.judge_agent(None, seeds=[1])[0].startswith("T3: not answered yet")
    assert lab4.judge_agent({"agent.max_steps": 0}, seeds=[1])[0].startswith(
        "T3: agent.max_steps must be >= 1")
    assert lab4.judge_agent({"agent.guard_recall": 1.0}, seeds=[1])[0].startswith("T3:")


# --------------------------------------------------------------------------- variants
def test_every_task_with_numbers_declares_its_draw():
    assert set(lab4.JUDGES) == {"t1_fleet", "t2_break_even", "t3_agent"}
    assert set(lab4.VARIANTS) == {"t1_check", "t2_check", "t3_check"}   # check cells' grade ids
    for check, draw in lab4.VARIANTS.items():
        assert draw(learner="ada") == draw(learner="ada"), check
        assert len({tuple(draw(learner=f"l{i}").values.values()) for i in range(60)}) >= 3, check


# --------------------------------------------------------------------------- evidence
def boundary_sheet(**change):
    fields = dict(
        title="Refund helper", agent="support agent v1", owner="Head of customer support",
        reads=["order lookup", "policy search"], writes=["issue refund"],
        approvals={"issue refund": "support team lead"}, max_steps=9, budget_usd=0.05,
        budget_s=120, permission_policy=True,
        logged=["prompt version", "tool and arguments class (read/write)", "approval",
                "cost so far"],
        nist=[{"subcategory": "MAP 3.5", "how": "refunds need a named approver",
               "owner": "Head of customer support", "evidence": "this sheet, approval log"},
              {"subcategory": "MANAGE 2.4", "how": "step cap, dollar budget, kill switch",
               "owner": "support platform on-call", "evidence": "agent config in git"}],
        iso=[{"risk": "injected text makes the agent refund", "option": "change likelihood",
              "control": "permission policy blocks actions outside the grant"}])
    fields.update(change)
    return lab4.AgentBoundarySheet(**fields)


def test_a_complete_boundary_sheet_passes_and_round_trips():
    sheet = boundary_sheet()
    assert sheet.check() == []
    again = lab4.AgentBoundarySheet.from_dict(sheet.to_dict())
    assert again == sheet and again.to_dict() == sheet.to_dict()
    md = sheet.to_markdown()
    assert "issue refund: approved by support team lead" in md and "MANAGE 2.4" in md
    assert "change likelihood" in sheet.to_html()


@pytest.mark.parametrize("change, says", [
    ({"owner": "the team"}, "owner 'the team' names nobody"),
    ({"reads": []}, "reads lists no tool"),
    ({"approvals": {}}, "write 'issue refund' has no approver and is not denied"),
    ({"denied": ["issue refund"]}, "both approved and denied"),
    ({"max_steps": 0}, "max_steps is not set"),
    ({"budget_usd": 0}, "budget_usd is not set"),
    ({"permission_policy": False}, "permission_policy is off"),
    ({"logged": ["tool"]}, "logged does not name prompt version, read/write class, approval, "
                           "cost so far"),
    ({"nist": []}, "nist needs at least two"),
    ({"nist": [{"subcategory": "MEASURE 2.4", "how": "h", "owner": "SRE lead", "evidence": "e"},
               {"subcategory": "MANAGE 2.4", "how": "h", "owner": "SRE lead", "evidence": "e"}]},
     "no GOVERN or MAP mapping"),
    ({"nist": [{"subcategory": "MAP 9.9", "how": "h", "owner": "SRE lead", "evidence": "e"},
               {"subcategory": "MANAGE 2.4", "how": "h", "owner": "SRE lead", "evidence": "e"}]},
     "'MAP 9.9' is not a NIST AI RMF 1.0 subcategory"),
    ({"iso": []}, "iso lists no ISO/IEC 23894 risk treatment"),
    ({"iso": [{"risk": "r", "option": "ignore", "control": "c"}]},
     "treatment option 'ignore' is not one of"),
])
def test_each_gap_of_a_boundary_sheet_is_named(change, says):
    problems = boundary_sheet(**change).check()
    assert any(says in p for p in problems), problems


def test_a_boundary_sheet_refuses_malformed_values():
    with pytest.raises(ValueError, match="max_steps must be a number >= 0"):
        boundary_sheet(max_steps=-1)
    with pytest.raises(ValueError, match="permission_policy must be True or False"):
        boundary_sheet(permission_policy="yes")
    with pytest.raises(ValueError, match="unknown field 'cap'"):
        lab4.AgentBoundarySheet.from_dict({**boundary_sheet().to_dict(), "cap": 3})


def test_the_sheet_crosses_to_the_grader_as_data():
    sheet = boundary_sheet()
    data = lab4.sheet_data(sheet)
    assert isinstance(data, dict) and lab4.sheet_problems(data) == lab4.sheet_problems(sheet) == []
    assert lab4.sheet_data(data) is data
    assert lab4.sheet_problems({**data, "budget_usd": 0}) == [
        "budget_usd is not set: a runaway task has no bound on its bill"]
    assert lab4.sheet_problems({**data, "cap": 3})[0].startswith(
        "boundary sheet: agent-boundary-sheet data has unknown field 'cap'")
    assert lab4.sheet_problems("my sheet")[0].startswith("boundary sheet: ")


# --------------------------------------------------------------------------- the judges' contract
# The grid of tests/labs/test_judges.py for lab 4's judges (kept here: that file is shared).
BAD_FORMS = [None, ..., "yes", 3.5, True, [], {"no.such_knob": 1}, {"threshold": "x"}]
NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?")


@pytest.mark.parametrize("name", sorted(lab4.JUDGES))
def test_every_judge_has_the_one_signature_and_refuses_no_seeds(name):
    judge = lab4.JUDGES[name]
    params = list(inspect.signature(judge).parameters.values())
    assert [(p.name, p.kind, p.default) for p in params] == [
        ("answer", inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.empty),
        ("seeds", inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.empty),
        ("learner", inspect.Parameter.KEYWORD_ONLY, None)], name
    assert inspect.signature(judge).return_annotation in ("list[str]", list[str]), name
    for seeds in ([], (), "1", [1.5], [-1]):
        with pytest.raises(ValueError, match="seed"):
            judge(None, seeds=seeds)


@pytest.mark.parametrize("name", sorted(lab4.JUDGES))
def test_a_wrong_form_is_a_problem_not_an_exception(name):
    for answer in BAD_FORMS:
        problems = lab4.JUDGES[name](answer, seeds=[3])
        assert problems and all(isinstance(p, str) and p for p in problems), (name, answer)


def _numbers(text: str) -> set[float]:
    return {float(n) for n in NUMBER.findall(text.replace(",", ""))}


def _named(value, text: str) -> bool:
    """Does ``text`` name ``value`` (a number as a number, a word as a word)?"""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return float(value) in _numbers(text)
    return re.search(rf"(?<![\w@.-]){re.escape(str(value))}(?![\w@-])", text) is not None


@pytest.mark.parametrize("workload", list(FLEETS))
def test_fleet_messages_never_name_a_passing_fleet(workload):
    """Over wrong fleets (too few replicas, too small a batch, another GPU, dearer), no message
    names a value of a passing fleet that the wrong one does not share."""
    who = learner_with(lab4_variants.t1, workload=workload)
    seeds = HIDDEN_1[:2]
    ref = FLEETS[workload]
    passing = [{**ref, "max_batch_seqs": b} for b in lab4.BATCH_GRID
               if lab4.judge_fleet({**ref, "max_batch_seqs": b}, seeds=seeds, learner=who) == []]
    assert ref in passing
    wrong = [{**ref, "max_batch_seqs": 8}, {**ref, "replicas": ref["replicas"] + 1},
             *({**ref, "gpu": g} for g in lab4.GPUS if g != ref["gpu"]),
             *(a for w, a in FLEETS.items() if w != workload)]
    if ref["replicas"] > 1:
        wrong.append({**ref, "replicas": ref["replicas"] - 1})
    for answer in wrong:
        assert answer not in passing
        text = "\n".join(lab4.judge_fleet(answer, seeds=seeds, learner=who))
        assert text, f"a wrong fleet passed: {answer}"
        for good in passing:
            for key, value in good.items():
                if answer.get(key) != value:
                    assert not _named(value, text), (answer, key, value, text)


def test_break_even_messages_never_name_the_volume():
    for who in (f"learner-{i:03d}" for i in range(6)):
        truth = lab4.break_even_per_day(learner=who)
        for factor in (1 / 24, 1 / 1000, 2.0, 0.5, 24.0, 0.9, 1.1):
            problems = lab4.judge_break_even(truth * factor, seeds=[1], learner=who)
            assert len(problems) == 1, (who, factor)
            assert not _numbers(problems[0]) & {round(truth), float(f"{truth:.0f}")}, problems
        assert lab4.judge_break_even(truth * 1.04, seeds=[1], learner=who) == []


@pytest.mark.parametrize("world", list(AGENTS))
def test_agent_messages_never_name_a_passing_cap_or_policy(world):
    """Messages report the learner's own counts (tasks unsafe, gave up, blocked), which can
    equal a passing cap by coincidence; what must never appear is a passing setting offered as
    one: a cap, a budget or the write policy to choose."""
    who = learner_with(lab4_variants.t3, agent=world)
    seeds = HIDDEN_3[:2]
    caps = [c for c in range(4, 26) if lab4.judge_agent(agent_answer(c), seeds=seeds,
                                                         learner=who) == []]
    assert caps and AGENTS[world] in caps
    wrong = [agent_answer(min(caps) - 2), agent_answer(max(caps) + 4), {},
             agent_answer(AGENTS[world], **{"agent.write_policy": "allow"}),
             agent_answer(AGENTS[world], **{"agent.permission_policy": False})]
    for answer in wrong:
        text = "\n".join(lab4.judge_agent(answer, seeds=seeds, learner=who))
        assert text, answer
        for cap in caps:
            for pattern in (f"max_steps {cap}", f"max_steps = {cap}", f"cap of {cap}",
                            f"{cap} steps", f"at most {cap}"):
                assert pattern not in text, (answer, pattern, text)
        assert not re.search(r"\b(approve|'approve')\b", text), text
        assert "budget_usd" not in text and "max_steps" not in text, text
