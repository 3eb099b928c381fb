"""Per-learner variants: who the learner is, which sitting, and draws that are stable and spread."""

from __future__ import annotations

import collections
import subprocess
import sys

import pytest

from labkit import variants
from labkit.variants import VariantError, attempt, draw, learner, set_attempt, set_learner

PARAMS = {"rate_rps": [20, 30, 40, 50], "budget_ms": [200, 300]}


@pytest.fixture(autouse=True)
def clean(monkeypatch):
    for name in ("LABKIT_GRADING", "LABKIT_LEARNER", "LABKIT_ATTEMPT", "JUPYTERHUB_USER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(variants, "_chosen", {})


def test_who_the_learner_is_in_order(monkeypatch):
    assert learner() == variants.SELF_STUDY
    assert set_learner("ada") == "ada" == learner()
    monkeypatch.setenv("LABKIT_LEARNER", "bob")
    assert learner() == "bob"                        # the environment wins over the notebook
    monkeypatch.setenv("JUPYTERHUB_USER", "carol")
    assert learner() == "carol"                      # and the hub over both


def test_while_grading_only_the_grader_names_the_learner(monkeypatch):
    monkeypatch.setenv("LABKIT_GRADING", "1")
    monkeypatch.setenv("LABKIT_LEARNER", "s001")
    monkeypatch.setenv("JUPYTERHUB_USER", "someone-else")
    assert set_learner("ada") == "s001" == learner()
    mine = draw("lab9", "t1", PARAMS)
    assert mine == draw("lab9", "t1", PARAMS, learner="s001")
    monkeypatch.setenv("LABKIT_LEARNER", "")
    with pytest.raises(VariantError, match="LABKIT_LEARNER"):
        learner()


def test_a_draw_depends_on_lab_item_learner_and_sitting_only():
    a = draw("lab9", "t1", PARAMS, learner="ada")
    draw("lab9", "t2", PARAMS, learner="ada")         # other draws in between change nothing
    assert a == draw("lab9", "t1", PARAMS, learner="ada")
    assert all(a.values[k] in PARAMS[k] for k in PARAMS)
    # the draw is a hash, not Python's per-process hash: another process agrees
    code = ("from labkit.variants import draw; print(sorted(draw('lab9', 't1', "
            f"{PARAMS!r}, learner='ada').values.items()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(sorted(a.values.items()))


def test_draws_spread_over_the_values():
    """Over 400 learners each value of a 4-value list comes up about a quarter of the time."""
    counts = collections.Counter(draw("lab9", "t1", PARAMS, learner=f"l{i}").rate_rps
                                 for i in range(400))
    assert set(counts) == set(PARAMS["rate_rps"])
    # binomial(400, 1/4): sd = 8.7, so 100 +- 35 is a 4-sigma band
    assert all(65 <= n <= 135 for n in counts.values()), counts


def test_a_resit_draws_afresh(monkeypatch):
    first = [draw("lab9", "t1", PARAMS, learner=f"l{i}") for i in range(50)]
    assert attempt() == 0
    assert set_attempt(1) == 1 == attempt()
    again = [draw("lab9", "t1", PARAMS, learner=f"l{i}") for i in range(50)]
    assert sum(a.values != b.values for a, b in zip(first, again)) >= 25   # 7 in 8 differ
    assert again[0] == draw("lab9", "t1", PARAMS, learner="l0", attempt=1)
    monkeypatch.setenv("LABKIT_GRADING", "1")
    monkeypatch.setenv("LABKIT_LEARNER", "l0")
    assert attempt() == 0                            # grading: only the grader's record counts
    monkeypatch.setenv("LABKIT_ATTEMPT", "2")
    assert attempt() == 2 and set_attempt(5) == 2


@pytest.mark.parametrize("bad", ["", "a b", "x" * 101, "../etc", 7])
def test_a_bad_learner_id_names_the_rule(bad):
    with pytest.raises(VariantError, match="learner id"):
        set_learner(bad)


def test_bad_sittings_and_params_name_the_rule(monkeypatch):
    with pytest.raises(VariantError, match="set_attempt"):
        set_attempt(-1)
    with pytest.raises(VariantError, match="attempt must be"):
        draw("lab9", "t1", PARAMS, learner="ada", attempt=True)
    with pytest.raises(VariantError, match="'rate_rps' has no values"):
        draw("lab9", "t1", {"rate_rps": []}, learner="ada")
    with pytest.raises(AttributeError, match="has no parameter 'nope'"):
        getattr(draw("lab9", "t1", PARAMS, learner="ada"), "nope")  # noqa: B009
    monkeypatch.setenv("LABKIT_ATTEMPT", "two")
    with pytest.raises(VariantError, match="LABKIT_ATTEMPT"):
        attempt()
