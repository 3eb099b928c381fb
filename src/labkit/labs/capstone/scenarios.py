"""The capstone's product: a customer-support assistant, written down once.

The assistant answers customers' questions about their orders from a retrieval index of policy
documents, and can *act*: a customer may ask for a refund, which the model proposes and which
must not execute without a person's approval.  The primary model is served token by token
(token mode) behind an upstream provider's tokens-per-minute quota, with per-token prices and
GPU replicas priced by the hour.  One simulated run is a whole day of diurnal traffic
compressed into :data:`DAY_S` seconds: the quiet night, the morning ramp, the afternoon peak.

Everything a notebook and its hidden tests both need is here, read-only:

* :data:`BASE` the system's fixed knobs (the world, the prices, the workload shape);
* :data:`DESIGN_KNOBS` the knobs the learner's design may set, :data:`STARTING_DESIGN` where
  the panel starts;
* :data:`DESIGN_CASES` the learner's traffic, quota, refund share and cost budget, drawn per
  learner (:func:`design_case`);
* :data:`FAULTS`, :data:`ACTIONS` and :data:`INCIDENT_CASES` for the game day, whose replay is
  not the compressed day but the incident's window in real time (:data:`REPLAY`, with the
  minutes of the fault, the decision and the hold).

Reviewer time is not in the simulator: the capstone prices it itself
(:data:`REVIEWER_HOUR_USD`, per reviewer and hour of the compressed day, like the replicas), so
an approval queue staffed beyond need costs money as an idle replica does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from labkit import variants
from labkit.labs.common import frozen

__all__ = ["LAB", "DAY_S", "BASE", "DESIGN_KNOBS", "STARTING_DESIGN", "REVIEWER_HOUR_USD",
           "TTFT_BUDGET_MS", "SUCCESS_FLOOR", "QUALITY_FLOOR", "REVIEW_WAIT_P95_S",
           "DesignCase", "DESIGN_CASES", "design_case", "BUDGETS",
           "INCIDENT_PRODUCT", "WINDOW_MIN", "FAULT_AT_MIN", "DECISION_MIN", "HOLD_MIN",
           "REPLAY", "TEAM_DESIGN", "GOOD_VERSION", "RETIRED_ERROR_RATE", "FAULTS",
           "COMPONENTS", "MECHANISMS", "DIAGNOSES", "SLO_TTFT_P95_MS", "SLO_SUCCESS",
           "SLO_DEGRADED_MAX", "Action", "ACTIONS", "IncidentCase", "INCIDENT_CASES",
           "incident_case"]

LAB = "capstone"
#: One day of traffic compressed into this many simulated seconds.
DAY_S = 120.0

#: The fixed system: token mode, diurnal day, retrieval, refunds, prices.  Budgets of the
#: simulator itself are off: the capstone judges its own four budgets (:data:`BUDGETS`).
BASE: Mapping[str, Any] = frozen({
    "llm.enabled": True, "load.duration_s": DAY_S, "load.pattern": "diurnal",
    "load.diurnal_period_s": DAY_S, "load.diurnal_amplitude": 0.6,
    "load.prompt_tokens": 700, "load.output_tokens": 180, "load.shared_prefix_tokens": 400,
    "load.catalog_size": 5000, "load.zipf_alpha": 0.9,
    "embed.enabled": True, "retrieval.enabled": True,
    "model.cost_per_call": 0.0, "model.cost_per_1m_input_tokens": 2.0,
    "model.cost_per_1m_output_tokens": 8.0, "model.cost_per_replica_hour": 30.0,
    "model.error_rate": 0.005, "model.version": "v2", "llm.max_batch_seqs": 16,
    "boundary.review_s": 2.0,
    "budget.p95_ms": 0.0, "budget.p99_ms": 0.0, "budget.cost_per_1k": 0.0,
    "budget.success_rate": 0.0,
})

#: What the learner's design may set: every component the course used, on this product.
DESIGN_KNOBS: tuple[str, ...] = (
    "model.replicas", "llm.prefix_cache", "cache.enabled", "cache.capacity_items", "cache.ttl_s",
    "rerank.enabled", "retrieval.run_fraction", "retry.max_attempts", "retry.base_ms",
    "retry.budget_ratio", "fallback.chain", "breaker.enabled", "gateway.rate_limit_rps",
    "boundary.policy", "boundary.reviewers",
)
#: Where the design panel starts: the team's first draft (it breaks several budgets).
STARTING_DESIGN: Mapping[str, Any] = frozen({
    "model.replicas": 1, "llm.prefix_cache": False, "cache.enabled": False,
    "rerank.enabled": True, "boundary.policy": "none", "boundary.reviewers": 1,
})
#: Price of one approval reviewer per hour of the compressed day (dollars).
REVIEWER_HOUR_USD = 15.0

TTFT_BUDGET_MS = 400.0      # 95% of answers start streaming within 0.4 s
SUCCESS_FLOOR = 0.99        # share of requests answered (ok or degraded)
QUALITY_FLOOR = 0.80        # mean quality of the answers (fallbacks answer worse)
REVIEW_WAIT_P95_S = 20.0    # 95% of refunds reviewed within 20 s of the compressed day

#: The four budgets, one point each, in the order the notebook shows them.
BUDGETS: tuple[str, ...] = ("ttft", "cost", "success", "refunds")


@dataclass(frozen=True, kw_only=True)
class DesignCase:
    """One learner's product numbers: traffic, the provider's quota, refunds, the cost budget."""

    rate_rps: float           # mean arrivals over the day (the peak is 1.6 times it)
    upstream_tpm: float       # the provider's quota, tokens per minute over any 60 s
    write_fraction: float     # share of requests asking for a refund
    cost_per_1k: float        # dollars per 1,000 requests, reviewers included

    def knobs(self) -> dict[str, Any]:
        return {"load.rate_rps": self.rate_rps, "model.upstream_tpm": self.upstream_tpm,
                "load.write_fraction": self.write_fraction}


#: Rows chosen together so that each has a different cheapest design (replicas, reviewers,
#: what the quota asks of the cache and fallbacks), and a reference design holds every budget
#: on the hidden seeds with a margin (tests/labs/test_capstone.py runs every row).
DESIGN_CASES: tuple[DesignCase, ...] = (
    DesignCase(rate_rps=12.0, upstream_tpm=450_000.0, write_fraction=0.02, cost_per_1k=3.55),
    DesignCase(rate_rps=12.0, upstream_tpm=800_000.0, write_fraction=0.06, cost_per_1k=4.10),
    DesignCase(rate_rps=18.0, upstream_tpm=600_000.0, write_fraction=0.04, cost_per_1k=3.55),
    DesignCase(rate_rps=18.0, upstream_tpm=450_000.0, write_fraction=0.06, cost_per_1k=3.40),
    DesignCase(rate_rps=36.0, upstream_tpm=1_200_000.0, write_fraction=0.02, cost_per_1k=2.62),
    DesignCase(rate_rps=36.0, upstream_tpm=900_000.0, write_fraction=0.04, cost_per_1k=2.62),
)


def design_case(*, learner: str | None = None) -> variants.Variant:
    """This learner's product numbers (see :class:`DesignCase`), as a variant."""
    picked = variants.draw(LAB, "design", {"case": range(len(DESIGN_CASES))}, learner=learner)
    case = DESIGN_CASES[picked["case"]]
    return variants.Variant(lab=LAB, item="design", learner=picked.learner,
                            values={"case": picked["case"], **vars(case)})


