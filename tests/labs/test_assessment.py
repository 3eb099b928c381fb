"""The timed assessment's bank and paper: fair items, answers of one's own, and the notebook agreeing.

* choice items follow the item-writing rules (lengths, the key not the longest option, no key
  shown in another item), and the key's letter is spread over A-D across learners;
* numeric items have a reference for every combination of parameters, accept it within their
  tolerance and refuse a nearby wrong number without naming the right one;
* the simulation decision has exactly one cheapest configuration per traffic level on the
  hidden seeds (3, 4 and 5 replicas with the cache on), and no message names it;
* a re-sit draws another paper; blocks, points and variants agree with the source notebook.
"""

from __future__ import annotations

import collections
import itertools
import json
import math
import re
from pathlib import Path

import pytest

from labkit.labs import assessment
from labkit.labs.assessment.bank import BLOCKS, CHOICE_POOLS, NUMERIC_ITEMS

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "source" / "assessment-advanced" / "assessment-advanced.ipynb"
HIDDEN = [301, 302, 303]
NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?")
ITEMS = [item for pool in CHOICE_POOLS.values() for item in pool]


SEED_COUNT = re.compile(r"\d+ of \d+ unseen seeds")     # how many seeds failed: not a value


def numbers(text: str) -> set[float]:
    text = SEED_COUNT.sub("", text.replace(",", ""))
    return {float(n) for n in NUMBER.findall(text)}


# ------------------------------------------------------------------ choice items
@pytest.mark.parametrize("item", ITEMS, ids=lambda i: i.item_id)
def test_options_are_close_in_length(item):
    lengths = [len(item.key), *map(len, item.distractors)]
    assert max(lengths) <= 2 * min(lengths), lengths


def test_the_key_is_rarely_the_longest_option():
    longest = [i.item_id for i in ITEMS
               if len(i.key) > max(map(len, i.distractors))]
    assert len(longest) <= 0.25 * len(ITEMS), longest


def test_no_item_shows_another_items_key():
    for item, other in itertools.permutations(ITEMS, 2):
        assert item.key not in (other.key, *other.distractors), (item.item_id, other.item_id)
        assert item.key.lower() not in other.stem.lower()


def test_every_block_has_items_and_every_slot_one_block():
    for slot, pool in CHOICE_POOLS.items():
        assert len(pool) >= 2 and len({i.block for i in pool}) == 1, slot
    assert {pool[0].block for pool in CHOICE_POOLS.values()} == set(BLOCKS)
    assert {i.block for i in NUMERIC_ITEMS.values()} == set(BLOCKS)


def test_the_keys_letter_is_spread_over_the_options():
    """Over 400 learners no letter is the key of more than 35% of a slot's papers."""
    for slot in CHOICE_POOLS:
        letters = collections.Counter(assessment.choice(slot, learner=f"l{i}")[2]
                                      for i in range(400))
        assert set(letters) == set("ABCD")
        assert max(letters.values()) <= 0.35 * 400, (slot, letters)


def test_the_key_passes_and_every_other_letter_fails():
    for slot in CHOICE_POOLS:
        item, question, key = assessment.choice(slot, learner="ada")
        assert f"{key})  {item.key}" in question.text()
        assert assessment.judge(slot, key.lower(), learner="ada") == []
        for other in set("ABCD") - {key}:
            assert assessment.judge(slot, other, learner="ada") == [
                f"{slot.upper()}: not the best option."]
        assert "is not one of the options" in assessment.judge(slot, "E", learner="ada")[0]


# ------------------------------------------------------------------ numeric items
@pytest.mark.parametrize("slot", NUMERIC_ITEMS)
def test_every_combination_has_a_reference_and_a_fair_tolerance(slot):
    item = NUMERIC_ITEMS[slot]
    names = list(item.params)
    for values in itertools.product(*(item.params[n] for n in names)):
        params = dict(zip(names, values))
        value = item.answer(params)
        tol = item.tolerance(value)
        assert math.isfinite(value) and value > 0
        assert item.maximum is None or value <= item.maximum
        assert 0 < tol <= 0.05 * value + 0.01, (params, value, tol)   # tight, not a guess
        item.text(params)                                            # every placeholder filled


