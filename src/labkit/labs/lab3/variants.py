"""Lab 3's per-learner variants: each learner's prices, worlds, drift and drill.

Every graded task with numbers draws them from :mod:`labkit.variants`, by the
learner (at grading: the student the submission is filed under), so an answer
worked out for one learner is wrong for most others:

* **T1** (threshold): the price of a missed fraud, ``cost_fn`` (a blocked good
  customer always costs $15).  The cheapest threshold moves with the ratio of
  the two prices; next to each other in the list, one price's best threshold
  costs more than 3% above the other's cheapest on every seed.
* **T2 and T5** (null-rate rules): the *world* of the incident and the blips.
  How much of ``device_risk`` the incident blanks out, and how deep and how
  long the harmless blips are, decide which threshold and window separate the
  two; the rules at the heart of one world's passing region fail in the others
  (``tests/labs/test_lab3.py`` checks each world's reference rule in every world).
* **T3** (retraining): the *world* of the drift (:data:`RETRAIN_WORLDS`): how fast
  the new fraud pattern takes over, how late its labels arrive (a retraining
  learns only from labelled data, so late labels push back the first release
  that knows the new pattern), and how many releases the team can review for
  how large a cut in cost.  A sudden switch wants one or two well-timed
  releases, a slow creep wants frequent ones, late labels want a release that
  waits for them.  Each world's reference policy fails both other worlds; of
  the policies on a grid that pass their own world, 42 of 56 copies fail
  another (``tests/labs/test_lab3.py`` names the ones that do not).
* **T4** (audit trail): the threshold the risk team set on day 5 of the drill.
* **T6** (burn-rate alerts): the service, with its SLO, its traffic, how fast a
  real outage burns the budget, how soon it must page, and how fast a benign
  slow burn spends it.  The bands of burn-rate thresholds that pass do not
  overlap between services, so another learner's rule pages for this
  learner's benign burn or misses this learner's outage.

The scenario builders (:func:`threshold_costs`, :func:`alert_scenario`, ...)
return the read-only knobs of this learner's activity; ``learner=None`` means
this kernel's learner (:func:`labkit.variants.learner`).

>>> t1(learner="ada").cost_fn in T1_PARAMS["cost_fn"]
True
>>> alert_scenario(learner="ada")["stream.weeks"]
3
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labkit import variants
from labkit.labs.common import frozen
from labkit.labs.lab3.scenarios import ALERT_SCENARIO, DRILL_SCENARIO, RETRAIN_SCENARIO

__all__ = ["LAB", "T1_PARAMS", "WORLDS", "WORLD_PARAMS", "RETRAIN_WORLDS", "T3_PARAMS",
           "T4_PARAMS", "COST_FP", "t1", "world", "t3", "t4", "threshold_costs", "world_knobs",
           "alert_scenario", "retrain_scenario", "retrain_budget", "drill_scenario", "VARIANTS",
           "SLO_WORLDS", "T6_PARAMS", "t6", "slo_world"]

LAB = "lab3"
#: A blocked good customer costs this much in every variant (support call, lost sale).
COST_FP = 15.0
#: What a missed fraud costs: each price has its own cheapest threshold.
T1_PARAMS: Mapping[str, tuple[float, ...]] = frozen({"cost_fn": (40.0, 80.0, 150.0, 300.0,
                                                                 600.0)})
#: The worlds of T2 and T5: the incident's share of missing device_risk, and the blips'.
WORLDS: Mapping[str, Mapping[str, Any]] = frozen({
    # the incident blanks almost everything; blips are shallower but last up to 8 hours
    "deep incident, long blips": frozen({"incident.null_share": 0.95,
                                         "stream.blip_null_share": 0.75,
                                         "stream.blip_max_h": 8}),
    # the incident blanks 60%; blips blank 95% but are over within 2 hours
    "shallow incident, short blips": frozen({"incident.null_share": 0.6,
                                             "stream.blip_null_share": 0.95,
                                             "stream.blip_max_h": 2}),
    # the incident blanks 90%; blips blank 95% for up to 4 hours
    "deep incident, deep blips": frozen({"incident.null_share": 0.9,
                                            "stream.blip_null_share": 0.95,
                                            "stream.blip_max_h": 4}),
})
WORLD_PARAMS: Mapping[str, tuple[str, ...]] = frozen({"world": tuple(WORLDS)})
#: The worlds of T3: six weeks in which the fraudsters change tactics on day 10, each with
#: the monitor knobs that differ from ``RETRAIN_SCENARIO`` and its budget: on every seed the
#: policy must cut the cost of never retraining by at least ``cost_cut`` (a share of it), with
#: at most ``retrains`` candidates trained (each a release the team reviews).  The cut is
#: measured against "never" on the same seed, so the traffic's own ups and downs cancel.
RETRAIN_WORLDS: Mapping[str, Mapping[str, Any]] = frozen({
    # the new pattern takes over within half a day; labels the next day; two reviews
    "sudden switch, quick labels": frozen({
        "knobs": frozen({"drift.concept_ramp_days": 0.5, "labels.delay_h": 24}),
        "budget": frozen({"cost_cut": 0.15, "retrains": 2})}),
    # the new pattern takes over within half a day; labels a week late; one review
    "sudden switch, labels a week late": frozen({
        "knobs": frozen({"drift.concept_ramp_days": 0.5, "labels.delay_h": 168}),
        "budget": frozen({"cost_cut": 0.095, "retrains": 1})}),
    # the pattern creeps in over three weeks; labels the next day; the team reviews weekly
    "slow creep, quick labels": frozen({
        "knobs": frozen({"drift.concept_ramp_days": 21.0, "labels.delay_h": 24}),
        "budget": frozen({"cost_cut": 0.07, "retrains": 5})}),
})
T3_PARAMS: Mapping[str, tuple[str, ...]] = frozen({"world": tuple(RETRAIN_WORLDS)})
#: The threshold the risk team sets on day 5 of the drill (T4 reads it from the audit trail).
T4_PARAMS: Mapping[str, tuple[float, ...]] = frozen({"new_threshold": (0.1, 0.12, 0.15,
                                                                       0.18)})

#: The services of T6.  ``fast_error_ratio`` is a real outage (page within ``detect_min``);
#: ``slow_error_ratio`` a benign slow burn of ``slow_min`` minutes (no page).
SLO_WORLDS: Mapping[str, Mapping[str, Any]] = frozen({
    # quiet traffic, a loose SLO: outages burn slowly and noise is large
    "internal search": frozen({"objective": 0.995, "requests_per_min": 60.0,
                               "base_error_ratio": 0.0005, "fast_error_ratio": 0.025,
                               "detect_min": 150, "slow_error_ratio": 0.01, "slow_min": 360}),
    # busy traffic, a tight SLO, a moderate outage
    "checkout API": frozen({"objective": 0.999, "requests_per_min": 200.0,
                            "base_error_ratio": 0.0002, "fast_error_ratio": 0.01,
                            "detect_min": 60, "slow_error_ratio": 0.005, "slow_min": 180}),
    # busy traffic, a 99% SLO; outages are severe and must page fast
    "card authorisation": frozen({"objective": 0.99, "requests_per_min": 300.0,
                                  "base_error_ratio": 0.002, "fast_error_ratio": 0.5,
                                  "detect_min": 15, "slow_error_ratio": 0.12, "slow_min": 120}),
})
T6_PARAMS: Mapping[str, tuple[str, ...]] = frozen({"service": tuple(SLO_WORLDS)})


def t1(*, learner: str | None = None) -> variants.Variant:
    """This learner's price of a missed fraud in T1."""
    return variants.draw(LAB, "t1", T1_PARAMS, learner=learner)


