"""``labkit simulate``: run one scenario and report it (readable or JSON)."""

from __future__ import annotations

import argparse
import json

from labkit.knobs import KnobError, parse_assignment
from labkit.sim import simulate
from labkit.sim.report import format_report
from labkit.sim.scenario import CATALOGUE

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("simulate", help="run one scenario")
    p.add_argument("--preset", help="start from a named scenario (see 'labkit presets')")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KNOB=VALUE",
                   help="change one knob (repeatable)")
    p.add_argument("--seed", default="1", help="random seed (a whole number >= 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--timeseries", action="store_true",
                   help="with --json: add 1-second time series")
    p.add_argument("--trace", action="append", default=[], metavar="N",
                   help="add the audit trail of request N (repeatable)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    knobs = dict(parse_assignment(text, CATALOGUE) for text in args.sets)
    try:
        seed = int(args.seed)
    except ValueError:
        raise KnobError(f"--seed must be a whole number >= 0, got {args.seed!r}") from None
    if seed < 0:
        raise KnobError(f"--seed must be a whole number >= 0, got {seed}")
    traces = []
    for text in args.trace:
        try:
            traces.append(int(text))
        except ValueError:
            raise KnobError(f"--trace takes a request id (a whole number), got {text!r}") from None
    result = simulate(knobs, seed=seed, preset=args.preset)
    trails = [result.trace(n) for n in traces]
    if args.json:
        out = result.to_dict(timeseries=args.timeseries)
        if trails:
            out["traces"] = trails
        print(json.dumps(out, indent=2))
    else:
        print(format_report(result, trails))
    return 0