# ------------------------------------------------------------------ the game day
#: The service on the day of the incident: the product at its usual traffic and quota.
INCIDENT_PRODUCT: Mapping[str, Any] = frozen({
    "load.rate_rps": 18.0, "model.upstream_tpm": 1_000_000.0, "load.write_fraction": 0.04,
})
#: The replay is the incident's window in real time (not the compressed day): the afternoon
#: peak (1.6 times the usual rate, steady) for :data:`WINDOW_MIN` minutes; the fault starts at
#: :data:`FAULT_AT_MIN`, on-call decides at :data:`DECISION_MIN` (the page, then a few minutes
#: of triage), and the containment takes effect the action's menu minutes later.
WINDOW_MIN = 45.0
FAULT_AT_MIN = 5.0
DECISION_MIN = 10.0
#: Mitigated: the service level holds in this many consecutive one-minute windows.
HOLD_MIN = 5
REPLAY: Mapping[str, Any] = frozen({"load.pattern": "poisson", "load.duration_s": WINDOW_MIN * 60,
                                    "load.rate_rps": 1.6 * INCIDENT_PRODUCT["load.rate_rps"]})
#: The team's design that is running when the incident starts (before any containment).
TEAM_DESIGN: Mapping[str, Any] = frozen({
    "model.replicas": 3, "llm.prefix_cache": True, "cache.enabled": True,
    "cache.capacity_items": 3000, "cache.ttl_s": 60.0, "retry.max_attempts": 2,
    "retry.base_ms": 200.0,
    "boundary.policy": "approval", "boundary.reviewers": 4,
})
#: The release that ran for a month before the incident; v1 is retired (its prompts no longer
#: match the retrieval format) and fails often when brought back.
GOOD_VERSION = "v2"
RETIRED_ERROR_RATE = 0.10

#: Fault -> the knobs it changes in the team's system at FAULT_AT_MIN, as a scheduled change of
#: live knobs (the learner never sees these).
FAULTS: Mapping[str, Mapping[str, Any]] = frozen({
    "slow-retrieval": frozen({"retrieval.latency_ms": 900.0}),
    "quota-cut": frozen({"model.upstream_tpm": 550_000.0}),
    "lost-replicas": frozen({"model.replicas": 1}),
    "bad-release": frozen({"model.version": "v3", "model.error_rate": 0.25}),
})
#: The diagnosis menus: which component, and by which mechanism.
COMPONENTS: tuple[str, ...] = ("retrieval", "upstream-provider", "model-replicas",
                               "model-release", "response-cache", "approval-queue")