@pytest.mark.parametrize("slot", NUMERIC_ITEMS)
@pytest.mark.parametrize("who", ["ada", "bob", "learner-007", "self-study"])
def test_a_numeric_answer_is_marked_for_the_learners_own_figures(slot, who):
    target = assessment.expected(slot, learner=who)
    tol = NUMERIC_ITEMS[slot].tolerance(target)
    assert assessment.judge(slot, target, learner=who) == []
    assert assessment.judge(slot, target + 0.9 * tol, learner=who) == []
    for wrong in (target * 1.25, target * 0.5, target + 3 * tol + 1):
        problems = assessment.judge(slot, wrong, learner=who)
        assert problems, (slot, who, wrong)
        assert not any(abs(x - target) <= tol for x in numbers(problems[0]))


def test_the_stem_shows_the_learners_numbers():
    item, v = assessment.numeric("n4", learner="ada")
    shown = numbers(item.text(v.values))
    assert {v["caught"], v["missed"], v["caught"] + v["false_alarms"]} <= shown
    item, v = assessment.numeric("n5", learner="ada")
    assert {v["kv_gb"], v["kv_kb"], v["prompt"], v["output"]} <= numbers(item.text(v.values))


def test_kv_bound_concurrency_counts_whole_requests():
    """n5: 20 GB at 160 KB a token is 125,000 tokens; 1,500 + 800 reserved a request fits 54
    whole requests (54.3), and the unrounded quotient or a per-prompt count is wrong."""
    item = NUMERIC_ITEMS["n5"]
    assert item.answer({"kv_gb": 20, "kv_kb": 160, "prompt": 1500, "output": 800}) == 54
    assert item.answer({"kv_gb": 12, "kv_kb": 320, "prompt": 2000, "output": 800}) == 13
    who = "ada"
    target = assessment.expected("n5", learner=who)
    _, v = assessment.numeric("n5", learner=who)
    prompt_only = v["kv_gb"] * 1e6 / v["kv_kb"] / v["prompt"]
    assert assessment.judge("n5", prompt_only, learner=who)
    assert assessment.judge("n5", target + 1, learner=who)


# ------------------------------------------------------------------ the simulation decision
def learner_with(rate: float) -> str:
    return next(who for who in (f"learner-{i:03d}" for i in range(500))
                if assessment.sim_variant(learner=who).rate_rps == rate)


@pytest.fixture(scope="module")
def sim_grid():
    grid = {}
    for rate in assessment.SIM_PARAMS["rate_rps"]:
        who = learner_with(rate)
        grid[rate] = (who, {(n, cache): assessment.judge("s1", {"model.replicas": n,
                                                               "cache.enabled": cache},
                                                         seeds=HIDDEN, learner=who)
                            for n, cache in [*((n, True) for n in range(1, 8)),
                                             (4, False), (7, False)]})
    return grid


@pytest.mark.slow
def test_each_traffic_level_has_one_cheapest_configuration(sim_grid):
    passing = {rate: [k for k, problems in rows.items() if not problems]
               for rate, (_who, rows) in sim_grid.items()}
    assert passing == {45: [(3, True)], 75: [(4, True)], 110: [(5, True)]}


@pytest.mark.slow
def test_without_the_cache_the_cost_budget_breaks(sim_grid):
    for rate, (_who, rows) in sim_grid.items():
        assert rows[(4, False)], rate                     # fails on cost (45, 75) or p95 (110)
        assert "cost_per_1k" in rows[(7, False)][0], rate  # enough replicas, still too costly


