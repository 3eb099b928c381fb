"""What a run records, and how it becomes a :class:`~labkit.sim.result.Result`.

The recorder is the one place the simulation writes its outputs:

* each request's one ending (:meth:`Recorder.finish`), after which the
  :class:`~labkit.sim.request.Request` object *is* the record-to-be;
* each attempt at the primary model (:meth:`Recorder.attempt`), including
  attempts refused before reaching it;
* the counters the components add to (cost by kind, retries, fallback calls,
  data-path calls, wasted work);
* a sample of the replicas once a simulated second (:meth:`Recorder.sampler`);
* in token mode, each request's token counts and its answer's first-token
  time and time per output token (:meth:`Recorder.token_call`), and a sample
  of running sequences, KV use and tokens produced with the replica sample.

:meth:`Recorder.result` freezes all of it, with the totals only the
components know (served calls, replica-seconds, breaker openings), into the
immutable records a ``Result`` derives everything from.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import numpy as np

from labkit.sim.datapath import HOPS
from labkit.sim.result import ATTEMPT_DTYPE, RECORD_DTYPE, TOKEN_DTYPE, Result

if TYPE_CHECKING:
    import simpy

    from labkit.sim.datapath import Hop
    from labkit.sim.load import Workload
    from labkit.sim.replicas import Pool
    from labkit.sim.request import Request
    from labkit.sim.tokenpool import Seq

__all__ = ["Recorder"]

# Request attribute -> record column, read in one C-level pass per request.
_ROW_FIELDS = (("end", "end_s"), ("outcome", "outcome"), ("reason", "reason"),
               ("path", "path"), ("attempts", "attempts"), ("calls", "model_calls"),
               ("cache", "cache"), ("batch", "batch_size"), ("cost", "cost"),
               ("quality", "quality"), ("stale", "stale"), ("lag", "freshness_lag_s"),
               ("unauthorised", "unauthorised"), ("review_wait", "review_wait_s"),
               ("leak", "leak"), ("harm", "harm_score"), ("harmful", "harmful"))
_ROW = operator.attrgetter(*(attr for attr, _ in _ROW_FIELDS))
_ROW_DTYPE = np.dtype([(col, RECORD_DTYPE[col]) for _, col in _ROW_FIELDS])


class Recorder:
    """The outputs of one run while it is simulated."""

    def __init__(self, workload: Workload):
        self.workload = workload
        self.requests: list[Request | None] = [None] * len(workload)  # finished, by id
        self.attempts: list[tuple] = []  # rows of ATTEMPT_DTYPE
        self.samples: list[tuple[float, int, int, int, int]] = []
        self.replica_seconds: tuple[float, float] | None = None  # (busy, provisioned)
        # Counters the components add to.
        self.model_cost = 0.0
        self.steps_cost = 0.0
        self.fallback_cost = 0.0
        self.retries = 0
        self.fallback_calls = 0
        self.steps_calls = {"embed": 0, "retrieval": 0, "rerank": 0}
        self.wasted_s = 0.0
        self.wasted_calls = 0
        self.autoscale_decisions = 0
        self.hops: tuple[Hop, ...] = ()   # data-path steps with servers (labkit.sim.datapath)
        self.tokens: np.ndarray | None = None        # token mode: rows of TOKEN_DTYPE
        self.token_samples: list[tuple[float, int, float, int]] | None = None
        self.extra_totals: dict[str, Any] = {}   # totals a component adds (router, ...)

    def start_tokens(self, prompt: np.ndarray, output: np.ndarray) -> None:
        """Token mode: every request's drawn prompt and output lengths, before the run."""
        n = len(prompt)
        tokens = np.zeros(n, dtype=TOKEN_DTYPE)
        tokens["id"] = np.arange(n)
        tokens["prompt_tokens"], tokens["output_tokens"] = prompt, output
        self.tokens = tokens
        self.token_samples = []
        # per request, filled call by call: tokens in, tokens out, preemptions, and the
        # answering call's first-token time, time per output token and prefix hit
        self.token_cols: tuple[list[Any], ...] = (
            [0] * n, [0] * n, [0] * n, [math.nan] * n, [math.nan] * n, [False] * n)

    def token_call(self, request: Request, seq: Seq, answered: bool) -> None:
        """Token mode: a model call of ``request`` completed (billed in full); when it
        ``answered`` the request, its first-token time and time per token are the request's."""
        rid = request.id
        tin, tout, pre, first, tpot, hit = self.token_cols
        tin[rid] += seq.prompt
        tout[rid] += seq.out
        pre[rid] += seq.preemptions
        if answered:
            first[rid] = seq.first_s
            tpot[rid] = seq.tpot_s
            hit[rid] = seq.hit

    def finish(self, req: Request, outcome: int, end: float, reason: int) -> None:
        """Write the request's one and only ending (``reason``: a Reason code)."""
        if req.done:  # pragma: no cover - guarded by construction
            raise RuntimeError(f"request {req.id} finished twice")
        req.done = True
        req.reason = reason
        req.end = end
        req.outcome = outcome
        self.requests[req.id] = req

    def attempt(self, request: int, attempt: int, start: float, end: float, result: int,
                batch_size: int, wait_s: float, model_call: bool) -> None:
        """Log one attempt at the primary model (``result``: an Attempt code)."""
        self.attempts.append((request, attempt, start, end, result, batch_size, wait_s,
                              model_call))

    def sampler(self, env: simpy.Environment, pool: Pool, horizon_s: float,
                arrivals: Any) -> Generator[Any, Any, None]:
        """A SimPy process: sample ``pool`` every simulated second until the run drains.

        It stops once the horizon is past, ``arrivals.done`` and the model
        side is idle (and the data-path steps with servers, whose queues still
        feed it), and keeps the pool's replica-seconds up to that moment:
        replicas are paid for until the model side has drained (a review
        queue that outlasts it does not keep them warm).
        """
        samples, token_samples, hops = self.samples, self.token_samples, self.hops
        while True:
            samples.append((env.now, pool.queued, pool.provisioned, pool.ready, pool.busy))
            if token_samples is not None:
                token_samples.append((env.now, *pool.snapshot()))  # type: ignore[attr-defined]
            if (env.now >= horizon_s and arrivals.done and not pool.queued and not pool.busy
                    and not any(hop.busy or hop.queue for hop in hops)):
                self.replica_seconds = pool.utilisation_integrals()
                return
            yield env.timeout(1.0)

    def result(self, *, scenario: Any, seed: int, pool: Pool, breaker_opens: int,
               job_cost: float) -> Result:
        """Freeze the run into a :class:`Result`.

        ``pool`` is the primary model's replicas, ``breaker_opens`` how often the
        breaker opened, ``job_cost`` what the scheduled jobs cost.
        """
        w, reqs = self.workload, self.requests
        n = len(reqs)
        rec = np.zeros(n, dtype=RECORD_DTYPE)
        if n:
            rows = np.array(list(map(_ROW, reqs)), dtype=_ROW_DTYPE)
            for _, name in _ROW_FIELDS:
                rec[name] = rows[name]
            rec["id"] = np.arange(n)
            rec["arrival_s"] = w.arrival_s
            rec["latency_ms"] = (rec["end_s"] - w.arrival_s) * 1000.0
            rec["write"] = w.write
            rec["prompt"] = w.prompt
        rec.flags.writeable = False
        att = (np.array(self.attempts, dtype=ATTEMPT_DTYPE) if self.attempts
               else np.zeros(0, ATTEMPT_DTYPE))
        att.flags.writeable = False
        samples = np.array(self.samples, dtype=float).reshape(-1, 5)
        samples.flags.writeable = False
        if self.replica_seconds is None:
            raise RuntimeError("the sampler did not see the run drain; run it to the end first")
        busy_s, provisioned_s = self.replica_seconds
        totals = {
            "model_served": pool.served, "model_wait_s": pool.wait_sum_s,
            "busy_seconds": busy_s, "replica_seconds": provisioned_s,
            "horizon_s": max(self.samples[-1][0], scenario.load.duration_s),
            "job_cost": job_cost, "retries": self.retries,
            "fallback_calls": self.fallback_calls, "wasted_s": self.wasted_s,
            "wasted_calls": self.wasted_calls, "breaker_opens": breaker_opens,
            "model_cost": self.model_cost, "steps_cost": self.steps_cost,
            "fallback_cost": self.fallback_cost, "steps_calls": dict(self.steps_calls),
            "autoscale_decisions": self.autoscale_decisions,
        }
        if self.hops:
            totals["steps_hops"] = {name: hop.stats() for name, hop in zip(HOPS, self.hops)}
        totals.update(self.extra_totals)
        tokens = token_samples = None
        if self.tokens is not None:
            tokens = self.tokens
            tin, tout, pre, first, tpot, hit = self.token_cols
            tokens["tokens_in"], tokens["tokens_out"], tokens["preemptions"] = tin, tout, pre
            tokens["ttft_ms"] = (np.array(first) - w.arrival_s) * 1000.0
            tokens["tpot_ms"] = np.array(tpot) * 1000.0
            tokens["prefix_hit"] = hit
            tokens.flags.writeable = False
            token_samples = np.array(self.token_samples, dtype=float).reshape(-1, 4)
            token_samples.flags.writeable = False
            totals.update(pool.stats())  # type: ignore[attr-defined]
        return Result(scenario=scenario, seed=seed, records=rec, attempts=att, samples=samples,
                      totals=totals, tokens=tokens, token_samples=token_samples)

