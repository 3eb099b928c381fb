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
    from labkit.cpd import PARTS, format_minutes

    head = ("lab", "words", "reading", *(p.label.lower() for p in PARTS), "total")
    rows = [head]
    for r in b.rows():
        rows.append((r["lab"], f"{r['reading_words']:,}", f"{r['reading_min']}m",
                     *(f"{r[p.count_key]} x {getattr(b.assumptions, p.each)}m = {r[p.min_key]}m"
                       for p in PARTS),
                     format_minutes(r["total_min"])))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = []
    for n, row in enumerate(rows):
        if n == len(rows) - 1:
            lines.append("  ".join("-" * w for w in widths))
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(row, widths))).rstrip())
    sums = " + ".join(str(m) for m in (b.reading_min, *(getattr(b, p.min_key) for p in PARTS)))
    lines += ["", f"Estimated guided time: {format_minutes(b.total_min)} (= {sums} min; "
              f"assessed work {b.assessed_min} min)",
              f"Claimed level hours: {format_minutes(b.claimed_min)}", "", "Assumptions:"]
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
