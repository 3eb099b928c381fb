"""Lab 3's runs and numbers: the evaluation set, alert runs, rule reports, drift and drills.

Runs that the learner's answer cannot change (the evaluation data, the alert
run a paging rule is evaluated on) are cached per seed and scenario, so the
notebook, the check cells and the hidden tests share them.  Functions whose
numbers differ per learner take ``learner`` (``None``: this kernel's learner,
see :mod:`labkit.labs.lab3.variants`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from labkit.checkpoints import CheckpointError
from labkit.labs.common import case_for
from labkit.labs.lab3.forms import (
    burn_rules_answer_problems,
    containment_answer_problems,
    rule_answer_problems,
)
from labkit.labs.lab3.scenarios import (
    DRIFT_SCENARIOS,
    FAST_BURN_MIN,
    OFFLINE_SCENARIO,
    PANEL_DAYS,
    SLO_CASES,
    SLO_HORIZON_MIN,
)
from labkit.labs.lab3.variants import SLO_WORLDS, alert_scenario, drill_scenario, slo_world, threshold_costs
from labkit.monitor import AlertRule, MonitorResult, best_threshold_for_cost, expected_cost, run_monitor
from labkit.monitor.knobs import NUMERIC_FEATURES
from labkit.monitor.sli import Burn, SliSeries, judge_firing, simulate_sli
from labkit.monitor.slo import BurnRateRule

__all__ = ["evaluation_set", "best_cost", "null_rules", "alert_run", "rule_report",
           "drift_runs", "drill_run", "drill_transaction", "containment", "burn_rules",
           "slo_run", "slo_report", "panel_world", "quality_shift", "alert_load", "drift_seen",
           "incident_effect", "health_seen", "slo_seen"]


@lru_cache(maxsize=8)
def _evaluation(seed: int) -> tuple[np.ndarray, np.ndarray]:
    res = run_monitor(OFFLINE_SCENARIO, seed=seed)
    tx = res.transactions
    known = tx["hour"] + res.config.labels.delay_h < res.config.horizon_h
    data = {"amount": tx["amount"], "velocity": tx["velocity"],
            "device_risk": tx["device_risk"], "category": tx["category"]}
    y, s = tx["label"][known], res.models[1].score(data)[known]
    for arr in (y, s):
        arr.setflags(write=False)
    return y, s


def evaluation_set(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels and v1 scores of the production transactions whose labels have arrived."""
    return _evaluation(int(seed))


@lru_cache(maxsize=32)
def _best_cost(seed: int, cost_fn: float, cost_fp: float) -> float:
    y, s = _evaluation(seed)
    best = best_threshold_for_cost(y, s, cost_fn=cost_fn, cost_fp=cost_fp)
    return float(expected_cost(y, s, best, cost_fn=cost_fn, cost_fp=cost_fp))


def best_cost(seed: int, *, learner: str | None = None) -> float:
    """The cost per transaction of the cheapest threshold on ``seed``'s evaluation set, at
    this learner's prices."""
    costs = threshold_costs(learner=learner)
    return _best_cost(int(seed), costs["cost_fn"], costs["cost_fp"])


def _raise(problems: list[str]) -> None:
    if problems:
        raise CheckpointError("\n".join(problems))


def null_rules(answer: Mapping[str, Any], *, action: str = "page",
               features: Sequence[str] = NUMERIC_FEATURES) -> list[AlertRule]:
    """One null-rate rule per feature with the answer's threshold and window."""
    _raise(rule_answer_problems(answer, "rule"))
    return [AlertRule(name=f"null-rate:{f}", metric=f"input.null_rate.{f}",
                      threshold=float(answer["threshold"]), window_h=int(answer["window_h"]),
                      owner="data-platform on-call", action=action) for f in features]


@lru_cache(maxsize=8)
def _alert_run(seed: int, knobs: tuple[tuple[str, Any], ...]) -> MonitorResult:
    return run_monitor(dict(knobs), seed=seed)


def alert_run(seed: int, *, learner: str | None = None) -> MonitorResult:
    """Activity 2 in this learner's world on one seed (paging rules do not change a run, so
    it is shared)."""
    return _alert_run(int(seed), tuple(sorted(alert_scenario(learner=learner).items())))


def rule_report(answer: Mapping[str, Any], seed: int, *,
                learner: str | None = None) -> dict[str, Any]:
    """How the answer's rules did on one seed of this learner's world: detection, false
    alerts, the alerts."""
    res = alert_run(int(seed), learner=learner)
    alerts, summary = res.evaluate(null_rules(answer))
    det = summary["detection"]["null_feature:device_risk"]
    return {"seed": seed, "time_to_detect_h": det["time_to_detect_h"],
            "alerts": summary["total"], "false": summary["false"],
            "false_per_week": round(summary["false_per_week"], 2), "result": res,
            "alerts_table": alerts}


