"""Retries: backoff with jitter, a retry budget, and client-side throttling.

A failed attempt may be retried, but every retry is extra load on a service
that may be failing *because* it is overloaded.  Three mechanisms keep
retries from turning a slow failure into an outage:

* **Backoff** spaces attempts out.  Retry number n (1 for the first retry)
  waits ``min(cap, base * 2**(n-1))`` with exponential backoff.  *Jitter*
  randomises it (Brooker, AWS Architecture Blog, 2015): ``full`` draws
  U(0, v); ``equal`` draws v/2 + U(0, v/2); ``decorrelated`` draws
  min(cap, U(base, 3 * previous)).  Without jitter, clients that failed
  together retry together, in synchronised waves.
* **A retry budget** (Google SRE book, "Handling Overload") allows retries
  only while they stay below ``budget_ratio`` of the requests seen in the
  last ``budget_window_s`` seconds, which caps the load growth at about
  1 + ratio however badly the backend fails.
* **Adaptive throttling** (same chapter) rejects a call locally, before it is
  sent, with probability max(0, (requests - K * accepts) / (requests + 1))
  over a trailing window, so a client backs off by itself when the backend
  keeps refusing.

All three keep per-second counters, so they cost no simulation events.
:class:`RetryPolicy` combines the first two with ``retry.max_attempts`` and
``retry.on`` into one decision: retry after how long, or give up.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from labkit.sim.codes import REASON_CODE

if TYPE_CHECKING:
    from labkit.sim.config import RetryConfig
    from labkit.sim.request import Request

__all__ = ["backoff_ms", "WindowCounter", "RetryBudget", "AdaptiveThrottle", "RetryPolicy"]


def backoff_ms(policy: str, jitter: str, retry_number: int, base_ms: float, cap_ms: float,
               previous_ms: float, uniform: Callable[[], float]) -> float:
    """The wait before retry ``retry_number`` (1 = first retry), in ms.

    >>> backoff_ms("exponential", "none", 3, 50.0, 2000.0, 0.0, lambda: 0.5)
    200.0
    >>> backoff_ms("exponential", "full", 3, 50.0, 2000.0, 0.0, lambda: 0.5)
    100.0
    """
    if policy == "none":
        return 0.0
    if policy == "constant":
        v = min(cap_ms, base_ms)
    else:
        v = min(cap_ms, base_ms * 2.0 ** (retry_number - 1))
    if jitter == "none":
        return v
    if jitter == "full":
        return v * uniform()
    if jitter == "equal":
        return v / 2.0 + (v / 2.0) * uniform()
    # decorrelated: min(cap, U(base, 3 * previous)), starting from base
    prev = previous_ms if previous_ms > 0 else base_ms
    hi = max(base_ms, 3.0 * prev)
    return min(cap_ms, base_ms + (hi - base_ms) * uniform())


class WindowCounter:
    """Counts events over a trailing window of whole seconds, in O(1) per call.

    The window covers the current second and the ``n - 1`` before it.  A
    running total is kept; buckets that fall out of the window are
    subtracted as the clock moves on.

    >>> c = WindowCounter(3.0)
    >>> c.add(0.5); c.add(1.5); c.add(2.5); c.total(2.9)
    3
    >>> c.total(3.1)
    2
    """

    __slots__ = ("n", "counts", "sec", "sum")

    def __init__(self, window_s: float):
        self.n = max(1, math.ceil(window_s))
        self.counts = [0] * self.n
        self.sec = 0          # the newest second the buckets describe
        self.sum = 0

    def _advance(self, sec: int) -> None:
        """Move the window to second ``sec`` (> ``self.sec``), dropping what fell out."""
        n, counts = self.n, self.counts
        if sec - self.sec >= n:
            self.counts = [0] * n
            self.sum = 0
        else:
            for s in range(self.sec + 1, sec + 1):
                slot = s % n
                self.sum -= counts[slot]
                counts[slot] = 0
        self.sec = sec

    def add(self, now_s: float, k: int = 1) -> None:
        """Count ``k`` events at ``now_s``."""
        sec = int(now_s)
        if sec > self.sec:  # most calls fall in the current second: no call needed
            self._advance(sec)
        self.counts[sec % self.n] += k
        self.sum += k

    def total(self, now_s: float) -> int:
        """Events in the window ending at ``now_s``."""
        sec = int(now_s)
        if sec > self.sec:
            self._advance(sec)
        return self.sum


class RetryBudget:
    """Allow a retry only while retries stay under ``ratio`` x recent requests."""

    def __init__(self, *, ratio: float, window_s: float):
        self.ratio = ratio
        self.requests = WindowCounter(window_s)
        self.retries = WindowCounter(window_s)
        self.denied = 0

    def on_request(self, now_s: float) -> None:
        self.requests.add(now_s)

    def try_spend(self, now_s: float) -> bool:
        if self.retries.total(now_s) + 1 > self.ratio * self.requests.total(now_s):
            self.denied += 1
            return False
        self.retries.add(now_s)
        return True


class AdaptiveThrottle:
    """Client-side adaptive throttling with multiplier K (SRE book)."""

    def __init__(self, *, k: float, window_s: float, uniform: Callable[[], float]):
        self.k = k
        self.requests = WindowCounter(window_s)
        self.accepts = WindowCounter(window_s)
        self.uniform = uniform
        self.rejected = 0

    def reject_probability(self, now_s: float) -> float:
        req = self.requests.total(now_s)
        acc = self.accepts.total(now_s)
        return max(0.0, (req - self.k * acc) / (req + 1.0))

    def admit(self, now_s: float) -> bool:
        """False when a call should be rejected locally (it then counts as a request).

        A call that is sent is counted by :meth:`on_result` once the backend
        answers, so calls still in flight at a cold start do not look like
        refusals.
        """
        p = self.reject_probability(now_s)
        if p > 0.0 and self.uniform() < p:
            self.rejected += 1
            self.requests.add(now_s)
            return False
        return True

    def on_result(self, now_s: float, accepted: bool) -> None:
        """Count a sent call once its result is known."""
        self.requests.add(now_s)
        if accepted:
            self.accepts.add(now_s)


class RetryPolicy:
    """When a failed attempt is tried again, from the ``retry.*`` knobs.

    ``uniform`` draws the jitter; the retry budget (``retry.budget_ratio``) is
    told of every admitted request with :meth:`on_request`.
    """

    def __init__(self, config: RetryConfig, uniform: Callable[[], float]):
        self.max_attempts = config.max_attempts
        self.on = frozenset(REASON_CODE[name] for name in config.on)   # Reason codes
        self.backoff, self.jitter = config.backoff, config.jitter
        self.base_ms, self.cap_ms = config.base_ms, config.cap_ms
        self.uniform = uniform
        self.budget = (RetryBudget(ratio=config.budget_ratio, window_s=config.budget_window_s)
                       if config.budget_ratio is not None else None)

    def on_request(self, now_s: float) -> None:
        """Count an admitted request (the retry budget is a share of them)."""
        if self.budget is not None:
            self.budget.on_request(now_s)

    def wait_s(self, req: Request, reason: int, now_s: float) -> float | None:
        """The wait before ``req``'s next attempt after a failure, or None: give up.

        A retry needs an attempt left, a failure named in ``retry.on``, time
        before the deadline after the backoff, and room in the budget.
        """
        if req.attempts < self.max_attempts and reason in self.on:
            wait = backoff_ms(self.backoff, self.jitter, req.attempts, self.base_ms,
                              self.cap_ms, req.prev_backoff, self.uniform) / 1000.0
            if now_s + wait < req.deadline and (self.budget is None
                                                or self.budget.try_spend(now_s)):
                req.prev_backoff = wait * 1000.0
                return wait
        return None
