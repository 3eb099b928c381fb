"""Results of one run: per-request records, per-attempt log, summary, time series.

Everything is derived from two immutable numpy structured arrays:

* ``records``: one row per request, with its one outcome;
* ``attempts``: one row per attempt at the primary model (including attempts
  refused before reaching it, flagged ``model_call = False``);
* in token mode (``llm.enabled``), ``tokens``: one row per request with its
  prompt and output lengths, the tokens its model calls were billed for, and
  the time to first token (TTFT, from arrival) and time per output token
  (TPOT, the mean gap between its later tokens) of the call that answered it;
* in token mode with a router of two pools (``router.policy`` ``classifier``
  or ``cascade``), ``model_samples``: each model's pool sampled on its own
  (``samples`` and ``token_samples`` add them up);
* in agent mode (``agent.enabled``), the records are the tasks' step model
  calls, and ``tasks`` (one row per task) and ``steps`` (one row per step, the
  audit trail) come with them (:mod:`labkit.sim.agent.records`).

The summary and the time series are computed from them on demand, so no
quantity is counted twice in two places.  Latency percentiles are over
requests that got an answer (``ok`` or ``degraded``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from labkit.sim.codes import (
    ANSWERED,
    ATTEMPT_RESULTS,
    CACHE_HITS,
    CACHE_STATES,
    DEGRADED,
    FALLBACKS,
    OK,
    OUTCOMES,
    REASONS,
    CacheState,
    Reason,
    answering_fallback,
)

__all__ = ["Result", "RECORD_DTYPE", "ATTEMPT_DTYPE", "TOKEN_DTYPE", "BUDGETS",
           "TOKEN_BUDGETS"]

RECORD_DTYPE = np.dtype([
    ("id", "i8"), ("arrival_s", "f8"), ("end_s", "f8"), ("latency_ms", "f8"),
    ("outcome", "u1"), ("reason", "u1"), ("path", "u2"), ("attempts", "u1"),
    ("model_calls", "u1"), ("cache", "u1"), ("batch_size", "u2"), ("cost", "f8"),
    ("quality", "f8"), ("stale", "?"), ("freshness_lag_s", "f8"), ("write", "?"),
    ("unauthorised", "?"), ("review_wait_s", "f8"), ("leak", "?"), ("prompt", "i8"),
    ("harm_score", "f8"), ("harmful", "?"),
])

ATTEMPT_DTYPE = np.dtype([
    ("request", "i8"), ("attempt", "u1"), ("start_s", "f8"), ("end_s", "f8"),
    ("result", "u1"), ("batch_size", "u2"), ("wait_s", "f8"), ("model_call", "?"),
])

TOKEN_DTYPE = np.dtype([
    ("id", "i8"), ("prompt_tokens", "i8"), ("output_tokens", "i8"), ("tokens_in", "i8"),
    ("tokens_out", "i8"), ("ttft_ms", "f8"), ("tpot_ms", "f8"), ("preemptions", "i4"),
    ("prefix_hit", "?"),
])

#: Budget knob -> (summary metric, direction).
BUDGETS: dict[str, tuple[str, str]] = {
    "p95_ms": ("latency_ms.p95", "max"),
    "p99_ms": ("latency_ms.p99", "max"),
    "cost_per_1k": ("cost.per_1k", "max"),
    "success_rate": ("success_rate", "min"),
    "quality": ("quality_mean", "min"),
    "ttft_p95_ms": ("ttft_ms.p95", "max"),
    "tpot_p95_ms": ("tpot_ms.p95", "max"),
}
#: The budgets judged only in token mode (their metrics exist only there).
TOKEN_BUDGETS: frozenset[str] = frozenset({"ttft_p95_ms", "tpot_p95_ms"})


@dataclass(frozen=True, eq=False)
class Result:
    """What one call of :func:`labkit.sim.simulate` produced."""

    scenario: Any
    seed: int
    records: np.ndarray
    attempts: np.ndarray
    samples: np.ndarray          # columns t_s, queue_len, provisioned, ready, busy
    totals: dict[str, Any] = field(repr=False)
    tokens: np.ndarray | None = field(default=None, repr=False)   # token mode only
    token_samples: np.ndarray | None = field(default=None, repr=False)  # t_s, running,
    #                                                    kv_tokens, tokens produced so far
    tasks: np.ndarray | None = field(default=None, repr=False)    # agent mode only
    steps: np.ndarray | None = field(default=None, repr=False)    # agent mode only
    # token mode with a router of two pools: each model's own samples, by model name;
    # columns t_s, queue_len, provisioned, ready, busy, running, kv_tokens, tokens so far
    model_samples: dict[str, np.ndarray] | None = field(default=None, repr=False)
    # the run's scheduled changes (labkit.sim.Change), in time order; ``scenario`` is the
    # scenario at the start, :meth:`scenario_at` the one in force at a moment
    changes: tuple[Any, ...] = field(default=(), repr=False)

    outcome_names = OUTCOMES
    reason_names = REASONS
    attempt_result_names = ATTEMPT_RESULTS
    cache_state_names = CACHE_STATES

    def __repr__(self) -> str:
        s = self.summary
        return (f"<Result seed={self.seed} requests={s['requests']} outcomes={s['outcomes']} "
                f"p95_ms={s['latency_ms']['p95']:.1f}>")

    def _repr_html_(self) -> str:
        """A summary table, shown when a notebook cell ends with a result."""
        from labkit.sim.report import format_html

        return format_html(self)

    def scenario_at(self, t_s: float) -> Any:
        """The scenario in force at ``t_s`` seconds: :attr:`scenario` with every scheduled
        change made at or before ``t_s`` applied."""
        current = self.scenario
        for at_s, after in self._schedule:
            if at_s > t_s:
                break
            current = after
        return current

    @cached_property
    def _schedule(self) -> list[tuple[float, Any]]:
        if not self.changes:
            return []
        from labkit.sim.changes import schedule

        return schedule(self.scenario, list(self.changes))

    # ------------------------------------------------------------- summary
    @cached_property
    def summary(self) -> dict[str, Any]:
        """Headline numbers of the run, including every budget judged."""
        r, a, t, sc = self.records, self.attempts, self.totals, self.scenario
        n = len(r)
        counts = np.bincount(r["outcome"], minlength=len(OUTCOMES))
        outcomes = {name: int(counts[i]) for i, name in enumerate(OUTCOMES)}
        answered = r[np.isin(r["outcome"], ANSWERED)]
        lat = answered["latency_ms"]
        latency = ({"mean": float(lat.mean()), "p50": _pct(lat, 50), "p95": _pct(lat, 95),
                    "p99": _pct(lat, 99), "max": float(lat.max())} if len(lat) else
                   {"mean": 0.0, "p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0})
        looked = r["cache"] != CacheState.NONE
        hits = np.isin(r["cache"], CACHE_HITS)
        model_calls = int(a["model_call"].sum())
        reached = int((r["model_calls"] > 0).sum())
        duration = sc.load.duration_s
        served = t["model_served"]
        replica_cost = t["replica_seconds"] * sc.model.cost_per_replica_hour / 3600.0
        cost_total = (t["model_cost"] + t["steps_cost"] + t["fallback_cost"] + replica_cost
                      + t["job_cost"])
        if self.tasks is not None:   # agent mode: the tool calls are paid for too
            cost_total += t["tool_cost"]
        writes = r[r["write"] & (r["outcome"] == OK)]
        reviewed = writes["review_wait_s"][~np.isnan(writes["review_wait_s"])]
        answered_by = [answering_fallback(int(p)) for p in r["path"][r["outcome"] == DEGRADED]]
        fb = {name: answered_by.count(name) for name in FALLBACKS}
        summary: dict[str, Any] = {
            "requests": n,
            "outcomes": outcomes,
            "success_rate": (outcomes["ok"] + outcomes["degraded"]) / n if n else 1.0,
            "latency_ms": latency,
            "model_wait_ms_mean": 1000.0 * t["model_wait_s"] / served if served else 0.0,
            "throughput_rps": len(answered) / duration,
            "cache_hit_ratio": float(hits.sum() / looked.sum()) if looked.any() else 0.0,
            "stale_hit_ratio": (float((r["cache"] == CacheState.STALE).sum() / looked.sum())
                                if looked.any() else 0.0),
            "model_calls": model_calls,
            "amplification": model_calls / reached if reached else 0.0,
            "retries": int(t["retries"]),
            "fallback_calls": int(t["fallback_calls"]),
            "steps_calls": dict(t["steps_calls"]),
            "fallback_by_path": fb,
            "wasted_work_s": float(t["wasted_s"]),
            "wasted_calls": int(t["wasted_calls"]),
            "breaker_opens": int(t["breaker_opens"]),
            "quality_mean": float(answered["quality"].mean()) if len(answered) else 0.0,
            "stale_answer_ratio": float(answered["stale"].mean()) if len(answered) else 0.0,
            "freshness_lag_s_mean": (float(answered["freshness_lag_s"][answered["stale"]].mean())
                                     if answered["stale"].any() else 0.0),
            "leaks": int(r["leak"].sum()),
            "harmful_answers": int(r["harmful"].sum()),
            "blocked_answers": int((r["reason"] == Reason.BLOCKED).sum()),
            "writes": int(len(writes)),
            "unauthorised_writes": int(r["unauthorised"].sum()),
            "review_wait_ms_p95": 1000.0 * _pct(reviewed, 95) if len(reviewed) else 0.0,
            "review_wait_ms_mean": 1000.0 * float(reviewed.mean()) if len(reviewed) else 0.0,
            "replicas_mean": t["replica_seconds"] / max(t["horizon_s"], 1e-9),
            "utilisation": (t["busy_seconds"] / t["replica_seconds"]
                            if t["replica_seconds"] else 0.0),
            "cost": {
                "total": cost_total,
                "per_1k": 1000.0 * cost_total / n if n else 0.0,
                "calls": t["model_cost"],
                "steps": t["steps_cost"],
                "fallback": t["fallback_cost"],
                "replicas": replica_cost,
                "jobs": t["job_cost"],
            },
        }
        if "sessions_opened" in t:   # stateful mode (model.session_affinity)
            summary["sessions"] = {
                "opened": int(t["sessions_opened"]), "moved": int(t["sessions_moved"]),
                "lost": int(t["sessions_lost"]), "warmups": int(t["session_warmups"]),
                "warmup_s": float(t["session_warmup_s"]),
                "replica_imbalance": float(t["replica_imbalance"])}
        if "steps_hops" in t:
            summary["steps"] = self._steps_summary()
        if self.tokens is not None:
            summary.update(self._token_summary())
            tokens = summary["tokens"]   # the token part of cost.calls
            summary["cost"]["input_tokens"] = (tokens["input"]
                                               * sc.model.cost_per_1m_input_tokens / 1e6)
            summary["cost"]["output_tokens"] = (tokens["output"]
                                                * sc.model.cost_per_1m_output_tokens / 1e6)
            if "router" in t:
                _router_summary(summary, t, sc)
            if "semantic_lookups" in t:
                looked_up = t["semantic_lookups"]
                summary["semantic_lookups"] = int(looked_up)
                summary["semantic_hits"] = int(t["semantic_hits"])
                summary["semantic_false_hits"] = int(t["semantic_false_hits"])
                summary["semantic_hit_ratio"] = (t["semantic_hits"] / looked_up if looked_up
                                                 else 0.0)
        if self.tasks is not None:
            from labkit.sim.agent.records import agent_summary

            summary["cost"]["tools"] = t["tool_cost"]
            summary.update(agent_summary(self))
        summary["budgets"] = judge_budgets(summary, sc.budget)
        summary["all_budgets_pass"] = all(b["pass"] for b in summary["budgets"].values())
        return summary

    def _steps_summary(self) -> dict[str, Any]:
        """Data-path steps with capacity or random times: per step, its servers (0:
        unlimited), calls served, mean servers busy, utilisation and the wait for a server."""
        t = self.totals
        horizon = max(t["horizon_s"], 1e-9)
        steps = {}
        for name, hop in t["steps_hops"].items():
            waits = 1000.0 * np.asarray(hop["waits_s"], dtype=float)
            servers = hop["servers"] or 0
            busy = hop["busy_s"] / horizon
            steps[name] = {
                "servers": servers, "calls": len(waits), "busy_servers_mean": busy,
                "utilisation": busy / servers if servers else 0.0,
                "wait_ms_mean": float(waits.mean()) if len(waits) else 0.0,
                "wait_ms_p95": _pct(waits, 95) if len(waits) else 0.0,
            }
        return steps

    def _token_summary(self) -> dict[str, Any]:
        tok, t, sc = self.tokens, self.totals, self.scenario
        assert tok is not None
        answered = tok[~np.isnan(tok["ttft_ms"])]
        tpot = answered["tpot_ms"][~np.isnan(answered["tpot_ms"])]
        output = int(tok["tokens_out"].sum())
        kv_denominator = t["kv_capacity_token_s"]
        return {
            "ttft_ms": _percentiles(answered["ttft_ms"]),
            "tpot_ms": _percentiles(tpot),
            "tokens": {"input": int(tok["tokens_in"].sum()), "output": output},
            "throughput_tokens_s": output / sc.load.duration_s,
            "batch_seqs_mean": (t["seq_iters"] / t["decode_iters"] if t["decode_iters"]
                                else 0.0),
            "kv_utilization_mean": t["kv_token_s"] / kv_denominator if kv_denominator else 0.0,
            "preemptions": int(t["preemptions"]),
            "prefix_hit_ratio": t["prefix_hits"] / t["prefills"] if t["prefills"] else 0.0,
        }

    # ---------------------------------------------------------- time series
    def timeseries(self, bucket_s: float = 1.0) -> dict[str, np.ndarray]:
        """Per-bucket counts and percentiles, bucket ``k`` covering [k*b, (k+1)*b)."""
        if bucket_s <= 0:
            raise ValueError(f"bucket_s must be > 0, got {bucket_s}")
        r, a = self.records, self.attempts
        horizon = max(self.scenario.load.duration_s, float(np.nanmax(r["end_s"])) if len(r) else 0.0)
        nb = max(1, math.ceil(horizon / bucket_s))

        def count(times: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
            idx = np.minimum((times / bucket_s).astype(np.int64), nb - 1)
            return np.bincount(idx, weights=weights, minlength=nb)[:nb]

        out: dict[str, np.ndarray] = {"t_s": np.arange(nb) * bucket_s,
                                      "arrivals": count(r["arrival_s"])}
        for code, name in enumerate(OUTCOMES):
            out[name] = count(r["end_s"][r["outcome"] == code])
        calls = a[a["model_call"]]
        out["model_calls"] = count(calls["start_s"])
        out["retries"] = count(calls["start_s"][calls["attempt"] > 1])
        s = self.samples
        sidx = np.minimum((s[:, 0] / bucket_s).astype(np.int64), nb - 1)
        for col, name in ((1, "queue_len"), (2, "replicas"), (3, "ready"), (4, "busy")):
            series = np.zeros(nb)
            series[sidx] = s[:, col]  # the last sample in each bucket
            if len(s):
                # carry the last known value forward through buckets with no sample
                filled = np.maximum.accumulate(np.where(np.isin(np.arange(nb), sidx),
                                                        np.arange(nb), 0))
                series = series[filled]
            out[name] = series
        answered = r[np.isin(r["outcome"], ANSWERED)]
        bidx = np.minimum((answered["end_s"] / bucket_s).astype(np.int64), nb - 1)
        for q in (50, 95, 99):
            out[f"p{q}_ms"] = _bucket_percentile(answered["latency_ms"], bidx, nb, q)
        out["cost"] = count(r["end_s"], r["cost"]) + (
            self.scenario.model.cost_per_replica_hour / 3600.0 * out["replicas"] * bucket_s)
        if self.token_samples is not None:
            out.update(self._token_series(nb, bucket_s))
        return out

    def _token_series(self, nb: int, bucket_s: float) -> dict[str, np.ndarray]:
        """Output tokens produced per bucket; running sequences and KV tokens (last sample);
        the p95 TTFT and TPOT of the answers that ended in it."""
        ts = self.token_samples
        assert ts is not None
        idx = np.minimum((ts[:, 0] / bucket_s).astype(np.int64), nb - 1)
        last = np.full(nb, -1, dtype=np.int64)
        last[idx] = np.arange(len(ts))          # the last sample in each bucket
        filled = np.maximum.accumulate(last)    # carried forward through empty buckets
        out = {}
        for col, name in ((1, "running_seqs"), (2, "kv_tokens")):
            out[name] = np.where(filled >= 0, ts[np.maximum(filled, 0), col], 0.0)
        # TTFT and TPOT of the requests the model answered, by the bucket they ended in
        tok, r = self.tokens, self.records
        assert tok is not None
        has = ~np.isnan(tok["ttft_ms"])
        bidx = np.minimum((r["end_s"][has] / bucket_s).astype(np.int64), nb - 1)
        out["ttft_p95_ms"] = _bucket_percentile(tok["ttft_ms"][has], bidx, nb, 95)
        has_tpot = has & ~np.isnan(tok["tpot_ms"])
        bidx = np.minimum((r["end_s"][has_tpot] / bucket_s).astype(np.int64), nb - 1)
        out["tpot_p95_ms"] = _bucket_percentile(tok["tpot_ms"][has_tpot], bidx, nb, 95)
        # tokens produced by each bucket's edge (linear between samples), the rest at the end
        edges = np.arange(1, nb + 1) * bucket_s
        produced = np.interp(edges, ts[:, 0], ts[:, 3])
        produced[-1] = self.totals["tokens_produced"]
        out["tokens_out"] = np.diff(produced, prepend=0.0)
        models = self.model_samples
        if models is None:   # KV capacity of the provisioned replicas, for a share of it
            out["kv_capacity_tokens"] = self.totals["kv_capacity"] * _last_sample(
                self.samples[:, 0], self.samples[:, 2], nb, bucket_s)
            return out
        capacity = np.zeros(nb)
        for name, ms in models.items():   # each model's pool on its own, by model name
            pool = self.totals["pools"][name]
            for col, key in ((1, "queue_len"), (2, "replicas"), (4, "busy"),
                             (5, "running_seqs"), (6, "kv_tokens")):
                out[f"{name}_{key}"] = _last_sample(ms[:, 0], ms[:, col], nb, bucket_s)
            capacity += pool["kv_capacity"] * out[f"{name}_replicas"]
            produced = np.interp(edges, ms[:, 0], ms[:, 7])
            produced[-1] = pool["tokens_produced"]
            out[f"{name}_tokens_out"] = np.diff(produced, prepend=0.0)
        out["kv_capacity_tokens"] = capacity
        return out

    # ------------------------------------------------------------- export
    def trace(self, request_id: int) -> dict[str, Any]:
        """The audit trail of one request (see :mod:`labkit.sim.trace`)."""
        from labkit.sim.trace import trace

        return trace(self, request_id)

    def task_trace(self, task_id: int) -> dict[str, Any]:
        """Agent mode: the audit trail of one task, step by step
        (see :func:`labkit.sim.agent.records.task_trace`)."""
        from labkit.sim.agent.records import task_trace

        return task_trace(self, task_id)

    def to_dict(self, timeseries: bool = False) -> dict[str, Any]:
        """A JSON-ready dict: the summary plus seed and changed knobs."""
        out: dict[str, Any] = {"seed": self.seed, "knobs": _jsonable(self.scenario.diff())}
        if self.changes:
            out["changes"] = [{"at_s": c.at_s, "knobs": _jsonable(dict(c.knobs))}
                              for c in self.changes]
        out.update(self.summary)
        if timeseries:
            out["timeseries"] = {k: [None if isinstance(x, float) and math.isnan(x) else x
                                     for x in v.tolist()]
                                 for k, v in self.timeseries(1.0).items()}
        return out


def _router_summary(summary: dict[str, Any], t: dict[str, Any], sc: Any) -> None:
    """Token mode with a router: who answered, escalations, good answers, and the bill by
    model.  With two pools (``classifier``, ``cascade``) the replicas, utilisation, batch,
    KV use and tokens produced are the two pools together, and ``router.pools`` has each
    model's own; ``cost.replicas`` pays for both (``cost.small_replicas`` is the small
    model's part)."""
    rt, cost, r = t["router"], summary["cost"], sc.router
    summary["router"] = {k: rt[k] for k in ("policy", "small", "large", "escalated", "good",
                                             "good_ratio", "small_calls", "large_calls")}
    small_in, small_out = rt["small_tokens"]["input"], rt["small_tokens"]["output"]
    large_in, large_out = rt["large_tokens"]["input"], rt["large_tokens"]["output"]
    cost["input_tokens"] = (small_in * r.small_cost_per_1m_input_tokens
                            + large_in * sc.model.cost_per_1m_input_tokens) / 1e6
    cost["output_tokens"] = (small_out * r.small_cost_per_1m_output_tokens
                             + large_out * sc.model.cost_per_1m_output_tokens) / 1e6
    cost["small_model"], cost["large_model"] = rt["small_cost"], rt["large_cost"]
    price_s = sc.model.cost_per_replica_hour / 3600.0
    pools = t.get("pools")
    cost["small_replicas"] = (pools["small"]["replica_seconds"] * price_s if pools else 0.0)
    if pools:
        horizon = max(t["horizon_s"], 1e-9)
        summary["router"]["pools"] = {name: {
            "replicas_mean": p["replica_seconds"] / horizon,
            "utilisation": p["busy_seconds"] / p["replica_seconds"] if p["replica_seconds"]
            else 0.0,
            "batch_seqs_mean": p["seq_iters"] / p["decode_iters"] if p["decode_iters"] else 0.0,
            "kv_utilization_mean": (p["kv_token_s"] / p["kv_capacity_token_s"]
                                    if p["kv_capacity_token_s"] else 0.0),
            "preemptions": int(p["preemptions"]),
            "tokens_produced": int(p["tokens_produced"]),
        } for name, p in pools.items()}


