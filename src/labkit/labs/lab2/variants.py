"""Lab 2's per-learner numbers: every graded task with numbers draws its own for each learner.

Each task draws one *case* (a row of numbers chosen together) from a short list with
:func:`labkit.variants.draw`, by a hash of the lab, the task and the learner (at grading: the
student id the submission is filed under).  The rows of a list are chosen so that

* each has a different correct answer (a fleet, a TTL window, a gating fraction, a number),
  so an answer worked out for one learner fails for most others;
* the reference answer of each row holds on the hidden seeds with a margin, and a plausible
  wrong one fails (``tests/labs/test_lab2.py`` runs every row).

Design tasks whose passing answers form a region give each learner a *world* whose numbers
move that region: task 5's traffic and error rate (:data:`RETRY_WORLDS`) bound the retry budget
from both sides, so a policy tuned to one world breaks a case of most others; task 6's model
time, p95 budget and quality floor (:data:`DEGRADE_WORLDS`) place the window of the timeout.
The times their faults start move too, so the policy must work whatever the timing.

>>> scaling(learner="ada").values.keys() == {"rate_rps", "p95_ms"}
True
"""

from __future__ import annotations

from labkit import variants

__all__ = ["LAB", "SCALING_CASES", "CACHE_CASES", "MULTIPLIER_CASES", "AUTOSCALE_CASES",
           "STICKY_CASES", "sessions",
           "FAULT_SHIFTS_S", "RETRY_WORLDS", "QUOTA_SHARES", "DEGRADE_WORLDS", "DRILL_KILL_TIMES_S",
           "Q7_RATES_RPS", "Q7_ATTEMPTS",
           "scaling", "cache_batch", "multiplier", "autoscale", "storm", "degrade", "drill", "q7"]

LAB = "lab2"

#: Task 1: (arrival rate, p95 budget).  Cheapest fleets by M/M/c: 4, 5 and 6 large; 5, 7 and 9
#: standard.  Each holds its budget by a fifth or more in theory, and one replica fewer misses.
SCALING_CASES: tuple[tuple[float, float], ...] = (
    (60.0, 200.0), (90.0, 200.0), (120.0, 200.0), (50.0, 600.0), (75.0, 600.0), (100.0, 800.0))
#: Task 2: (how often an answer's content changes in s, cost budget in $ per 1k).  The TTLs
#: that meet both the quality floor and the cost budget: about 7-16 s, 16-31 s and 37 s up.
CACHE_CASES: tuple[tuple[float, float], ...] = ((30.0, 1.25), (60.0, 1.10), (240.0, 0.95))
#: Task 3: (quality reranking adds, quality floor, cost budget in $ per 1k).  The share of
#: requests that may run the reranker: at most about 0.3; about 0.45-0.65; about 0.75-0.9.
MULTIPLIER_CASES: tuple[tuple[float, float, float], ...] = (
    (0.01, 0.90, 3.30), (0.05, 0.97, 3.60), (0.05, 0.985, 3.85))
#: Task 4a: (cold start s, decision interval s) of the learner's autoscaler run.  Every row's
#: run gives a different set of answers (first relief, most ready replicas in the spike, the
#: longer part of the lag), so an answer read from another learner's run fails.
AUTOSCALE_CASES: tuple[tuple[float, float], ...] = (
    (10.0, 15.0), (8.0, 10.0), (20.0, 15.0), (12.0, 10.0), (8.0, 15.0), (20.0, 10.0))
#: Checkpoint 4b: (users with a session open, when one replica is lost in s).  Every row's
#: sticky run moves a different number of sessions or answers with a different p95 after
#: the loss.
STICKY_CASES: tuple[tuple[int, float], ...] = (
    (30, 20.0), (40, 30.0), (60, 20.0), (30, 30.0), (40, 20.0), (60, 30.0))
#: Tasks 5 and 6: how far every fault of the learner's cases is moved (s).
FAULT_SHIFTS_S: tuple[float, ...] = (-5.0, 0.0, 5.0)
#: Task 5: the learner's world, (requests/s offered to 4 replicas that serve 50/s, share of
#: calls that fail at random, coefficient of variation of the model's lognormal service time
#: around its 80 ms mean).  The spread of the service time sets the shortest timeout that does
#: not cut healthy calls (cut calls keep their replica busy and come back as retries: the
#: service collapses); the error rate sets the least retry budget that answers 99% of
#: requests.  The rows pair a long tail with few errors and a short tail with many, so a
#: policy worked out for one world breaks a case of most others (``tests/labs/test_lab2.py``
#: copies the reference policy of every row to every other).
RETRY_WORLDS: tuple[tuple[float, float, float], ...] = (
    (26.0, 0.16, 0.3), (24.0, 0.11, 0.7), (24.0, 0.07, 1.2), (20.0, 0.04, 1.8),
    (18.0, 0.02, 2.5))
#: Task 5: the provider's quota in the quota case, as a share of the learner's traffic.
QUOTA_SHARES: tuple[float, ...] = (0.8, 0.85, 0.9)
#: Task 6: the learner's world, (mean service time of the primary model (ms), lognormal with a
#: coefficient of variation of 0.3; the p95 budget (ms); the quality floor).  The slowdown
#: makes every call four times slower, so the per-attempt timeout has a window: long enough
#: that the primary still answers enough requests to hold the quality floor, short enough that
#: the slowed calls move to the fallback before they break the p95 budget.  The windows of the
#: rows do not overlap but one way (``tests/labs/test_lab2.py`` copies the reference answer of
#: every row to every other).
DEGRADE_WORLDS: tuple[tuple[float, float, float], ...] = (
    (40.0, 240.0, 0.79), (80.0, 300.0, 0.79), (160.0, 750.0, 0.775))
