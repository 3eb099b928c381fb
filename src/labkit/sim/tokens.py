"""Token mode's physics: how long prefill and decode take, and how much KV cache there is.

A language model answers in two phases.  *Prefill* reads the whole prompt at
once and is compute-bound: about ``2 x params`` floating-point operations per
prompt token, at the accelerator's peak rate times the utilisation it reaches
(MFU).  It ends with the first output token.  *Decode* then produces one token
per iteration for every running sequence, and is bound by memory bandwidth:
each iteration reads every weight once (``params x bytes_per_param``) plus the
KV cache of every running sequence (``kv_bytes_per_token`` for each token of
context).  Both times can be given directly instead (``llm.prefill_ms_per_1k``,
``llm.decode_step_ms``; the KV read is added to the latter).

The KV cache holds what the weights leave of the accelerator memory, in
tokens; a sequence of p prompt tokens that has produced g tokens holds p + g.

Prompt and output lengths are lognormal around their means (``cv = 0``: every
request exactly the mean), rounded to whole tokens, at least one, and capped so
that prompt + output fits the KV cache (a context cannot outgrow memory).
They come from the run's ``tokens`` stream, so turning a token knob moves no
other draw.

>>> from labkit.sim.config import LLMConfig
>>> m = TokenModel(LLMConfig(enabled=True))
>>> round(m.step_s * 1000, 3), m.kv_capacity     # 8B bf16 on an H100: weights read
(4.776, 488281)
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from labkit.knobs import KnobError

if TYPE_CHECKING:
    from labkit.sim.config import LLMConfig, LoadConfig

__all__ = ["TokenModel", "draw_tokens", "check_token_mode"]


class TokenModel:
    """Prefill and decode times and the KV capacity of one replica, from ``llm.*``."""

    __slots__ = ("prefill_s_per_token", "step_s", "kv_s_per_token", "kv_capacity",
                 "weights_bytes")

    def __init__(self, llm: LLMConfig, params_ratio: float = 1.0, kv_ratio: float = 1.0):
        # ``params_ratio`` / ``kv_ratio``: a smaller model on the same GPU (the router's
        # small model); explicit times scale with the weights, an explicit capacity stays.
        params_b = llm.params_b * params_ratio if params_ratio != 1.0 else llm.params_b
        kv_bytes = (max(1, round(llm.kv_bytes_per_token * kv_ratio)) if kv_ratio != 1.0
                    else llm.kv_bytes_per_token)
        self.weights_bytes = params_b * 1e9 * llm.bytes_per_param
        bandwidth = llm.gpu_mem_bw_gbs * 1e9
        self.prefill_s_per_token = (llm.prefill_ms_per_1k * params_ratio / 1e6
                                    if llm.prefill_ms_per_1k is not None else
                                    2.0 * params_b * 1e9 / (llm.gpu_tflops * 1e12 * llm.mfu))
        self.step_s = (llm.decode_step_ms * params_ratio / 1000.0
                       if llm.decode_step_ms is not None else self.weights_bytes / bandwidth)
        self.kv_s_per_token = kv_bytes / bandwidth
        free = llm.gpu_mem_gb * 1e9 - self.weights_bytes
        self.kv_capacity = (llm.kv_capacity_tokens if llm.kv_capacity_tokens is not None
                            else max(0, math.floor(free / kv_bytes)))

    def prefill_s(self, tokens: int) -> float:
        """Seconds to prefill ``tokens`` prompt tokens."""
        return tokens * self.prefill_s_per_token

    def decode_s(self, context_tokens: int) -> float:
        """Seconds of one decode iteration over ``context_tokens`` tokens of KV cache."""
        return self.step_s + context_tokens * self.kv_s_per_token


def check_token_mode(llm: LLMConfig, load: LoadConfig) -> None:
    """Refuse token-mode settings no replica can serve, naming knob, rule and value."""
    model = TokenModel(llm)
    if llm.kv_capacity_tokens is None and model.kv_capacity < 1:
        raise KnobError(
            f"llm.gpu_mem_gb must exceed the weights (llm.params_b x llm.bytes_per_param = "
            f"{model.weights_bytes / 1e9:g} GB) plus one token of KV cache, got "
            f"{llm.gpu_mem_gb:g}")
    cap = model.kv_capacity
    if load.prompt_tokens >= cap:
        raise KnobError(f"load.prompt_tokens must be < the KV-cache capacity of one replica "
                        f"({cap} tokens), got {load.prompt_tokens}")
    if load.prompt_tokens + load.output_tokens > cap:
        raise KnobError(f"load.prompt_tokens + load.output_tokens must fit the KV-cache capacity "
                        f"of one replica ({cap} tokens), got {load.prompt_tokens} + "
                        f"{load.output_tokens}")
    if load.shared_prefix_tokens > load.prompt_tokens:
        raise KnobError(f"load.shared_prefix_tokens must be <= load.prompt_tokens "
                        f"({load.prompt_tokens}), got {load.shared_prefix_tokens}")


def _lengths(rng: np.random.Generator, n: int, mean: int | np.ndarray,
             cv: float) -> np.ndarray:
    if cv == 0.0:
        return np.broadcast_to(np.asarray(mean, dtype=np.int64), (n,)).copy()
    sigma2 = math.log1p(cv * cv)
    z = rng.standard_normal(n)
    x = np.rint(mean * np.exp(-sigma2 / 2.0 + math.sqrt(sigma2) * z)).astype(np.int64)
    return np.maximum(x, 1)


def draw_tokens(load: LoadConfig, n: int, rng: np.random.Generator, capacity: int,
                prefix: int = 0, prompt_means: np.ndarray | None = None,
                ) -> tuple[np.ndarray, np.ndarray]:
    """Prompt and output lengths of ``n`` requests, each pair fitting ``capacity`` tokens
    (beside a resident shared ``prefix``, which a shorter prompt does not shrink).

    ``prompt_means`` (one per request) replaces ``load.prompt_tokens`` when the mean
    changes mid-run; the draws are the same, only scaled, so every request keeps its place
    in the distribution whatever its mean.

    >>> from labkit.sim.config import LoadConfig
    >>> p, o = draw_tokens(LoadConfig(prompt_tokens_cv=0, output_tokens_cv=0), 3,
    ...                    np.random.default_rng(1), capacity=10_000)
    >>> p.tolist(), o.tolist()
    ([500, 500, 500], [200, 200, 200])
    """
    prompt = _lengths(rng, n, load.prompt_tokens if prompt_means is None else prompt_means,
                      load.prompt_tokens_cv)
    output = _lengths(rng, n, load.output_tokens, load.output_tokens_cv)
    np.minimum(prompt, capacity - 1, out=prompt)
    np.minimum(output, capacity - np.maximum(prompt, prefix), out=output)
    return prompt, output
