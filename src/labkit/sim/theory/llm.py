"""Serving a language model token by token: first-order roofline times and batching bounds.

**The model** (what :mod:`labkit.sim.tokenpool` simulates).  A request has a prompt of p
tokens and an answer of n tokens.  *Prefill* reads the whole prompt in one pass and is
compute-bound: ``2 x params`` FLOPs per token at ``gpu_tflops x mfu``; it ends with the first
output token.  *Decode* is memory-bandwidth-bound: every iteration reads all weights once
(``params x bytes_per_param``) plus the KV cache of every running sequence
(``kv_bytes_per_token`` per token of context), and gives each running sequence one token.
Either time may be set directly (``llm.prefill_ms_per_1k``; ``llm.decode_step_ms``, to which
the KV read is added).

**Prefill against decode.**  Prefill runs in iterations of its own: at an iteration boundary
a replica first admits the waiting sequences that fit (a free slot under
``llm.max_batch_seqs``, and KV memory) and prefills them together; the sequences already
decoding wait for that iteration (unless ``llm.chunked_prefill_tokens`` mixes the prefill into
their iterations a chunk at a time; the closed forms below are for whole prefills, which an
uncontended request always gets).  With ``continuous`` scheduling
sequences join at any boundary; with ``static`` only when the replica is empty.

**Uncontended request.**  Alone on a replica, a request's first token comes after
``prefill(p)``, and its token j (j = 2..n) after a decode iteration over p + j - 1 tokens of
context, so with weights time w and KV time k per token:

    TTFT = prefill(p),   TPOT = w + k (p + n / 2),   latency = TTFT + (n - 1) TPOT.

**KV reservation.**  Booking p + n tokens per sequence in a cache of C tokens runs at most
``floor(C / (p + n))`` sequences at once.  A saturated replica with identical requests then
works in cohorts of B = min(that, ``max_batch_seqs``): one prefill of B p tokens, then n - 1
decode iterations over B (p + j) tokens of context, j = 1..n-1; it produces B n tokens per
cohort (:func:`saturated_cohort_tokens_s`).

**Routing** (:mod:`labkit.sim.router`).  Each request has a difficulty d, uniform on [0, 1);
a model of quality q answers it well when d < q, so whatever the weaker model answers well
the stronger one does too.  A classifier that sends a share s to the small model ranks by
d with probability a (its accuracy) and at random otherwise; a cascade's judge escalates a
weak small answer with probability r (recall) and a good one with probability f (false
alarm).  :func:`classifier_route` and :func:`cascade_route` give the share each model
serves and the share of good answers.  **Semantic cache**: :func:`semantic_cache_rates`
(the model is in :mod:`labkit.sim.semcache`).

All functions take and return plain floats and refuse input outside the model.

>>> t = llm_step_times(params_b=8, bytes_per_param=2, gpu_tflops=989, mfu=0.5,
...                    gpu_mem_bw_gbs=3350, kv_bytes_per_token=131072)
>>> round(t.step_ms, 2)          # an 8B bf16 model on an H100: reading the weights
4.78
>>> r = uncontended_llm_request(500, 200, t)
>>> round(r.ttft_ms, 2), round(r.tpot_ms, 3), round(r.latency_ms, 1)
(16.18, 4.8, 971.3)
"""
from __future__ import annotations

import math
from typing import NamedTuple

from ._validate import _check, _count, _nonneg, _positive, _prob

__all__ = ["LLMStepTimes", "LLMRequestTimes", "llm_step_times", "kv_capacity_tokens",
           "uncontended_llm_request", "reserve_max_seqs", "saturated_cohort_tokens_s",
           "RouteRates", "classifier_route", "cascade_route", "semantic_cache_rates",
           "PARAPHRASE_SIMILARITY", "UNRELATED_SIMILARITY"]


class LLMStepTimes(NamedTuple):
    """A replica's token times: prefill per 1,000 prompt tokens, a decode iteration's fixed
    part, and its added time per token of KV context, all in milliseconds."""

    prefill_ms_per_1k: float
    step_ms: float
    kv_ms_per_token: float


class LLMRequestTimes(NamedTuple):
    """Time to first token, mean time per later token, and the whole answer (ms)."""

    ttft_ms: float
    tpot_ms: float
    latency_ms: float


