"""The API layer: validation, rate limiting, shedding and the end-to-end deadline.

The :class:`Gateway` meets every request first.  It spends
``gateway.validate_ms`` on authentication and validation and rejects what is
invalid; it rejects what exceeds the rate limit; it gives each request its
deadline; and, later, it sheds a first attempt that finds the model queue
longer than ``gateway.max_queue``.

A token bucket holds at most ``burst`` tokens and refills at ``rate`` tokens
per second.  A request that finds a whole token takes it and passes;
otherwise it is refused.  Over any window of length t it admits at most
``burst + rate * t`` requests, which is the bound the tests check.  The same
bucket models an upstream provider's rate limit (HTTP 429 beyond it).

The bucket is updated lazily from the clock on each request, so it costs no
simulation events at all.

In token mode an upstream provider also enforces a quota in tokens per minute
(:class:`TokenQuota`): a call is admitted only if its prompt and output tokens,
added to those of the calls admitted in the last 60 s, stay within the quota,
so no 60-second window ever holds more (a provider reserves the output
tokens a call may produce when it admits it).

>>> bucket = TokenBucket(rate_per_s=1.0, burst=2)
>>> [bucket.take(0.0), bucket.take(0.0), bucket.take(0.0), bucket.take(1.0)]
[True, True, False, True]
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING

from labkit.sim.codes import Reason

if TYPE_CHECKING:
    from labkit.sim.config import GatewayConfig

__all__ = ["TokenBucket", "TokenQuota", "Gateway"]


class TokenBucket:
    """Admit at most ``burst + rate_per_s * t`` requests in any window of ``t`` seconds."""

    __slots__ = ("rate", "burst", "tokens", "last_s")

    def __init__(self, *, rate_per_s: float, burst: int):
        if rate_per_s <= 0:
            raise ValueError(f"rate_per_s must be > 0, got {rate_per_s}")
        if burst < 1:
            raise ValueError(f"burst must be >= 1, got {burst}")
        self.rate = rate_per_s
        self.burst = float(burst)
        self.tokens = float(burst)
        self.last_s = 0.0

    def take(self, now_s: float) -> bool:
        """Take one token at time ``now_s``; False when the bucket is empty."""
        tokens = self.tokens + (now_s - self.last_s) * self.rate
        if tokens > self.burst:
            tokens = self.burst
        self.last_s = now_s
        if tokens >= 1.0:
            self.tokens = tokens - 1.0
            return True
        self.tokens = tokens
        return False


class TokenQuota:
    """At most ``per_minute`` tokens admitted in any window of ``window_s`` seconds.

    >>> q = TokenQuota(per_minute=1000)
    >>> [q.take(0.0, 600), q.take(1.0, 600), q.take(59.9, 400), q.take(60.0, 600)]
    [True, False, True, True]
    """

    __slots__ = ("limit", "window_s", "log", "used")

    def __init__(self, *, per_minute: float, window_s: float = 60.0):
        if per_minute <= 0:
            raise ValueError(f"per_minute must be > 0, got {per_minute}")
        self.limit = per_minute
        self.window_s = window_s
        self.log: deque[tuple[float, int]] = deque()
        self.used = 0            # tokens admitted in the window ending now

    def take(self, now_s: float, tokens: int) -> bool:
        """Admit a call of ``tokens`` tokens at ``now_s``; False when it would break the quota."""
        log, start = self.log, now_s - self.window_s
        while log and log[0][0] <= start:
            self.used -= log.popleft()[1]
        if self.used + tokens > self.limit:
            return False
        log.append((now_s, tokens))
        self.used += tokens
        return True

    def set_per_minute(self, per_minute: float) -> None:
        """A new quota from now on (a scheduled change of ``model.upstream_tpm``): the calls
        admitted in the last window still count against it."""
        if per_minute <= 0:
            raise ValueError(f"per_minute must be > 0, got {per_minute}")
        self.limit = per_minute


class Gateway:
    """Admission at the API layer, from the ``gateway.*`` knobs.

    ``max_queue`` (None: unbounded) is applied where calls queue: the engine
    sheds a first attempt that finds that many calls waiting for the model.
    """

    __slots__ = ("validate_s", "deadline_s", "limiter", "max_queue")

    def __init__(self, config: GatewayConfig):
        self.validate_s = config.validate_ms / 1000.0
        self.deadline_s = math.inf if config.deadline_ms is None else config.deadline_ms / 1000.0
        self.limiter = (TokenBucket(rate_per_s=config.rate_limit_rps, burst=config.burst)
                        if config.rate_limit_rps is not None else None)
        self.max_queue = config.max_queue

    def refuse(self, valid: bool, now_s: float) -> int:
        """Why a request that arrives now is rejected (a Reason code; NONE: admitted)."""
        if not valid:
            return Reason.INVALID
        if self.limiter is not None and not self.limiter.take(now_s):
            return Reason.RATE_LIMITED
        return Reason.NONE
