"""A production system sketch: components, data paths, boundaries, fallbacks, logging.

A model is one component; the system is everything around it.  The sketch
declares the **components** (client, API layer, model, data stores, humans,
third parties, monitoring), the **data paths** between them (who reads,
writes or calls whom, under which permission, with which timeout and
fallback, approved by whom, logged or not), the **boundaries** in plain
English ("the assistant can explain a refund policy but cannot approve a
refund"), and **what is logged** for audit and debugging.

:meth:`SystemSketch.check` applies the rules the course argues for:

* every path connects declared components, and clients reach the system
  only through the API layer;
* every **write** has an approval step and is logged (a write is an admin
  path);
* every call to a **model** or an **external** service has a timeout and a
  fallback;
* every read or write of a **data** store names its permission check;
* there is at least one boundary, and each one says what is *not* allowed;
* there is a monitoring component, and what is logged includes the model
  version (so any output can be traced back);
* no component is left off every path.

Serialised form (``to_dict()``; ``from_dict()`` reads it back)::

    {"kind": "system-sketch", "version": 1, "title": "...", "owner": "...",
     "components": [{"name": "api", "kind": "api", "purpose": "...", "logs": ["..."]}],
     "paths": [{"source": "api", "target": "model", "action": "call", "data": "...",
                "permission": "...", "timeout_ms": 800, "fallback": "...",
                "approval": "", "logged": true}],
     "boundaries": [{"name": "...", "statement": "...", "inside": ["api", ...]}],
     "logged": ["request id", "model version", ...]}

>>> s = SystemSketch(title="Refund assistant", owner="Payments product lead",
...     components=[Component(name="user", kind="client"), Component(name="api", kind="api")],
...     paths=[DataPath(source="user", target="api", action="call")])
>>> s.check()[:2]
['no boundary: state in plain English what the system may and may not do',
 'no monitoring component: add where latency, errors and quality signals go']
"""

from __future__ import annotations

import math
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
    items,
    md_table,
    mentions,
    text,
    texts,
)

__all__ = ["SystemSketch", "Component", "DataPath", "Boundary", "COMPONENT_KINDS", "ACTIONS"]

COMPONENT_KINDS = ("client", "api", "model", "data", "cache", "queue", "human", "external",
                   "monitor", "service")
ACTIONS = ("read", "write", "call")
_LIMIT_WORDS = ("cannot", "can not", "can't", "may not", "must not", "never", "not allowed",
                "only", "no ")


@dataclass(frozen=True, kw_only=True)
class Component:
    """A part of the system: its name, kind, purpose and what it logs."""

    name: str
    kind: str
    purpose: str = ""
    logs: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", text(self.name, "component name"))
        kind = text(self.kind, f"component {self.name!r} kind").lower()
        if kind not in COMPONENT_KINDS:
            raise EvidenceError(f"component {self.name!r}: kind must be one of "
                                f"{', '.join(COMPONENT_KINDS)}, got {self.kind!r}")
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "purpose", text(self.purpose, f"component {self.name!r} "
                                                               "purpose"))
        object.__setattr__(self, "logs", texts(self.logs, f"component {self.name!r} logs"))


@dataclass(frozen=True, kw_only=True)
class DataPath:
    """One arrow: ``source`` reads from, writes to or calls ``target``."""

    source: str
    target: str
    action: str
    data: str = ""
    permission: str = ""
    timeout_ms: float = 0.0
    fallback: str = ""
    approval: str = ""
    logged: bool = False

    def __post_init__(self) -> None:
        for name in ("source", "target", "data", "permission", "fallback", "approval"):
            object.__setattr__(self, name, text(getattr(self, name), f"path {name}"))
        action = text(self.action, "path action").lower()
        if action not in ACTIONS:
            raise EvidenceError(f"path {self.label}: action must be one of "
                                f"{', '.join(ACTIONS)}, got {self.action!r}")
        object.__setattr__(self, "action", action)
        t = self.timeout_ms
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) \
                or t < 0:
            raise EvidenceError(f"path {self.label}: timeout_ms must be a number >= 0 "
                                f"(0 = none), got {t!r}")
        object.__setattr__(self, "timeout_ms", float(t))
        if not isinstance(self.logged, bool):
            raise EvidenceError(f"path {self.label}: logged must be true or false, got "
                                f"{self.logged!r}")

    @property
    def label(self) -> str:
        return f"{self.source} -> {self.target}"


