"""The small vocabularies that records are written in: outcomes, reasons, paths.

Records store small integers for speed; the tuples turn them back into words
and the classes name them in code (``Reason.TIMEOUT``, ``Path.CACHE``), so no
raw number stands for a code anywhere.  Every request ends in exactly one
outcome:

* ``ok``: answered by the primary path (model, fresh or stale cache hit, or
  the batch store);
* ``degraded``: answered by a fallback (small model, expired cached answer or
  a safe message, which has quality 0);
* ``failed``: no answer (errors or timeouts used up, deadline passed,
  primary switched off with no fallback);
* ``rejected``: refused by the API layer (invalid, rate limited, shed).

>>> OUTCOMES[DEGRADED], REASONS[Reason.TIMEOUT], CACHE_STATES[CacheState.STALE]
('degraded', 'timeout', 'stale')
"""

from __future__ import annotations

__all__ = ["OUTCOMES", "OK", "DEGRADED", "FAILED", "REJECTED", "ANSWERED",
           "REASONS", "Reason", "REASON_CODE",
           "ATTEMPT_RESULTS", "Attempt", "ATTEMPT_CODE",
           "CACHE_STATES", "CacheState", "CACHE_CODE", "CACHE_HITS",
           "PATH_BITS", "Path", "path_names", "FALLBACKS", "answering_fallback",
           "TASK_OUTCOMES", "TaskOutcome", "TASK_REASONS", "TaskReason", "TOOL_KINDS",
           "ToolKind", "TOOL_RESULTS", "ToolResult", "INJECTIONS", "Injection", "APPROVALS",
           "Approval"]

OUTCOMES: tuple[str, ...] = ("ok", "degraded", "failed", "rejected")
OK, DEGRADED, FAILED, REJECTED = range(4)
#: The outcomes that carry an answer.
ANSWERED: tuple[int, ...] = (OK, DEGRADED)

#: Why the primary path did not answer (index 0: it did).
REASONS: tuple[str, ...] = (
    "", "invalid", "rate_limited", "shed", "error", "timeout", "throttled",
    "breaker_open", "throttled_local", "killed", "deadline", "blocked",
)


class Reason:
    """Codes of :data:`REASONS`."""

    (NONE, INVALID, RATE_LIMITED, SHED, ERROR, TIMEOUT, THROTTLED, BREAKER_OPEN,
     THROTTLED_LOCAL, KILLED, DEADLINE, BLOCKED) = range(12)


#: What one attempt at the primary model came to.
ATTEMPT_RESULTS: tuple[str, ...] = (
    "ok", "error", "timeout", "throttled", "shed", "breaker_open", "throttled_local",
    "killed",
)


class Attempt:
    """Codes of :data:`ATTEMPT_RESULTS`."""

    OK, ERROR, TIMEOUT, THROTTLED, SHED, BREAKER_OPEN, THROTTLED_LOCAL, KILLED = range(8)


#: Cache lookup result per request (``none``: not looked up).
CACHE_STATES: tuple[str, ...] = ("none", "miss", "hit", "stale", "expired")


class CacheState:
    """Codes of :data:`CACHE_STATES`."""

    NONE, MISS, HIT, STALE, EXPIRED = range(5)


#: The cache states that answered the request (a hit on fresh or outdated content).
CACHE_HITS: tuple[int, ...] = (CacheState.HIT, CacheState.STALE)

#: Word -> code, for reading words back (knobs such as ``retry.on`` name reasons).
REASON_CODE: dict[str, int] = {name: i for i, name in enumerate(REASONS)}
ATTEMPT_CODE: dict[str, int] = {name: i for i, name in enumerate(ATTEMPT_RESULTS)}
CACHE_CODE: dict[str, int] = {name: i for i, name in enumerate(CACHE_STATES)}