#: Task 7: when the learner's drill throws the kill switch (s).
DRILL_KILL_TIMES_S: tuple[float, ...] = (22.0, 26.0, 30.0, 34.0, 38.0)
#: Q7: offered load (requests/s) and attempts per request; every product differs, so no two
#: learners with different numbers share an answer.
Q7_RATES_RPS: tuple[int, ...] = (22, 26, 34, 38)
Q7_ATTEMPTS: tuple[int, ...] = (3, 4, 5)


def _case(item: str, cases: tuple, names: tuple[str, ...],
          learner: str | None) -> variants.Variant:
    picked = variants.draw(LAB, item, {"case": range(len(cases))}, learner=learner)
    values = dict(zip(names, cases[picked["case"]], strict=True))
    return variants.Variant(lab=LAB, item=item, learner=picked.learner, values=values)


def scaling(*, learner: str | None = None) -> variants.Variant:
    """Task 1: ``rate_rps`` and ``p95_ms``."""
    return _case("task1", SCALING_CASES, ("rate_rps", "p95_ms"), learner)


def cache_batch(*, learner: str | None = None) -> variants.Variant:
    """Task 2: ``content_change_s`` and ``cost_per_1k``."""
    return _case("task2", CACHE_CASES, ("content_change_s", "cost_per_1k"), learner)


def multiplier(*, learner: str | None = None) -> variants.Variant:
    """Task 3: ``rerank_gain``, ``quality`` (floor) and ``cost_per_1k`` (budget)."""
    return _case("task3", MULTIPLIER_CASES, ("rerank_gain", "quality", "cost_per_1k"), learner)


def autoscale(*, learner: str | None = None) -> variants.Variant:
    """Task 4a: ``cold_start_s`` and ``interval_s`` of the learner's autoscaler run."""
    return _case("task4", AUTOSCALE_CASES, ("cold_start_s", "interval_s"), learner)


def sessions(*, learner: str | None = None) -> variants.Variant:
    """Checkpoint 4b: ``users`` (sessions open at once) and ``lost_at_s`` (the lost replica)."""
    return _case("task4b", STICKY_CASES, ("users", "lost_at_s"), learner)


def storm(*, learner: str | None = None) -> variants.Variant:
    """Task 5: the learner's world, ``rate_rps`` (traffic), ``error_rate`` (calls that
    fail at random, in every case) and ``service_cv`` (the spread of the model's service
    time), ``quota_rps`` (the quota case, below the traffic) and
    ``shift_s`` (added to the start of every outage and of the burst)."""
    picked = variants.draw(LAB, "task5", {"world": range(len(RETRY_WORLDS)),
                                          "shift_s": FAULT_SHIFTS_S,
                                          "quota_share": QUOTA_SHARES}, learner=learner)
    rate, error_rate, cv = RETRY_WORLDS[picked["world"]]
    values = {"rate_rps": rate, "error_rate": error_rate, "service_cv": cv,
              "quota_rps": float(round(rate * picked["quota_share"])),
              "shift_s": picked["shift_s"]}
    choices = {"rate_rps": tuple(dict.fromkeys(w[0] for w in RETRY_WORLDS)),
               "error_rate": tuple(dict.fromkeys(w[1] for w in RETRY_WORLDS)),
               "service_cv": tuple(dict.fromkeys(w[2] for w in RETRY_WORLDS)),
               "quota_rps": tuple(sorted({float(round(w[0] * q)) for w in RETRY_WORLDS
                                          for q in QUOTA_SHARES})),
               "shift_s": FAULT_SHIFTS_S}
    return variants.Variant(lab=LAB, item="task5", learner=picked.learner, values=values,
                            choices=choices)


def degrade(*, learner: str | None = None) -> variants.Variant:
    """Task 6: the learner's world, ``service_ms`` (the primary model's mean service time),
    ``p95_ms`` (the latency budget) and ``quality`` (the quality floor), and ``shift_s``
    (added to the start of every slowdown case)."""
    picked = variants.draw(LAB, "task6", {"shift_s": FAULT_SHIFTS_S,
                                          "world": range(len(DEGRADE_WORLDS))},
                           learner=learner)
    service_ms, p95_ms, quality = DEGRADE_WORLDS[picked["world"]]
    values = {"service_ms": service_ms, "p95_ms": p95_ms, "quality": quality,
              "shift_s": picked["shift_s"]}
    choices = {"service_ms": tuple(w[0] for w in DEGRADE_WORLDS),
               "p95_ms": tuple(w[1] for w in DEGRADE_WORLDS),
               "quality": tuple(dict.fromkeys(w[2] for w in DEGRADE_WORLDS)),
               "shift_s": FAULT_SHIFTS_S}
    return variants.Variant(lab=LAB, item="task6", learner=picked.learner, values=values,
                            choices=choices)


def drill(*, learner: str | None = None) -> variants.Variant:
    """Task 7: ``kill_at_s`` (the drill's kill switch) and ``shift_s`` (added to the kill
    times of the audit runs)."""
    return variants.draw(LAB, "task7", {"kill_at_s": DRILL_KILL_TIMES_S,
                                        "shift_s": FAULT_SHIFTS_S}, learner=learner)


def q7(*, learner: str | None = None) -> variants.Variant:
    """Q7: ``rate_rps`` offered and ``attempts`` per request."""
    return variants.draw(LAB, "q7", {"rate_rps": Q7_RATES_RPS, "attempts": Q7_ATTEMPTS},
                         learner=learner)
