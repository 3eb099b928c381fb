"""Part 2, the game day: an incident replayed with what an on-call engineer sees, and no more.

The team's support assistant (:data:`~labkit.labs.capstone.scenarios.TEAM_DESIGN`) is replayed
over the incident's window in real time (:data:`~labkit.labs.capstone.scenarios.WINDOW_MIN`
minutes of the afternoon peak, steady traffic), and one fault, drawn per learner
(:func:`~labkit.labs.capstone.scenarios.incident_case`), starts at minute
:data:`~labkit.labs.capstone.scenarios.FAULT_AT_MIN` as a scheduled change of the simulator
(:class:`labkit.sim.Change`): a slow retrieval dependency, an upstream quota cut, lost
replicas, or a bad release raising errors.  The learner sees :class:`GameDay`: the dashboards
(charts from :mod:`labkit.viz`, one-minute buckets) of the window as it goes when nobody acts,
the alerts that fired and a sample of audit records; never the knobs or the fault.

On-call decides at minute :data:`~labkit.labs.capstone.scenarios.DECISION_MIN` (the page, then
a few minutes of triage); the containment takes effect the action's menu minutes later, as a
second scheduled change, and the replay goes on with whatever backlog, retries and cold starts
the incident left.  Three answers are graded, each against the learner's own incident:

* the **diagnosis**, ``{"component": ..., "mechanism": ...}`` from
  :data:`~labkit.labs.capstone.scenarios.COMPONENTS` and
  :data:`~labkit.labs.capstone.scenarios.MECHANISMS`;
* the **containment**, ``{"action": ..., <its parameters>}`` from
  :data:`~labkit.labs.capstone.scenarios.ACTIONS`, replayed on seeds the learner never sees:
  on every one the service level (TTFT p95, success, at most 2% of answers from a fallback;
  :func:`minute_levels`, per one-minute window of the requests that ended in it) must hold for
  :data:`~labkit.labs.capstone.scenarios.HOLD_MIN` consecutive minutes after the decision, and
  over every request that ends from then to the end of the window;
* the **time to mitigate**, measured on the same replays: minutes from the decision to the
  first of those consecutive minutes (:func:`measured_ttm`), within the learner's bound on
  every seed.

Everything here runs in the learner's kernel, so a learner can read their own case
(:func:`~labkit.labs.capstone.scenarios.incident_case`); the grader judges the case of the
student id it grades, and the tutor's postmortem mark is what checks the incident was read
(``source/README.md``, *Game day: limits*).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from labkit.labs.capstone import scenarios as sc
from labkit.labs.common import Table, check_seeds, table

__all__ = ["incident_knobs", "containment_knobs", "incident_changes", "effect_min",
           "diagnosis_problems", "containment_problems", "minute_levels", "recovered_min",
           "measured_ttm", "judge_diagnosis", "judge_containment", "judge_ttm", "ttm_min",
           "GameDay", "game_day", "try_containment", "menu", "clock"]

_DIAGNOSIS_KEYS = ("component", "mechanism")


#: The wall clock at the start of the replay's window (hours, minutes).
START_CLOCK = (14, 0)


def clock(t_s: float) -> str:
    """A moment of the replay (seconds into the window) on the wall clock, ``HH:MM``.

    >>> clock(0.0), clock(750.0)
    ('14:00', '14:12')
    """
    minutes = START_CLOCK[0] * 60 + START_CLOCK[1] + int(t_s // 60)
    return f"{minutes // 60 % 24:02d}:{minutes % 60:02d}"


def _fault(learner: str | None) -> str:
    return str(sc.incident_case(learner=learner)["fault"])


def incident_knobs(fault: str) -> dict[str, Any]:
    """The knobs the replay of ``fault`` starts with: the team's service before the fault (the
    grader's; never shown).  The fault itself is a scheduled change (:func:`incident_changes`)."""
    if fault not in sc.FAULTS:
        raise ValueError(f"fault must be one of {', '.join(sc.FAULTS)}, got {fault!r}")
    return {**sc.BASE, **sc.INCIDENT_PRODUCT, **sc.TEAM_DESIGN, **sc.REPLAY}


