"""A semantic cache in front of the model: answer a similar prompt from the store.

An exact response cache hits only when the same prompt comes again.  A
*semantic* cache (GPTCache and its kin) embeds the prompt, finds the most
similar stored prompt and, when the similarity reaches a threshold, serves
that prompt's answer without calling the model.  Lowering the threshold
answers more requests from the store, and more of them wrongly: a prompt can
look like a stored one and still ask something else.

**The model** (first-order, with a closed form).  A request is a
*paraphrase* of an earlier prompt whose answer is stored with probability
``rho`` (``llm.semantic_paraphrase_share``); otherwise its nearest stored
prompt is *unrelated*.  The similarity of the best match is uniform on
``PARAPHRASE = (0.80, 1.00)`` for a paraphrase and on ``UNRELATED = (0.50,
0.95)`` for an unrelated prompt.  A request hits when the similarity is at
least the threshold ``theta``; a hit on an unrelated prompt is a *false
hit*, which serves a wrong answer (quality 0).  So, per lookup::

    true hits  = rho       x clip((1.00 - theta) / 0.20)
    false hits = (1 - rho) x clip((0.95 - theta) / 0.45)

Both rise as the threshold falls (:func:`labkit.sim.theory.semantic_cache_rates`).
Each request draws its kind and similarity once, from the run's
``semcache`` stream, so at one seed a lower threshold hits a superset of
the requests a higher one hits: it never lowers the hit or false-hit count.

Writes are never answered from the store.  Every lookup takes
``llm.semantic_lookup_ms``: a hit is answered then, a miss goes on to the
model then.  The cache answers only in token mode (``llm.enabled``).

>>> from labkit.sim.config import LLMConfig
>>> c = SemanticCache(LLMConfig(semantic_cache=True, semantic_threshold=0.9),
...                   np.random.default_rng(1), n=10_000)
>>> hits, false = c.expected_rates()
>>> round(hits, 4), round(false, 4)
(0.2278, 0.0778)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from labkit.sim.theory.llm import PARAPHRASE_SIMILARITY, UNRELATED_SIMILARITY, semantic_cache_rates

if TYPE_CHECKING:
    from labkit.sim.config import LLMConfig

__all__ = ["SemanticCache", "PARAPHRASE", "UNRELATED", "MISS", "HIT", "FALSE_HIT"]

#: Similarity of a paraphrase's best stored match: uniform on this range.
PARAPHRASE = PARAPHRASE_SIMILARITY
#: Similarity of an unrelated prompt's best stored match: uniform on this range.
UNRELATED = UNRELATED_SIMILARITY

#: What a lookup found.
MISS, HIT, FALSE_HIT = 0, 1, 2


class SemanticCache:
    """Each request's lookup verdict (drawn up front) and the counts of the lookups made."""

    __slots__ = ("verdicts", "lookup_s", "lookups", "hits", "false_hits", "rho", "theta")

    def __init__(self, llm: LLMConfig, rng: np.random.Generator, n: int):
        self.rho, self.theta = llm.semantic_paraphrase_share, llm.semantic_threshold
        paraphrase = rng.random(n) < self.rho
        u = rng.random(n)
        lo = np.where(paraphrase, PARAPHRASE[0], UNRELATED[0])
        hi = np.where(paraphrase, PARAPHRASE[1], UNRELATED[1])
        similarity = lo + (hi - lo) * u
        hit = similarity >= self.theta
        self.verdicts: list[int] = np.where(hit, np.where(paraphrase, HIT, FALSE_HIT),
                                            MISS).tolist()
        self.lookup_s = llm.semantic_lookup_ms / 1000.0
        self.lookups = self.hits = self.false_hits = 0

    def lookup(self, rid: int) -> int:
        """Request ``rid``'s verdict (MISS, HIT or FALSE_HIT), counted."""
        verdict = self.verdicts[rid]
        self.lookups += 1
        if verdict != MISS:
            self.hits += 1
            self.false_hits += verdict == FALSE_HIT
        return verdict

    def expected_rates(self) -> tuple[float, float]:
        """Hit and false-hit probability of one lookup (the closed form above)."""
        return semantic_cache_rates(self.theta, self.rho)

    def totals(self) -> dict[str, int]:
        """The counts the result's summary reports."""
        return {"semantic_lookups": self.lookups, "semantic_hits": self.hits,
                "semantic_false_hits": self.false_hits}
