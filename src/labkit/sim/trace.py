"""The audit trail: what happened to one request, and why.

For any request a learner (or a regulator) can ask: which path did it take,
what did every attempt at the model come to, which model version answered,
was the cache hit or stale, which fallback answered and why, and which
budget did it break.  Everything is read back from the run's records and
attempt log, so the trail cannot disagree with the summary.
"""

from __future__ import annotations

from typing import Any

from labkit.knobs import KnobError
from labkit.sim.codes import (
    ATTEMPT_RESULTS,
    CACHE_HITS,
    CACHE_STATES,
    OUTCOMES,
    REASONS,
    Path,
    Reason,
    answering_fallback,
    path_names,
)

__all__ = ["trace"]


def trace(result: Any, request_id: int) -> dict[str, Any]:
    """The audit trail of request ``request_id`` in ``result``."""
    records = result.records
    if isinstance(request_id, bool) or not 0 <= int(request_id) < len(records):
        raise KnobError(f"request id must be in 0..{len(records) - 1}, got {request_id!r}")
    row = records[int(request_id)]
    sc = result.scenario
    path = path_names(int(row["path"]))
    att = result.attempts[result.attempts["request"] == int(request_id)]
    attempts = [{
        "attempt": int(a["attempt"]),
        "start_s": float(a["start_s"]),
        "end_s": float(a["end_s"]),
        "result": ATTEMPT_RESULTS[a["result"]],
        "model_call": bool(a["model_call"]),
        "queue_wait_ms": 1000.0 * float(a["wait_s"]),
        "batch_size": int(a["batch_size"]),
    } for a in sorted(att, key=lambda a: (a["attempt"], a["start_s"]))]
    # the release in force when the primary was last called (the arrival if never called):
    # a scheduled change of model.version splits the run's records between two releases
    called = [a["start_s"] for a in attempts if a["model_call"]]
    version = result.scenario_at(called[-1] if called else float(row["arrival_s"])).model.version
    outcome = OUTCOMES[row["outcome"]]
    fallback = answering_fallback(int(row["path"])) if outcome == "degraded" else None
    answered_by = None
    if outcome == "ok":
        answered_by = ("cache" if row["cache"] in CACHE_HITS else
                       "batch_store" if row["path"] & Path.STORE
                       else f"primary model {version}")
    elif outcome == "degraded":
        answered_by = f"fallback: {fallback}"
    latency = float(row["latency_ms"])
    broken = []
    budget = sc.budget
    if outcome in ("ok", "degraded"):
        if budget.p95_ms is not None and latency > budget.p95_ms:
            broken.append(f"latency {latency:.0f} ms > p95 budget {budget.p95_ms:g} ms")
        if budget.quality is not None and row["quality"] < budget.quality:
            broken.append(f"quality {row['quality']:.2f} < floor {budget.quality:g}")
    else:
        success = budget.knob_values()["budget.success_rate"]
        broken.append(f"no answer ({outcome}): counts against success_rate {success:g}")
    if budget.cost_per_1k is not None and 1000.0 * row["cost"] > budget.cost_per_1k:
        broken.append(f"cost {1000.0 * row['cost']:.2f} per 1k > budget "
                      f"{budget.cost_per_1k:g}")
    audit = sc.audit.enabled
    unknown = "not logged (audit.enabled is off)"
    harm = float(row["harm_score"])
    return {
        "request": int(request_id),
        "seed": result.seed,
        "arrival_s": float(row["arrival_s"]),
        "end_s": float(row["end_s"]),
        "latency_ms": latency,
        "outcome": outcome,
        "reason": REASONS[row["reason"]] or None,
        "path": path,
        "prompt": int(row["prompt"]),
        "cache": CACHE_STATES[row["cache"]],
        "stale_answer": bool(row["stale"]),
        "attempts": attempts,
        "model": {"name": "primary", "version": version if audit else unknown},
        "data_snapshot": _snapshot(sc, row, path) if audit else unknown,
        "guardrail": ({"enabled": sc.guardrail.enabled, "threshold": sc.guardrail.threshold,
                       "harm_score": harm if harm >= 0 else None,
                       "blocked": bool(row["reason"] == Reason.BLOCKED)} if audit else unknown),
        "harmful_answer_delivered": bool(row["harmful"]),
        "answered_by": answered_by,
        "fallback": fallback,
        "fallback_why": REASONS[row["reason"]] if fallback else None,
        "quality": float(row["quality"]),
        "cost": float(row["cost"]),
        "write": bool(row["write"]),
        "unauthorised_write": bool(row["unauthorised"]),
        "retrieval_leak": bool(row["leak"]),
        "budgets_broken": broken,
    }


def _snapshot(sc: Any, row: Any, path: list[str]) -> str:
    """Which data the answer was built from: a batch run, an index build or live data."""
    t = float(row["arrival_s"])
    if "store" in path:
        interval = sc.serving.batch_interval_s
        return f"batch-job@{interval * int(t // interval):g}s"
    if "retrieval" in path:
        refresh = sc.retrieval.index_refresh_s
        return f"retrieval-index@{refresh * int(t // refresh):g}s"
    if row["cache"] in CACHE_HITS:
        return "cached answer (stored earlier; see cache state)"
    return "live request only (no stored data)"