def containment_knobs(fault: str, containment: Mapping[str, Any]) -> dict[str, Any]:
    """The live knobs a (well-formed) containment sets when it takes effect during ``fault``
    (empty: the action changes nothing the fault depends on)."""
    faulted = {**incident_knobs(fault), **sc.FAULTS[fault]}
    action = containment["action"]
    if action == "gate-retrieval":
        return {"retrieval.run_fraction": float(containment["run_fraction"])}
    if action == "trim-context":
        return {"load.prompt_tokens": int(containment["prompt_tokens"])}
    if action == "enable-fallback":
        return {"fallback.chain": ("small_model", "safe_message")}
    if action == "scale-out":
        return {"model.replicas": int(faulted["model.replicas"]) + int(containment["add_replicas"])}
    if action == "rollback":
        version = containment["version"]
        # the good release has its usual errors, v3 what it has in this incident (the bad
        # release's, or the usual when it is not the fault), the retired v1 its own
        rate = (sc.BASE["model.error_rate"] if version == sc.GOOD_VERSION
                else faulted["model.error_rate"] if version == "v3"
                else sc.RETIRED_ERROR_RATE)
        return {"model.version": version, "model.error_rate": rate}
    if action == "request-quota-increase":
        return {"model.upstream_tpm": sc.INCIDENT_PRODUCT["model.upstream_tpm"]}
    return {}   # rebuild-index and restart-replicas change nothing the fault depends on


def effect_min(answer: Mapping[str, Any]) -> float:
    """The replay's minute at which a (well-formed) containment takes effect: the decision plus
    the action's minutes on the menu."""
    return sc.DECISION_MIN + ttm_min(answer)


def incident_changes(fault: str, containment: Mapping[str, Any] | None = None) -> list[Any]:
    """The replay's scheduled changes: the fault at :data:`~scenarios.FAULT_AT_MIN`, and the
    containment when it takes effect (if it changes anything before the window ends)."""
    from labkit.sim import Change  # deferred: question cells stay light

    changes = [Change(at_s=sc.FAULT_AT_MIN * 60.0, knobs=sc.FAULTS[fault])]
    if containment is not None:
        knobs = containment_knobs(fault, containment)
        at_s = effect_min(containment) * 60.0
        if knobs and at_s < sc.WINDOW_MIN * 60.0:
            changes.append(Change(at_s=at_s, knobs=knobs))
    return changes


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
def _run(fault: str, containment: tuple[tuple[str, Any], ...] | None, seed: int) -> Any:
    answer = None if containment is None else dict(containment)
    return _replay(fault, tuple(incident_changes(fault, answer)), seed)


@lru_cache(maxsize=12)   # a replay's result is about 14 MB
def _replay(fault: str, changes: tuple[Any, ...], seed: int) -> Any:
    """One replay, cached by what it changes: the actions that change nothing before the
    window ends (a rebuild, a restart, a ticket answered too late) share the unmitigated run."""
    from labkit.sim import Scenario, simulate  # deferred: question cells stay light

    return simulate(Scenario.from_knobs(incident_knobs(fault)), seed=seed, changes=list(changes))


