"""The small vocabularies that records are written in: outcomes, reasons, paths.

Records store small integers for speed; these tuples turn them back into
words.  Every request ends in exactly one outcome:

* ``ok``: answered by the primary path (model, fresh or stale cache hit, or
  the batch store);
* ``degraded``: answered by a fallback (small model, expired cached answer or
  a safe message, which has quality 0);
* ``failed``: no answer (errors or timeouts used up, deadline passed,
  primary switched off with no fallback);
* ``rejected``: refused by the API layer (invalid, rate limited, shed).
"""

from __future__ import annotations

__all__ = ["OUTCOMES", "REASONS", "ATTEMPT_RESULTS", "CACHE_STATES", "PATH_BITS",
           "REASON_CODE", "ATTEMPT_CODE", "CACHE_CODE",
           "path_names", "answering_fallback", "FALLBACKS", "OK", "DEGRADED", "FAILED", "REJECTED"]

OUTCOMES: tuple[str, ...] = ("ok", "degraded", "failed", "rejected")
OK, DEGRADED, FAILED, REJECTED = range(4)

#: Why the primary path did not answer (index 0: it did).
REASONS: tuple[str, ...] = (
    "", "invalid", "rate_limited", "shed", "error", "timeout", "throttled",
    "breaker_open", "throttled_local", "killed", "deadline", "blocked",
)

#: What one attempt at the primary model came to.
ATTEMPT_RESULTS: tuple[str, ...] = (
    "ok", "error", "timeout", "throttled", "shed", "breaker_open", "throttled_local",
    "killed",
)

#: Cache lookup result per request (``none``: not looked up).
CACHE_STATES: tuple[str, ...] = ("none", "miss", "hit", "stale", "expired")

#: Word -> code, for writing records.
REASON_CODE: dict[str, int] = {name: i for i, name in enumerate(REASONS)}
ATTEMPT_CODE: dict[str, int] = {name: i for i, name in enumerate(ATTEMPT_RESULTS)}
CACHE_CODE: dict[str, int] = {name: i for i, name in enumerate(CACHE_STATES)}

#: Stages a request passed through, as bits of the ``path`` column.
PATH_BITS: dict[str, int] = {
    "gateway": 1, "cache": 2, "store": 4, "embed": 8, "retrieval": 16, "rerank": 32,
    "model": 64, "retry": 128, "small_model": 256, "stale_cache": 512,
    "safe_message": 1024, "review": 2048,
}


def path_names(bits: int) -> list[str]:
    """The stages in a ``path`` value, in request-path order.

    >>> path_names(1 | 2 | 64)
    ['gateway', 'cache', 'model']
    """
    return [name for name, bit in PATH_BITS.items() if bits & bit]


#: The fallbacks, in path order.
FALLBACKS: tuple[str, ...] = ("small_model", "stale_cache", "safe_message")


def answering_fallback(bits: int) -> str | None:
    """Which fallback answered a request with path ``bits`` (None: no fallback did).

    The small model can be tried and then cut short by the deadline, after
    which a later, instant fallback answers; the instant ones answer when tried.

    >>> answering_fallback(PATH_BITS["small_model"] | PATH_BITS["safe_message"])
    'safe_message'
    """
    for name in ("safe_message", "stale_cache", "small_model"):
        if bits & PATH_BITS[name]:
            return name
    return None
