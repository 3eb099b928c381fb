"""The CPD evidence pack: the learner's own artifacts from completed labs, in one file.

A CPD record must stand on its own when an auditor samples it, so the pack
gathers from the learner's saved lab notebooks every cell tagged
``evidence:<name>`` (system sketch, load-and-failure design, risk register
entry, incident runbook, reflections; the capstone's design document and
postmortem when its notebook is given), fills in the CPD note template and adds
the timing figures of those labs: one self-contained HTML page (inline CSS, no
scripts, nothing fetched) or one Markdown file.

Notebooks are read statically, never executed:

* a **markdown** evidence cell is the learner's written answer;
* a **code** evidence cell declares its artifact through a labkit evidence
  helper, whose rich output carries a JSON payload under the MIME type
  :data:`EVIDENCE_MIME` (build it with :func:`evidence_bundle`)::

      {"kind": "system-sketch", "version": 1, "title": "...",
       "data": <the helper's to_dict()>, "problems": ["...", ...],
       "markdown": "<the helper's own rendering>"}

  ``problems`` are the helper's checks that failed (for example a write path
  without an approval step); they make the artifact *incomplete*.

Every expected artifact ends up ``complete``, ``incomplete`` or ``missing``,
and each one that is not complete carries a message saying what to do.

The predictions a learner writes before an activity's run (a code cell that
assigns a string to ``prediction_<n>``, its comment lines being the question)
are listed too, in notebook order, as written: they are a record of the
learner's thinking, never marked.
"""

from __future__ import annotations

import ast
import csv
import html
import importlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from labkit.cpd import (
    PARTS,
    READING_COLOUR,
    Breakdown,
    CpdError,
    breakdown,
    format_minutes,
    prose_words,
)
from labkit.errors import LabkitError

__all__ = ["EVIDENCE_MIME", "EXPECTED", "CAPSTONE", "MIN_WORDS", "Artifact", "Prediction", "Pack",
           "PackError", "evidence_bundle", "collect", "passed_assessments", "write_pack"]

EVIDENCE_MIME = "application/vnd.labkit.evidence+json"
MIN_WORDS = 25
# name -> (title, where it comes from and what it must show), in the labs' order.
EXPECTED: dict[str, tuple[str, str]] = {
    "system-sketch": ("Production system sketch", "lab 1: boundaries, permissions, "
                      "fallbacks, what is logged for audit and debugging"),
    "load-failure-design": ("Design for load and failure", "lab 2: budgets, cache, scaling, "
                            "retry policy, fallback path, what is logged"),
    "risk-register": ("Risk register entry", "lab 3: risks mapped to NIST AI RMF "
                      "subcategories, with owners and evidence"),
    "incident-runbook": ("Incident runbook", "lab 3: triage, containment, communications, "
                         "post-incident fixes"),
    "agent-boundary-sheet": ("Agent boundary sheet", "lab 4: reads, writes and who approves "
                             "them, budgets, permission policy, what is logged, mapped to NIST "
                             "AI RMF and ISO/IEC 23894 risk treatment"),
    "reflection": ("Reflection", "every lab: what changes in your practice"),
}
#: The capstone's artifacts: collected (and reported missing or incomplete) when the capstone's
#: notebook is given, never reported missing from the labs' notebooks alone.
CAPSTONE: dict[str, tuple[str, str]] = {
    "design-document": ("Design document", "capstone: system sketch, budgets and the knobs "
                        "that hold them, failure modes and fallbacks"),
    "postmortem": ("Postmortem", "capstone: blameless, a timeline from the audit trail, "
                   "contributing factors, actions with owners, risk register and runbook"),
}
TITLE = "CPD evidence pack: AI Advanced, running AI as a production system"
_PLACEHOLDER = re.compile(r"YOUR ANSWER HERE|YOUR CODE HERE|raise NotImplementedError", re.I)


class PackError(LabkitError, ValueError):
    """A notebook or output path the pack cannot use; the message names it."""


