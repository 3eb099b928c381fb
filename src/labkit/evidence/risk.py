"""A risk register entry mapped to NIST AI RMF 1.0, with owners and evidence.

A register entry says what could go wrong (cause, event, consequence), who
owns it, how likely and how bad it is, which controls reduce it, and where
the proof lives.  Mapping it to NIST AI RMF subcategories (``MEASURE 2.4``:
monitored in production; ``MANAGE 2.4``: can be disengaged) shows an auditor
which part of a recognised framework each control serves; every mapping needs
its own owner and evidence, or it is a label, not a control.

:meth:`RiskEntry.check` lists what is missing: empty required fields, an
owner that names nobody in particular ("the team"), a subcategory that does
not exist in the framework, a mapping without owner or evidence, and, for a
risk rated high or critical, no MEASURE mapping (how will you know?) or no
MANAGE mapping (what will you do?).

Serialised form (``to_dict()``; ``from_dict()`` reads it back)::

    {"kind": "risk-register", "version": 1, "risk_id": "R-7", "title": "...",
     "risk": "cause -> event -> consequence", "system": "...", "owner": "...",
     "likelihood": 1-5, "impact": 1-5, "rating": {"score": 1-25, "level": "..."},
     "response": "mitigate|transfer|avoid|accept", "review": "...",
     "controls": [{"description": "...", "owner": "...", "evidence": "..."}],
     "nist": [{"subcategory": "MEASURE 2.4", "how": "...", "owner": "...",
               "evidence": "..."}]}

>>> entry = RiskEntry(risk_id="R-1", title="Feature goes null", system="fraud scoring",
...     risk="A backend change blanks device_risk, so the model misses fraud for days.",
...     owner="Head of fraud ML", likelihood="possible", impact="major",
...     controls=[Control(description="Null-rate alert", owner="data platform on-call",
...                       evidence="alert rule in monitoring repo")],
...     nist=[RmfMapping(subcategory="measure 2.4", how="null-rate monitor",
...                      owner="data platform on-call", evidence="alert history")],
...     review="monthly")
>>> entry.rating
(12, 'high')
>>> entry.check()
['a high risk needs a MANAGE mapping: what will you do when it happens (e.g. MANAGE 2.4)?',
 'a high risk needs at least 2 controls, got 1']
"""

from __future__ import annotations

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
)
from labkit.evidence.nist_rmf import SUBCATEGORIES, closest, function_of, normalise

__all__ = ["RiskEntry", "Control", "RmfMapping", "LIKELIHOOD", "IMPACT", "RESPONSES",
           "rating_level"]

LIKELIHOOD = ("rare", "unlikely", "possible", "likely", "almost certain")
IMPACT = ("negligible", "minor", "moderate", "major", "severe")
RESPONSES = ("mitigate", "transfer", "avoid", "accept")
_MIN_RISK_WORDS = 8


def rating_level(score: int) -> str:
    """This workbook's 5 x 5 bands: 1-4 low, 5-9 medium, 10-16 high, 17-25 critical."""
    return "low" if score <= 4 else "medium" if score <= 9 else "high" if score <= 16 \
        else "critical"


def _scale(value: Any, names: tuple[str, ...], field_name: str) -> int:
    if isinstance(value, str) and value.strip().lower() in names:
        return names.index(value.strip().lower()) + 1
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 5:
        return value
    raise EvidenceError(f"{field_name} must be 1-5 or one of {', '.join(names)}, got {value!r}")


def _owner_problem(owner: str, where: str) -> str | None:
    if not owner:
        return f"{where} has no owner: name one role or person"
    if owner.lower() in VAGUE_OWNERS:
        return f"{where} owner {owner!r} names nobody in particular: name one role or person"
    return None


@dataclass(frozen=True, kw_only=True)
class Control:
    """Something that reduces the risk, who runs it, and where its proof lives."""

    description: str
    owner: str
    evidence: str

    def __post_init__(self) -> None:
        for name in ("description", "owner", "evidence"):
            object.__setattr__(self, name, text(getattr(self, name), f"control {name}"))


@dataclass(frozen=True, kw_only=True)
class RmfMapping:
    """One NIST AI RMF subcategory this entry serves: how, who, and the proof."""

    subcategory: str
    how: str
    owner: str
    evidence: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "subcategory",
                           normalise(text(self.subcategory, "mapping subcategory")))
        for name in ("how", "owner", "evidence"):
            object.__setattr__(self, name, text(getattr(self, name), f"mapping {name}"))

    @property
    def meaning(self) -> str:
        return SUBCATEGORIES.get(self.subcategory, "(not a NIST AI RMF 1.0 subcategory)")


