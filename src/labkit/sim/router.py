"""Routing between a small and a large model, and the cascade.

A large model answers more questions well and costs more per token and per
second; a small one is cheap and fast and wrong more often.  A *router*
decides which one answers (``router.policy``):

* ``large`` / ``small``: every request to one model;
* ``classifier``: a classifier sends a share ``router.classifier_share`` of
  the requests to the small model, ideally the ones it answers well;
* ``cascade``: the small model answers every request first; a *judge* reads
  the answer and, when it looks weak, escalates the request to the large
  model, which answers again (FrugalGPT's LLM cascade).

**Quality.**  Each request has a difficulty d, uniform on [0, 1); a model
whose quality is q (``router.small_quality``, ``model.quality`` for the
large model) answers it well when d < q.  The classifier ranks by d with
probability ``router.classifier_accuracy`` and picks at random otherwise;
the judge escalates a weak small answer with probability
``router.judge_recall`` and a good one with ``router.judge_false_alarm``.
The shares each model serves and the share of good answers have closed
forms (:func:`labkit.sim.theory.classifier_route`,
:func:`~labkit.sim.theory.cascade_route`).  All of it is drawn up front from
the run's ``router`` stream, so changing the policy moves no other draw.

**The small model** runs on the same kind of GPU as the large one (the
``llm.*`` hardware knobs), with ``router.small_params_ratio`` of its weights
and ``router.small_kv_ratio`` of its KV bytes per token, so its prefill and
decode are faster and its KV cache larger; it has its own replicas
(``router.small_replicas``, each costing ``model.cost_per_replica_hour``)
and its own per-token prices.  With ``small`` or ``large`` only one pool of
replicas exists and it is the run's primary pool (``small`` is exactly a
one-model run with the small model's parameters); ``classifier`` and
``cascade`` add the small pool beside the large, primary one.  Both pools
are the primary model: each is sampled (``Result.model_samples``, the
``small_*`` and ``large_*`` time series, ``router.pools`` in the summary;
the run's samples and totals add them up), scaled by its own autoscaler
under the same ``autoscale.*`` rule, and its queue emptied by the kill
switch.  A hang or a slowdown slows the large pool only; error draws and an
error outage apply to calls of both models.

An escalated request's large call is part of the same attempt: its timeout
is what is left of the attempt's, and the attempt log keeps one row for it
(the call that answered, or why the large call was refused).  The small
call's result counts for the breaker and the adaptive throttle like any
call's; the large call then meets the kill switch, the breaker, the
throttle, an error outage, the upstream limits (``model.upstream_limit_rps``,
``model.upstream_tpm``) as a first call does, and takes the same way out when
refused.  Every call the router makes, small or large, takes its tokens from
the one ``model.upstream_tpm`` quota.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from labkit.sim.config import RouterConfig
    from labkit.sim.replicas import Call, Pool

__all__ = ["Router", "SMALL", "LARGE", "MODEL_NAMES"]

#: Which model served a call (``Seq.model``; 0: no router).
SMALL, LARGE = 1, 2
MODEL_NAMES: dict[int, str] = {SMALL: "small", LARGE: "large"}


class Router:
    """Which model each request goes to first, whether it escalates, and what each model
    served and cost.  ``pools`` maps SMALL / LARGE to the pool serving that model;
    ``prices`` to its (input, output) price per token."""

    def __init__(self, cfg: RouterConfig, *, large_quality: float, rng: np.random.Generator,
                 n: int, pools: dict[int, Pool], prices: dict[int, tuple[float, float]]):
        self.policy = cfg.policy
        self.pools, self.prices = pools, prices
        self.quality = {SMALL: cfg.small_quality, LARGE: large_quality}
        # drawn in this order whatever the policy (common random numbers)
        difficulty = rng.random(n)
        informed = rng.random(n) < cfg.classifier_accuracy
        score = np.where(informed, difficulty, rng.random(n))
        judge = rng.random(n)
        if self.policy == "classifier":
            first = np.where(score < cfg.classifier_share, SMALL, LARGE)
        else:
            first = np.full(n, LARGE if self.policy == "large" else SMALL)
        small_good = difficulty < cfg.small_quality
        escalate = (self.policy == "cascade") & (
            judge < np.where(small_good, cfg.judge_false_alarm, cfg.judge_recall))
        self.first: list[int] = first.tolist()
        self.difficulty: list[float] = difficulty.tolist()
        self.escalate: list[bool] = escalate.tolist()
        self.calls = {SMALL: 0, LARGE: 0}       # completed calls, billed
        self.answers = {SMALL: 0, LARGE: 0}
        self.good = 0
        self.escalated = 0
        self.tokens = {SMALL: [0, 0], LARGE: [0, 0]}   # billed (input, output)
        self.cost = {SMALL: 0.0, LARGE: 0.0}

    def pool_for(self, rid: int) -> Pool:
        """The pool request ``rid``'s attempt goes to first."""
        return self.pools[self.first[rid]]

    def pool_of(self, call: Call) -> Pool:
        """The pool a submitted call is in."""
        return self.pools[call.seq.model]

    def bill(self, call: Call, fee: float) -> float:
        """A completed call's token price (by its model's prices); ``fee`` is its call price.
        Counts the call, its tokens and its whole cost under its model."""
        seq = call.seq
        model = seq.model
        price_in, price_out = self.prices[model]
        tokens = seq.prompt * price_in + seq.out * price_out
        self.calls[model] += 1
        counted = self.tokens[model]
        counted[0] += seq.prompt
        counted[1] += seq.out
        self.cost[model] += fee + tokens
        return tokens

    def escalates(self, call: Call) -> bool:
        """Whether a good (not failed) small-model call is escalated by the judge; counted."""
        if call.seq.model == SMALL and self.escalate[call.owner.id]:
            self.escalated += 1
            return True
        return False

    def answered(self, call: Call) -> float:
        """Count the answer of a call's model; return that model's quality score."""
        model = call.seq.model
        quality = self.quality[model]
        self.answers[model] += 1
        self.good += self.difficulty[call.owner.id] < quality
        return quality

    def totals(self) -> dict[str, Any]:
        """What the result's summary reports (``router`` in ``Result.totals``)."""
        answers = self.answers[SMALL] + self.answers[LARGE]
        return {"router": {
            "policy": self.policy, "small": self.answers[SMALL], "large": self.answers[LARGE],
            "escalated": self.escalated, "good": self.good,
            "good_ratio": self.good / answers if answers else 0.0,
            "small_calls": self.calls[SMALL], "large_calls": self.calls[LARGE],
            "small_tokens": {"input": self.tokens[SMALL][0], "output": self.tokens[SMALL][1]},
            "large_tokens": {"input": self.tokens[LARGE][0], "output": self.tokens[LARGE][1]},
            "small_cost": self.cost[SMALL], "large_cost": self.cost[LARGE],
        }}
