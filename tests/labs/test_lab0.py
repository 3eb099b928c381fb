"""Lab 0's variant tasks: each variant has its own answer, and no message gives one away.

* Q3's four traffic levels each have a different smallest fleet (4, 5, 6 and 7 replicas, as
  the module says), found here by search on the hidden seeds, so a copied answer fails;
* over a grid of fleets, neither the visible check (seed 1) nor the hidden judge names the
  passing fleet in a message about a wrong one, and the passing fleet gets no message;
* Q2's judge never prints the learner's reference number, over a grid of wrong answers.
"""

from __future__ import annotations

import re

import pytest

from labkit.labs import lab0

HIDDEN = [101, 102, 103]
NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?")


def numbers(text: str) -> set[float]:
    return {float(n) for n in NUMBER.findall(text.replace(",", ""))}


def learner_with(rate: float) -> str:
    """A learner id whose Q3 traffic is ``rate``."""
    return next(who for who in (f"learner-{i:03d}" for i in range(500))
                if lab0.q3(learner=who).rate_rps == rate)


SMALLEST = {36: 4, 48: 5, 60: 6, 72: 7}       # traffic level (req/s) -> its smallest fleet


def test_every_traffic_level_is_a_variant():
    assert sorted(lab0.Q3_PARAMS["rate_rps"]) == sorted(SMALLEST)
    assert len(set(SMALLEST.values())) == len(SMALLEST)     # a copied fleet fails elsewhere


@pytest.fixture(scope="module", params=sorted(SMALLEST))
def q3_rows(request):
    """(traffic level, {fleet: (visible check on seed 1, hidden judge's problems)}) for
    fleets of 1 to 9 replicas, for a learner with that traffic level."""
    rate = request.param
    who = learner_with(rate)
    task = lab0.q3_task(learner=who)
    rows = {}
    for n in range(1, 10):
        answer = {"model.replicas": n}
        visible = task.judge(answer, seeds=[1])
        rows[n] = (visible, lab0.judge_q3(answer, seeds=HIDDEN, learner=who))
    return rate, rows


def test_each_traffic_level_has_its_own_smallest_fleet(q3_rows):
    rate, rows = q3_rows
    passing = [n for n, (_v, hidden) in rows.items() if not hidden]
    assert passing == [SMALLEST[rate]], rate          # exactly one fleet is right, its own


def test_no_q3_message_names_the_passing_fleet(q3_rows):
    rate, rows = q3_rows
    right = next(n for n, (_v, hidden) in rows.items() if not hidden)
    for n, (visible, hidden) in rows.items():
        if n == right:
            assert visible.passed and hidden == []
            continue
        assert hidden, (rate, n)
        for text in [visible.message, *hidden]:
            assert float(right) not in numbers(text) - {float(n)}, (rate, n, text)


def test_a_bigger_fleet_passes_the_visible_seed_but_not_the_judge(q3_rows):
    """Over-provisioning holds every budget, so only the hidden minimality check tells."""
    rate, rows = q3_rows
    right = next(n for n, (_v, hidden) in rows.items() if not hidden)
    visible, hidden = rows[right + 1]
    assert visible.passed and hidden and "smallest" in hidden[0], rate


@pytest.mark.parametrize("who", ["ada", "bob", "learner-007", "self-study"])
def test_no_q2_message_names_the_reference(who):
    expected = lab0.expected_q2(learner=who)
    v = lab0.q2(learner=who)
    for answer in (0, expected * 2, expected + 1, expected / 10, v.rate_rps, v.service_ms,
                   v.rate_rps * v.service_ms, -1, "four", None):
        problems = lab0.judge_q2(answer, learner=who)
        assert problems, (who, answer)
        for text in problems:
            shown = numbers(text)
            assert not any(abs(x - expected) < 0.05 for x in shown), (who, answer, text)
    assert lab0.judge_q2(expected, learner=who) == []
    assert lab0.judge_q2(expected + 0.04, learner=who) == []
