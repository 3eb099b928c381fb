"""The API layer's admission controls: rate limiting with a token bucket.

A token bucket holds at most ``burst`` tokens and refills at ``rate`` tokens
per second.  A request that finds a whole token takes it and passes;
otherwise it is refused.  Over any window of length t it admits at most
``burst + rate * t`` requests, which is the bound the tests check.  The same
bucket models an upstream provider's rate limit (HTTP 429 beyond it).

The bucket is updated lazily from the clock on each request, so it costs no
simulation events at all.

>>> bucket = TokenBucket(rate_per_s=1.0, burst=2)
>>> [bucket.take(0.0), bucket.take(0.0), bucket.take(0.0), bucket.take(1.0)]
[True, True, False, True]
"""

from __future__ import annotations

__all__ = ["TokenBucket"]


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
