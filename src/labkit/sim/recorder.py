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
from collections.abc import Generator, Mapping
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
        # a primary model served by several pools (token mode's router), by model name
        self.models: dict[str, Pool] | None = None
        self.model_samples: dict[str, list[tuple]] | None = None
        self.model_seconds: dict[str, tuple[float, float]] = {}   # (busy, provisioned)

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
                arrivals: Any, models: Mapping[str, Pool] | None = None,
                ) -> Generator[Any, Any, None]:
        """A SimPy process: sample ``pool`` every simulated second until the run drains.

        It stops once the horizon is past, ``arrivals.done`` and the model
        side is idle (and the data-path steps with servers, whose queues still
        feed it), and keeps the pool's replica-seconds up to that moment:
        replicas are paid for until the model side has drained (a review
        queue that outlasts it does not keep them warm).

        ``models`` names every pool of the primary model when there are more than
        one (token mode's router: ``{"large": pool, "small": ...}``): each is then
        sampled on its own (:attr:`model_samples`), the samples add them up, and the
        run drains when all of them are idle.
        """
        if models is not None and len(models) > 1:
            yield from self._sample_models(env, models, horizon_s, arrivals)
            return
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

    def _sample_models(self, env: simpy.Environment, models: Mapping[str, Pool],
                       horizon_s: float, arrivals: Any) -> Generator[Any, Any, None]:
        """The sampler of a primary model served by several pools (see :meth:`sampler`)."""
        samples, token_samples, hops = self.samples, self.token_samples, self.hops
        named = list(models.items())
        self.models = dict(models)
        per: dict[str, list[tuple]] = {name: [] for name, _ in named}
        self.model_samples = per
        no_tokens: tuple[int, float, int] = (0, 0.0, 0)
        while True:
            now = env.now
            queued = provisioned = ready = busy = running = out = 0
            kv = 0.0
            for name, p in named:
                snap = (p.snapshot() if token_samples is not None  # type: ignore[attr-defined]
                        else no_tokens)
                row = (p.queued, p.provisioned, p.ready, p.busy)
                per[name].append((now, *row, *snap))
                queued, provisioned = queued + row[0], provisioned + row[1]
                ready, busy = ready + row[2], busy + row[3]
                running, kv, out = running + snap[0], kv + snap[1], out + snap[2]
            samples.append((now, queued, provisioned, ready, busy))
            if token_samples is not None:
                token_samples.append((now, running, kv, out))
            if (now >= horizon_s and arrivals.done
                    and not any(p.queued or p.busy for _, p in named)
                    and not any(hop.busy or hop.queue for hop in hops)):
                self.model_seconds = {name: p.utilisation_integrals() for name, p in named}
                self.replica_seconds = (sum(b for b, _ in self.model_seconds.values()),
                                        sum(r for _, r in self.model_seconds.values()))
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
        pools = list(self.models.values()) if self.models else [pool]
        totals = {
            "model_served": sum(p.served for p in pools),
            "model_wait_s": sum(p.wait_sum_s for p in pools),
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
            totals.update(self._token_totals(pool, provisioned_s))
        model_samples = None
        if self.model_samples is not None:
            model_samples = {}
            for name, model_rows in self.model_samples.items():
                array = np.array(model_rows, dtype=float).reshape(-1, 8)
                array.flags.writeable = False
                model_samples[name] = array
        return Result(scenario=scenario, seed=seed, records=rec, attempts=att, samples=samples,
                      totals=totals, tokens=tokens, token_samples=token_samples,
                      model_samples=model_samples)

    def _token_totals(self, pool: Pool, provisioned_s: float) -> dict[str, Any]:
        """Token mode's totals: the pool's, or the sum over the primary model's pools with
        each pool's own under ``pools`` (KV capacity differs by model, so the capacity
        integral is summed pool by pool)."""
        if not self.models:
            stats = pool.stats()  # type: ignore[attr-defined]
            stats["kv_capacity_token_s"] = stats["kv_capacity"] * provisioned_s
            return stats
        by_model = {}
        for name, p in self.models.items():
            busy, provisioned = self.model_seconds[name]
            stats = p.stats()  # type: ignore[attr-defined]
            stats["kv_capacity_token_s"] = stats["kv_capacity"] * provisioned
            by_model[name] = {"busy_seconds": busy, "replica_seconds": provisioned,
                              "model_served": p.served, "model_wait_s": p.wait_sum_s, **stats}
        first = pool.stats()  # type: ignore[attr-defined]
        out: dict[str, Any] = {key: sum(m[key] for m in by_model.values()) for key in first
                               if key != "kv_capacity"}
        out["kv_capacity_token_s"] = sum(m["kv_capacity_token_s"] for m in by_model.values())
        out["kv_capacity"] = first["kv_capacity"]   # per replica of the primary pool
        out["pools"] = by_model
        return out