def evidence_bundle(*, kind: str, data: Mapping[str, Any], markdown: str, title: str = "",
                    problems: Sequence[str] = ()) -> dict[str, Any]:
    """The MIME bundle an evidence helper returns from ``_repr_mimebundle_``.

    JupyterLab shows the ``text/markdown`` part; the pack reads the JSON part.

    >>> b = evidence_bundle(kind="system-sketch", data={"a": 1}, markdown="**a**")
    >>> sorted(b), b[EVIDENCE_MIME]["problems"]
    (['application/vnd.labkit.evidence+json', 'text/markdown'], [])
    """
    payload = {"kind": kind, "version": 1, "title": title, "data": dict(data),
               "problems": list(problems), "markdown": markdown}
    todo = "".join(f"\n- {p}" for p in problems)
    return {EVIDENCE_MIME: payload,
            "text/markdown": markdown + (f"\n\n**Still to fix:**\n{todo}" if todo else "")}


@dataclass(frozen=True, kw_only=True)
class Artifact:
    """One evidence artifact as found (or not found) in the learner's notebooks."""

    name: str
    status: str                      # "complete", "incomplete" or "missing"
    messages: tuple[str, ...] = ()
    markdown: str = ""               # the learner's content, as markdown
    notebook: str = ""
    cell_index: int = -1
    prompt: str = ""                 # the question a reflection answers
    data: Mapping[str, Any] | None = None

    @property
    def title(self) -> str:
        return {**EXPECTED, **CAPSTONE}.get(self.name, (self.name, ""))[0]

    @property
    def where(self) -> str:
        return f"{Path(self.notebook).name}, cell {self.cell_index}" if self.notebook else "-"

    @property
    def anchor(self) -> str:
        key = f"{self.name}-{Path(self.notebook).stem}-{self.cell_index}".lower()
        return re.sub(r"[^a-z0-9]+", "-", key).strip("-")


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def _outputs(cell: Mapping[str, Any]) -> tuple[dict[str, Any] | None, list[str], str]:
    """A code cell's (evidence payload, error messages, best text output)."""
    payload, errors, text = None, [], ""
    for out in cell.get("outputs") or []:
        data = out.get("data") or {}
        if out.get("output_type") == "error":
            errors.append(f"the cell raised {out.get('ename', 'an error')}: "
                          f"{out.get('evalue', '')}".rstrip(": "))
        if EVIDENCE_MIME in data:
            raw = data[EVIDENCE_MIME]
            payload = json.loads(raw) if isinstance(raw, str) else dict(raw)
        if not text and "text/markdown" in data:
            text = _text(data["text/markdown"])
        elif not text and ("text/plain" in data or out.get("output_type") == "stream"):
            text = "```\n" + _text(data.get("text/plain", out.get("text"))).rstrip() + "\n```"
    return payload, errors, text


def _read_cell(name: str, path: Path, index: int, cell: Mapping[str, Any],
               prompt: str) -> Artifact:
    """What one ``evidence:<name>`` cell holds, with its status and messages."""
    art = Artifact(name=name, status="complete", notebook=str(path), cell_index=index,
                   prompt=prompt)
    source, where = _text(cell.get("source")), art.where
    if cell.get("cell_type") == "markdown":
        words = prose_words(_PLACEHOLDER.sub(" ", source))
        if words == 0:
            return replace(art, status="missing",
                           messages=(f"{where}: not answered yet; write your answer in it.",))
        short = (f"{where}: only {words} words; an auditor needs at least {MIN_WORDS} "
                 "that stand on their own.",) if words < MIN_WORDS else ()
        return replace(art, status="incomplete" if short else "complete", markdown=source,
                       messages=short)
    payload, errors, text = _outputs(cell)
    errors = [f"{where}: {e}" for e in errors]
    if payload is not None:
        kind, data = payload.get("kind"), payload.get("data") or {}
        checked = _recheck(kind, data)
        problems = [f"{where}: {p}" for p in (payload.get("problems") or ()
                                              if checked is None else checked)] + errors
        if kind != name and name in EXPECTED:
            problems.insert(0, f"{where}: holds a {kind} record, not a {name}; declare the "
                               f"{EXPECTED[name][0].lower()} here.")
        md = _text(payload.get("markdown")) or _json_md(data)
        if payload.get("title") and not md.lstrip().startswith("#"):
            md = f"**{payload['title']}**\n\n{md}"
        return replace(art, status="incomplete" if problems else "complete", markdown=md,
                       data=data, messages=tuple(problems))
    if errors:
        return replace(art, status="incomplete", markdown=text, messages=tuple(errors))
    if not cell.get("outputs"):
        why = ("not answered yet" if _PLACEHOLDER.search(source)
               else "has no output: run it, then save the notebook")
        return replace(art, status="missing", messages=(f"{where}: {why}.",))
    return replace(art, status="incomplete", markdown=text, messages=(
        f"{where}: its output holds no labkit evidence record; declare the artifact with the "
        "lab's evidence helper and run the cell again.",))


