"""The code vocabularies: every named code matches its word, and nothing else has a number."""
from __future__ import annotations

import pytest

from labkit.sim import codes
from labkit.sim.codes import (
    ANSWERED,
    ATTEMPT_RESULTS,
    CACHE_HITS,
    CACHE_STATES,
    FALLBACKS,
    OUTCOMES,
    PATH_BITS,
    REASONS,
    Attempt,
    CacheState,
    Path,
    Reason,
    answering_fallback,
    path_names,
)


@pytest.mark.parametrize("words, names", [
    (REASONS, Reason), (ATTEMPT_RESULTS, Attempt), (CACHE_STATES, CacheState),
])
def test_each_named_code_is_the_index_of_its_word(words, names):
    named = {k: v for k, v in vars(names).items() if k.isupper()}
    assert len(named) == len(words)
    for name, code in named.items():
        word = words[code]
        assert word == ("" if name == "NONE" and words is REASONS else name.lower()), name


def test_outcomes_and_answered():
    assert [OUTCOMES[c] for c in (codes.OK, codes.DEGRADED, codes.FAILED, codes.REJECTED)] == [
        "ok", "degraded", "failed", "rejected"]
    assert [OUTCOMES[c] for c in ANSWERED] == ["ok", "degraded"]
    assert [CACHE_STATES[c] for c in CACHE_HITS] == ["hit", "stale"]


def test_path_bits_are_distinct_powers_of_two_in_path_order():
    named = {k.lower(): v for k, v in vars(Path).items() if k.isupper()}
    assert named == PATH_BITS
    assert sorted(PATH_BITS.values()) == list(PATH_BITS.values())
    assert all(v & (v - 1) == 0 for v in PATH_BITS.values())
    assert path_names(sum(PATH_BITS.values())) == list(PATH_BITS)


def test_the_answering_fallback_is_the_last_one_tried():
    assert answering_fallback(Path.GATEWAY | Path.MODEL) is None
    assert answering_fallback(Path.SMALL_MODEL) == "small_model"
    assert answering_fallback(Path.SMALL_MODEL | Path.STALE_CACHE) == "stale_cache"
    assert set(FALLBACKS) == {"small_model", "stale_cache", "safe_message"}
