"""The design for load and failure: lab 2's CPD evidence artifact.

Before traffic arrives, a team that runs an AI service should be able to say,
on one page: which budgets it holds itself to (latency, reliability, cost,
quality); what absorbs repeated traffic (the cache, and how stale it may get);
how it scales (replicas, autoscaling, and why the replicas are stateless);
how it retries (timeouts, backoff with jitter, caps, a retry budget, which
failures are worth retrying, the request's deadline) and when it stops
calling a failing dependency (the circuit breaker); where a request goes when
the primary path cannot answer (the fallback chain, ending in something that
always answers); who can turn the model off (the kill switch); and what is
logged so that an incident can be explained (the trace), the data behind an
answer proven (data), and every access accounted for (access).

:class:`LoadFailureDesign` holds that declaration, :meth:`~LoadFailureDesign.check`
lists what is missing or unsafe in words, and the design renders to Markdown,
HTML and a JSON-ready dict (``to_dict`` / ``from_dict``).  In a notebook its
rich output carries the payload the evidence pack (:mod:`labkit.evidence.pack`)
collects from cells tagged ``evidence:load-failure-design``.

>>> d = LoadFailureDesign(service="FAQ bot", budgets={"p95_ms": 800})
>>> d.check()[0]
'budgets: declare success_rate (a budget you do not write down is one you cannot hold)'
>>> LoadFailureDesign.from_dict(d.to_dict()) == d
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from labkit.evidence.common import Artifact, EvidenceError, check_dict, html_table, md_table

__all__ = ["LoadFailureDesign", "DesignError", "BUDGET_NAMES", "FALLBACKS", "LOG_AREAS",
           "KIND"]

KIND = "load-failure-design"
BUDGET_NAMES = ("p95_ms", "success_rate", "cost_per_1k", "quality")
FALLBACKS = ("small_model", "skip_retrieval", "stale_cache", "safe_message")
#: Fallbacks that answer every request they get (a chain must end in one).
_ALWAYS_ANSWERS = ("safe_message",)
LOG_AREAS = {"trace": "explain what happened to a request",
             "data": "prove which data and model version produced an answer",
             "access": "prove who accessed what"}
_RETRY_KEYS = ("max_attempts", "timeout_ms", "backoff", "base_ms", "cap_ms", "jitter",
               "budget_ratio", "on", "deadline_ms")
_SECTIONS = ("budgets", "cache", "scaling", "retry", "breaker")


class DesignError(EvidenceError):
    """A design field has the wrong type; the message names the field, rule and value."""


def _mapping(name: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise DesignError(f"{name} must be a dict, got {type(value).__name__}")
    bad = [k for k in value if not isinstance(k, str)]
    if bad:
        raise DesignError(f"{name} keys must be strings, got {bad[0]!r}")
    return {k: (tuple(v) if isinstance(v, list) else v) for k, v in value.items()}


def _strings(name: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise DesignError(f"{name} must be a list of strings, got {value!r}")
    if not all(isinstance(v, str) for v in value):
        raise DesignError(f"{name} must be a list of strings, got {list(value)!r}")
    return tuple(v.strip() for v in value if v.strip())


def _number(section: Mapping[str, Any], key: str) -> float | None:
    value = section.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


@dataclass(frozen=True, kw_only=True)
class LoadFailureDesign(Artifact):
    """A service's design for load and failure, declared in plain values.

    ``budgets``: ``p95_ms``, ``success_rate``, ``cost_per_1k``, ``quality``.
    ``cache``: ``enabled``, ``capacity_items``, ``ttl_s``.
    ``scaling``: ``replicas``, ``autoscale``, ``min_replicas``, ``max_replicas``,
    ``stateless``.  ``retry``: ``max_attempts``, ``timeout_ms``, ``backoff``,
    ``base_ms``, ``cap_ms``, ``jitter``, ``budget_ratio``, ``on`` (failures
    retried), ``deadline_ms``.  ``breaker``: ``enabled``, ``failure_rate``,
    ``open_s``.  ``fallback``: ordered steps from :data:`FALLBACKS`.
    ``kill_switch``: how the model is turned off and who may do it.
    ``logging``: for each area of :data:`LOG_AREAS`, what is recorded.
    ``evidence``: numbers from your own runs that back the design.
    """

    service: str
    budgets: Mapping[str, float] = field(default_factory=dict)
    cache: Mapping[str, Any] = field(default_factory=dict)
    scaling: Mapping[str, Any] = field(default_factory=dict)
    retry: Mapping[str, Any] = field(default_factory=dict)
    breaker: Mapping[str, Any] = field(default_factory=dict)
    fallback: Sequence[str] = ()
    kill_switch: str = ""
    logging: Mapping[str, Sequence[str]] = field(default_factory=dict)
    evidence: Mapping[str, Any] = field(default_factory=dict)
    notes: str = ""

    KIND = KIND
    TITLE = "Design for load and failure"

    def __post_init__(self) -> None:
        if not isinstance(self.service, str) or not self.service.strip():
            raise DesignError(f"service must name the system in a few words, got "
                              f"{self.service!r}")
        for name in (*_SECTIONS, "evidence"):
            object.__setattr__(self, name, _mapping(name, getattr(self, name)))
        for key, value in self.budgets.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise DesignError(f"budgets.{key} must be a number, got {value!r}")
        steps = _strings("fallback", self.fallback)
        unknown = [s for s in steps if s not in FALLBACKS]
        if unknown:
            raise DesignError(f"fallback steps must be from {', '.join(FALLBACKS)}, got "
                              f"{unknown[0]!r}")
        object.__setattr__(self, "fallback", steps)
        for name in ("kill_switch", "notes"):
            if not isinstance(getattr(self, name), str):
                raise DesignError(f"{name} must be text, got {getattr(self, name)!r}")
        logs = _mapping("logging", self.logging)
        extra = [k for k in logs if k not in LOG_AREAS]
        if extra:
            raise DesignError(f"logging areas must be from {', '.join(LOG_AREAS)}, got "
                              f"{extra[0]!r}")
        object.__setattr__(self, "logging",
                           {k: _strings(f"logging.{k}", v) for k, v in logs.items()})

    # ------------------------------------------------------------------ checks
    def check(self) -> list[str]:
        """What is missing or unsafe, one sentence each (empty: the design holds together)."""
        out = [f"budgets: declare {b} (a budget you do not write down is one you cannot hold)"
               for b in BUDGET_NAMES if b not in self.budgets]
        out += [f"budgets.{b} must be > 0, got {v:g}" for b, v in self.budgets.items() if v <= 0]
        out += self._check_cache() + self._check_scaling() + self._check_retry()
        if not self.breaker.get("enabled"):
            out.append("breaker: no circuit breaker; a dead dependency keeps receiving calls")
        if not self.fallback:
            out.append("fallback: no fallback path; when the primary fails, the user gets an "
                       "error")
        elif self.fallback[-1] not in _ALWAYS_ANSWERS:
            out.append(f"fallback: the chain ends in {self.fallback[-1]!r}, which can fail too; "
                       "end it in safe_message")
        if len(self.kill_switch.split()) < 3:
            out.append("kill_switch: name how the model is turned off and who may do it")
        out += [f"logging.{area}: say what is recorded to {why}"
                for area, why in LOG_AREAS.items() if not self.logging.get(area)]
        return out

    def _check_cache(self) -> list[str]:
        c = self.cache
        if not c.get("enabled"):
            return []
        if not _number(c, "capacity_items"):
            return ["cache: declare capacity_items (how many answers it holds)"]
        if not _number(c, "ttl_s"):
            return ["cache: ttl_s is 0 or missing, so a cached answer is served long after "
                    "its content changed; set how stale an answer may be"]
        return []

    def _check_scaling(self) -> list[str]:
        s, out = self.scaling, []
        if not _number(s, "replicas") and not _number(s, "min_replicas"):
            out.append("scaling: declare replicas (or min_replicas with autoscale)")
        if s.get("autoscale") and not _number(s, "max_replicas"):
            out.append("scaling: an autoscaler needs max_replicas, or cost has no ceiling")
        if not s.get("stateless"):
            out.append("scaling: declare the replicas stateless (stateless: True) or say "
                       "where state lives; otherwise more replicas and restarts lose it")
        return out

    def _check_retry(self) -> list[str]:
        r, out = self.retry, []
        attempts = _number(r, "max_attempts") or 1
        deadline = _number(r, "deadline_ms") or 0
        if not deadline:
            out.append("retry: declare deadline_ms, the end-to-end budget retries must respect")
        if attempts <= 1:
            return out
        timeout = _number(r, "timeout_ms") or 0
        if attempts > 5:
            out.append(f"retry: max_attempts {attempts:g} is no cap; keep it at 5 or below")
        if not timeout:
            out.append("retry: a retry without timeout_ms can wait for ever")
        elif deadline and timeout >= deadline:
            out.append("retry: timeout_ms must be shorter than deadline_ms")
        if r.get("backoff") not in ("exponential", "constant"):
            out.append("retry: declare backoff (exponential) so retries wait before going again")
        if r.get("jitter") in (None, "none"):
            out.append("retry: declare jitter (full, equal or decorrelated) so clients do not "
                       "retry in waves")
        if not _number(r, "cap_ms"):
            out.append("retry: declare cap_ms, the longest wait between attempts")
        if not _number(r, "budget_ratio"):
            out.append("retry: declare budget_ratio, the share of traffic retries may add")
        on = tuple(r.get("on") or ())
        if not on:
            out.append("retry: declare on, the failures worth retrying (transient ones)")
        elif "throttled" in on:
            out.append("retry: do not retry 'throttled': the dependency is telling you it is "
                       "overloaded")
        return out

    # --------------------------------------------------------------- rendering
    def _name(self) -> str:
        return self.service

    def _rows(self) -> list[tuple[str, str]]:
        def fmt(section: Mapping[str, Any]) -> str:
            return ", ".join(f"{k}={','.join(map(str, v)) if isinstance(v, tuple) else v}"
                             for k, v in section.items()) or "(not declared)"
        rows = [(name, fmt(getattr(self, name))) for name in _SECTIONS]
        rows.append(("fallback", " -> ".join(self.fallback) or "(none)"))
        rows.append(("kill switch", self.kill_switch or "(not named)"))
        rows += [(f"logged for {area}", "; ".join(self.logging.get(area, ())) or "(nothing)")
                 for area in LOG_AREAS]
        if self.evidence:
            rows.append(("evidence from runs", fmt(self.evidence)))
        return rows

    def _markdown_body(self) -> str:
        return md_table(("part", "design"), self._rows()) + (
            f"\n\n{self.notes}" if self.notes else "")

    def _html_body(self) -> str:
        import html

        notes = f"<p>{html.escape(self.notes)}</p>" if self.notes else ""
        return html_table(("part", "design"), self._rows()) + notes

    # ------------------------------------------------------------- serialising
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (lists for sequences) that :meth:`from_dict` reads back."""
        def plain(v: Any) -> Any:
            if isinstance(v, Mapping):
                return {k: plain(x) for k, x in v.items()}
            return list(v) if isinstance(v, tuple) else v
        return {"kind": self.KIND, "version": 1,
                **{f.name: plain(getattr(self, f.name)) for f in fields(self)}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LoadFailureDesign:
        """The design ``to_dict`` produced; unknown fields are refused by name."""
        values = check_dict(data, cls.KIND, [f.name for f in fields(cls)])
        if "service" not in values:
            raise DesignError(f"{cls.KIND} data is missing 'service'")
        return cls(**values)
