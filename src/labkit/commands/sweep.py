"""``labkit sweep``: run a grid of knob values times seeds and summarise with 95% intervals.

    labkit sweep --grid model.replicas=2,4,8 --grid cache.enabled=false,true --seeds 5 \\
                 [--workers W] [-o results.csv] [--resume] [--dask local|tcp://HOST:PORT] \\
                 [--preset NAME] [--set KNOB=VALUE ...] [--metric NAME ...]

Runs go to a process pool of W processes (default: the usable cores), or to
Dask: ``--dask local`` starts W single-threaded workers on 127.0.0.1 (same
default), ``--dask tcp://HOST:PORT`` uses a running cluster whose scheduler and
workers have this labkit installed.  Each finished run is appended to the CSV
at once; Ctrl-C keeps every finished row and ``--resume`` runs only what is
missing.  The progress bar goes to stderr; the summary (mean and 95%
confidence interval across seeds) to stdout.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from typing import Any

from labkit.knobs import KnobError, parse_assignment
from labkit.sim.scenario import CATALOGUE

__all__ = ["register", "run", "DEFAULT_METRICS"]

DEFAULT_METRICS = ("latency_ms.p95", "success_rate", "cost.per_1k", "all_budgets_pass")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("sweep", help="run a grid of knob values x seeds in parallel",
                              description=__doc__.split("\n\n")[0],
                              formatter_class=argparse.RawDescriptionHelpFormatter,
                              epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("--grid", action="append", default=[], metavar="KNOB=V1,V2,...",
                   help="a knob and its values (repeatable; list-valued knobs use ';')")
    p.add_argument("--seeds", default="3", metavar="N", help="seeds 1..N at every grid point")
    p.add_argument("--workers", default=None, metavar="W",
                   help="processes of the pool, or workers of --dask local (default: the "
                        "usable cores)")
    p.add_argument("-o", "--output", default=None, metavar="FILE",
                   help="CSV of every run, written as runs finish")
    p.add_argument("--resume", action="store_true", help="skip the runs already in FILE")
    p.add_argument("--dask", default=None, metavar="local|tcp://HOST:PORT",
                   help="run on a Dask cluster (local: W single-threaded workers on 127.0.0.1)")
    p.add_argument("--preset", default=None, help="base scenario (see 'labkit presets')")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KNOB=VALUE",
                   help="fix a knob for every run (repeatable)")
    p.add_argument("--metric", action="append", default=[], metavar="NAME",
                   help=f"metrics in the summary (default: {', '.join(DEFAULT_METRICS)})")
    p.set_defaults(func=run)


def _whole(flag: str, text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise KnobError(f"{flag} must be a whole number >= {minimum}, got {text!r}") from None
    if value < minimum:
        raise KnobError(f"{flag} must be a whole number >= {minimum}, got {value}")
    return value


class _Progress:
    """A one-line progress bar on stderr (CLI only; the library never writes to stderr)."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        elapsed = time.monotonic() - self.start
        sys.stderr.write(f"\rsweep [{'#' * filled}{'.' * (width - filled)}] {done}/{total} runs"
                         f" {elapsed:6.1f} s")
        sys.stderr.flush()


def _fmt(x: float) -> str:
    return "nan" if math.isnan(x) else f"{x:.4g}"


def render_summary(table: Any, metrics: list[str]) -> str:
    """The summary as an aligned text table: knob values, n, then mean ± CI per metric."""
    rows = [[*table.knobs, "n", *metrics]]
    for entry in table.summary(metrics):
        cells = [CATALOGUE[k].format(entry[k]) for k in table.knobs] + [str(entry["n"])]
        cells += [f"{_fmt(entry[f'{m}.mean'])} ± {_fmt(entry[f'{m}.ci95'])}" for m in metrics]
        rows.append(cells)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(lines) + "\n(mean ± half-width of the 95% t interval across seeds)"


def run(args: argparse.Namespace) -> int:
    from labkit.sweep import SweepError, SweepSpec, cores, executors, run_sweep

    seeds = _whole("--seeds", args.seeds, 1)
    workers = _whole("--workers", args.workers, 1) if args.workers is not None else None
    if args.dask is not None:
        executors.check_dask_address(args.dask)
        if workers is not None and args.dask != "local":
            raise KnobError(f"--workers sizes the process pool or --dask local; a tcp:// "
                            f"cluster has the workers it was started with, got --workers "
                            f"{workers} with --dask {args.dask}")
    elif workers is None:
        workers = cores.usable_cores()
    fixed = dict(parse_assignment(text, CATALOGUE) for text in args.sets)
    try:
        spec = SweepSpec.build(args.grid, seeds, preset=args.preset, fixed=fixed)
        progress = _Progress()
        try:
            table = run_sweep(spec, workers=workers, dask=args.dask, out=args.output,
                              resume=args.resume, on_row=progress)
        finally:
            sys.stderr.write("\n")
        metrics = args.metric or [m for m in DEFAULT_METRICS if m in table.metrics]
        print(render_summary(table, metrics))
    except SweepError as exc:
        print(f"labkit sweep: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        where = f"; finished runs are saved in {args.output}: run again with --resume to " \
                "finish" if args.output else "; nothing was saved (use -o FILE to keep runs)"
        print(f"labkit sweep: interrupted{where}", file=sys.stderr)
        return 130
    if args.output:
        print(f"{len(table.rows)} runs in {args.output}")
    return 0