# The evidence helpers, by payload kind: the pack re-makes each artifact from its to_dict() and
# asks it for its problems now, so a notebook saved with stale (or edited) checks still gets
# the current verdict.  A helper that is missing, or data it no longer reads, falls back to the
# problems stored in the payload.
_HELPERS = {"system-sketch": ("labkit.evidence.sketch", "SystemSketch"),
            "risk-register": ("labkit.evidence.risk", "RiskEntry"),
            "incident-runbook": ("labkit.evidence.runbook", "Runbook"),
            "load-failure-design": ("labkit.evidence.design", "LoadFailureDesign"),
            "agent-boundary-sheet": ("labkit.labs.lab4.evidence", "AgentBoundarySheet")}


def _recheck(kind: Any, data: Mapping[str, Any]) -> list[str] | None:
    """The helper's current problems with ``data``, or None when it cannot re-read it."""
    if kind not in _HELPERS:
        return None
    module, name = _HELPERS[kind]
    try:
        artifact = getattr(importlib.import_module(module), name).from_dict(data)
        return [str(p) for p in artifact.check()]
    except (ImportError, AttributeError, ValueError, TypeError, KeyError):
        return None


@dataclass(frozen=True, kw_only=True)
class Prediction:
    """One prediction written before a run: the notebook, the variable, the question asked
    (the cell's comment lines) and what the learner wrote ("" when nothing yet)."""

    notebook: str
    name: str
    question: str
    text: str


_PREDICTION = re.compile(r"^prediction_\w+$")
_PREDICT_BOILERPLATE = re.compile(r"^predict before you run\b", re.I)


def _predictions(path: Path, cell: Mapping[str, Any]) -> list[Prediction]:
    """The ``prediction_<n> = "..."`` assignments of one code cell, read without running it."""
    source = _text(cell.get("source"))
    if "prediction_" not in source:
        return []
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    question = " ".join(line.strip().lstrip("#").strip() for line in source.splitlines()
                        if line.strip().startswith("#")
                        and not _PREDICT_BOILERPLATE.match(line.strip().lstrip("#").strip()))
    found = []
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and _PREDICTION.match(node.targets[0].id)
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            found.append(Prediction(notebook=path.name, name=node.targets[0].id,
                                    question=question, text=node.value.value.strip()))
    return found


def _predictions_md(predictions: Sequence[Prediction]) -> str:
    rows = []
    for p in predictions:
        said = _quote(p.text) if p.text else "> _(no prediction written)_"
        rows.append(f"**{p.notebook}, {p.name}.** {p.question}\n\n{said}")
    return ("## Predictions\n\nWhat I expected before each run, as I wrote it (not marked; "
            "each lab shows it next to what the run showed).\n\n" + "\n\n".join(rows))


def _json_md(data: Any) -> str:
    """A payload's data when it brings no rendering of its own."""
    return "```json\n" + json.dumps(data, indent=2, default=str) + "\n```"


