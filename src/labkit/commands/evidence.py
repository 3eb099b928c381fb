"""``labkit evidence NOTEBOOK... -o FILE [--grades CSV --student ID] [--markdown] [--strict]``.

Reads the learner's saved lab notebooks (without running them), gathers every
evidence artifact, the reflections, the CPD note and the labs' timing into one
self-contained HTML file (Markdown with ``--markdown`` or a ``.md`` name) and
lists, one line each, the artifacts still missing or incomplete.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("evidence", help="build the CPD evidence pack from lab notebooks",
                              description=__doc__.split("\n\n")[1])
    p.add_argument("notebooks", nargs="+", metavar="NOTEBOOK",
                   help="the learner's saved lab notebooks")
    p.add_argument("-o", "--output", required=True, metavar="FILE",
                   help="where to write the pack (.html, or .md for Markdown)")
    p.add_argument("--markdown", action="store_true", help="write Markdown whatever the name")
    p.add_argument("--grades", metavar="CSV",
                   help="the instructor's grades export (labkit course export): a timed "
                        "assessment passed there counts its time once")
    p.add_argument("--student", metavar="ID", help="your student id in --grades")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 when an artifact is missing or incomplete")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from labkit.evidence.pack import PackError, collect, passed_assessments, write_pack

    if bool(args.grades) != bool(args.student):
        print("labkit evidence: --grades and --student go together (the grades export and "
              "your id in it)", file=sys.stderr)
        return 2
    try:
        passed = passed_assessments(args.grades, args.student) if args.grades else ()
        pack = collect(args.notebooks, passed=passed)
        path = write_pack(pack, args.output, markdown=True if args.markdown else None)
    except PackError as exc:
        print(f"labkit evidence: {exc}", file=sys.stderr)
        return 2
    done = sum(a.status == "complete" for a in pack.artifacts)
    print(f"Wrote {path}: {done} of {len(pack.artifacts)} artifacts complete.")
    for message in pack.problems:
        print(f"  - {message}")
    return 1 if args.strict and pack.problems else 0