def world(*, learner: str | None = None) -> variants.Variant:
    """This learner's incident and blips (T2 and T5)."""
    return variants.draw(LAB, "world", WORLD_PARAMS, learner=learner)


def t3(*, learner: str | None = None) -> variants.Variant:
    """This learner's drift world in T3 (a name in :data:`RETRAIN_WORLDS`)."""
    return variants.draw(LAB, "t3", T3_PARAMS, learner=learner)


def t4(*, learner: str | None = None) -> variants.Variant:
    """This learner's threshold change in the drill (T4)."""
    return variants.draw(LAB, "t4", T4_PARAMS, learner=learner)


def t6(*, learner: str | None = None) -> variants.Variant:
    """This learner's service in T6."""
    return variants.draw(LAB, "t6", T6_PARAMS, learner=learner)


def slo_world(*, learner: str | None = None) -> Mapping[str, Any]:
    """This learner's service in T6: its SLO, traffic and burns (see :data:`SLO_WORLDS`)."""
    name = t6(learner=learner).service
    return frozen({"service": name, **SLO_WORLDS[name]})


def threshold_costs(*, learner: str | None = None) -> Mapping[str, float]:
    """T1's prices for this learner: ``{"cost_fn": ..., "cost_fp": 15.0}``."""
    return frozen({"cost_fn": float(t1(learner=learner).cost_fn), "cost_fp": COST_FP})


def world_knobs(*, learner: str | None = None) -> Mapping[str, Any]:
    """The monitor knobs of this learner's world."""
    return WORLDS[world(learner=learner).world]


def alert_scenario(*, learner: str | None = None) -> Mapping[str, Any]:
    """Activity 2's three weeks in this learner's world."""
    return frozen({**ALERT_SCENARIO, **world_knobs(learner=learner)})


def retrain_scenario(*, learner: str | None = None) -> Mapping[str, Any]:
    """Activity 3's six weeks in this learner's drift world (T3)."""
    return frozen({**RETRAIN_SCENARIO,
                   **RETRAIN_WORLDS[t3(learner=learner).world]["knobs"]})


def retrain_budget(*, learner: str | None = None) -> Mapping[str, float]:
    """T3's budget in this learner's world: ``{"cost_cut": ..., "retrains": ...}``."""
    return RETRAIN_WORLDS[t3(learner=learner).world]["budget"]


def drill_scenario(*, learner: str | None = None) -> Mapping[str, Any]:
    """Activity 4's drill in this learner's world, with this learner's threshold change."""
    return frozen({**DRILL_SCENARIO, **world_knobs(learner=learner),
                   "decision.new_threshold": float(t4(learner=learner).new_threshold)})


#: check cell (grade_id) -> the draw of its numbers, for tools that list or test variants
VARIANTS = {"t1_check": t1, "t2_check": world, "t3_check": t3, "t4_check": t4,
            "t5_check": world, "t6_check": t6}