def _load(path: Path) -> dict[str, Any]:
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PackError(f"{path}: no such notebook") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PackError(f"{path}: not a readable notebook ({exc})") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise PackError(f"{path}: not a notebook (no 'cells' list)")
    return nb


@dataclass(frozen=True, kw_only=True)
class Pack:
    """Every artifact found or missing, plus the labs' timing and the CPD note."""

    artifacts: tuple[Artifact, ...]
    notebooks: tuple[str, ...]
    timing: Breakdown | None = None
    passed: tuple[str, ...] = ()          # timed assessments passed, from the grades export
    predictions: tuple[Prediction, ...] = ()   # written before runs; not marked
    created: date = field(default_factory=date.today)

    @property
    def assessment_min(self) -> int:
        """Minutes of timed assessment earned: each passed assessment's time limit, once."""
        if not self.timing:
            return 0
        return sum(lab.assessment_pending_min for lab in self.timing.labs
                   if lab.name in self.passed)

    @property
    def problems(self) -> list[str]:
        """One message per missing or incomplete artifact (empty when the pack is whole)."""
        return [m for a in self.artifacts if a.status != "complete" for m in a.messages]

    def sections(self) -> list[tuple[str, str, str]]:
        """The document as (anchor, css class, markdown) sections, in reading order."""
        files = ", ".join(Path(n).name for n in self.notebooks)
        secs = [("", "head", f"# {TITLE}\n\nCreated {self.created.isoformat()} from {files}."),
                ("status", "status", _status_md(self)), ("cpd-note", "note", _note_md(self))]
        if self.timing:
            secs.append(("timing", "timing", _timing_md(self.timing) + _earned_md(self)))
        secs.append(("", "head", "## Artifacts"))
        secs += [(a.anchor, a.status, _artifact_md(a)) for a in self.artifacts]
        if self.predictions:
            secs.append(("predictions", "predictions", _predictions_md(self.predictions)))
        return secs

    def to_markdown(self) -> str:
        """The pack as one Markdown document."""
        return "\n\n".join((f'<a id="{anchor}"></a>\n\n' if anchor else "") + text
                           for anchor, _, text in self.sections()) + "\n"

    def to_html(self) -> str:
        """The pack as one self-contained HTML page (inline CSS, no scripts, no links out)."""
        parts = []
        for anchor, css, text in self.sections():
            bars = _timing_bars(self.timing) if css == "timing" and self.timing else ""
            ident = f' id="{anchor}"' if anchor else ""
            parts.append(f'<section{ident} class="{css}">{_md_html(text)}{bars}</section>')
        return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
                f"<title>{html.escape(TITLE)}</title><style>{_CSS}</style></head>"
                "<body><main>" + "\n".join(parts) + "</main></body></html>\n")


def _status_md(pack: Pack) -> str:
    rows = ["| artifact | status | where |", "|---|---|---|"]
    rows += [f"| [{a.title}](#{a.anchor}) | {a.status} | {a.where} |" for a in pack.artifacts]
    todo = "".join(f"\n- {m}" for m in pack.problems)
    return ("## Status\n\n" + "\n".join(rows) + "\n\n"
            + (f"### Still to do\n{todo}" if todo else "Every expected artifact is complete."))


def _note_md(pack: Pack) -> str:
    """The CPD note template, filled from the labs and the learner's own answers."""
    t, done = pack.timing, [a for a in pack.artifacts if a.status == "complete"]
    labs = "; ".join(lab.title or lab.name for lab in t.labs) if t else "the labkit labs"
    goals = "".join(f"\n    - {o}" for lab in t.labs for o in lab.objectives) if t else ""
    practised = (f"{t.activities} guided activities and {t.checkpoint_blocks} checkpoint blocks "
                 "with a discrete-event simulation of an AI service "
                 f"({format_minutes(t.total_min)} of guided time)" if t else "the labs")
    made = ", ".join(sorted({a.title for a in done if a.name != "reflection"}))
    changed = next((a.markdown for a in done if a.name == "reflection"), "")
    evidence = "".join(f"\n    - [{a.title}](#{a.anchor}) ({a.where})" for a in done)
    return ("## CPD note\n\n"
            f"- **What I studied:** running AI as a production system: {labs}.{goals}\n"
            f"- **What I practised:** {practised}; produced: {made or 'nothing complete yet'}.\n"
            "- **What changed in my practice:** "
            + (f"(from my reflection)\n\n{_quote(changed)}\n\n" if changed
               else "_(write one or two sentences: what you will do differently at work)_\n")
            + "- **Evidence artefact:**" + (evidence or " _(none complete yet)_"))