@dataclass(frozen=True, kw_only=True)
class RiskEntry(Artifact):
    """One row of a risk register, mapped to NIST AI RMF 1.0."""

    KIND = "risk-register"
    TITLE = "Risk register entry"

    risk_id: str
    title: str
    risk: str
    system: str
    owner: str
    likelihood: int | str
    impact: int | str
    controls: tuple[Control, ...] = field(default=())
    nist: tuple[RmfMapping, ...] = field(default=())
    response: str = "mitigate"
    review: str = ""

    def __post_init__(self) -> None:
        for name in ("risk_id", "title", "risk", "system", "owner", "review"):
            object.__setattr__(self, name, text(getattr(self, name), name))
        object.__setattr__(self, "likelihood", _scale(self.likelihood, LIKELIHOOD, "likelihood"))
        object.__setattr__(self, "impact", _scale(self.impact, IMPACT, "impact"))
        response = text(self.response, "response").lower()
        if response not in RESPONSES:
            raise EvidenceError(f"response must be one of {', '.join(RESPONSES)}, got "
                                f"{self.response!r}")
        object.__setattr__(self, "response", response)
        object.__setattr__(self, "controls", items(self.controls, Control, "controls"))
        object.__setattr__(self, "nist", items(self.nist, RmfMapping, "nist"))

    @property
    def rating(self) -> tuple[int, str]:
        """(likelihood x impact, band)."""
        score = int(self.likelihood) * int(self.impact)
        return score, rating_level(score)

    def _name(self) -> str:
        return f"{self.risk_id} {self.title}".strip()

    def check(self) -> list[str]:
        """What is missing or wrong, in plain words (empty when complete)."""
        out = [f"{name} is empty" for name in ("risk_id", "title", "risk", "system", "review")
               if not getattr(self, name)]
        if self.risk and len(self.risk.split()) < _MIN_RISK_WORDS:
            out.append(f"risk has {len(self.risk.split())} words: describe the cause, what "
                       f"happens and the consequence (at least {_MIN_RISK_WORDS} words)")
        if problem := _owner_problem(self.owner, "the risk"):
            out.append(problem)
        if not self.controls:
            out.append("no controls: list what reduces the likelihood or the impact")
        for i, c in enumerate(self.controls, 1):
            if not c.description:
                out.append(f"control {i} has no description")
            if problem := _owner_problem(c.owner, f"control {i}"):
                out.append(problem)
            if not c.evidence:
                out.append(f"control {i} has no evidence: say where the proof lives")
        if not self.nist:
            out.append("no NIST AI RMF mapping: map the controls to subcategories such as "
                       "GOVERN 2.1, MEASURE 2.4 or MANAGE 2.4")
        seen: set[str] = set()
        for m in self.nist:
            sub = m.subcategory
            if sub not in SUBCATEGORIES:
                near = closest(sub)
                hint = f"; did you mean {near}?" if near else ""
                out.append(f"{sub!r} is not a NIST AI RMF 1.0 subcategory{hint}")
            if sub in seen:
                out.append(f"{sub} is mapped twice: merge the two rows")
            seen.add(sub)
            if not m.how:
                out.append(f"{sub}: say how this entry meets it")
            if problem := _owner_problem(m.owner, sub):
                out.append(problem)
            if not m.evidence:
                out.append(f"{sub} has no evidence: say where the proof lives")
        score, level = self.rating
        if level in ("high", "critical"):
            functions = {function_of(m.subcategory) for m in self.nist
                         if m.subcategory in SUBCATEGORIES}
            if "MEASURE" not in functions:
                out.append(f"a {level} risk needs a MEASURE mapping: how will you know it is "
                           "happening (e.g. MEASURE 2.4)?")
            if "MANAGE" not in functions:
                out.append(f"a {level} risk needs a MANAGE mapping: what will you do when it "
                           "happens (e.g. MANAGE 2.4)?")
            if len(self.controls) < 2:
                out.append(f"a {level} risk needs at least 2 controls, got {len(self.controls)}")
        return out

    # --- rendering --------------------------------------------------------------------
    def _fields(self) -> list[tuple[str, str]]:
        score, level = self.rating
        return [("system", self.system), ("owner", self.owner),
                ("likelihood", f"{self.likelihood} ({LIKELIHOOD[int(self.likelihood) - 1]})"),
                ("impact", f"{self.impact} ({IMPACT[int(self.impact) - 1]})"),
                ("rating", f"{score} of 25 ({level})"), ("response", self.response),
                ("review", self.review)]

    def _control_rows(self) -> list[tuple[str, str, str]]:
        return [(c.description, c.owner, c.evidence) for c in self.controls]

    def _nist_rows(self) -> list[tuple[str, ...]]:
        return [(m.subcategory, m.meaning, m.how, m.owner, m.evidence) for m in self.nist]

    _NIST_HEAD = ("subcategory", "what it asks (paraphrased)", "how this entry meets it",
                  "owner", "evidence")

    def _markdown_body(self) -> str:
        return "\n\n".join([
            f"**Risk:** {self.risk or '-'}",
            md_table(("field", "value"), self._fields()),
            "### Controls\n\n" + md_table(("control", "owner", "evidence"),
                                          self._control_rows()),
            "### NIST AI RMF 1.0 mapping\n\n" + md_table(self._NIST_HEAD, self._nist_rows()),
        ])

    def _html_body(self) -> str:
        import html

        return (f"<p><strong>Risk:</strong> {html.escape(self.risk or '-')}</p>"
                + html_table(("field", "value"), self._fields())
                + "<h3>Controls</h3>" + html_table(("control", "owner", "evidence"),
                                                   self._control_rows())
                + "<h3>NIST AI RMF 1.0 mapping</h3>" + html_table(self._NIST_HEAD,
                                                                  self._nist_rows()))

    # --- serialising ----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        score, level = self.rating
        return {"kind": self.KIND, "version": 1, "risk_id": self.risk_id, "title": self.title,
                "risk": self.risk, "system": self.system, "owner": self.owner,
                "likelihood": self.likelihood, "impact": self.impact,
                "rating": {"score": score, "level": level}, "response": self.response,
                "review": self.review,
                "controls": [{"description": c.description, "owner": c.owner,
                              "evidence": c.evidence} for c in self.controls],
                "nist": [{"subcategory": m.subcategory, "how": m.how, "owner": m.owner,
                          "evidence": m.evidence} for m in self.nist]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RiskEntry:
        keys = ("risk_id", "title", "risk", "system", "owner", "likelihood", "impact",
                "controls", "nist", "response", "review", "rating")
        values = check_dict(data, cls.KIND, keys)
        values.pop("rating", None)
        missing = [k for k in keys[:7] if k not in values]
        if missing:
            raise EvidenceError(f"{cls.KIND} data is missing {missing[0]!r}")
        return cls(**values)
