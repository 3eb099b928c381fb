"""Lab 4's evidence artifact: the *agent boundary sheet*.

One page that says what an agent may do and how anyone would know what it did: the tools it
may **read**, the tools that **write** (each either approved by a named human role or denied),
its **budgets** (step cap, dollars and seconds per task), whether a **permission policy**
blocks actions outside its grant (what an injected instruction asks for), what is **logged**
for every step, and how the sheet serves two frameworks:

* NIST AI RMF 1.0 subcategories (:mod:`labkit.evidence.nist_rmf`), each with how, who and the
  proof, as in lab 3's risk register entry;
* ISO/IEC 23894:2023 risk treatment (the standard builds its risk management process on ISO
  31000:2018): for each risk the sheet treats, the treatment option chosen (:data:`TREATMENTS`)
  and the control.

:meth:`AgentBoundarySheet.check` is a completeness check with stated rules (not an
understanding of the text): a named owner; at least one read tool; every write tool either
approved (with the approver named) or denied, never both nor neither; a step cap and a dollar
budget (a loop with no budget has no bound on its bill); the permission policy on; the log
names the prompt version, the tool, the read/write class, the approval and the cost so far;
at least two NIST mappings to real subcategories, one of them MAP or GOVERN (who decided the
boundary) and one MANAGE (what stops the agent); at least one ISO/IEC 23894 treatment with a
known option.

>>> sheet = AgentBoundarySheet(title="Refund helper", agent="support agent v1",
...     owner="Head of customer support", reads=["order lookup"], writes=["issue refund"],
...     approvals={"issue refund": "support team lead"}, max_steps=9, budget_usd=0.05,
...     permission_policy=True, logged=["prompt version", "tool", "read/write class",
...     "approval", "cost so far"])
>>> sheet.check()[0]
'nist needs at least two NIST AI RMF mappings (for example MAP 3.5 and MANAGE 2.4)'
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from labkit.evidence.common import (
    VAGUE_OWNERS,
    Artifact,
    EvidenceError,
    check_dict,
    html_table,
    items,
    md_table,
    text,
    texts,
)
from labkit.evidence.nist_rmf import SUBCATEGORIES, function_of
from labkit.evidence.risk import RmfMapping

__all__ = ["AgentBoundarySheet", "IsoTreatment", "TREATMENTS", "LOG_FIELDS", "KIND", "sheet_data",
           "sheet_problems"]

KIND = "agent-boundary-sheet"
#: The risk treatment options of ISO 31000:2018 (6.5.2), which ISO/IEC 23894:2023 applies to AI;
#: taking or increasing a risk to pursue an opportunity is left out (no boundary sheet needs it).
TREATMENTS = ("avoid", "remove source", "change likelihood", "change consequences", "share",
              "retain")
#: What the audit trail must hold for every step (the simulator's ``Result.steps`` has each).
LOG_FIELDS: Mapping[str, tuple[str, ...]] = {
    "prompt version": ("prompt version", "prompt_version"),
    "tool": ("tool",),
    "read/write class": ("read/write", "read or write", "class"),
    "approval": ("approval", "approved", "approver"),
    "cost so far": ("cost",),
}


@dataclass(frozen=True, kw_only=True)
class IsoTreatment:
    """One risk the sheet treats, the ISO/IEC 23894 treatment option and the control."""

    risk: str
    option: str
    control: str

    def __post_init__(self) -> None:
        for name in ("risk", "option", "control"):
            object.__setattr__(self, name, text(getattr(self, name), f"treatment {name}"))
        object.__setattr__(self, "option", self.option.lower())


@dataclass(frozen=True, kw_only=True)
class AgentBoundarySheet(Artifact):
    """What the agent may read, write and spend, what is logged, and the framework mappings."""

    KIND = KIND
    TITLE = "Agent boundary sheet"

    title: str
    agent: str
    owner: str
    reads: tuple[str, ...] = field(default=())
    writes: tuple[str, ...] = field(default=())
    approvals: Mapping[str, str] = field(default_factory=dict)
    denied: tuple[str, ...] = field(default=())
    max_steps: int = 0
    budget_usd: float = 0.0
    budget_s: float = 0.0
    permission_policy: bool = False
    logged: tuple[str, ...] = field(default=())
    nist: tuple[RmfMapping, ...] = field(default=())
    iso: tuple[IsoTreatment, ...] = field(default=())

    def __post_init__(self) -> None:
        for name in ("title", "agent", "owner"):
            object.__setattr__(self, name, text(getattr(self, name), name))
        for name in ("reads", "writes", "denied", "logged"):
            object.__setattr__(self, name, texts(getattr(self, name), name))
        if not isinstance(self.approvals, Mapping):
            raise EvidenceError("approvals must be a dict of write tool -> approver role, got "
                                f"{type(self.approvals).__name__}")
        object.__setattr__(self, "approvals", {text(k, "approvals tool"): text(v, "approver")
                                               for k, v in self.approvals.items()})
        for name in ("max_steps", "budget_usd", "budget_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise EvidenceError(f"{name} must be a number >= 0, got {value!r}")
        if not isinstance(self.permission_policy, bool):
            raise EvidenceError(f"permission_policy must be True or False, got "
                                f"{self.permission_policy!r}")
        object.__setattr__(self, "nist", items(self.nist, RmfMapping, "nist"))
        object.__setattr__(self, "iso", items(self.iso, IsoTreatment, "iso"))

    def _name(self) -> str:
        return self.title

    def check(self) -> list[str]:
        """What is missing, in plain words (empty when complete)."""
        out = [f"{name} is empty" for name in ("title", "agent") if not getattr(self, name)]
        if not self.owner or self.owner.lower() in VAGUE_OWNERS:
            out.append(f"owner {self.owner!r} names nobody in particular: name the role that "
                       "answers for the agent")
        if not self.reads:
            out.append("reads lists no tool: say what the agent may read")
        for tool in self.writes:
            approved, denied = tool in self.approvals, tool in self.denied
            if approved and denied:
                out.append(f"write {tool!r} is both approved and denied: choose one")
            elif not approved and not denied:
                out.append(f"write {tool!r} has no approver and is not denied: every write "
                           "needs a human or a no")
        for tool, who in self.approvals.items():
            if tool not in self.writes:
                out.append(f"approvals name {tool!r}, which is not one of the writes")
            elif not who or who.lower() in VAGUE_OWNERS:
                out.append(f"the approver of {tool!r} names nobody in particular")
        if self.max_steps < 1:
            out.append("max_steps is not set: a loop with no step cap has no end")
        if self.budget_usd <= 0:
            out.append("budget_usd is not set: a runaway task has no bound on its bill")
        if not self.permission_policy:
            out.append("permission_policy is off: an injected instruction can make the agent "
                       "act outside its grant")
        said = " ".join(self.logged).lower()
        missing = [name for name, words in LOG_FIELDS.items()
                   if not any(w in said for w in words)]
        if missing:
            out.append("logged does not name " + ", ".join(missing)
                       + ": the audit trail must explain every step")
        if len(self.nist) < 2:
            out.append("nist needs at least two NIST AI RMF mappings (for example MAP 3.5 and "
                       "MANAGE 2.4)")
        for m in self.nist:
            if m.subcategory not in SUBCATEGORIES:
                out.append(f"{m.subcategory!r} is not a NIST AI RMF 1.0 subcategory")
            if not m.how or not m.evidence:
                out.append(f"mapping {m.subcategory}: say how the sheet serves it and where "
                           "the proof is")
            if not m.owner or m.owner.lower() in VAGUE_OWNERS:
                out.append(f"mapping {m.subcategory}: its owner names nobody in particular")
        functions = {function_of(m.subcategory) for m in self.nist
                     if m.subcategory in SUBCATEGORIES}
        if len(self.nist) >= 2 and not functions & {"GOVERN", "MAP"}:
            out.append("no GOVERN or MAP mapping: who decided this boundary, and where is it "
                       "written (e.g. MAP 3.5)?")
        if len(self.nist) >= 2 and "MANAGE" not in functions:
            out.append("no MANAGE mapping: what stops the agent when it goes wrong (e.g. "
                       "MANAGE 2.4)?")
        if not self.iso:
            out.append("iso lists no ISO/IEC 23894 risk treatment")
        for t in self.iso:
            if t.option not in TREATMENTS:
                out.append(f"treatment option {t.option!r} is not one of "
                           + ", ".join(TREATMENTS))
            if not t.risk or not t.control:
                out.append("every treatment names the risk and the control")
        return out

    # --- rendering --------------------------------------------------------------------
    def _rows(self) -> list[tuple[str, str]]:
        writes = [f"{w}: approved by {self.approvals[w]}" if w in self.approvals else
                  f"{w}: denied" if w in self.denied else f"{w}: (no decision)"
                  for w in self.writes]
        budgets = (f"{self.max_steps:g} steps, ${self.budget_usd:g}"
                   + (f", {self.budget_s:g} s" if self.budget_s else "") + " per task")
        return [("agent", self.agent), ("owner", self.owner), ("may read", "; ".join(self.reads)),
                ("writes", "; ".join(writes) or "none"), ("budgets", budgets),
                ("permission policy", "on" if self.permission_policy else "off"),
                ("logged per step", "; ".join(self.logged))]

    def _markdown_body(self) -> str:
        parts = [md_table(("field", "value"), self._rows())]
        if self.nist:
            parts.append("### NIST AI RMF 1.0\n\n" + md_table(
                ("subcategory", "how", "owner", "evidence"),
                [(m.subcategory, m.how, m.owner, m.evidence) for m in self.nist]))
        if self.iso:
            parts.append("### ISO/IEC 23894 risk treatment\n\n" + md_table(
                ("risk", "option", "control"), [(t.risk, t.option, t.control) for t in self.iso]))
        return "\n\n".join(parts)

    def _html_body(self) -> str:
        body = html_table(("field", "value"), self._rows())
        if self.nist:
            body += "<h3>NIST AI RMF 1.0</h3>" + html_table(
                ("subcategory", "how", "owner", "evidence"),
                [(m.subcategory, m.how, m.owner, m.evidence) for m in self.nist])
        if self.iso:
            body += f"<h3>{html.escape('ISO/IEC 23894 risk treatment')}</h3>" + html_table(
                ("risk", "option", "control"), [(t.risk, t.option, t.control) for t in self.iso])
        return body

    # --- serialising ----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"kind": KIND, "version": 1, "title": self.title, "agent": self.agent,
                "owner": self.owner, "reads": list(self.reads), "writes": list(self.writes),
                "approvals": dict(self.approvals), "denied": list(self.denied),
                "max_steps": self.max_steps, "budget_usd": self.budget_usd,
                "budget_s": self.budget_s, "permission_policy": self.permission_policy,
                "logged": list(self.logged),
                "nist": [{"subcategory": m.subcategory, "how": m.how, "owner": m.owner,
                          "evidence": m.evidence} for m in self.nist],
                "iso": [{"risk": t.risk, "option": t.option, "control": t.control}
                        for t in self.iso]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AgentBoundarySheet:
        keys = ("title", "agent", "owner", "reads", "writes", "approvals", "denied",
                "max_steps", "budget_usd", "budget_s", "permission_policy", "logged", "nist",
                "iso")
        values = check_dict(data, KIND, keys)
        for k in ("title", "agent", "owner"):
            if k not in values:
                raise EvidenceError(f"{KIND} data is missing {k!r}")
        values["nist"] = [RmfMapping(**m) for m in values.get("nist", [])]
        values["iso"] = [IsoTreatment(**t) for t in values.get("iso", [])]
        return cls(**values)


def sheet_data(sheet: Any) -> Any:
    """The sheet as plain data (what crosses to the grader's kernel); anything else as it is."""
    return sheet.to_dict() if isinstance(sheet, AgentBoundarySheet) else sheet


def sheet_problems(sheet: Any) -> list[str]:
    """What is still to fix in a boundary sheet, given as the object or as its data.

    >>> sheet_problems(None)
    ['boundary sheet: not written yet; set boundary_sheet to an AgentBoundarySheet(...).']
    """
    if sheet is None or sheet is Ellipsis:
        return ["boundary sheet: not written yet; set boundary_sheet to an "
                "AgentBoundarySheet(...)."]
    try:
        built = sheet if isinstance(sheet, AgentBoundarySheet) else \
            AgentBoundarySheet.from_dict(sheet)
    except (EvidenceError, TypeError, ValueError) as exc:
        return [f"boundary sheet: {exc}"]
    return built.check()