def _timing_md(t: Breakdown) -> str:
    lines = ["| lab | reading | " + " | ".join(p.label.lower() for p in PARTS) + " | total |",
             "|---|---|" + "---|" * len(PARTS) + "---|"]
    lines += [f"| {r['lab']} | {r['reading_min']}m ({r['reading_words']} words) | "
              + " | ".join(f"{r[p.min_key]}m" for p in PARTS)
              + f" | {format_minutes(r['total_min'])} |" for r in t.rows()]
    lines.append("| Claimed for the level |" + " |" * (len(PARTS) + 1)
                 + f" {format_minutes(t.claimed_min)} |")
    notes = "".join(f"\n- {x}" for x in t.assumptions.lines() + t.gap_lines())
    return "## Timing\n\n" + "\n".join(lines) + "\n" + notes


def _earned_md(pack: Pack) -> str:
    """The timed assessment's minutes, counted once when the grades show it passed."""
    t = pack.timing
    if t is None or not t.assessment_pending_min:
        return ""
    if not pack.assessment_min:
        return ("\n\n**Timed assessment:** not counted (no passed assessment in the grades "
                "given; add `--grades GRADES.csv --student ID` once it is marked).")
    return (f"\n\n**Timed assessment:** passed ({', '.join(pack.passed)}), "
            f"{pack.assessment_min} min counted once; with it, "
            f"{format_minutes(t.total_min + pack.assessment_min)} in all.")


def passed_assessments(grades: str | Path, student: str) -> tuple[str, ...]:
    """The labs ``student`` has passed according to a ``labkit course export`` CSV."""
    path = Path(grades)
    try:
        rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))
    except (OSError, UnicodeDecodeError) as exc:
        raise PackError(f"{path}: cannot read the grades ({exc})") from None
    if not rows or not {"assignment", "student_id", "standard"} <= set(rows[0]):
        raise PackError(f"{path}: not a grades export with a 'standard' column (write one "
                        "with labkit course export -o FILE)")
    mine = [r for r in rows if r["student_id"] == student]
    if not mine:
        raise PackError(f"{path}: no rows for student {student!r}")
    return tuple(sorted(r["assignment"] for r in mine if r["standard"] == "pass"))


def _artifact_md(a: Artifact) -> str:
    parts = [f"### {a.title}: {a.status}", f"_{a.name}, from {a.where}_"]
    parts += [f"> {m}" for m in a.messages]
    if a.prompt:
        parts.append("**Prompt**\n\n" + _quote(a.prompt))
    if a.markdown:
        parts.append(_demote(a.markdown))
    return "\n\n".join(parts)


_CSS = ("body{font:15px/1.5 system-ui,sans-serif;color:#222;background:#fff}"
        "main{max-width:54rem;margin:2rem auto;padding:0 1rem}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem}"
        "section.complete,section.incomplete,section.missing{border-left:4px solid #54A24B;"
        "padding:.1rem 1rem;margin:1rem 0}section.incomplete{border-color:#F58518}"
        "section.missing{border-color:#E45756}pre{overflow-x:auto;background:#f4f4f4}"
        "blockquote{margin:.3rem 0;padding-left:.8rem;border-left:3px solid #ddd;color:#555}"
        ".bars .row{display:flex;align-items:center;margin:.2rem 0}.bars .l{width:14rem}"
        ".bars .seg{display:inline-block;height:1rem}")
_SEGMENTS = (("reading_min", READING_COLOUR), *((p.min_key, p.colour) for p in PARTS))


