"""``labkit knobs [--json]``: list every knob of the catalogue."""

from __future__ import annotations

import argparse
import json

from labkit.knobs import KnobError
from labkit.sim import CATALOGUE

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("knobs", help="list every knob with default, unit, range and help")
    p.add_argument("--json", action="store_true", help="print the catalogue as JSON")
    p.add_argument("--group", help="only this component (e.g. cache)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    groups = CATALOGUE.groups()
    if args.group is not None and args.group not in groups:
        raise KnobError(f"--group must be one of {', '.join(groups)}, got {args.group!r}")
    knobs = [k for k in CATALOGUE.values() if args.group in (None, k.group)]
    if args.json:
        print(json.dumps([k.as_dict() for k in knobs], indent=2))
        return 0
    for group, members in groups.items():
        if args.group not in (None, group):
            continue
        print(f"[{group}]")
        for k in members:
            unit = f" {k.unit}" if k.unit else ""
            off = f" ({k.off})" if k.off else ""
            live = "   [live: may change mid-run]" if k.live else ""
            print(f"  {k.name} = {k.format(k.default)}{unit}   range: {k.describe_range()}{off}"
                  f"{live}")
            print(f"      {k.help}")
    return 0
