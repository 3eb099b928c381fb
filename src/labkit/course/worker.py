"""One nbgrader step in a child process: ``python -m labkit.course.worker STEP ...``.

The wrappers never run nbgrader inside the caller's process: each step
(``generate_assignment``, ``autograde``, ``generate_feedback``) runs here,
with the course's ``nbgrader_config.py`` loaded and then overridden for the
folder it works on (an isolated copy when autograding in parallel).  nbgrader
logs to this process's stderr, which :func:`run_step` captures into a log
file, and the outcome is one JSON line on stdout.  This keeps nbgrader's
global state and logging out of notebooks and libraries, and puts the
virtual environment's ``bin/`` on PATH (nbgrader runs ``alembic`` from it).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labkit.course.layout import CourseError, grading_environment

__all__ = ["StepResult", "run_step", "main", "RESULT_PREFIX"]


@dataclass(frozen=True, kw_only=True)
class StepResult:
    """What one nbgrader step reported: success, its error text and where its log is."""

    step: str
    success: bool
    error: str
    log_path: Path


def run_step(step: str, *, config_file: Path, root: Path, log_path: Path,
             lab: str | Sequence[str] | None = None, student: str | None = None, db_url: str | None = None,
             release_dir: str | None = None, cell_timeout_s: float | None = None,
             memory_mb: int | None = None, timeout_s: float | None = None) -> StepResult:
    """Run ``step`` in a child process and wait for it (``timeout_s`` bounds the whole step)."""
    args = [sys.executable, "-m", "labkit.course.worker", step, "--config", str(config_file),
            "--root", str(root)]
    for name in [lab] if isinstance(lab, str) else (lab or []):
        args += ["--lab", name]
    for flag, value in (("--student", student), ("--db-url", db_url),
                        ("--release-dir", release_dir), ("--cell-timeout", cell_timeout_s),
                        ("--memory-mb", memory_mb)):
        if value is not None:
            args += [flag, str(value)]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w", encoding="utf-8") as log:
        try:
            proc = subprocess.run(args, stdout=subprocess.PIPE, stderr=log, text=True,
                                  env=grading_environment(), timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired:
            return StepResult(step=step, success=False, log_path=log_path,
                              error=f"{step} did not finish within {timeout_s:g} s")
    lines = [x for x in proc.stdout.splitlines() if x.startswith("{")]
    if not lines:
        return StepResult(step=step, success=False, log_path=log_path,
                          error=f"{step} exited with status {proc.returncode}; see {log_path}")
    outcome = json.loads(lines[-1])
    return StepResult(step=step, success=bool(outcome.get("success")), log_path=log_path,
                      error=str(outcome.get("error", "")))


def _config(args: argparse.Namespace) -> Any:
    from traitlets.config.loader import PyFileConfigLoader

    path = Path(args.config)
    config = PyFileConfigLoader(path.name, path=str(path.parent)).load_config()
    root = str(Path(args.root).resolve())
    config.CourseDirectory.root = root
    if args.db_url:
        config.CourseDirectory.db_url = args.db_url
    if args.release_dir:
        config.CourseDirectory.release_directory = args.release_dir
    if args.cell_timeout is not None:
        config.Execute.timeout = int(round(args.cell_timeout)) or 1
    if args.memory_mb is not None:
        config.SandboxKernelManager.memory_mb = args.memory_mb
    if args.kernel_log:
        config.SandboxKernelManager.kernel_log = args.kernel_log
    if args.scratch_dir:
        config.SandboxKernelManager.scratch_dir = args.scratch_dir
    if args.submission_timeout is not None:
        config.SandboxedExecute.submission_timeout = max(1, int(round(args.submission_timeout)))
    if args.report:
        config.SandboxedExecute.report_file = args.report
    return config


def _run(args: argparse.Namespace) -> dict[str, Any]:
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    config = _config(args)
    coursedir = CourseDirectory(config=config)
    api = NbGraderAPI(coursedir=coursedir, config=config)
    if args.step == "generate_assignment":
        for lab in args.lab:                       # one process for many labs: import once
            result = api.generate_assignment(lab, force=True, create=True)
            if not result.get("success"):
                return result
        return result
    if args.step == "autograde":
        return api.autograde(args.lab[0], args.student, force=True, create=True)
    if args.step == "generate_feedback":
        return api.generate_feedback(args.lab[0], args.student, force=True)
    raise CourseError(f"unknown step {args.step!r}")


RESULT_PREFIX = "LABKIT-RESULT "


def _serve(args: argparse.Namespace) -> int:
    """Autograde lane: one request per stdin line, one result line per request.

    A request is ``{"student", "root", "db_url", "log", "report"}`` (an
    isolated copy of the course for one submission; ``report`` receives what
    the sandbox refused).  nbgrader is imported once per lane, not
    once per submission.  The kernel's own output goes to the student's log,
    never to this process's stdout, so a submission cannot forge a result line.
    """
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        args.root, args.db_url, args.student = request["root"], request["db_url"], request["student"]
        args.kernel_log = request["log"]
        args.report = request.get("report")
        try:
            result = _run(args)
        except Exception as exc:  # noqa: BLE001 - reported for this submission, lane goes on
            result = {"success": False, "error": f"{type(exc).__name__}: {exc}"}
        with open(request["log"], "a", encoding="utf-8") as log:
            log.write(result.get("log") or "")
            log.write(result.get("error") or "")
        sys.stdout.write(RESULT_PREFIX + json.dumps({
            "student": request["student"], "success": bool(result.get("success")),
            "error": (result.get("error") or "")[-2000:]}) + "\n")
        sys.stdout.flush()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="labkit.course.worker")
    parser.add_argument("step", choices=["generate_assignment", "autograde", "generate_feedback",
                                         "autograde-lane"])
    parser.add_argument("--config", required=True)
    parser.add_argument("--root", default="")
    parser.add_argument("--lab", required=True, action="append")
    parser.add_argument("--student")
    parser.add_argument("--db-url")
    parser.add_argument("--release-dir")
    parser.add_argument("--cell-timeout", type=float)
    parser.add_argument("--memory-mb", type=int)
    parser.add_argument("--submission-timeout", type=float)
    parser.add_argument("--scratch-dir")
    args = parser.parse_args(argv)
    args.kernel_log = args.report = None
    if args.step == "autograde-lane":
        args.step = "autograde"
        return _serve(args)
    result = _run(args)
    if result.get("log"):
        sys.stderr.write(result["log"])
    if result.get("error"):
        sys.stderr.write(result["error"])
    sys.stdout.write(json.dumps({"success": bool(result.get("success")),
                                 "error": (result.get("error") or "")[-2000:]}) + "\n")
    return 0 if result.get("success") else 1


if __name__ == "__main__":
    sys.exit(main())