def llm_step_times(*, params_b: float, bytes_per_param: float, gpu_tflops: float, mfu: float,
                   gpu_mem_bw_gbs: float, kv_bytes_per_token: float) -> LLMStepTimes:
    """Roofline times: prefill 2 N / (F x MFU) per token, decode N b / BW plus kv / BW per token.

    >>> llm_step_times(params_b=8, bytes_per_param=2, gpu_tflops=989, mfu=0.5,
    ...                gpu_mem_bw_gbs=0, kv_bytes_per_token=131072)
    Traceback (most recent call last):
    ...
    ValueError: gpu_mem_bw_gbs must be > 0, got 0
    """
    n = _positive("params_b", params_b) * 1e9
    flops = _positive("gpu_tflops", gpu_tflops) * 1e12 * _positive("mfu", mfu)
    _check(mfu <= 1, "mfu", "<= 1", mfu)
    bw = _positive("gpu_mem_bw_gbs", gpu_mem_bw_gbs) * 1e9
    weights = n * _positive("bytes_per_param", bytes_per_param)
    return LLMStepTimes(prefill_ms_per_1k=2.0 * n * 1000 / flops * 1000,
                        step_ms=weights / bw * 1000,
                        kv_ms_per_token=_positive("kv_bytes_per_token", kv_bytes_per_token)
                        / bw * 1000)


def kv_capacity_tokens(*, gpu_mem_gb: float, params_b: float, bytes_per_param: float,
                       kv_bytes_per_token: float) -> int:
    """Tokens of KV cache the memory left by the weights holds.

    >>> kv_capacity_tokens(gpu_mem_gb=80, params_b=8, bytes_per_param=2,
    ...                    kv_bytes_per_token=131072)
    488281
    """
    free = _positive("gpu_mem_gb", gpu_mem_gb) * 1e9 - _positive("params_b", params_b) * 1e9 \
        * _positive("bytes_per_param", bytes_per_param)
    _check(free > 0, "gpu_mem_gb", f"> the weights ({gpu_mem_gb * 1e9 - free:g} bytes)",
           gpu_mem_gb)
    return math.floor(free / _positive("kv_bytes_per_token", kv_bytes_per_token))


def uncontended_llm_request(prompt_tokens: int, output_tokens: int,
                            times: LLMStepTimes) -> LLMRequestTimes:
    """TTFT, TPOT and latency of a request alone on its replica (see the module docstring)."""
    p, n = _count("prompt_tokens", prompt_tokens), _count("output_tokens", output_tokens)
    ttft = p * _nonneg("prefill_ms_per_1k", times.prefill_ms_per_1k) / 1000.0
    tpot = _nonneg("step_ms", times.step_ms) + _nonneg(
        "kv_ms_per_token", times.kv_ms_per_token) * (p + n / 2.0)
    return LLMRequestTimes(ttft_ms=ttft, tpot_ms=tpot if n > 1 else math.nan,
                           latency_ms=ttft + (n - 1) * tpot)


def reserve_max_seqs(kv_capacity_tokens: int, prompt_tokens: int, output_tokens: int,
                     max_batch_seqs: int | None = None) -> int:
    """Most sequences running at once when each books prompt + output tokens.

    >>> reserve_max_seqs(10_000, 500, 200), reserve_max_seqs(10_000, 500, 200, 8)
    (14, 8)
    """
    cap = _count("kv_capacity_tokens", kv_capacity_tokens)
    per = _count("prompt_tokens", prompt_tokens) + _count("output_tokens", output_tokens)
    bound = cap // per
    return bound if max_batch_seqs is None else min(bound, _count("max_batch_seqs",
                                                                  max_batch_seqs))


