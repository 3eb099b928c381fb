"""``labkit``: the command-line front end, thin over the library.

Every subcommand returns an exit code: 0 on success, 2 on bad input (with a
one-line message naming the knob or file, the rule and the value; never a
traceback), 1 when a check it ran did not pass.  Bad input is any
:class:`labkit.errors.LabkitError`: subcommands raise it and :func:`main`
catches it, once, for all of them.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from labkit.commands import COMMANDS
from labkit.errors import LabkitError

__all__ = ["main", "build_parser"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="labkit", description="Simulate an AI inference service and teach "
                     "how to run it in production.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for module_name in COMMANDS:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except LabkitError as exc:
        print(f"labkit {args.command}: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