def minute_levels(result: Any) -> dict[str, np.ndarray]:
    """The service level minute by minute over the replay's window, from the requests that
    ended in each minute: ``minute``, ``ttft_p95_ms``, ``success``, ``fallback_share`` and
    whether each part and the whole ``holds``."""
    ts = result.timeseries(bucket_s=60.0)
    n = int(sc.WINDOW_MIN)
    ended = (ts["ok"] + ts["degraded"] + ts["failed"] + ts["rejected"])[:n]
    some = np.maximum(ended, 1)
    ttft = ts["ttft_p95_ms"][:n]
    success = np.where(ended > 0, (ts["ok"] + ts["degraded"])[:n] / some, 1.0)
    fallback = np.where(ended > 0, ts["degraded"][:n] / some, 0.0)
    holds = ((~np.isnan(ttft)) & (np.nan_to_num(ttft) <= sc.SLO_TTFT_P95_MS)
             & (success >= sc.SLO_SUCCESS) & (fallback <= sc.SLO_DEGRADED_MAX))
    return {"minute": np.arange(n), "ttft_p95_ms": ttft, "success": success,
            "fallback_share": fallback, "holds": holds}


def recovered_min(result: Any) -> float | None:
    """The first minute, at or after the decision, from which the service level holds for
    :data:`~scenarios.HOLD_MIN` consecutive minutes (None: not within the window)."""
    holds = minute_levels(result)["holds"]
    run = 0
    for m in range(int(sc.DECISION_MIN), len(holds)):
        run = run + 1 if holds[m] else 0
        if run == sc.HOLD_MIN:
            return float(m - sc.HOLD_MIN + 1)
    return None


def _slo(result: Any, since_min: float) -> dict[str, float]:
    """The service level over the requests that ended from ``since_min`` to the window's end."""
    from labkit.sim.codes import ANSWERED, DEGRADED

    r = result.records
    ended = r[(r["end_s"] >= since_min * 60.0) & (r["end_s"] < sc.WINDOW_MIN * 60.0)]
    n = max(1, len(ended))
    tok = result.tokens[ended["id"]]
    ttft = tok["ttft_ms"][~np.isnan(tok["ttft_ms"])]
    answered = np.isin(ended["outcome"], ANSWERED)
    return {"ttft_p95_ms": float(np.percentile(ttft, 95)) if len(ttft) else math.nan,
            "success_rate": float(answered.sum()) / n,
            "degraded_share": float((ended["outcome"] == DEGRADED).sum()) / n}


def _slo_holds(m: Mapping[str, float]) -> dict[str, bool]:
    return {"ttft": not math.isnan(m["ttft_p95_ms"]) and m["ttft_p95_ms"] <= sc.SLO_TTFT_P95_MS,
            "success": m["success_rate"] >= sc.SLO_SUCCESS,
            "fallback": m["degraded_share"] <= sc.SLO_DEGRADED_MAX}


def _after(result: Any) -> tuple[float | None, dict[str, float]]:
    """(minutes from the decision to mitigation, None when not within the window; the service
    level over the requests that ended from mitigation to the window's end, or from the
    decision on when never mitigated)."""
    recovered = recovered_min(result)
    level = _slo(result, sc.DECISION_MIN if recovered is None else recovered)
    return (None if recovered is None else recovered - sc.DECISION_MIN), level


def _verdict(result: Any) -> tuple[float | None, dict[str, bool]]:
    """:func:`_after`, with which parts of the service level hold."""
    ttm, level = _after(result)
    return ttm, _slo_holds(level)


def _key(answer: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((str(k), v) for k, v in answer.items()))


def ttm_min(answer: Mapping[str, Any]) -> float:
    """Minutes from the decision to the containment taking effect, from the menu (a
    well-formed answer); the time to *mitigate* is measured on the replay."""
    return sc.ACTIONS[answer["action"]].ttm_min(answer)


def measured_ttm(answer: Mapping[str, Any], *, seed: int, learner: str | None = None
                 ) -> float | None:
    """Minutes from the decision until the service level holds again for
    :data:`~scenarios.HOLD_MIN` consecutive minutes, measured on the replay of this learner's
    incident with the containment (a well-formed answer) on ``seed``; None: not mitigated
    within the window."""
    return _verdict(_run(_fault(learner), _key(answer), seed))[0]


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