def judge_budgets(summary: dict[str, Any], budget: Any) -> dict[str, dict[str, Any]]:
    """Each budget's limit, the run's actual value and whether it holds.

    A budget that is off (``None``: not judged) always holds; its ``limit`` is
    reported as its knob value (0).
    """
    out = {}
    knob_values = budget.knob_values()
    for name, (metric, direction) in BUDGETS.items():
        if name in TOKEN_BUDGETS and metric.split(".")[0] not in summary:
            continue   # request mode: no token metrics to judge
        limit = getattr(budget, name)
        actual: Any = summary
        for part in metric.split("."):
            actual = actual[part]
        judged = limit is not None
        ok = (actual <= limit if direction == "max" else actual >= limit) if judged else True
        out[name] = {"limit": knob_values[f"budget.{name}"], "actual": float(actual),
                     "pass": bool(ok), "judged": judged}
    return out


def _last_sample(t_s: np.ndarray, values: np.ndarray, n_buckets: int,
                 bucket_s: float) -> np.ndarray:
    """Each bucket's last sample, carried forward through buckets with none (0 before the
    first).

    >>> _last_sample(np.array([0.0, 1.0, 3.0]), np.array([5.0, 6.0, 7.0]), 5, 1.0)
    array([5., 6., 6., 7., 7.])
    """
    idx = np.minimum((t_s / bucket_s).astype(np.int64), n_buckets - 1)
    last = np.full(n_buckets, -1, dtype=np.int64)
    last[idx] = np.arange(len(t_s))
    filled = np.maximum.accumulate(last)
    return np.where(filled >= 0, values[np.maximum(filled, 0)], 0.0)


