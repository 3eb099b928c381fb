"""Chunked prefill (``llm.chunked_prefill_tokens``): new prompts prefilled a chunk per
iteration, mixed into the decode iterations of a replica already decoding.

A mixed iteration takes the longer of its decode read and its chunk's compute (roofline), so
running sequences keep producing tokens while a long prompt is prefilled instead of stopping
for the whole of it: time per output token falls, most in its tail.  Tests compare runs at the
same seed (the same requests and arrival times), over several seeds.
"""
from __future__ import annotations

import math

import pytest

from labkit.sim import simulate
from labkit.sim.sequences import TokenReplica
from labkit.sim.theory import llm_step_times, uncontended_llm_request

LONG_PROMPTS = {"llm.enabled": True, "model.replicas": 1, "load.rate_rps": 2.0,
                "load.duration_s": 90.0, "load.prompt_tokens": 6000, "load.output_tokens": 300,
                "load.prompt_tokens_cv": 0.3, "load.output_tokens_cv": 0.5}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_chunked_prefill_lowers_tpot_p95_under_long_prompts(seed):
    whole = simulate(LONG_PROMPTS, seed=seed).summary
    chunked = simulate({**LONG_PROMPTS, "llm.chunked_prefill_tokens": 512}, seed=seed).summary
    assert chunked["outcomes"] == whole["outcomes"]
    assert chunked["tokens"] == whole["tokens"]
    # a whole 6000-token prefill stalls every running sequence for about 0.19 s; in 512-token
    # chunks the decode rides along, so the tail of TPOT falls by far more than noise
    assert chunked["tpot_ms"]["p95"] < 0.8 * whole["tpot_ms"]["p95"]
    assert chunked["tpot_ms"]["mean"] < whole["tpot_ms"]["mean"]


@pytest.mark.parametrize("seed", [1, 2])
def test_smaller_chunks_interrupt_decode_less(seed):
    tpot = [simulate({**LONG_PROMPTS, "llm.chunked_prefill_tokens": c}, seed=seed)
            .summary["tpot_ms"]["p95"] for c in (4096, 1024, 256)]
    assert tpot[0] > tpot[1] > tpot[2]


def test_an_uncontended_request_is_not_chunked():
    knobs = {"llm.enabled": True, "load.rate_rps": 0.1, "load.duration_s": 300.0,
             "model.replicas": 1, "load.prompt_tokens_cv": 0.0, "load.output_tokens_cv": 0.0,
             "gateway.validate_ms": 0.0, "load.prompt_tokens": 3000, "load.output_tokens": 50,
             "llm.chunked_prefill_tokens": 256}
    res = simulate(knobs, seed=3)
    want = uncontended_llm_request(3000, 50, llm_step_times(
        params_b=8.0, bytes_per_param=2.0, gpu_tflops=989.0, mfu=0.5, gpu_mem_bw_gbs=3350.0,
        kv_bytes_per_token=131072))
    r, tok = res.records, res.tokens
    prev_end = [-math.inf, *r["end_s"][:-1]]
    alone = [i for i in range(len(r)) if prev_end[i] < r["arrival_s"][i]
             and (i + 1 == len(r) or r["end_s"][i] < r["arrival_s"][i + 1])]
    assert len(alone) > 10
    for i in alone:
        assert tok["ttft_ms"][i] == pytest.approx(want.ttft_ms, rel=1e-9)
        assert r["latency_ms"][i] == pytest.approx(want.latency_ms, rel=1e-9)


@pytest.mark.parametrize("b0, ctx0, left, chunk, kv", [
    (3, 900, 1000, 256, 4e-8),      # every iteration compute-bound (the chunk)
    (0, 0, 700, 300, 4e-8),         # nobody decoding
    (5, 40, 512, 512, 4e-8),        # one chunk
    (2, 100, 2600, 128, 4e-6),      # every iteration bound by the decode read
    (50, 100, 5000, 256, 4e-6),     # the decode read overtakes the chunk at iteration 13
])
def test_the_closed_form_of_a_mixed_run_is_the_sum_of_its_iterations(b0, ctx0, left, chunk,
                                                                     kv):
    rep = TokenReplica(0.0)
    rep.b0, rep.ctx0, rep.mix_left, rep.chunk, rep.pf_s = b0, ctx0, left, chunk, 3e-5
    step = 4.8e-3
    total = 0.0
    for j in range(rep.mix_iterations()):
        tokens = min(chunk, left - j * chunk)
        total += max(step + kv * (ctx0 + b0 * j), rep.pf_s * tokens)
        assert rep.work(j + 1, step, kv) == pytest.approx(total, rel=1e-12)