def drift_runs(seed: int) -> dict[str, MonitorResult]:
    """No drift, data drift and concept drift on one seed."""
    return {name: run_monitor(knobs, seed=seed) for name, knobs in DRIFT_SCENARIOS.items()}


@lru_cache(maxsize=8)
def _drill_run(seed: int, knobs: tuple[tuple[str, Any], ...]) -> MonitorResult:
    return run_monitor(dict(knobs), seed=seed)


def drill_run(seed: int, *, learner: str | None = None) -> MonitorResult:
    """This learner's governance drill on one seed (shared: nothing the learner does changes
    it)."""
    return _drill_run(int(seed), tuple(sorted(drill_scenario(learner=learner).items())))


def drill_transaction(result: MonitorResult) -> int:
    """The first missed fraud with ``device_risk`` missing, 6 h into the incident."""
    tx = result.transactions
    start = next(e.start_h for e in result.events if e.kind == "null_feature")
    hits = np.flatnonzero((tx["hour"] >= start + 6) & tx["label"] & (tx["decision"] == 0)
                          & np.isnan(tx["device_risk"]))
    return int(hits[0])


def containment(answer: Mapping[str, Any], seed: int, *,
                learner: str | None = None) -> tuple[MonitorResult, MonitorResult]:
    """This learner's drill without containment and with the answer's shutdown rule, same
    seed."""
    _raise(containment_answer_problems(answer))
    rules = null_rules({"threshold": answer["threshold"], "window_h": answer["window_h"]},
                       action="shutdown", features=("device_risk",))
    knobs = {**drill_scenario(learner=learner), "shutdown.fallback": answer["fallback"],
             "shutdown.duration_h": int(answer["duration_h"])}
    return drill_run(seed, learner=learner), run_monitor(knobs, seed=seed, rules=rules)


def burn_rules(answer: Any) -> tuple[BurnRateRule, ...]:
    """T6's answer as burn-rate rules (named ``page-1``, ``page-2``)."""
    _raise(burn_rules_answer_problems(answer))
    return tuple(BurnRateRule(name=f"page-{i}", long_window_min=int(r["long_window_min"]),
                              short_window_min=int(r["short_window_min"]),
                              burn_rate=float(r["burn_rate"])) for i, r in enumerate(answer, 1))


@lru_cache(maxsize=16)
def _slo_run(seed: int, service: str) -> SliSeries:
    w = SLO_WORLDS[service]
    fast_at, slow_at = case_for(seed, SLO_CASES)
    burns = [Burn(start_min=fast_at, duration_min=FAST_BURN_MIN,
                  error_ratio=w["fast_error_ratio"]),
             Burn(start_min=slow_at, duration_min=w["slow_min"],
                  error_ratio=w["slow_error_ratio"], benign=True)]
    return simulate_sli(minutes=SLO_HORIZON_MIN, requests_per_min=w["requests_per_min"],
                        base_error_ratio=w["base_error_ratio"], burns=burns,
                        objective=w["objective"], seed=seed)


def slo_run(seed: int, *, learner: str | None = None) -> SliSeries:
    """Two days of this learner's service on one seed: a real outage and a benign slow burn
    (when each starts follows from the seed)."""
    return _slo_run(int(seed), slo_world(learner=learner)["service"])


def slo_report(answer: Any, seed: int, *, learner: str | None = None) -> dict[str, Any]:
    """How T6's rules did on one seed: minutes to page for the outage (``None``: never) and
    the pages, each with the minute it opened and whether it was for the outage."""
    rules = burn_rules(answer)
    run = slo_run(seed, learner=learner)
    fire = np.zeros(run.minutes, bool)
    for rule in rules:
        fire |= rule.firing(run.errors, run.requests, objective=run.objective)
    j = judge_firing(fire, run.burns, lookback_min=max(r.long_window_min for r in rules))
    return {"seed": int(seed), "detect_min": j["detect_min"][0], "pages": j["pages"],
            "false_pages": j["false_pages"], "opened_min": j["opened_min"], "true": j["true"],
            "firing": fire}


@lru_cache(maxsize=8)
def _panel_world(seed: int, service: str) -> SliSeries:
    w = SLO_WORLDS[service]
    day = 24 * 60
    fast = [Burn(start_min=int(d * day), duration_min=FAST_BURN_MIN,
                 error_ratio=w["fast_error_ratio"]) for d in (1.6, 4.3)]
    slow = [Burn(start_min=int(d * day), duration_min=w["slow_min"],
                 error_ratio=w["slow_error_ratio"], benign=True) for d in (2.4, 3.2, 5.5, 6.3)]
    return simulate_sli(minutes=PANEL_DAYS * day, requests_per_min=w["requests_per_min"],
                        base_error_ratio=w["base_error_ratio"], burns=fast + slow,
                        objective=w["objective"], seed=seed)