def _containment_verdict(answer: Any, seeds: Sequence[int], learner: str | None
                         ) -> tuple[list[str], list[float]]:
    """(problems, the measured minutes on each seed when the containment works on every one)."""
    seeds = check_seeds(seeds)
    form = containment_problems(answer)
    if form:
        return form, []
    fault = _fault(learner)
    broken: dict[str, int] = {}
    minutes: list[float] = []
    for seed in seeds:
        ttm, holds = _verdict(_run(fault, _key(answer), seed))
        if ttm is None:
            broken["mitigated"] = broken.get("mitigated", 0) + 1
        else:
            minutes.append(ttm)
        for name, ok in holds.items():
            if not ok:
                broken[name] = broken.get(name, 0) + 1
    if not broken:
        return [], minutes
    words = {"mitigated": f"the service level does not hold for {sc.HOLD_MIN} minutes in a row "
                          "before the replay ends",
             "ttft": "the TTFT p95 is still outside the service level",
             "success": "the success rate is still outside the service level",
             "fallback": "the share of fallback answers is still outside the service level"}
    return [f"Containment: with {answer['action']} {words[k]} on {n} of {len(seeds)} unseen "
            f"seeds." for k, n in broken.items()], []


def judge_containment(answer: Any, *, seeds: Sequence[int],
                      learner: str | None = None) -> list[str]:
    """The containment must restore the service level on every seed: it holds for
    :data:`~scenarios.HOLD_MIN` minutes in a row after the decision, and over every request
    that ends from then to the end of the replay."""
    return _containment_verdict(answer, seeds, learner)[0]


def judge_ttm(answer: Any, *, seeds: Sequence[int], learner: str | None = None) -> list[str]:
    """The containment must work, and the time to mitigate measured on every seed must be
    within the learner's bound."""
    problems, minutes = _containment_verdict(answer, seeds, learner)
    if problems:
        return (problems if containment_problems(answer) else
                ["Time to mitigate: the containment does not restore the service level, so "
                 "the incident is not mitigated at all."])
    bound = float(sc.incident_case(learner=learner)["ttm_bound_min"])
    late = sum(1 for m in minutes if m > bound)
    if late:
        # the measured minutes on unseen seeds are not shown: only how many missed
        return [f"Time to mitigate: more than the {bound:g} minutes your service allows on "
                f"{late} of {len(minutes)} unseen seeds; a faster containment exists."]
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
        # a share needs enough calls to mean something (a minute with a handful says nothing)
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
        bucket_s = 60.0
        series = _alert_series(result, bucket_s)
        rows = []
        for title, key in _ALERTS:   # (in the window: the drain after it is not watched)
            fired = np.flatnonzero(series[key][: int(sc.WINDOW_MIN)])
            if len(fired):
                rows.append({"alert": title, "first fired": clock(series["t_s"][fired[0]]),
                             "minutes firing": int(len(fired))})
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
        """Every alert rule that fired: when first, and in how many minutes of the window."""
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
    """Replay this learner's incident with a containment on ``seeds``: when it takes effect
    (menu), the minutes to mitigate measured on the replay, and the service level from then on.
    """
    form = containment_problems(answer)
    if form:
        from labkit.checkpoints import CheckpointError

        raise CheckpointError("\n".join(form))
    rows = []
    for seed in check_seeds(seeds):
        ttm, m = _after(_run(_fault(None), _key(answer), seed))
        holds = _slo_holds(m)
        recovered = sc.DECISION_MIN if ttm is None else sc.DECISION_MIN + ttm
        rows.append({"seed": seed, "takes effect": clock(effect_min(answer) * 60.0),
                     "mitigated": "not in the window" if ttm is None
                     else clock(recovered * 60.0),
                     "minutes to mitigate": None if ttm is None else ttm,
                     "TTFT p95 ms": m["ttft_p95_ms"], "success": round(m["success_rate"], 4),
                     "fallback share": round(m["degraded_share"], 4),
                     "service level holds": ttm is not None and all(holds.values())})
    return table(rows)
