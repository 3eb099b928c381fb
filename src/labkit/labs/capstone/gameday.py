"""Part 2, the game day: an incident replayed with what an on-call engineer sees, and no more.

The team's support assistant (:data:`~labkit.labs.capstone.scenarios.TEAM_DESIGN` at the usual
traffic) is hit by one fault, drawn per learner
(:func:`~labkit.labs.capstone.scenarios.incident_case`): a slow retrieval dependency, an
upstream quota cut, lost replicas, or a bad release raising errors.  The replay starts with the
fault in place (the simulator has no knob that changes mid-run, so the day is replayed from the
moment the fault began).  The learner sees :class:`GameDay`: the dashboards (charts from
:mod:`labkit.viz`), the alerts that fired and a sample of audit records; never the knobs or the
fault.

Three answers are graded, each against the learner's own incident:

* the **diagnosis**, ``{"component": ..., "mechanism": ...}`` from
  :data:`~labkit.labs.capstone.scenarios.COMPONENTS` and
  :data:`~labkit.labs.capstone.scenarios.MECHANISMS`;
* the **containment**, ``{"action": ..., <its parameters>}`` from
  :data:`~labkit.labs.capstone.scenarios.ACTIONS`, judged by simulating the incident with the
  action applied on seeds the learner never sees: the service level (TTFT p95, success, at
  most 2% of answers from a fallback) must hold on every one;
* the **time to mitigate** the containment achieves (the action's minutes to take effect),
  which earns its point only when the containment works and is within the learner's bound.

The minutes come from the menu, not from the replay: the four faults act on knobs that hold for
a whole run (``retrieval.latency_ms``, ``model.upstream_tpm``, ``model.replicas``,
``model.version``), so an action cannot take effect at a chosen minute, and splicing an incident
run with a contained one would only restate the menu's minutes (the contained run carries none
of the incident's backlog).  Everything here runs in the learner's kernel, so a learner can read
their own case (:func:`~labkit.labs.capstone.scenarios.incident_case`); the grader judges the
case of the student id it grades, and the tutor's postmortem mark is what checks the incident
was read.  Both limits are set out in ``source/README.md`` (*Game day: limits*).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from labkit.labs.capstone import scenarios as sc
from labkit.labs.common import Table, check_seeds, table

__all__ = ["incident_knobs", "contained_knobs", "diagnosis_problems", "containment_problems",
           "judge_diagnosis", "judge_containment", "judge_ttm", "ttm_min", "GameDay",
           "game_day", "try_containment", "menu", "clock"]

_DIAGNOSIS_KEYS = ("component", "mechanism")


def clock(t_s: float) -> str:
    """A time of the compressed day as ``HH:MM``.

    >>> clock(60.0)
    '12:00'
    """
    minutes = int(round(t_s / sc.DAY_S * 24 * 60))
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _fault(learner: str | None) -> str:
    return str(sc.incident_case(learner=learner)["fault"])


def incident_knobs(fault: str) -> dict[str, Any]:
    """The knobs of the incident replay for ``fault`` (the grader's; never shown)."""
    if fault not in sc.FAULTS:
        raise ValueError(f"fault must be one of {', '.join(sc.FAULTS)}, got {fault!r}")
    return {**sc.BASE, **sc.INCIDENT_PRODUCT, **sc.TEAM_DESIGN, **sc.FAULTS[fault]}


def contained_knobs(fault: str, containment: Mapping[str, Any]) -> dict[str, Any]:
    """The incident's knobs with the containment applied (a well-formed containment)."""
    knobs = incident_knobs(fault)
    action = containment["action"]
    if action == "gate-retrieval":
        knobs["retrieval.run_fraction"] = float(containment["run_fraction"])
    elif action == "trim-context":
        knobs["load.prompt_tokens"] = int(containment["prompt_tokens"])
    elif action == "enable-fallback":
        knobs["fallback.chain"] = ("small_model", "safe_message")
    elif action == "scale-out":
        knobs["model.replicas"] = int(knobs["model.replicas"]) + int(containment["add_replicas"])
    elif action == "rollback":
        version = containment["version"]
        knobs["model.version"] = version
        if version == sc.GOOD_VERSION:
            knobs["model.error_rate"] = sc.BASE["model.error_rate"]
        elif version != "v3":
            knobs["model.error_rate"] = sc.RETIRED_ERROR_RATE
    elif action == "request-quota-increase":
        knobs["model.upstream_tpm"] = sc.INCIDENT_PRODUCT["model.upstream_tpm"]
    # rebuild-index and restart-replicas change nothing the fault depends on
    return knobs


def menu() -> Table:
    """The containment menu: each action, its parameters and its minutes to take effect."""
    rows = []
    for a in sc.ACTIONS.values():
        params = "; ".join(f"{k}: one of {', '.join(map(str, v))}" for k, v in a.params.items())
        minutes = (f"{a.minutes:g} + {a.per_unit_min:g} per {a.scaled_by}" if a.scaled_by
                   else f"{a.minutes:g}")
        rows.append({"action": a.name, "what it does": a.text, "parameters": params or "-",
                     "minutes to take effect": minutes})
    return table(rows)


# ------------------------------------------------------------------ forms
def diagnosis_problems(answer: Any) -> list[str]:
    """What is wrong with the form of a diagnosis ([] = none)."""
    if answer is None:
        return ["Diagnosis: not answered yet; set diagnosis to a dict with 'component' and "
                "'mechanism'."]
    if not isinstance(answer, Mapping):
        return [f"Diagnosis: the answer must be a dict with 'component' and 'mechanism', got "
                f"{type(answer).__name__}."]
    problems = [f"Diagnosis: unknown key {k!r}; use only 'component' and 'mechanism'."
                for k in answer if k not in _DIAGNOSIS_KEYS]
    for key, options in (("component", sc.COMPONENTS), ("mechanism", sc.MECHANISMS)):
        if key not in answer:
            problems.append(f"Diagnosis: '{key}' is missing.")
        elif answer[key] not in options:
            problems.append(f"Diagnosis: '{key}' must be one of {', '.join(options)}, got "
                            f"{answer[key]!r}.")
    return problems


def containment_problems(answer: Any) -> list[str]:
    """What is wrong with the form of a containment ([] = none)."""
    if answer is None:
        return ["Containment: not answered yet; set containment to a dict such as "
                "{'action': ..., <its parameters>}."]
    if not isinstance(answer, Mapping) or "action" not in answer:
        return ["Containment: the answer must be a dict with an 'action' from the menu and "
                "that action's parameters."]
    name = answer["action"]
    if name not in sc.ACTIONS:
        return [f"Containment: 'action' must be one of {', '.join(sc.ACTIONS)}, got {name!r}."]
    action = sc.ACTIONS[name]
    problems = [f"Containment: {name} takes no parameter {k!r}."
                for k in answer if k != "action" and k not in action.params]
    for key, options in action.params.items():
        if key not in answer:
            problems.append(f"Containment: {name} needs '{key}' (one of "
                            f"{', '.join(map(str, options))}).")
        elif isinstance(answer[key], bool) or answer[key] not in options:
            problems.append(f"Containment: '{key}' must be one of "
                            f"{', '.join(map(str, options))}, got {answer[key]!r}.")
    return problems


# ------------------------------------------------------------------ runs
@lru_cache(maxsize=32)
def _run(fault: str, containment: tuple[tuple[str, Any], ...] | None, seed: int) -> Any:
    from labkit.sim import Scenario, simulate  # deferred: question cells stay light

    knobs = (incident_knobs(fault) if containment is None
             else contained_knobs(fault, dict(containment)))
    return simulate(Scenario.from_knobs(knobs), seed=seed)


def _slo(result: Any) -> dict[str, float]:
    s = result.summary
    ttft = s.get("ttft_ms", {}).get("p95")
    requests = max(1, int(s["requests"]))
    return {"ttft_p95_ms": math.nan if ttft is None else float(ttft),
            "success_rate": float(s["success_rate"]),
            "degraded_share": int(s["outcomes"]["degraded"]) / requests}


def _slo_holds(m: Mapping[str, float]) -> dict[str, bool]:
    return {"ttft": not math.isnan(m["ttft_p95_ms"]) and m["ttft_p95_ms"] <= sc.SLO_TTFT_P95_MS,
            "success": m["success_rate"] >= sc.SLO_SUCCESS,
            "fallback": m["degraded_share"] <= sc.SLO_DEGRADED_MAX}


def _key(answer: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((str(k), v) for k, v in answer.items()))


def ttm_min(answer: Mapping[str, Any]) -> float:
    """Minutes from the decision to the containment taking effect (a well-formed answer)."""
    return sc.ACTIONS[answer["action"]].ttm_min(answer)


# ------------------------------------------------------------------ judges
def judge_diagnosis(answer: Any, *, seeds: Sequence[int], learner: str | None = None) -> list[str]:
    """The diagnosis must name the fault's component and mechanism."""
    check_seeds(seeds)
    form = diagnosis_problems(answer)
    if form:
        return form
    component, mechanism = sc.DIAGNOSES[_fault(learner)]
    problems = []
    if answer["component"] != component:
        problems.append("Diagnosis: the component is not the one that failed; compare the "
                        "alerts with where the time or the failures go in the audit records.")
    if answer["mechanism"] != mechanism:
        problems.append("Diagnosis: the mechanism does not explain the dashboards; look at "
                        "what the failed attempts and the slow requests have in common.")
    return problems


def _containment_verdict(answer: Any, seeds: Sequence[int],
                         learner: str | None) -> tuple[list[str], bool]:
    seeds = check_seeds(seeds)
    form = containment_problems(answer)
    if form:
        return form, False
    fault = _fault(learner)
    broken: dict[str, int] = {}
    for seed in seeds:
        for name, ok in _slo_holds(_slo(_run(fault, _key(answer), seed))).items():
            if not ok:
                broken[name] = broken.get(name, 0) + 1
    if not broken:
        return [], True
    words = {"ttft": "TTFT p95", "success": "success rate", "fallback": "share of fallback answers"}
    return [f"Containment: with {answer['action']} the {words[k]} is still outside the service "
            f"level on {n} of {len(seeds)} unseen seeds." for k, n in broken.items()], False


def judge_containment(answer: Any, *, seeds: Sequence[int],
                      learner: str | None = None) -> list[str]:
    """The containment must restore the service level on every seed."""
    return _containment_verdict(answer, seeds, learner)[0]


def judge_ttm(answer: Any, *, seeds: Sequence[int], learner: str | None = None) -> list[str]:
    """The containment must work and take effect within the learner's time-to-mitigate bound."""
    problems, works = _containment_verdict(answer, seeds, learner)
    if not works:
        return (problems if containment_problems(answer) else
                ["Time to mitigate: the containment does not restore the service level, so "
                 "the incident is not mitigated at all."])
    bound = float(sc.incident_case(learner=learner)["ttm_bound_min"])
    took = ttm_min(answer)
    if took > bound:
        return [f"Time to mitigate: {took:g} minutes, more than the {bound:g} your service "
                "allows; a faster containment exists."]
    return []


# ------------------------------------------------------------------ what on-call sees
_ALERTS = (("TTFT p95 above 400 ms", "ttft"), ("answered share below 99%", "answered"),
           ("provider 429s above 1% of calls", "throttled"),
           ("model errors above 2% of calls", "errors"),
           ("model queue above 20 requests", "queue"))


_MIN_CALLS = 20


def _alert_series(result: Any, bucket_s: float) -> dict[str, np.ndarray]:
    from labkit.sim.codes import ATTEMPT_CODE

    ts = result.timeseries(bucket_s=bucket_s)
    n = len(ts["t_s"])
    ended = ts["ok"] + ts["degraded"] + ts["failed"] + ts["rejected"]
    answered = np.where(ended > 0, (ts["ok"] + ts["degraded"]) / np.maximum(ended, 1), 1.0)
    a = result.attempts
    calls = a[a["model_call"] | (a["result"] == ATTEMPT_CODE["throttled"])]
    idx = np.minimum((calls["start_s"] / bucket_s).astype(np.int64), n - 1)
    total = np.bincount(idx, minlength=n)[:n]
    share = {}
    for name, code in (("throttled", "throttled"), ("errors", "error")):
        hits = np.bincount(idx[calls["result"] == ATTEMPT_CODE[code]], minlength=n)[:n]
        # a share needs enough calls to mean something (the first quiet hour has a handful)
        share[name] = np.where(total >= _MIN_CALLS, hits / np.maximum(total, 1), 0.0)
    ttft = ts.get("ttft_p95_ms", np.full(n, np.nan))
    return {"t_s": ts["t_s"], "ttft": np.nan_to_num(ttft) > 400.0, "answered": answered < 0.99,
            "throttled": share["throttled"] > 0.01, "errors": share["errors"] > 0.02,
            "queue": ts["queue_len"] > 20}


class GameDay:
    """The incident as the on-call engineer sees it: dashboards, alerts, audit records.

    Everything is worked out from the run when the object is made, and the run itself is not
    kept: what on-call sees does not lead back to the configuration.
    """

    MAX_AUDIT = 16

    def __init__(self, result: Any):
        bucket_s = sc.DAY_S / 24.0
        series = _alert_series(result, bucket_s)
        rows = []
        for title, key in _ALERTS:
            fired = np.flatnonzero(series[key])
            if len(fired):
                rows.append({"alert": title, "first fired": clock(series["t_s"][fired[0]]),
                             "hours firing": int(len(fired))})
        self._alerts = rows
        r = result.records
        order = np.argsort(-np.nan_to_num(r["latency_ms"], nan=-1.0), kind="stable")
        self._slowest = [int(i) for i in order[: self.MAX_AUDIT]]
        self._failed = [int(i) for i in np.flatnonzero(r["outcome"] >= 2)][: self.MAX_AUDIT]
        self._audit = {rid: _audit_row(result.trace(rid))
                       for rid in dict.fromkeys(self._failed + self._slowest)}
        self._figures = _figures(result, bucket_s)

    @property
    def alerts(self) -> Table:
        """Every alert rule that fired: when first, and in how many hours of the day."""
        return table(self._alerts)

    def audit_sample(self, n: int = 8) -> Table:
        """``n`` audit records (at most 16): the slowest answers and requests with no answer."""
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= self.MAX_AUDIT:
            raise ValueError(f"n must be a whole number from 1 to {self.MAX_AUDIT}, got {n!r}")
        picks = list(dict.fromkeys(self._failed[: n // 2] + self._slowest[:n]))[:n]
        return table([self._audit[rid] for rid in sorted(picks)])

    def dashboards(self) -> list[Any]:
        """The monitoring charts: TTFT, latency, outcomes and the replicas' queue."""
        return list(self._figures)

    def __repr__(self) -> str:
        return ("GameDay: .dashboards() (charts), .alerts (what fired), .audit_sample() "
                "(audit records)")


def _audit_row(t: Mapping[str, Any]) -> dict[str, Any]:
    return {"request": t["request"], "time": clock(t["arrival_s"]), "outcome": t["outcome"],
            "reason": t["reason"] or "-", "latency_ms": t["latency_ms"],
            "path": " > ".join(t["path"]), "model": t["model"]["version"],
            "attempts": ", ".join(f"{x['result']} (queued {x['queue_wait_ms']:.0f} ms)"
                                  for x in t["attempts"]) or "-",
            "refund": "yes" if t["write"] else "no"}


def _figures(result: Any, bucket_s: float) -> list[Any]:
    from labkit.viz import capacity_figure, latency_figure, outcomes_figure, ttft_tpot_figure

    figs = [ttft_tpot_figure(result, bucket_s=bucket_s),
            latency_figure(result, bucket_s=bucket_s),
            outcomes_figure(result, bucket_s=bucket_s),
            capacity_figure(result)]
    for fig in figs:
        fig.update_layout(height=300)
    return figs


def game_day(*, seed: int = 1, learner: str | None = None) -> GameDay:
    """This learner's incident on ``seed``, as the on-call engineer sees it."""
    (seed,) = check_seeds([seed])
    return GameDay(_run(_fault(learner), None, seed))


def try_containment(answer: Mapping[str, Any], *, seeds: Sequence[int] = (1,)) -> Table:
    """Replay this learner's incident with a containment on ``seeds``: the service level."""
    form = containment_problems(answer)
    if form:
        from labkit.checkpoints import CheckpointError

        raise CheckpointError("\n".join(form))
    rows = []
    for seed in check_seeds(seeds):
        m = _slo(_run(_fault(None), _key(answer), seed))
        holds = _slo_holds(m)
        rows.append({"seed": seed, "TTFT p95 ms": m["ttft_p95_ms"],
                     "success": round(m["success_rate"], 4),
                     "fallback share": round(m["degraded_share"], 4),
                     "service level holds": all(holds.values()),
                     "minutes to take effect": ttm_min(answer)})
    return table(rows)
