"""The semantic cache of token mode (issue 16): its closed form, directions and quality.

Each request draws whether it paraphrases a stored prompt and the similarity of its best
match once, from the ``semcache`` stream, so at one seed a lower threshold hits a superset
of the requests: the direction tests are exact.  Hit rates are binomial over N lookups and
are held to :func:`labkit.sim.theory.semantic_cache_rates` within 4.5 standard deviations,
sqrt(p (1 - p) / N); at the ends of the similarity ranges the closed form is 0 or 1 and the
check is exact.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from labkit.knobs import KnobError
from labkit.sim import simulate
from labkit.sim.config import LLMConfig
from labkit.sim.semcache import SemanticCache
from labkit.sim.theory import semantic_cache_rates

CHEAP = {"llm.enabled": True, "load.rate_rps": 40.0, "load.duration_s": 100.0,
         "model.replicas": 2, "load.prompt_tokens": 60, "load.output_tokens": 8,
         "load.prompt_tokens_cv": 0.0, "load.output_tokens_cv": 0.0,
         "llm.semantic_cache": True, "gateway.validate_ms": 0.0}


def within(actual: float, p: float, n: int, sigmas: float = 4.5) -> bool:
    return abs(actual - p) <= sigmas * math.sqrt(max(p * (1 - p), 1e-12) / n) + 1e-12


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_lower_threshold_never_lowers_hits_or_false_hits(seed):
    prev = None
    for threshold in (1.0, 0.97, 0.93, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5):
        s = simulate({**CHEAP, "load.duration_s": 30.0, "llm.semantic_threshold": threshold},
                     seed=seed).summary
        if prev is not None:
            assert s["semantic_hits"] >= prev["semantic_hits"]
            assert s["semantic_false_hits"] >= prev["semantic_false_hits"]
        prev = s


@pytest.mark.parametrize("threshold, share", [(0.9, 0.3), (0.85, 0.6), (0.75, 0.1)])
def test_hit_rates_match_the_closed_form_over_many_requests(threshold, share):
    n = 200_000
    cache = SemanticCache(LLMConfig(semantic_cache=True, semantic_threshold=threshold,
                                    semantic_paraphrase_share=share),
                          np.random.default_rng(7), n)
    for rid in range(n):
        cache.lookup(rid)
    hit, false = semantic_cache_rates(threshold, share)
    assert (hit, false) == cache.expected_rates()
    assert within(cache.hits / n, hit, n)
    assert within(cache.false_hits / n, false, n)


def test_in_a_run_the_rates_match_the_closed_form():
    s = simulate({**CHEAP, "llm.semantic_threshold": 0.88,
                  "llm.semantic_paraphrase_share": 0.4}, seed=4).summary
    n = s["semantic_lookups"]
    assert n == s["requests"]          # no writes, no exact cache: every request looks up
    hit, false = semantic_cache_rates(0.88, 0.4)
    assert within(s["semantic_hit_ratio"], hit, n)
    assert within(s["semantic_false_hits"] / n, false, n)


@pytest.mark.parametrize("threshold, share, hits, false_hits", [
    (0.5, 1.0, "all", 0),        # every paraphrase is at least 0.80 similar
    (0.5, 0.0, "all", "all"),    # every unrelated match is at least 0.50 similar
    (0.96, 0.0, 0, 0),           # no unrelated match reaches 0.95
    (1.0, 0.5, 0, 0),            # a similarity of exactly 1 has probability 0
])
def test_at_the_ends_of_the_ranges_the_closed_form_is_exact(threshold, share, hits,
                                                            false_hits):
    s = simulate({**CHEAP, "load.duration_s": 20.0, "llm.semantic_threshold": threshold,
                  "llm.semantic_paraphrase_share": share}, seed=2).summary
    n = s["semantic_lookups"]
    assert s["semantic_hits"] == (n if hits == "all" else hits)
    assert s["semantic_false_hits"] == (n if false_hits == "all" else false_hits)
    assert semantic_cache_rates(threshold, share) == (
        1.0 if hits == "all" else 0.0, 1.0 if false_hits == "all" else 0.0)


def test_false_hits_serve_wrong_answers_and_hits_skip_the_model():
    knobs = {**CHEAP, "llm.semantic_threshold": 0.8, "llm.semantic_lookup_ms": 7.0,
             "model.quality": 0.9}
    res = simulate(knobs, seed=3)
    s, r = res.summary, res.records
    zero = int((r["quality"] == 0.0).sum())
    assert s["semantic_false_hits"] > 0 and zero == s["semantic_false_hits"]
    served = r["model_calls"] == 0
    assert int(served.sum()) == s["semantic_hits"]
    # a hit is answered after the lookup alone; a miss waits for the lookup, then the model
    assert r["latency_ms"][served] == pytest.approx(7.0, rel=1e-9)
    assert (r["latency_ms"][~served] > 7.0).all()
    assert s["quality_mean"] == pytest.approx(
        0.9 * (s["requests"] - s["semantic_false_hits"]) / s["requests"], rel=1e-12)
    off = simulate({**knobs, "llm.semantic_cache": False}, seed=3).summary
    assert s["quality_mean"] < off["quality_mean"] and s["model_calls"] < off["model_calls"]
    assert "semantic_hits" not in off


def test_writes_are_never_served_from_the_semantic_cache():
    res = simulate({**CHEAP, "load.write_fraction": 0.3, "llm.semantic_threshold": 0.5,
                    "llm.semantic_paraphrase_share": 1.0}, seed=1)
    writes = res.records["write"]
    assert res.summary["semantic_lookups"] == int((~writes).sum())
    assert (res.records["model_calls"][writes] > 0).all()


@pytest.mark.parametrize("knobs, message", [
    ({"llm.semantic_threshold": 0.3}, "llm.semantic_threshold must be >= 0.5"),
    ({"llm.semantic_paraphrase_share": 2.0}, "llm.semantic_paraphrase_share must be <= 1"),
    ({"llm.semantic_lookup_ms": -1.0}, "llm.semantic_lookup_ms must be >= 0"),
])
def test_bad_semantic_cache_knobs_are_refused_naming_knob_rule_and_value(knobs, message):
    with pytest.raises(KnobError, match=message):
        simulate({**CHEAP, **knobs})
