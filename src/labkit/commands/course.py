"""``labkit course ...``: the instructor's pipeline, one command per step, nbgrader underneath.

    labkit course release [LAB ...]            regenerate release/ from source/ (checked for leaks)
    labkit course check-release                fail when release/ is out of date with source/
    labkit course collect LAB FILE|DIR ...     file handed-in notebooks under grading/submitted/
    labkit course autograde LAB [--workers N]  grade every submission in parallel, sandboxed
                 [--dask local|tcp://HOST:PORT]  ... with the grading lanes on a Dask cluster
    labkit course feedback LAB [--reveal]      HTML feedback without hidden tests or mark schemes
                                               (--reveal: with each check's right answer)
    labkit course items [LAB] [--json]         every graded item read from source/
    labkit course item-analysis LAB [--json]   facility, discrimination, option shares, flags
    labkit course export -o grades.csv         grades as CSV
    labkit course validate NOTEBOOK            (learners) PASSED / FAILED, exit status 0 / 1

Bad input exits 2 with one line naming the lab, file or option; a step that
ran but did not fully succeed (a submission that could not be graded, a stale
release, a failed validation) exits 1.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:                     # imported lazily at run time: `labkit knobs` stays fast
    from labkit.course.autograde import SubmissionOutcome
    from labkit.course.layout import Course

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("course", help="instructor tools: release, collect, autograde, "
                              "feedback, export, items, item-analysis; validate for learners")
    p.add_argument("--root", help="course root holding nbgrader_config.py (default: found "
                   "from the current folder upwards)")
    sub = p.add_subparsers(dest="course_command", metavar="STEP", parser_class=type(p))
    sub.required = True

    r = sub.add_parser("release", help="regenerate release/ from source/ with nbgrader")
    r.add_argument("labs", nargs="*", metavar="LAB", help="labs to release (default: all)")
    r.set_defaults(func=_release)

    c = sub.add_parser("check-release", help="exit 1 when release/ differs from a fresh release")
    c.set_defaults(func=_check_release)

    col = sub.add_parser("collect", help="file <student>.ipynb files or <student>/ folders")
    col.add_argument("lab")
    col.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
    col.set_defaults(func=_collect)

    a = sub.add_parser("autograde", help="autograde a lab's submissions, several at a time")
    a.add_argument("lab")
    a.add_argument("--workers", type=int, default=2, help="submissions graded at once (default 2)")
    a.add_argument("--student", action="append", dest="students", metavar="ID",
                   help="grade only this student (repeatable)")
    a.add_argument("--cell-timeout", type=float, metavar="SECONDS",
                   help="per-cell time limit (default: Execute.timeout in nbgrader_config.py)")
    a.add_argument("--memory-mb", type=int, metavar="MB", help="memory limit of each kernel")
    a.add_argument("--submission-timeout", type=float, metavar="SECONDS",
                   help="wall-time budget of each submission (default: "
                        "SandboxedExecute.submission_timeout in nbgrader_config.py)")
    a.add_argument("--dask", metavar="local|tcp://HOST:PORT",
                   help="run the grading lanes on a Dask cluster (local: --workers "
                        "single-threaded workers on 127.0.0.1)")
    a.set_defaults(func=_autograde)

    f = sub.add_parser("feedback", help="write scrubbed HTML feedback for autograded submissions")
    f.add_argument("lab")
    f.add_argument("--student", action="append", dest="students", metavar="ID")
    f.add_argument("--allow", action="append", default=[], metavar="GLOB",
                   help="also hand learners files matching this pattern (default: HTML pages only)")
    f.add_argument("--reveal", action="store_true",
                   help="show each check's right answer: the key of a multiple-choice question, "
                        "the learner's own reference where the lab provides one (REVEAL)")
    f.set_defaults(func=_feedback)

    it = sub.add_parser("items", help="list every graded item of source/ (kind, points, key, "
                        "what varies per learner)")
    it.add_argument("lab", nargs="?", metavar="LAB", help="one lab (default: all)")
    it.add_argument("--json", action="store_true", help="one JSON object (keys: labkit.course.items)")
    it.set_defaults(func=_items)

    ia = sub.add_parser("item-analysis", help="after autograding: facility, discrimination and "
                        "option shares per item, with flags")
    ia.add_argument("lab")
    ia.add_argument("--json", action="store_true",
                    help="one JSON object (keys: labkit.course.item_analysis)")
    ia.set_defaults(func=_item_analysis)

    e = sub.add_parser("export", help="export grades as CSV")
    e.add_argument("-o", "--output", required=True, metavar="FILE")
    e.add_argument("--lab", action="append", dest="labs", metavar="LAB", default=[])
    e.set_defaults(func=_export)

    v = sub.add_parser("validate", help="run a notebook and say PASSED or FAILED (exit 0 / 1)")
    v.add_argument("notebook")
    v.add_argument("--cell-timeout", type=int, default=120, metavar="SECONDS")
    v.set_defaults(func=_validate)


def _course(args: argparse.Namespace) -> Course:
    from labkit.course.layout import Course

    return Course.at(args.root) if args.root else Course.find()


def lab_module(lab: str) -> Any:
    """The ``labkit.labs`` module of a lab folder (``lab0-orientation`` -> ``labkit.labs.lab0``),
    or None when there is none.  Only the command imports lab code; the course tools get what
    they need from it (``VARIANTS``, ``REVEAL``, ``option_roles``) as arguments."""
    name = f"labkit.labs.{lab.split('-')[0]}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and name.startswith(exc.name):
            return None
        raise


def _guard(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from labkit.errors import LabkitError

        try:
            return func(args)
        except LabkitError as exc:
            print(f"labkit course {args.course_command}: {exc}", file=sys.stderr)
            return 2
    return run


@_guard
def _release(args: argparse.Namespace) -> int:
    from labkit.course.release import release_labs

    for result in release_labs(_course(args), args.labs or None):
        for nb in result.notebooks:
            print(f"released {result.lab}: {nb}")
    return 0


@_guard
def _check_release(args: argparse.Namespace) -> int:
    from labkit.course.release import stale_release

    problems = stale_release(_course(args))
    for line in problems:
        print(line)
    if not problems:
        print("release/ matches a fresh release of source/")
    return 1 if problems else 0


@_guard
def _collect(args: argparse.Namespace) -> int:
    from labkit.course.collect import collect

    results = collect(_course(args), args.lab, args.paths)
    for r in results:
        print(f"collected {r.student}: {r.source}" if r.ok else f"skipped {r.message}")
    return 0 if all(r.ok for r in results) else 1


def _bar(outcome: SubmissionOutcome, done: int, total: int) -> None:
    width = 24
    filled = round(width * done / total)
    score = (f"{outcome.score:g}/{outcome.max_score:g}" if outcome.graded
             else f"NOT GRADED ({outcome.error})")
    line = f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total}  {outcome.student}: {score}"
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K" + line + ("\n" if done == total else ""))
    else:
        sys.stderr.write(line + "\n")
    sys.stderr.flush()


@_guard
def _autograde(args: argparse.Namespace) -> int:
    from labkit.course.autograde import autograde

    outcomes = autograde(_course(args), args.lab, workers=args.workers, students=args.students,
                         cell_timeout_s=args.cell_timeout, memory_mb=args.memory_mb,
                         submission_timeout_s=args.submission_timeout, progress=_bar,
                         dask=args.dask)
    for o in outcomes:
        notes = "; ".join(o.notes)
        if o.graded:
            print(f"{o.student}\t{o.score:g}/{o.max_score:g}\t{o.seconds:.1f}s\t{notes}".rstrip("\t"))
        else:
            print(f"{o.student}\tNOT GRADED\t{o.error} (log: {o.log_path})\t{notes}".rstrip("\t"))
    return 0 if all(o.graded for o in outcomes) else 1


@_guard
def _feedback(args: argparse.Namespace) -> int:
    from labkit.course.feedback import generate_feedback

    reveal = None
    if args.reveal:
        module = lab_module(args.lab)
        reveal = dict(getattr(module, "REVEAL", {}) or {})
    for page in generate_feedback(_course(args), args.lab, args.students, allow=args.allow,
                                  reveal=reveal):
        print(f"{page.student}\t{page.path}")
    return 0


@_guard
def _items(args: argparse.Namespace) -> int:
    from labkit.course.items import items_table, lab_items

    course = _course(args)
    labs = [course.check_lab(args.lab)] if args.lab else course.labs()
    found = []
    for lab in labs:
        module = lab_module(lab)
        found += lab_items(course, lab, getattr(module, "VARIANTS", None))
    if args.json:
        print(json.dumps({"items": [i.to_dict() for i in found]}, indent=1))
    else:
        print(items_table(found))
    return 0


@_guard
def _item_analysis(args: argparse.Namespace) -> int:
    from labkit.course.item_analysis import analysis_table, item_analysis

    module = lab_module(args.lab)
    analysis = item_analysis(_course(args), args.lab,
                             option_roles=getattr(module, "option_roles", None))
    print(json.dumps(analysis.to_dict(), indent=1) if args.json else analysis_table(analysis))
    return 0


@_guard
def _export(args: argparse.Namespace) -> int:
    from labkit.course.export import export_grades

    rows = export_grades(_course(args), Path(args.output), args.labs)
    print(f"wrote {rows} rows to {args.output}")
    return 0


@_guard
def _validate(args: argparse.Namespace) -> int:
    from labkit.course.validate import validate_notebook

    report = validate_notebook(args.notebook, cell_timeout_s=args.cell_timeout)
    print(report.summary)
    return 0 if report.passed else 1