@dataclass(frozen=True, kw_only=True)
class Boundary:
    """A limit stated in plain English, and the components it encloses."""

    name: str
    statement: str
    inside: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", text(self.name, "boundary name"))
        object.__setattr__(self, "statement", text(self.statement, f"boundary {self.name!r} "
                                                                   "statement"))
        object.__setattr__(self, "inside", texts(self.inside, f"boundary {self.name!r} inside"))


@dataclass(frozen=True, kw_only=True)
class SystemSketch(Artifact):
    """The whole sketch; see the module docstring for the rules it is checked against."""

    KIND = "system-sketch"
    TITLE = "Production system sketch"

    title: str
    components: tuple[Component, ...] = field(default=())
    paths: tuple[DataPath, ...] = field(default=())
    boundaries: tuple[Boundary, ...] = field(default=())
    logged: tuple[str, ...] = field(default=())
    owner: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "title", text(self.title, "title"))
        object.__setattr__(self, "owner", text(self.owner, "owner"))
        object.__setattr__(self, "components", items(self.components, Component, "components"))
        object.__setattr__(self, "paths", items(self.paths, DataPath, "paths"))
        object.__setattr__(self, "boundaries", items(self.boundaries, Boundary, "boundaries"))
        object.__setattr__(self, "logged", texts(self.logged, "logged"))

    def _name(self) -> str:
        return self.title

    def check(self) -> list[str]:
        """What breaks the rules, in plain words (empty when complete)."""
        out: list[str] = []
        if not self.title:
            out.append("title is empty")
        if not self.owner or self.owner.lower() in VAGUE_OWNERS:
            out.append(f"owner {self.owner!r} names nobody in particular: name the role that "
                       "owns the system")
        kinds: dict[str, str] = {}
        for c in self.components:
            if c.name in kinds:
                out.append(f"component {c.name!r} is declared twice")
            kinds[c.name] = c.kind
        if not self.components:
            out.append("no components: declare the client, API layer, model, data stores ...")
        if not self.boundaries:
            out.append("no boundary: state in plain English what the system may and may not do")
        if "monitor" not in kinds.values():
            out.append("no monitoring component: add where latency, errors and quality "
                       "signals go")
        used: set[str] = set()
        for i, p in enumerate(self.paths, 1):
            where = f"path {i} ({p.action} {p.label})"
            unknown = [n for n in (p.source, p.target) if n not in kinds]
            for name in unknown:
                out.append(f"{where}: unknown component {name!r}; declared: "
                           f"{', '.join(kinds) or 'none'}")
            used.update((p.source, p.target))
            if unknown:
                continue
            src, dst = kinds[p.source], kinds[p.target]
            if src == "client" and dst != "api":
                out.append(f"{where}: a client reaches a {dst} directly; route it through the "
                           "API layer")
            if p.action == "write":
                if not p.approval:
                    out.append(f"{where}: a write has no approval step")
                if not p.logged:
                    out.append(f"{where}: a write is not logged")
            if dst in ("model", "external") and p.action != "write":
                if p.timeout_ms <= 0:
                    out.append(f"{where}: a call to a {dst} has no timeout")
                if not p.fallback:
                    out.append(f"{where}: a call to a {dst} has no fallback")
            if dst == "data" and not p.permission:
                out.append(f"{where}: access to a data store names no permission check")
        for c in self.components:
            if c.name not in used and c.kind != "monitor":
                out.append(f"component {c.name!r} is on no data path")
        for b in self.boundaries:
            if len(b.statement.split()) < 6:
                out.append(f"boundary {b.name!r}: state it as a plain-English sentence")
            elif not mentions([b.statement + " "], _LIMIT_WORDS):
                out.append(f"boundary {b.name!r} does not say what is not allowed")
            for name in b.inside:
                if name not in kinds:
                    out.append(f"boundary {b.name!r} encloses unknown component {name!r}")
        logged = list(self.logged) + [x for c in self.components for x in c.logs]
        if not logged:
            out.append("nothing is logged: list what is logged for audit and debugging")
        elif not mentions(logged, ("version",)):
            out.append("what is logged does not include the model version, so an output "
                       "cannot be traced back")
        return out

    # --- rendering --------------------------------------------------------------------
    def flow(self) -> str:
        """The data paths as text arrows."""
        lines = []
        for p in self.paths:
            notes = [x for x in (
                p.data, f"permission: {p.permission}" if p.permission else "",
                f"timeout {p.timeout_ms:g} ms" if p.timeout_ms else "",
                f"fallback: {p.fallback}" if p.fallback else "",
                f"approval: {p.approval}" if p.approval else "",
                "logged" if p.logged else "") if x]
            lines.append(f"{p.source} --{p.action}--> {p.target}"
                         + (f"  [{'; '.join(notes)}]" if notes else ""))
        return "\n".join(lines)

    _PATH_HEAD = ("from", "to", "action", "data", "permission", "timeout", "fallback",
                  "approval", "logged")

    def _rows(self) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        comps = [(c.name, c.kind, c.purpose, ", ".join(c.logs)) for c in self.components]
        paths = [(p.source, p.target, p.action, p.data, p.permission,
                  f"{p.timeout_ms:g} ms" if p.timeout_ms else "none", p.fallback, p.approval,
                  "yes" if p.logged else "no") for p in self.paths]
        return comps, paths

    def _markdown_body(self) -> str:
        comps, paths = self._rows()
        bounds = "\n".join(f"- **{b.name}**: {b.statement}"
                           + (f" (inside: {', '.join(b.inside)})" if b.inside else "")
                           for b in self.boundaries) or "- none"
        logged = "\n".join(f"- {x}" for x in self.logged) or "- none"
        return "\n\n".join([
            f"**Owner:** {self.owner or '-'}",
            "### Components\n\n" + md_table(("name", "kind", "purpose", "logs"), comps),
            "### Data paths\n\n```\n" + (self.flow() or "(none)") + "\n```\n\n"
            + md_table(self._PATH_HEAD, paths),
            "### Boundaries\n\n" + bounds,
            "### Logged for audit and debugging\n\n" + logged,
        ])

    def _html_body(self) -> str:
        import html

        comps, paths = self._rows()
        bounds = [f"{b.name}: {b.statement}" for b in self.boundaries]
        return (f"<p><strong>Owner:</strong> {html.escape(self.owner or '-')}</p>"
                "<h3>Components</h3>" + html_table(("name", "kind", "purpose", "logs"), comps)
                + "<h3>Data paths</h3>" + f"<pre>{html.escape(self.flow())}</pre>"
                + html_table(self._PATH_HEAD, paths)
                + "<h3>Boundaries</h3>" + html_list(bounds)
                + "<h3>Logged for audit and debugging</h3>" + html_list(self.logged))

    # --- serialising ----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.KIND, "version": 1, "title": self.title, "owner": self.owner,
            "components": [{"name": c.name, "kind": c.kind, "purpose": c.purpose,
                            "logs": list(c.logs)} for c in self.components],
            "paths": [{"source": p.source, "target": p.target, "action": p.action,
                       "data": p.data, "permission": p.permission, "timeout_ms": p.timeout_ms,
                       "fallback": p.fallback, "approval": p.approval, "logged": p.logged}
                      for p in self.paths],
            "boundaries": [{"name": b.name, "statement": b.statement, "inside": list(b.inside)}
                           for b in self.boundaries],
            "logged": list(self.logged)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SystemSketch:
        keys = ("title", "owner", "components", "paths", "boundaries", "logged")
        values = check_dict(data, cls.KIND, keys)
        if "title" not in values:
            raise EvidenceError(f"{cls.KIND} data is missing 'title'")
        return cls(**values)