def _bucket_percentile(values: np.ndarray, bucket: np.ndarray, n_buckets: int,
                       q: float) -> np.ndarray:
    """Per-bucket percentile (numpy's linear method), NaN for empty buckets, vectorised.

    >>> _bucket_percentile(np.array([1., 2., 3., 10.]), np.array([0, 0, 0, 2]), 3, 50)
    array([ 2., nan, 10.])
    """
    order = np.lexsort((values, bucket))
    sorted_values = values[order]
    counts = np.bincount(bucket, minlength=n_buckets)[:n_buckets]
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    out = np.full(n_buckets, np.nan)
    has = counts > 0
    pos = (q / 100.0) * (counts[has] - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, counts[has] - 1)
    frac = pos - lo
    base = starts[has]
    out[has] = sorted_values[base + lo] * (1 - frac) + sorted_values[base + hi] * frac
    return out


def _percentiles(values: np.ndarray) -> dict[str, float]:
    if not len(values):
        return {"mean": 0.0, "p50": 0.0, "p95": 0.0, "p99": 0.0}
    return {"mean": float(values.mean()), "p50": _pct(values, 50), "p95": _pct(values, 95),
            "p99": _pct(values, 99)}


def _pct(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else 0.0


def _jsonable(knobs: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in knobs.items()}