MECHANISMS: tuple[str, ...] = ("slow-dependency", "quota-throttling", "capacity-loss",
                               "errors-after-release", "cache-misses", "review-backlog")
#: The right diagnosis of each fault: (component, mechanism).
DIAGNOSES: Mapping[str, tuple[str, str]] = frozen({
    "slow-retrieval": ("retrieval", "slow-dependency"),
    "quota-cut": ("upstream-provider", "quota-throttling"),
    "lost-replicas": ("model-replicas", "capacity-loss"),
    "bad-release": ("model-release", "errors-after-release"),
})

#: The service level a containment must restore on every hidden seed.
SLO_TTFT_P95_MS = TTFT_BUDGET_MS
SLO_SUCCESS = SUCCESS_FLOOR
SLO_DEGRADED_MAX = 0.02     # a fallback may cover at most 2% of requests: a stopgap, not a fix


@dataclass(frozen=True, kw_only=True)
class Action:
    """One containment the on-call engineer can take: its parameters and how long it takes."""

    name: str
    text: str
    params: Mapping[str, tuple[Any, ...]]     # parameter -> allowed values
    minutes: float                            # from the decision to the effect
    per_unit_min: float = 0.0                 # extra minutes per unit of ``scaled_by``
    scaled_by: str = ""

    def ttm_min(self, params: Mapping[str, Any]) -> float:
        """Minutes from the decision to the change taking effect, with these parameters."""
        extra = float(params.get(self.scaled_by, 0)) if self.scaled_by else 0.0
        return self.minutes + self.per_unit_min * extra


#: The containment menu.  Minutes are from the decision to the change taking effect (an
#: assumption of the menu); the time to *mitigate* is measured on the replay.
ACTIONS: Mapping[str, Action] = frozen({a.name: a for a in (
    Action(name="gate-retrieval", text="Run retrieval on only a share of requests (a feature "
           "flag; the rest answer without documents).",
           params={"run_fraction": (0.0, 0.25, 0.5, 0.75)}, minutes=3.0),
    Action(name="trim-context", text="Send fewer retrieved passages: a shorter prompt, in "
           "tokens (a config push; the usual prompt is 700).",
           params={"prompt_tokens": (450, 550, 650)}, minutes=3.0),
    Action(name="enable-fallback", text="Answer with the small model, then a safe message, "
           "when the primary cannot (a config push).", params={}, minutes=2.0),
    Action(name="scale-out", text="Start more GPU replicas: how many to add (each needs a "
           "cold start; more take longer to schedule).",
           params={"add_replicas": tuple(range(1, 7))}, minutes=4.0, per_unit_min=0.5,
           scaled_by="add_replicas"),
    Action(name="rollback", text="Roll the model and prompt release back to a version.",
           params={"version": ("v1", "v2", "v3")}, minutes=6.0),
    Action(name="request-quota-increase", text="Ask the provider for the usual quota back "
           "(a support ticket).", params={}, minutes=45.0),
    Action(name="rebuild-index", text="Rebuild the retrieval index from the documents.",
           params={}, minutes=30.0),
    Action(name="restart-replicas", text="Restart the model replicas one by one.",
           params={}, minutes=10.0),
)})


@dataclass(frozen=True, kw_only=True)
class IncidentCase:
    """One learner's incident: the fault, and the time-to-mitigate bound of their service."""

    fault: str
    ttm_bound_min: float


#: Bounds on the time to mitigate *measured* on the replay (minutes from the decision until
#: the service level holds for HOLD_MIN minutes in a row; whole minutes, as the windows are):
#: each leaves the fault's best containment at least a minute of margin on the hidden seeds,
#: and the slow ways to a working containment (many replicas to schedule) miss it
#: (tests/labs/test_capstone.py runs the whole menu on every fault).
INCIDENT_CASES: tuple[IncidentCase, ...] = (
    IncidentCase(fault="slow-retrieval", ttm_bound_min=6.0),
    IncidentCase(fault="quota-cut", ttm_bound_min=8.0),
    IncidentCase(fault="lost-replicas", ttm_bound_min=6.0),
    IncidentCase(fault="bad-release", ttm_bound_min=8.0),
)


def incident_case(*, learner: str | None = None) -> variants.Variant:
    """This learner's incident (see :class:`IncidentCase`), as a variant."""
    picked = variants.draw(LAB, "gameday", {"case": range(len(INCIDENT_CASES))},
                           learner=learner)
    case = INCIDENT_CASES[picked["case"]]
    return variants.Variant(lab=LAB, item="gameday", learner=picked.learner,
                            values={"case": picked["case"], **vars(case)})
