"""``labkit presets [--json]``: list the named scenarios."""

from __future__ import annotations

import argparse
import json

from labkit.sim.presets import PRESET_HELP, PRESETS

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("presets", help="list named scenarios")
    p.add_argument("--json", action="store_true", help="print presets and their knobs as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.json:
        print(json.dumps({name: {"help": PRESET_HELP.get(name, ""),
                                 "knobs": {k: list(v) if isinstance(v, tuple) else v
                                           for k, v in knobs.items()}}
                          for name, knobs in PRESETS.items()}, indent=2))
        return 0
    for name, knobs in PRESETS.items():
        print(f"{name}: {PRESET_HELP.get(name, '')}")
        for knob, value in knobs.items():
            shown = ",".join(value) if isinstance(value, tuple) else value
            print(f"    {knob}={shown}")
    return 0
