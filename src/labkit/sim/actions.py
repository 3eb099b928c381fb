"""What happens to an answer before it reaches the user: guardrail and boundaries.

* **Guardrail** (``guardrail.*``): every primary-model answer gets a harm
  score; with the guardrail on, answers at or above the threshold are
  replaced by a safe message.  Harmful answers that pass are counted.
* **Boundary on writes** (``boundary.*``): a request that asks the assistant
  to *act* (approve a refund) is a write.  With ``policy = none`` the model's
  proposal executes directly and a wrong one is an unauthorised write; with
  ``policy = approval`` it joins a logged human review queue (its own
  reviewers, an M/M/c queue of its own) and no wrong write executes; the
  price is the review wait.  An agent's write tools (``agent.write_policy =
  approve``) join the same queue through :meth:`WriteBoundary.request_review`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from labkit.sim.codes import OK, Path
from labkit.sim.replicas import Call, ReplicaPool
from labkit.sim.request import Request

if TYPE_CHECKING:
    import simpy

    from labkit.sim.config import BoundaryConfig, GuardrailConfig
    from labkit.sim.recorder import Recorder

__all__ = ["Guardrail", "WriteBoundary"]


class Guardrail:
    """Scores primary-model answers for harm and blocks those at the threshold."""

    __slots__ = ("enabled", "threshold", "harmful_rate", "uniform")

    def __init__(self, config: GuardrailConfig, uniform: Callable[[], float]):
        self.enabled, self.threshold = config.enabled, config.threshold
        self.harmful_rate = config.harmful_rate
        self.uniform = uniform

    def blocks(self, req: Request) -> bool:
        """Score ``req``'s answer (``req.harm``); True when the guardrail blocks it."""
        harmful = self.uniform() < self.harmful_rate
        v = self.uniform()
        # Harmful answers score in [0.5, 1); harmless ones in [0, 0.75): the
        # overlap is where any threshold trades misses against false blocks.
        req.harm = 0.5 + 0.5 * v if harmful else 0.75 * v
        blocked = self.enabled and req.harm >= self.threshold
        req.harmful = harmful and not blocked
        return blocked


class WriteBoundary:
    """The last step of every answer: a write the model proposes executes or is reviewed.

    ``review_factors`` are the reviewers' per-request time multipliers; the
    answered request is finished in ``recorder``.
    """

    def __init__(self, env: simpy.Environment, config: BoundaryConfig, *,
                 review_factors: list[float], uniform: Callable[[], float],
                 recorder: Recorder, review_writes: bool = False):
        self.wrong_write_rate = config.wrong_write_rate
        self.review_factors = review_factors
        self.uniform = uniform
        self.recorder = recorder
        self.review = (ReplicaPool(env, replicas=config.reviewers, service_s=config.review_s,
                                   per_item_fraction=0.0, max_size=1, max_wait_s=0.0,
                                   on_done=self._review_done)
                       if config.policy == "approval" or review_writes else None)
        self._reviewed: dict[Call, Callable[[float], None]] = {}  # agent writes under review

    def answer(self, req: Request, outcome: int, end: float) -> None:
        """Deliver ``req``'s answer (``outcome`` OK or DEGRADED) at ``end``."""
        if req.write and outcome == OK:
            wrong = self.uniform() < self.wrong_write_rate
            if self.review is not None:
                req.path |= Path.REVIEW
                self.review.submit(Call(req, end, self.review_factors[req.id]))
            else:
                req.unauthorised = wrong
        self.recorder.finish(req, outcome, end, req.reason)

    def request_review(self, owner: Any, now: float, factor: float,
                       decided: Callable[[float], None]) -> None:
        """Queue an agent's write (``owner``) for the human reviewers at ``now``;
        ``decided(end_s)`` is called once a reviewer has looked at it (``factor``: the
        review's time multiplier).  Needs the review queue (``review_writes``)."""
        if self.review is None:
            raise RuntimeError("no review queue: build the boundary with review_writes=True")
        call = Call(owner, now, factor)
        self._reviewed[call] = decided
        self.review.submit(call)

    def _review_done(self, batch: list[Call], now: float) -> None:
        for call in batch:
            decided = self._reviewed.pop(call, None)
            if decided is not None:
                decided(now)
                continue
            call.owner.review_wait = call.start_s - call.enq_s
