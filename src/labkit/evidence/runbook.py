"""A one-page incident runbook for an AI failure.

Written before the incident, read during it: what starts it (the trigger),
who owns it, and four sections of short numbered steps:

1. **triage**: confirm it is real and how big it is, from named evidence
   (which dashboard, alert, log or audit trail);
2. **containment**: stop the harm: switch to the named fallback or throw the
   kill switch, roll back, pause the risky path;
3. **communications**: who is told, by whom and when;
4. **post-incident fixes**: root cause, the test or alert that would have
   caught it, the runbook update.

:meth:`Runbook.check` is a completeness check with simple, stated rules
(keyword tests, not understanding): every section has steps; the trigger is
measurable (a number or an alert); triage names where to look; containment
names the fallback or kill switch; communications name an audience and a
time; post-incident work includes learning (a root cause, a review or a new
test); the owner names a role; and it fits on one page (at most
:data:`MAX_WORDS` words).

Serialised form (``to_dict()``; ``from_dict()`` reads it back)::

    {"kind": "incident-runbook", "version": 1, "title": "...", "system": "...",
     "owner": "...", "trigger": "...", "fallback": "...", "severity": "...",
     "triage": ["step", ...], "containment": [...], "communications": [...],
     "post_incident": [...]}
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from labkit.evidence.common import (
    VAGUE_OWNERS,
    Artifact,
    EvidenceError,
    check_dict,
    html_list,
    html_table,
    md_table,
    mentions,
    text,
    texts,
)

__all__ = ["Runbook", "SECTIONS", "MAX_WORDS"]

SECTIONS = ("triage", "containment", "communications", "post_incident")
MAX_WORDS = 500
_EVIDENCE = ("dashboard", "log", "audit", "metric", "trace", "alert", "monitor", "chart")
_CONTAIN = ("fallback", "kill switch", "shut down", "shutdown", "switch off", "turn off",
            "disable", "roll back", "rollback", "pause")
_AUDIENCE = ("customer", "user", "stakeholder", "support", "status page", "leadership",
             "regulator", "risk", "owner", "on-call", "legal", "compliance", "team", "manager")
_WHEN = ("every", "within", "hour", "minute", "daily", "immediately", "update", "when", "after",
         "before")
_LEARN = ("root cause", "postmortem", "post-mortem", "review", "regression", "test", "alert",
          "monitor", "runbook")


@dataclass(frozen=True, kw_only=True)
class Runbook(Artifact):
    """The runbook: trigger, owner, fallback, and the four sections of steps."""

    KIND = "incident-runbook"
    TITLE = "Incident runbook"

    title: str
    system: str
    owner: str
    trigger: str
    fallback: str
    triage: tuple[str, ...] = field(default=())
    containment: tuple[str, ...] = field(default=())
    communications: tuple[str, ...] = field(default=())
    post_incident: tuple[str, ...] = field(default=())
    severity: str = ""

    def __post_init__(self) -> None:
        for name in ("title", "system", "owner", "trigger", "fallback", "severity"):
            object.__setattr__(self, name, text(getattr(self, name), name))
        for name in SECTIONS:
            object.__setattr__(self, name, texts(getattr(self, name), name))

    def _name(self) -> str:
        return self.title

    @property
    def words(self) -> int:
        parts = [self.title, self.system, self.owner, self.trigger, self.fallback,
                 self.severity] + [s for name in SECTIONS for s in getattr(self, name)]
        return sum(len(p.split()) for p in parts)

    def check(self) -> list[str]:
        """What is missing, in plain words (empty when complete)."""
        out = [f"{name} is empty" for name in ("title", "system", "trigger", "fallback")
               if not getattr(self, name)]
        if not self.owner or self.owner.lower() in VAGUE_OWNERS:
            out.append(f"owner {self.owner!r} names nobody in particular: name the role that "
                       "runs the incident (for example 'ML on-call')")
        if self.trigger and not (re.search(r"\d", self.trigger) or "alert" in
                                 self.trigger.lower()):
            out.append("trigger is not measurable: name the alert or the threshold that "
                       "starts this runbook")
        for name in SECTIONS:
            steps = getattr(self, name)
            label = name.replace("_", "-")
            if not any(steps):
                out.append(f"{label} has no steps")
            for i, step in enumerate(steps, 1):
                if not step:
                    out.append(f"{label} step {i} is empty")
        if len([s for s in self.triage if s]) == 1:
            out.append("triage has one step: confirm the problem, then size it")
        if any(self.triage) and not mentions(self.triage, _EVIDENCE):
            out.append("triage does not say where to look: name the dashboard, alert, log or "
                       "audit trail")
        if any(self.containment) and not mentions(self.containment, _CONTAIN):
            out.append("containment does not name the fallback or kill switch you switch to")
        if any(self.communications):
            if not mentions(self.communications, _AUDIENCE):
                out.append("communications do not say who is told (users, support, risk "
                           "owner, leadership ...)")
            if not mentions(self.communications, _WHEN):
                out.append("communications do not say when (within 30 minutes, every hour "
                           "...)")
        if any(self.post_incident) and not mentions(self.post_incident, _LEARN):
            out.append("post-incident fixes do not include learning: a root cause, a review, "
                       "or the test or alert that would have caught it")
        if self.words > MAX_WORDS:
            out.append(f"the runbook has {self.words} words: keep it to one page "
                       f"(at most {MAX_WORDS})")
        return out

    # --- rendering --------------------------------------------------------------------
    def _fields(self) -> list[tuple[str, str]]:
        rows = [("system", self.system), ("owner", self.owner), ("trigger", self.trigger),
                ("fallback / kill switch", self.fallback)]
        return rows + ([("severity", self.severity)] if self.severity else [])

    _TITLES = {"triage": "1. Triage", "containment": "2. Containment",
               "communications": "3. Communications", "post_incident": "4. Post-incident fixes"}

    def _markdown_body(self) -> str:
        parts = [md_table(("field", "value"), self._fields())]
        for name in SECTIONS:
            steps = getattr(self, name) or ("-",)
            parts.append(f"### {self._TITLES[name]}\n\n"
                         + "\n".join(f"{i}. {s or '-'}" for i, s in enumerate(steps, 1)))
        return "\n\n".join(parts)

    def _html_body(self) -> str:
        body = html_table(("field", "value"), self._fields())
        for name in SECTIONS:
            body += f"<h3>{html.escape(self._TITLES[name])}</h3>"
            body += html_list(getattr(self, name), ordered=True)
        return body

    # --- serialising ----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.KIND, "version": 1}
        for name in ("title", "system", "owner", "trigger", "fallback", "severity"):
            out[name] = getattr(self, name)
        for name in SECTIONS:
            out[name] = list(getattr(self, name))
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Runbook:
        keys = ("title", "system", "owner", "trigger", "fallback", "severity", *SECTIONS)
        values = check_dict(data, cls.KIND, keys)
        missing = [k for k in keys[:5] if k not in values]
        if missing:
            raise EvidenceError(f"{cls.KIND} data is missing {missing[0]!r}")
        return cls(**values)