class Path:
    """Bits of the ``path`` column: the stages a request passed through."""

    GATEWAY, CACHE, STORE, EMBED, RETRIEVAL, RERANK = 1, 2, 4, 8, 16, 32
    MODEL, RETRY, SMALL_MODEL, STALE_CACHE, SAFE_MESSAGE, REVIEW = 64, 128, 256, 512, 1024, 2048


#: Stage name -> bit, in request-path order.
PATH_BITS: dict[str, int] = {
    "gateway": Path.GATEWAY, "cache": Path.CACHE, "store": Path.STORE, "embed": Path.EMBED,
    "retrieval": Path.RETRIEVAL, "rerank": Path.RERANK, "model": Path.MODEL,
    "retry": Path.RETRY, "small_model": Path.SMALL_MODEL, "stale_cache": Path.STALE_CACHE,
    "safe_message": Path.SAFE_MESSAGE, "review": Path.REVIEW,
}


def path_names(bits: int) -> list[str]:
    """The stages in a ``path`` value, in request-path order.

    >>> path_names(Path.GATEWAY | Path.CACHE | Path.MODEL)
    ['gateway', 'cache', 'model']
    """
    return [name for name, bit in PATH_BITS.items() if bits & bit]


#: The fallbacks, in path order.
FALLBACKS: tuple[str, ...] = ("small_model", "stale_cache", "safe_message")


def answering_fallback(bits: int) -> str | None:
    """Which fallback answered a request with path ``bits`` (None: no fallback did).

    The small model can be tried and then cut short by the deadline, after
    which a later, instant fallback answers; the instant ones answer when tried.

    >>> answering_fallback(Path.SMALL_MODEL | Path.SAFE_MESSAGE)
    'safe_message'
    """
    for name in ("safe_message", "stale_cache", "small_model"):
        if bits & PATH_BITS[name]:
            return name
    return None


# ------------------------------------------------------------------ agent mode (agent.enabled)
#: How an agent task ended, exactly one each (see :mod:`labkit.sim.agent`).
TASK_OUTCOMES: tuple[str, ...] = ("completed", "gave_up", "failed", "blocked", "unsafe")


class TaskOutcome:
    """Codes of :data:`TASK_OUTCOMES`."""

    COMPLETED, GAVE_UP, FAILED, BLOCKED, UNSAFE = range(5)


#: Why a task ended as it did (index 0: it completed).
TASK_REASONS: tuple[str, ...] = (
    "", "step_cap", "budget_usd", "budget_s", "model_failed", "killed", "write_denied",
    "approval_refused", "injection_blocked", "injection_executed",
)


class TaskReason:
    """Codes of :data:`TASK_REASONS`."""

    (NONE, STEP_CAP, BUDGET_USD, BUDGET_S, MODEL_FAILED, KILLED, WRITE_DENIED,
     APPROVAL_REFUSED, INJECTION_BLOCKED, INJECTION_EXECUTED) = range(10)


#: The tool a step called (``none``: the step only thought).
TOOL_KINDS: tuple[str, ...] = ("none", "read", "write")


class ToolKind:
    """Codes of :data:`TOOL_KINDS`."""

    NONE, READ, WRITE = range(3)


#: What a step's tool call came to (``not_run``: refused, stopped or no tool).
TOOL_RESULTS: tuple[str, ...] = ("not_run", "ok", "error")


class ToolResult:
    """Codes of :data:`TOOL_RESULTS`."""

    NOT_RUN, OK, ERROR = range(3)


#: Whether a read tool's text carried injected instructions, and whether the guard caught it.
INJECTIONS: tuple[str, ...] = ("none", "caught", "missed")


class Injection:
    """Codes of :data:`INJECTIONS`."""

    NONE, CAUGHT, MISSED = range(3)


#: What the permission layer said to a step's write (``none``: no write).
APPROVALS: tuple[str, ...] = ("none", "allowed", "approved", "refused", "denied")


class Approval:
    """Codes of :data:`APPROVALS`."""

    NONE, ALLOWED, APPROVED, REFUSED, DENIED = range(5)
