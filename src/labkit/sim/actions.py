"""What happens to an answer before it reaches the user: guardrail and boundaries.

* **Guardrail** (``guardrail.*``): every primary-model answer gets a harm
  score; with the guardrail on, answers at or above the threshold are
  replaced by a safe message.  Harmful answers that pass are counted.
* **Boundary on writes** (``boundary.*``): a request that asks the assistant
  to *act* (approve a refund) is a write.  With ``policy = none`` the model's
  proposal executes directly and a wrong one is an unauthorised write; with
  ``policy = approval`` it joins a logged human review queue (its own
  reviewers, an M/M/c queue of its own) and no wrong write executes; the
  price is the review wait.
"""

from __future__ import annotations

from labkit.sim.codes import OK, REASONS
from labkit.sim.codes import PATH_BITS as _P
from labkit.sim.replicas import Job
from labkit.sim.request import Request

__all__ = ["Actions"]


class Actions:
    """Engine mixin: the guardrail and the write boundary."""

    def _guard(self, req: Request) -> bool:
        """Score the model's answer for harm; True when the guardrail blocks it."""
        g = self.sc.guardrail
        harmful = self.u_guard() < g.harmful_rate
        v = self.u_guard()
        # Harmful answers score in [0.5, 1); harmless ones in [0, 0.75): the
        # overlap is where any threshold trades misses against false blocks.
        req.harm = 0.5 + 0.5 * v if harmful else 0.75 * v
        blocked = g.enabled and req.harm >= g.threshold
        self.harmful[req.id] = harmful and not blocked
        return blocked

    def _answered(self, req: Request, outcome: int, end: float) -> None:
        if req.write and outcome == OK:
            wrong = self.u_boundary() < self.sc.boundary.wrong_write_rate
            if self.review is not None:
                req.path |= _P["review"]
                job = Job(req, end, self.review_factors[req.id])
                job.result = "wrong" if wrong else "right"
                self.review.submit(job)
            else:
                self.unauthorised[req.id] = wrong
        self.finish(req, outcome, end, REASONS[req.reason])

    def _review_done(self, batch: list[Job], now: float) -> None:
        for job in batch:
            self.review_wait[job.owner.id] = job.start_s - job.enq_s