def _timing_bars(t: Breakdown) -> str:
    """Stacked bars in plain HTML/CSS, one segment per kind of counted time."""
    scale = 36 / max(t.claimed_min, t.total_min, 1)           # rem per minute
    rows = [(r["lab"], [(r[k], c) for k, c in _SEGMENTS]) for r in t.rows()]
    rows.append(("Claimed", [(t.claimed_min, "#BAB0AC")]))
    out = ['<div class="bars" aria-label="guided minutes per lab">']
    for label, segs in rows:
        bar = "".join(f'<span class="seg" title="{v} min" style="width:{v * scale:.2f}rem;'
                      f'background:{c}"></span>' for v, c in segs if v)
        out.append(f'<div class="row"><span class="l">{html.escape(str(label))}</span>{bar}'
                   "</div>")
    return "".join(out) + "</div>"


def _md_html(text: str) -> str:
    import mistune  # learner text: raw HTML is escaped, javascript: links neutralised
    return str(mistune.create_markdown(escape=True, plugins=["table", "strikethrough"])(text))


def _quote(text: str) -> str:
    return "\n".join("> " + line for line in text.strip().splitlines())


def _demote(text: str) -> str:
    """Learner markdown inside the pack: headings pushed below ours, open fences closed."""
    text = re.sub(r"^(#{1,6})(?=\s)", lambda m: "#" * min(6, len(m.group(1)) + 3), text,
                  flags=re.M)
    return text + "\n```" if text.count("```") % 2 else text


def collect(paths: Iterable[str | Path], *, passed: Iterable[str] = ()) -> Pack:
    """Read the learner's notebooks (statically) and gather every evidence artifact.

    ``passed`` names the timed assessments the learner has passed (see
    :func:`passed_assessments`); their time counts once, when their notebook is given too.
    """
    files = [Path(p) for p in paths]
    if not files:
        raise PackError("no notebooks given")
    found: list[Artifact] = []
    predictions: list[Prediction] = []
    for path in files:
        prompt = ""
        for index, cell in enumerate(_load(path)["cells"]):
            if isinstance(cell, Mapping) and cell.get("cell_type") == "code":
                predictions += _predictions(path, cell)
            tags = [t for t in (cell.get("metadata") or {}).get("tags") or []
                    if isinstance(t, str)]
            if "reflection" in tags:
                prompt = _text(cell.get("source"))
            for name in (t.split(":", 1)[1] for t in tags if t.startswith("evidence:")):
                art = _read_cell(name, path, index, cell, prompt if name == "reflection" else "")
                if name not in EXPECTED and name not in CAPSTONE:
                    art = replace(art, messages=art.messages + (
                        f"{art.where}: 'evidence:{name}' is not one of the evidence names "
                        f"({', '.join(EXPECTED)}); kept as it is.",))
                found.append(art)
    for name, (title, what) in EXPECTED.items():
        if not any(a.name == name for a in found):
            found.append(Artifact(name=name, status="missing", messages=(
                f"{title}: not in the notebooks given ({what}); add that lab's saved notebook.",)))
    order = list(EXPECTED) + list(CAPSTONE)
    found.sort(key=lambda a: order.index(a.name) if a.name in order else len(order))
    try:
        timing = breakdown(files)
    except CpdError:
        timing = None
    return Pack(artifacts=tuple(found), notebooks=tuple(map(str, files)), timing=timing,
                passed=tuple(passed), predictions=tuple(predictions))


def write_pack(pack: Pack, path: str | Path, *, markdown: bool | None = None) -> Path:
    """Write the pack as HTML, or as Markdown when ``markdown`` or the name ends in .md."""
    path = Path(path)
    as_md = path.suffix.lower() in (".md", ".markdown") if markdown is None else markdown
    try:
        path.write_text(pack.to_markdown() if as_md else pack.to_html(), encoding="utf-8")
    except OSError as exc:
        raise PackError(f"{path}: cannot write the evidence pack ({exc.strerror})") from None
    return path