@pytest.mark.slow
def test_no_simulation_message_names_the_answer(sim_grid):
    for rate, (who, rows) in sim_grid.items():
        right = next(n for (n, cache), p in rows.items() if not p)
        visible = assessment.sim_task(learner=who)
        for (n, cache), problems in rows.items():
            if not problems:
                continue
            seen = visible.judge({"model.replicas": n, "cache.enabled": cache}, seeds=[1])
            for text in [*problems, seen.message]:
                assert float(right) not in numbers(text) - {float(n)}, (rate, n, cache, text)


# ------------------------------------------------------------------ the paper and the notebook
def test_a_resit_draws_another_paper():
    slots = [*CHOICE_POOLS, *NUMERIC_ITEMS]
    changed = 0
    for i in range(40):
        who = f"l{i}"
        first = [assessment.VARIANTS[f"{s}_check"](learner=who).values for s in slots]
        again = [assessment.variants.draw("assessment", s, _params(s), learner=who, attempt=1)
                 .values for s in slots]
        changed += sum(a != b for a, b in zip(first, again))
    assert changed >= 0.6 * 40 * len(slots)


def _params(slot):
    if slot in CHOICE_POOLS:
        return {"pick": range(len(CHOICE_POOLS[slot])),
                "order": tuple(itertools.permutations(range(4)))}
    return NUMERIC_ITEMS[slot].params


def test_blocks_points_and_variants_agree_with_the_source_notebook():
    nb = json.loads(SOURCE.read_text(encoding="utf-8"))
    graded = {c["metadata"]["nbgrader"]["grade_id"]: c for c in nb["cells"]
              if c["metadata"].get("nbgrader", {}).get("points")}
    assert {g: c["metadata"]["labkit"]["block"] for g, c in graded.items()} == assessment.BLOCK_OF
    assert {g.split("_")[0]: c["metadata"]["nbgrader"]["points"] for g, c in graded.items()} \
        == assessment.POINTS
    assert set(assessment.VARIANTS) == {g for g in graded if g != "w1_task"}
    meta = nb["metadata"]["labkit"]["assessment"]
    assert meta["pass_standard"] == assessment.PASS_STANDARD
    assert meta["time_limit_min"] == assessment.TIME_LIMIT_MIN
    assert sum(assessment.POINTS.values()) == 26
    assert set(meta["blocks"]) == set(BLOCKS)


def test_the_time_limit_covers_the_paper_at_the_cpd_pace():
    """A minute per choice item, four per numeric item, ten for the simulation decision and
    ten for the written answer, five to read and check: the limit covers them, with at most
    five minutes of slack (a paper to sit, not to research)."""
    kinds = collections.Counter(assessment.SLOTS.values())
    work = kinds["choice"] + 4 * kinds["numeric"] + 10 * kinds["simulation"] \
        + 10 * kinds["written"] + 5
    assert work <= assessment.TIME_LIMIT_MIN <= work + 5, (work, assessment.TIME_LIMIT_MIN)


def test_every_block_can_meet_half_its_points_and_lab_4_is_a_block():
    points = collections.Counter()
    for grade_id, block in assessment.BLOCK_OF.items():
        points[block] += assessment.POINTS[grade_id.split("_")[0]]
    assert points == {"architecture": 4, "scaling": 10, "governance": 8, "llm": 4}
    assert {i.item_id[:2] for i in ITEMS if i.block == "llm"} == {"m7", "m8"}
    assert len(CHOICE_POOLS["m7"]) >= 4 and len(CHOICE_POOLS["m8"]) >= 3


def test_the_time_limit_follows_the_instructors_config(tmp_path):
    assert assessment.time_limit_min(tmp_path) == assessment.TIME_LIMIT_MIN
    (tmp_path / "nbgrader_config.py").write_text(
        "c = get_config()\nc.TimedAssessment.time_limit_min = {'assessment-advanced': 60}\n")
    (tmp_path / "sub").mkdir()
    assert assessment.time_limit_min(tmp_path / "sub") == 60
    assert assessment.time_limit_min(ROOT) == assessment.TIME_LIMIT_MIN
