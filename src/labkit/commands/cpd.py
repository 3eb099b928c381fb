"""``labkit cpd [--json] [--root DIR] [NOTEBOOK_OR_LAB_DIR ...]``: the CPD timing breakdown.

Counts the tagged cells of the shipped labs (``release/*/*.ipynb``) and prints
per-lab minutes, the sum, every assumption, the gap to the claimed 12 hours and
what would close it.  ``--json`` prints the same as one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["register", "run", "render_text"]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("cpd", help="CPD timing breakdown counted from the lab notebooks",
                              description=__doc__.split("\n\n")[1])
    p.add_argument("paths", nargs="*", metavar="NOTEBOOK_OR_LAB_DIR",
                   help="count these instead of the shipped labs (release/*/*.ipynb)")
    p.add_argument("--root", default=None,
                   help="workbook root holding release/ (default: found from the current folder)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def render_text(b: Any) -> str:
    """The readable report: a table, the assumptions, the gap and how to close it."""
    from labkit.cpd import format_minutes

    head = ("lab", "words", "reading", "activities", "checkpoints", "reflection", "total")
    rows = [head]
    for r in b.rows():
        rows.append((r["lab"], f"{r['reading_words']:,}", f"{r['reading_min']}m",
                     f"{r['activities']} x {b.assumptions.activity_min}m = {r['activities_min']}m",
                     f"{r['checkpoint_blocks']} x {b.assumptions.checkpoint_min}m = "
                     f"{r['checkpoints_min']}m",
                     f"{r['reflections']} x {b.assumptions.reflection_min}m = "
                     f"{r['reflection_min']}m",
                     format_minutes(r["total_min"])))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = []
    for n, row in enumerate(rows):
        if n == len(rows) - 1:
            lines.append("  ".join("-" * w for w in widths))
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(row, widths))).rstrip())
    lines += ["", f"Estimated guided time: {format_minutes(b.total_min)} "
              f"(= {b.reading_min} + {b.activities_min} + {b.checkpoints_min} + "
              f"{b.reflection_min} min)", f"Claimed level hours: {format_minutes(b.claimed_min)}",
              "", "Assumptions:"]
    lines += [f"  - {line}" for line in b.assumptions.lines()]
    lines += ["", "Gap:"] + [f"  {line}" for line in b.gap_lines()]
    if b.warnings:
        lines += ["", "Warnings:"] + [f"  - {w}" for w in b.warnings]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from labkit.cpd import CpdError, breakdown

    try:
        b = breakdown(args.paths or None, root=args.root)
    except CpdError as exc:
        print(f"labkit cpd: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(b.to_dict(), indent=2))
    else:
        print(render_text(b))
    return 0