def panel_world(seed: int = 1, *, learner: str | None = None) -> SliSeries:
    """A week of this learner's service for the alert panel: two real outages and four
    benign slow burns."""
    return _panel_world(int(seed), slo_world(learner=learner)["service"])


# --- what each run showed, in one sentence (shown beside the learner's prediction) -------
def quality_shift(result: MonitorResult) -> str:
    """Offline against online recall and cost of one run."""
    off, on = result.summary["offline"], result.summary["online"]
    return (f"recall {off['recall']:.2f} offline, {on['recall']:.2f} online; mistakes cost "
            f"${off['cost_per_tx']:.2f} per transaction offline, ${on['cost_per_tx']:.2f} online")


def alert_load(result: MonitorResult) -> str:
    """How many pages a run's rules sent a week, how many were false, and detection."""
    a = result.summary["alerts"]
    det = [d["time_to_detect_h"] for d in a["detection"].values()]
    return (f"{a['per_week']:.1f} pages a week, {a['false_per_week']:.1f} of them false; the "
            f"incident detected after {', '.join('never' if d is None else f'{d} h' for d in det)}")


def _first_day(values: np.ndarray, after_h: int, above: float | None = None,
               below: float | None = None) -> float | None:
    with np.errstate(invalid="ignore"):
        hit = (values > above) if above is not None else (values < below)
    idx = np.flatnonzero(hit[after_h:])
    return None if idx.size == 0 else round((after_h + int(idx[0])) / 24, 1)


def drift_seen(results: Mapping[str, MonitorResult], *, psi_above: float = 0.25,
               recall_below: float = 0.25) -> str:
    """When the input PSI of amount (24 h) and labelled recall (48 h) first crossed their
    usual alert levels in each world, and the highest PSI the world with no drift reached."""
    parts = []
    for name, res in results.items():
        ref = res.config.reference_h
        psi = _first_day(res.series("input.psi.amount", 24), ref, above=psi_above)
        rec = _first_day(res.series("label.recall", 48), ref, below=recall_below)
        parts.append(f"{name}: PSI > {psi_above:g} {'never' if psi is None else f'on day {psi:g}'}"
                     f", recall < {recall_below:g} {'never' if rec is None else f'on day {rec:g}'}")
    calm = next((r for n, r in results.items() if n == "no drift"), None)
    if calm is not None:
        peak = float(np.nanmax(calm.series("input.psi.amount", 24)[calm.config.reference_h:]))
        parts.append(f"highest PSI with no drift at all: {peak:.2f}")
    return "; ".join(parts)


def incident_effect(result: MonitorResult) -> str:
    """Flag rate and recall in the day before the null-feature incident and during it."""
    inc = next(e for e in result.events if e.kind == "null_feature")
    h = result.hourly
    tx = result.transactions

    def rates(lo: int, hi: int) -> tuple[float, float]:
        n = h["n"][lo:hi].sum()
        mine = (tx["hour"] >= lo) & (tx["hour"] < hi) & tx["label"]
        caught = float(np.mean(tx["decision"][mine] != 0)) if mine.any() else float("nan")
        return float(h["flags"][lo:hi].sum() / max(1, n)), caught

    before, during = rates(inc.start_h - 24, inc.start_h), rates(inc.start_h, inc.end_h + 1)
    return (f"blocked {before[0]:.1%} of payments in the day before, {during[0]:.1%} during the "
            f"incident; fraud stopped {before[1]:.0%} before, {during[1]:.0%} during")


def health_seen(result: MonitorResult) -> str:
    """Which system-health rules fired in which event, and how many of their alerts were
    false."""
    from labkit.labs.lab3.views import HEALTH_RULES

    mine = [a for a in result.alerts if str(a["rule"]) in HEALTH_RULES]
    by_event: dict[str, list[str]] = {}
    for a in mine:
        by_event.setdefault(str(a["event"]) or "no event (false)", []).append(str(a["rule"]))
    if not by_event:
        return "no system-health rule fired"
    return "; ".join(f"{event}: {', '.join(sorted(set(rules)))}"
                     for event, rules in by_event.items())


def slo_seen(answer: Any, seed: int, *, learner: str | None = None) -> str:
    """How paging rules did on one seed of this learner's service, in words."""
    r = slo_report(answer, seed, learner=learner)
    det = "no page" if r["detect_min"] is None else f"a page {r['detect_min']} min in"
    return (f"the outage got {det}; {r['false_pages']} page(s) with no outage "
            f"({r['pages']} in all)")
