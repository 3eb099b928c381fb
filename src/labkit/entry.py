"""The learner's way in: which labs exist, in what order, what each teaches and how long it takes.

``labs/index.ipynb`` is where a learner starts.  Its list of labs is a
markdown cell generated from what ``release/`` actually holds (so the links
work before any code runs); regenerate it after a release with::

    python -m labkit.entry --write

and the index's code cells call :func:`show_labs` (objectives and guided time
per lab, counted by :mod:`labkit.cpd`) and :func:`show_cpd` (the CPD time
breakdown as a table and a chart).  A lab that is planned but not released
yet is listed as such, never as a broken link.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labkit.cpd import (
    PARTS,
    Breakdown,
    CpdError,
    LabTiming,
    breakdown,
    find_lab_dirs,
    find_root,
    format_minutes,
)

__all__ = ["PLANNED", "LabEntry", "lab_entries", "labs_markdown", "show_labs", "show_cpd",
           "cpd_markdown", "write_index", "GENERATED_TAG"]

GENERATED_TAG = "labkit:generated-labs"
# The planned labs, in order: folder under release/, title, and what the lab is about.
PLANNED: tuple[tuple[str, str, str], ...] = (
    ("lab0-orientation", "Lab 0 · Orientation",
     "how the workbook works: run cells, turn knobs on a panel, answer and validate a "
     "checkpoint"),
    ("lab1-system-shapes", "Lab 1 · System shapes",
     "from a model to an AI system: batch, real-time and retrieval-augmented serving, latency "
     "as a design constraint, boundaries, and the audit trail"),
    ("lab2-scaling-cost-reliability", "Lab 2 · Scaling, cost and reliability",
     "capacity, caching and batching, the hidden cost multiplier, autoscaling, retries under "
     "load and graceful degradation"),
    ("lab3-evaluation-governance", "Lab 3 · Evaluation, monitoring and governance",
     "offline and online evaluation, alerts people still read, drift and retraining, and an "
     "incident drill with a risk register and a runbook"),
    ("lab4-llm-serving-agents", "Lab 4 · Serving language models and running agents safely",
     "tokens instead of requests: time to first token and per token, continuous batching and "
     "the KV cache, prefix and semantic caching, quotas and break-even prices, routing, and "
     "agents bounded by steps, money and permissions"),
    ("capstone-support-assistant", "Capstone · A customer-support assistant",
     "the whole course on one product: design it against four budgets at once, run a game day "
     "from dashboards, alerts and audit records, then write its design document and "
     "postmortem"),
    ("assessment-advanced", "Timed assessment",
     "a 55-minute mixed paper over the four blocks, drawn for you, with a pass standard "
     "(70% overall and half of each block); sit it when the labs are done"),
)


@dataclass(frozen=True, kw_only=True)
class LabEntry:
    """One lab as the index shows it: released notebooks (paths from the root) or planned."""

    folder: str
    title: str
    about: str
    notebooks: tuple[str, ...] = ()
    timing: LabTiming | None = None

    @property
    def released(self) -> bool:
        return bool(self.notebooks)

    @property
    def objectives(self) -> tuple[str, ...]:
        return self.timing.objectives if self.timing and self.timing.objectives else ()


def lab_entries(root: str | Path | None = None) -> list[LabEntry]:
    """The planned labs in order, then any other released lab folders, with their timing."""
    base = find_root(root)
    found = {d.name: d for d in find_lab_dirs(base)}
    timings = {lab.name: lab for lab in breakdown(root=base).labs} if found else {}
    plan = list(PLANNED) + [(name, name, "") for name in sorted(found) if
                            name not in {p[0] for p in PLANNED}]
    entries = []
    for folder, title, about in plan:
        notebooks = tuple(p.relative_to(base).as_posix()
                          for p in sorted(found[folder].glob("*.ipynb"))) if folder in found else ()
        timing = timings.get(folder)
        entries.append(LabEntry(folder=folder, title=title, about=about, notebooks=notebooks,
                                timing=timing))
    return entries


def labs_markdown(entries: Sequence[LabEntry], *, link_prefix: str = "../",
                  details: bool = False) -> str:
    """A numbered list of the labs with links (relative to ``labs/`` by default).

    With ``details`` each lab also shows its guided time and its objectives.
    """
    lines = []
    for n, e in enumerate(entries):
        if len(e.notebooks) == 1:
            head = f"{n}. **[{e.title}]({link_prefix}{e.notebooks[0]})**"
        elif e.released:
            links = ", ".join(f"[{Path(nb).stem}]({link_prefix}{nb})" for nb in e.notebooks)
            head = f"{n}. **{e.title}**: {links}"
        else:
            head = f"{n}. **{e.title}**: not released yet (it will appear in `release/{e.folder}/`)"
        if details and e.timing:
            head += f", about {format_minutes(e.timing.total_min)} of guided time"
        lines.append(head + (f"  \n   {e.about[0].upper()}{e.about[1:]}." if e.about else ""))
        if details:
            lines += [f"   - {o}" for o in e.objectives]
    return "\n".join(lines)


def cpd_markdown(b: Breakdown) -> str:
    """The CPD breakdown as a markdown table plus the assumptions and the gap."""
    head = ("| lab | reading | " + " | ".join(p.label.lower() for p in PARTS) + " | total |\n"
            "|---|---:|" + "---:|" * len(PARTS) + "---:|")
    rows = [f"| {r['lab']} | {r['reading_min']} min ({r['reading_words']:,} words) | "
            + " | ".join(f"{r[p.count_key]} x {getattr(b.assumptions, p.each)} = "
                         f"{r[p.min_key]} min" for p in PARTS)
            + f" | **{format_minutes(r['total_min'])}** |" for r in b.rows()]
    rows.append("| Claimed for the level |" + " |" * (len(PARTS) + 1)
                + f" {format_minutes(b.claimed_min)} |")
    notes = [f"- {x}" for x in b.assumptions.lines()] + [f"- {x}" for x in b.gap_lines()]
    return head + "\n" + "\n".join(rows) + "\n\n" + "\n".join(notes)


def show_labs(root: str | Path | None = None) -> Any:
    """In a notebook: the labs with links, guided time and objectives (a Markdown display)."""
    from IPython.display import Markdown

    return Markdown(labs_markdown(lab_entries(root), details=True))


def show_cpd(root: str | Path | None = None) -> Any:
    """In a notebook: display the CPD breakdown table, and return its chart."""
    from IPython.display import Markdown, display

    from labkit.viz.cpd import cpd_figure

    try:
        b = breakdown(root=find_root(root))
    except CpdError as exc:
        display(Markdown(f"No timing yet: {exc}."))
        return None
    display(Markdown(cpd_markdown(b)))
    return cpd_figure(b)


def _generated_source(root: Path) -> str:
    return ("## The labs, in order\n\n" + labs_markdown(lab_entries(root)) +
            "\n\nThen open the [playground](playground.ipynb) for your own experiments.")


def write_index(index: str | Path, *, check: bool = False) -> bool:
    """Regenerate the lab list in ``index`` (the cell tagged :data:`GENERATED_TAG`).

    Returns whether the file was already current; with ``check`` nothing is written.
    """
    import nbformat

    index = Path(index)
    nb = nbformat.read(index, as_version=4)
    cells = [c for c in nb["cells"] if GENERATED_TAG in (c.get("metadata") or {}).get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"{index}: expected one cell tagged {GENERATED_TAG!r}, "
                         f"found {len(cells)}")
    want = _generated_source(find_root(index.parent))
    current = cells[0]["source"]
    if current == want or check:
        return current == want
    cells[0]["source"] = want
    nbformat.write(nb, index)
    return False


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m labkit.entry",
                                description="Regenerate the lab list in labs/index.ipynb.")
    p.add_argument("--index", default=None, help="the index notebook (default: labs/index.ipynb)")
    p.add_argument("--write", action="store_true", help="rewrite the list if it is out of date")
    args = p.parse_args(argv)
    index = Path(args.index) if args.index else find_root() / "labs" / "index.ipynb"
    try:
        current = write_index(index, check=not args.write)
    except (OSError, ValueError) as exc:
        print(f"labkit.entry: {exc}", file=sys.stderr)
        return 2
    if current:
        print(f"{index}: lab list is current")
    elif args.write:
        print(f"{index}: lab list rewritten")
    else:
        print(f"{index}: lab list is out of date; run python -m labkit.entry --write")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