def saturated_cohort_tokens_s(seqs: int, prompt_tokens: int, output_tokens: int,
                              times: LLMStepTimes) -> float:
    """Output tokens/s of a replica that always has ``seqs`` identical sequences to start.

    They run in cohorts: one prefill of seqs x p tokens, then n - 1 decode iterations, the
    j-th over seqs x (p + j) tokens of context.

    >>> t = LLMStepTimes(prefill_ms_per_1k=30.0, step_ms=5.0, kv_ms_per_token=0.0)
    >>> saturated_cohort_tokens_s(1, 1000, 1, t)      # one prefill per token
    33.333333333333336
    """
    b, p = _count("seqs", seqs), _count("prompt_tokens", prompt_tokens)
    n = _count("output_tokens", output_tokens)
    prefill = b * p * times.prefill_ms_per_1k / 1000.0
    decode = (n - 1) * times.step_ms + times.kv_ms_per_token * b * ((n - 1) * p
                                                                    + n * (n - 1) / 2.0)
    return b * n / ((prefill + decode) / 1000.0)


#: Semantic cache: similarity of a paraphrase's best stored match, uniform on this range.
PARAPHRASE_SIMILARITY: tuple[float, float] = (0.80, 1.00)
#: Semantic cache: similarity of an unrelated prompt's best stored match, uniform on it.
UNRELATED_SIMILARITY: tuple[float, float] = (0.50, 0.95)


class RouteRates(NamedTuple):
    """Per request: share answered by the small model first (``small``), share sent on to
    the large one (``large``: routed there, or escalated), and share of good answers."""

    small: float
    large: float
    good: float


def classifier_route(*, small_quality: float, large_quality: float, share: float,
                     accuracy: float) -> RouteRates:
    """A classifier sends ``share`` of requests to the small model, the easiest by difficulty
    with probability ``accuracy`` and a random pick otherwise.

    Informed (probability a), the requests with d < s go small: good ones are
    min(s, q_s) there and max(0, q_l - s) on the large model; at random, s q_s + (1 - s) q_l.

    >>> classifier_route(small_quality=0.6, large_quality=0.9, share=0.6, accuracy=1.0)
    RouteRates(small=0.6, large=0.4, good=0.9)
    """
    qs, ql = _prob("small_quality", small_quality), _prob("large_quality", large_quality)
    s, a = _prob("share", share), _prob("accuracy", accuracy)
    informed = min(s, qs) + max(0.0, ql - s)
    at_random = s * qs + (1.0 - s) * ql
    return RouteRates(small=s, large=1.0 - s, good=a * informed + (1.0 - a) * at_random)


def cascade_route(*, small_quality: float, large_quality: float, recall: float,
                  false_alarm: float) -> RouteRates:
    """Every request goes to the small model; the judge escalates a weak answer with
    probability ``recall`` and a good one with probability ``false_alarm``.

    Escalated: (1 - q_s) r + q_s f.  Good: q_s (1 - f) kept, plus escalated ones the large
    model answers well, f min(q_s, q_l) + r max(0, q_l - q_s).  A perfect judge (r = 1,
    f = 0) reaches max(q_s, q_l) and escalates 1 - q_s.

    >>> cascade_route(small_quality=0.6, large_quality=0.9, recall=1.0, false_alarm=0.0)
    RouteRates(small=1.0, large=0.4, good=0.9)
    """
    qs, ql = _prob("small_quality", small_quality), _prob("large_quality", large_quality)
    r, f = _prob("recall", recall), _prob("false_alarm", false_alarm)
    escalated = (1.0 - qs) * r + qs * f
    good = qs * (1.0 - f) + f * min(qs, ql) + r * max(0.0, ql - qs)
    return RouteRates(small=1.0, large=escalated, good=good)


def semantic_cache_rates(threshold: float, paraphrase_share: float) -> tuple[float, float]:
    """Hit and false-hit probability of one semantic-cache lookup at similarity ``threshold``.

    Paraphrases (share rho) match with similarity uniform on (0.80, 1.00), unrelated prompts
    on (0.50, 0.95); a hit is a similarity >= threshold (see :mod:`labkit.sim.semcache`).

    >>> [round(x, 4) for x in semantic_cache_rates(0.9, 0.3)]
    [0.2278, 0.0778]
    """
    theta, rho = _prob("threshold", threshold), _prob("paraphrase_share", paraphrase_share)

    def above(lo: float, hi: float) -> float:
        return min(1.0, max(0.0, (hi - theta) / (hi - lo)))

    false = (1.0 - rho) * above(*UNRELATED_SIMILARITY)
    return rho * above(*PARAPHRASE_SIMILARITY) + false, false
