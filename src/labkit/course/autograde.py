"""Autograding a class in parallel, with the grades a serial run gives.

Each submission is graded by nbgrader's own ``autograde`` in an isolated copy
of the course: its own copy of the gradebook, of the lab's non-notebook
source files and of that one submission.  ``workers`` *lanes* (child
processes, each importing nbgrader once) take submissions from a shared queue,
so a slow submission never holds up the others; each student's code runs in a
sandboxed, time- and memory-limited kernel (:mod:`labkit.course.kernel`).  As
each submission finishes, the parent, and only the parent, copies its
autograded folder into ``grading/autograded/<student>/<lab>`` and merges that
student's grades into the real gradebook (:mod:`labkit.course.gradebook`).
Submissions share no state, so the order they finish in cannot change a
grade; one that could not be graded is reported and leaves the gradebook as
it was.

A submission is untrusted data from the moment it is filed: its folder is
copied into the isolated course with :func:`labkit.course.untrusted.copy_tree`
(no links followed, no special files opened, capped in size), anything
refused is written to the student's log and line, and every failure of one
submission, whatever its cause, is reported on that student's line while the
batch goes on.  Each submission has a wall-time budget
(``SandboxedExecute.submission_timeout``; the lane's watchdog allows a margin
on top for nbgrader's own work).

**On a Dask cluster** (``dask="local"`` or ``"tcp://HOST:PORT"``, through
:func:`labkit.sweep.executors.dask_client`, which checks every worker has this labkit): the
parent prepares each isolated course exactly as for a local lane and sends it, packed as a tar
with the course's ``nbgrader_config.py``, as one Dask task (:func:`grade_on_worker`).  The task
runs one local lane on the worker (the same worker process, sandbox and watchdog; the worker
checks the sandbox can be applied there) and sends back the graded folder, the gradebook copy,
the log and the sandbox's notes; the parent then copies and merges them as for a local lane.
So the grades are the ones local lanes give; only where the lanes run changes.  ``--dask
local`` starts ``workers`` single-threaded workers on 127.0.0.1.
"""

from __future__ import annotations

import importlib.util
import io
import json
import queue
import shutil
import socket
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labkit.course.cgroups import KernelCgroup
from labkit.course.gradebook import merge_submission, submission_score
from labkit.course.layout import CONFIG_NAME, Course, CourseError, check_name, grading_environment
from labkit.course.release import ensure_registered
from labkit.course.sandbox import SandboxError, SandboxLimits, check_available
from labkit.course.untrusted import TreeLimits, copy_tree
from labkit.course.worker import RESULT_PREFIX

__all__ = ["SubmissionOutcome", "autograde", "grade_on_worker"]


@dataclass(frozen=True, kw_only=True)
class SubmissionOutcome:
    """How grading one student's submission went."""

    student: str
    graded: bool
    score: float | None
    max_score: float | None
    seconds: float
    log_path: Path
    error: str = ""
    notes: tuple[str, ...] = ()


def _copy_db(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    a, b = sqlite3.connect(src), sqlite3.connect(dst)
    try:
        a.backup(b)
    finally:
        b.close()
        a.close()


#: What the grader takes from a student's submitted folder.
SUBMISSION_LIMITS = TreeLimits(max_files=50, max_bytes=64 * 1024 * 1024, max_depth=4)
def watchdog_margin_s(budget_s: float) -> float:
    """Time the lane allows nbgrader's own work beyond a notebook's budget (restarts, writing)."""
    return min(300.0, max(5.0, 0.2 * budget_s))


def _prepare(course: Course, lab: str, student: str, scratch: Path) -> tuple[Path, list[str]]:
    """An isolated course for one submission: its root, and what was refused from the folder."""
    root = scratch / student
    _copy_db(course.db_path, _db_in(course, root))
    src = course.source_dir / lab
    dst = root / course.source_dir.relative_to(course.root) / lab
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"))
    sub_rel = course.submitted_dir.relative_to(course.root)
    copied = copy_tree(course.submitted_dir / student / lab, root / sub_rel / student / lab,
                       limits=SUBMISSION_LIMITS, accept=lambda rel: ".ipynb_checkpoints" not in rel)
    refused = [f"refused {r}" for r in copied.refused]
    if f"{lab}.ipynb" not in copied.files:
        why = next((r for r in refused if r.startswith(f"refused {lab}.ipynb:")), "")
        raise CourseError(why or f"no regular file {lab}.ipynb in the submitted folder")
    return root, refused


def _db_in(course: Course, root: Path) -> Path:
    return root / course.db_path.relative_to(course.root)


class _Lane(threading.Thread):
    """One worker process grading submissions from ``todo`` until it is empty."""

    def __init__(self, course: Course, lab: str, todo: queue.Queue, done: queue.Queue,
                 roots: dict[str, Path], options: list[str], log_dir: Path, limit_s: float,
                 index: int, scratch: Path):
        super().__init__(daemon=True)
        self.course, self.lab, self.todo, self.done, self.roots = course, lab, todo, done, roots
        self.options, self.log_dir, self.limit_s, self.index = options, log_dir, limit_s, index
        self.scratch = scratch
        self.proc: subprocess.Popen | None = None
        self.group: KernelCgroup | None = None

    def _start(self) -> subprocess.Popen:
        args = [sys.executable, "-m", "labkit.course.worker", "autograde-lane", "--config",
                str(self.course.config_file), "--lab", self.lab, "--scratch-dir", str(self.scratch),
                *self.options]
        log = open(self.log_dir / f"lane-{self.index}.log", "a", encoding="utf-8")
        return subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                text=True, env=grading_environment(), bufsize=1)

    def _launch(self) -> None:
        """Start a worker in the lane's control group (created once), so nothing it starts escapes."""
        self.proc = self._start()
        if self.group is not None:
            for procs in self.group.procs_files:     # before any request: no kernel exists yet
                with open(procs, "w", encoding="ascii") as fh:
                    fh.write(str(self.proc.pid))

    def _stop_everything(self) -> None:
        """Kill the worker and every kernel it started (the whole lane cgroup)."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
        if self.group is not None:
            self.group.kill()

    def run(self) -> None:
        try:
            while True:
                try:
                    student = self.todo.get_nowait()
                except queue.Empty:
                    break
                if self.proc is None or self.proc.poll() is not None:
                    self._launch()
                self.done.put(self._grade(student))
            if self.proc is not None:
                if self.proc.stdin is not None:
                    self.proc.stdin.close()
                self.proc.wait()
        finally:
            if self.group is not None:
                self.group.kill()
                self.group.remove()

    def _grade(self, student: str) -> tuple[str, float, bool, str, Path]:
        assert self.proc is not None and self.proc.stdin and self.proc.stdout
        root = self.roots[student]
        log = self.log_dir / f"autograde-{student}.log"
        report = self.scratch / f"{student}.sandbox.json"
        request = {"student": student, "root": str(root), "log": str(log), "report": str(report),
                   "db_url": f"sqlite:///{_db_in(self.course, root)}"}
        start = time.monotonic()
        watchdog = threading.Timer(self.limit_s, self.proc.kill)
        watchdog.start()
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
            for line in self.proc.stdout:
                if line.startswith(RESULT_PREFIX):
                    try:
                        result = json.loads(line[len(RESULT_PREFIX):])
                    except ValueError:
                        continue
                    if result.get("student") == student:
                        return (student, time.monotonic() - start, bool(result["success"]),
                                result.get("error", ""), log)
        except (BrokenPipeError, OSError):
            pass
        finally:
            watchdog.cancel()
        self._stop_everything()
        elapsed = time.monotonic() - start
        why = (f"grading did not finish within {self.limit_s:g} s" if elapsed >= self.limit_s
               else "the grading process ended unexpectedly")
        return student, elapsed, False, why, log


def autograde(course: Course, lab: str, *, workers: int = 2, students: Sequence[str] | None = None,
              cell_timeout_s: float | None = None, memory_mb: int | None = None,
              submission_timeout_s: float | None = None,
              progress: Callable[[SubmissionOutcome, int, int], None] | None = None,
              dask: str | None = None) -> list[SubmissionOutcome]:
    """Autograde every submission of ``lab`` (or the ``students`` named), ``workers`` at a time.

    ``submission_timeout_s`` is each notebook's wall-time budget (default:
    ``SandboxedExecute.submission_timeout`` in ``nbgrader_config.py``).  ``dask`` runs the
    lanes on a Dask cluster (``"local"``: ``workers`` workers here; ``"tcp://HOST:PORT"``: a
    running scheduler, with the workers it has).
    """
    course.check_lab(lab)
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise CourseError(f"workers must be a whole number >= 1, got {workers!r}")
    if dask is not None:
        _check_dask(dask)
    if cell_timeout_s is not None and not cell_timeout_s > 0:
        raise CourseError(f"cell_timeout_s must be > 0 seconds, got {cell_timeout_s!r}")
    if submission_timeout_s is not None and not submission_timeout_s > 0:
        raise CourseError(f"submission_timeout_s must be > 0 seconds, got {submission_timeout_s!r}")
    found = course.submissions(lab)
    linked = {} if students else course.refused_submissions(lab)
    wanted = [check_name("student", s) for s in students] if students else found
    missing = sorted(set(wanted) - set(found))
    if missing:
        raise CourseError(f"no submission of {lab} for {', '.join(missing)} in "
                          f"{course.submitted_dir}/<student>/{lab}/")
    if not wanted and not linked:
        raise CourseError(f"no submissions of {lab} in {course.submitted_dir}/<student>/{lab}/; "
                          f"collect them first (labkit course collect {lab} FILES...)")
    config = course.config()
    limits = _limits(config, memory_mb)
    if _sandboxed(config) and dask in (None, "local"):
        check_available(limits)                      # refuse here, clearly, rather than per kernel
    budget = submission_timeout_s or float(config.get("SandboxedExecute", {}).get(
        "submission_timeout", 1800) or 0)
    options = []
    if cell_timeout_s is not None:
        options += ["--cell-timeout", str(cell_timeout_s)]
    if memory_mb is not None:
        options += ["--memory-mb", str(memory_mb)]
    if submission_timeout_s is not None:
        options += ["--submission-timeout", str(submission_timeout_s)]
    watchdog_s = budget + watchdog_margin_s(budget) if budget else 24 * 3600.0
    outcomes: list[SubmissionOutcome] = []
    with ExitStack() as stack:
        # a cluster that cannot be used is refused before anything is written
        client = (stack.enter_context(_open_dask(dask, min(workers, max(1, len(wanted)))))
                  if dask is not None and wanted else None)
        log_dir = course.logs_dir / lab
        log_dir.mkdir(parents=True, exist_ok=True)
        ensure_registered(course, lab)
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="labkit-autograde-"))
        scratch = Path(tmp)
        roots: dict[str, Path] = {}
        refused: dict[str, list[str]] = {}
        todo: queue.Queue = queue.Queue()
        done: queue.Queue = queue.Queue()
        for student, why in linked.items():
            log = log_dir / f"autograde-{student}.log"
            log.write_text("", encoding="utf-8")
            _log(log, [why])
            done.put((student, 0.0, False, why, log))
        for student in wanted:
            log = log_dir / f"autograde-{student}.log"
            log.write_text("", encoding="utf-8")
            try:
                roots[student], refused[student] = _prepare(course, lab, student, scratch)
                _log(log, refused[student])
                todo.put(student)
            except (CourseError, OSError, sqlite3.Error) as exc:
                why = f"could not be prepared: {exc}"
                _log(log, [why])
                done.put((student, 0.0, False, why, log))
        lanes: list[threading.Thread] = []
        if client is not None and roots:
            job = {"lab": lab, "config": course.config_file.read_text(encoding="utf-8"),
                   "options": options, "limit_s": watchdog_s, "limits": limits,
                   "sandboxed": _sandboxed(config)}
            lanes.append(threading.Thread(target=_dask_lanes, daemon=True, args=(
                client, course, dict(job), sorted(roots), roots, scratch, log_dir, done)))
        else:
            lanes += [_Lane(course, lab, todo, done, roots, options, log_dir, watchdog_s, i,
                            scratch) for i in range(min(workers, len(roots)))]
        for lane in lanes:
            if isinstance(lane, _Lane) and _sandboxed(config):   # every hierarchy a kernel's
                lane.group = KernelCgroup.create(                # group is made in, so they nest
                    controllers=limits.cgroup_controllers or ("pids",))
            lane.start()
        while len(outcomes) < len(wanted) + len(linked):
            student, seconds, success, error, log = done.get()
            notes = refused.get(student, []) + _notes(scratch / f"{student}.sandbox.json")
            outcome = _finish(course, lab, student, roots.get(student), seconds, success, error,
                              log, tuple(notes))
            outcomes.append(outcome)
            if progress is not None:
                progress(outcome, len(outcomes), len(wanted) + len(linked))
        for lane in lanes:
            lane.join()
    return sorted(outcomes, key=lambda o: o.student)


def _check_dask(address: str) -> None:
    """Refuse a malformed ``--dask`` value, or Dask missing, before anything starts."""
    from labkit.sweep.executors import DaskClusterError, check_dask_address

    try:
        check_dask_address(address)
    except DaskClusterError as exc:
        raise CourseError(str(exc)) from None
    if importlib.util.find_spec("distributed") is None:
        raise CourseError(f"--dask {address} needs Dask's distributed package, which is not "
                          f"installed here (pip install 'dask[distributed]')")


def _open_dask(address: str, workers: int) -> Any:
    """A context manager for a Dask client (:func:`labkit.sweep.executors.dask_client`);
    a cluster that cannot be used is a :class:`CourseError` naming ``--dask`` and the address."""
    from contextlib import contextmanager

    from labkit.sweep.executors import DaskClusterError, dask_client

    @contextmanager
    def opened() -> Any:
        try:
            context = dask_client(address, workers=workers if address == "local" else None)
            client = context.__enter__()
        except DaskClusterError as exc:
            raise CourseError(f"--dask {address}: {exc}") from None
        try:
            yield client
        finally:
            context.__exit__(None, None, None)
    return opened()


def _pack(folder: Path) -> bytes:
    """A folder as tar bytes (regular files and folders only: it was built by copy_tree)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        tar.add(str(folder), arcname=".")
    return out.getvalue()


def _unpack(data: bytes, folder: Path) -> None:
    """Extract tar bytes into ``folder``, taking only regular files and folders inside it."""
    folder.mkdir(parents=True, exist_ok=True)
    base = folder.resolve()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
        members = []
        for member in tar.getmembers():
            target = (base / member.name).resolve()
            if not (member.isfile() or member.isdir()) or not target.is_relative_to(base):
                raise CourseError(f"refused {member.name!r} in a packed grading folder")
            members.append(member)
        tar.extractall(str(base), members=members)  # noqa: S202 - checked above


def grade_on_worker(job: dict[str, Any]) -> dict[str, Any]:
    """Grade one packed isolated course on this machine with one local lane (a Dask task).

    ``job``: ``lab``, ``student``, ``bundle`` (the isolated course as tar bytes), ``config``
    (the text of ``nbgrader_config.py``), ``options`` (the lane's worker options),
    ``limit_s`` (the watchdog), ``limits`` and ``sandboxed``.  Returns ``student``,
    ``seconds``, ``success``, ``error``, ``log`` (text), ``report`` (the sandbox's notes as
    JSON text, or None), and when graded ``graded`` (the autograded folder as tar bytes) and
    ``db`` (the gradebook copy's bytes).
    """
    student, lab = job["student"], job["lab"]
    where = f"on Dask worker host {socket.gethostname()}"
    with tempfile.TemporaryDirectory(prefix="labkit-dask-grade-") as tmp:
        root, scratch, logs = Path(tmp) / "course", Path(tmp) / "scratch", Path(tmp) / "logs"
        scratch.mkdir()
        logs.mkdir()
        _unpack(job["bundle"], root)
        (root / CONFIG_NAME).write_text(job["config"], encoding="utf-8")
        course = Course(root=root)
        log = logs / f"autograde-{student}.log"
        log.write_text("", encoding="utf-8")
        if job["sandboxed"]:
            try:
                check_available(job["limits"])
            except SandboxError as exc:
                return {"student": student, "seconds": 0.0, "success": False, "log": "",
                        "report": None, "error": f"{where}: {exc}"}
        todo: queue.Queue = queue.Queue()
        todo.put(student)
        done: queue.Queue = queue.Queue()
        lane = _Lane(course, lab, todo, done, {student: root}, list(job["options"]), logs,
                     float(job["limit_s"]), 0, scratch)
        if job["sandboxed"]:
            lane.group = KernelCgroup.create(
                controllers=job["limits"].cgroup_controllers or ("pids",))
        lane.run()
        _, seconds, success, error, _ = done.get()
        report = scratch / f"{student}.sandbox.json"
        result = {"student": student, "seconds": seconds, "success": success, "error": error,
                  "log": log.read_text(encoding="utf-8", errors="replace"),
                  "report": report.read_text(encoding="utf-8") if report.is_file() else None}
        graded = root / course.autograded_dir.relative_to(root) / student / lab
        if success and graded.is_dir():
            result["graded"] = _pack(graded)
            result["db"] = _db_in(course, root).read_bytes()
        elif success:
            result.update(success=False, error=f"{where}: nbgrader wrote no graded folder")
        return result


def _dask_lanes(client: Any, course: Course, job: dict[str, Any], students: list[str],
                roots: dict[str, Path], scratch: Path, log_dir: Path, done: queue.Queue) -> None:
    """Send every prepared submission to the cluster; put each result where a lane would."""
    from distributed import as_completed

    futures = {}
    for student in students:
        task = {**job, "student": student, "bundle": _pack(roots[student])}
        futures[client.submit(grade_on_worker, task, pure=False,
                              key=f"labkit-grade-{student}-{time.monotonic_ns()}")] = student
    for future in as_completed(list(futures)):
        student = futures[future]
        log = log_dir / f"autograde-{student}.log"
        try:
            result = future.result()
            graded = course.autograded_dir.relative_to(course.root) / student / job["lab"]
            if result.get("success"):
                _unpack(result["graded"], roots[student] / graded)
                _db_in(course, roots[student]).write_bytes(result["db"])
            if result.get("report") is not None:
                (scratch / f"{student}.sandbox.json").write_text(result["report"], encoding="utf-8")
            with open(log, "a", encoding="utf-8") as fh:
                fh.write(result.get("log") or "")
            done.put((student, float(result["seconds"]), bool(result["success"]),
                      str(result.get("error") or ""), log))
        except Exception as exc:  # noqa: BLE001 - one submission's failure never ends the batch
            done.put((student, 0.0, False, f"grading on the Dask cluster failed: "
                                            f"{type(exc).__name__}: {exc}", log))


def _sandboxed(config: Any) -> bool:
    return bool(config.get("SandboxedExecute", {}).get("sandbox", True))


def _limits(config: Any, memory_mb: int | None) -> SandboxLimits:
    """The kernel limits ``nbgrader_config.py`` sets (``--memory-mb`` overriding memory)."""
    section = config.get("SandboxKernelManager", {})
    defaults = SandboxLimits()
    values = {name: section.get(name, getattr(defaults, name))
              for name in ("memory_mb", "cpu_s", "file_mb", "processes", "cpus", "work_mb", "shm_mb")}
    if memory_mb is not None:
        values["memory_mb"] = memory_mb
    try:
        return SandboxLimits(**values)
    except SandboxError as exc:
        raise CourseError(f"{CONFIG_NAME}: {exc}") from None


def _log(log: Path, lines: Sequence[str]) -> None:
    if lines:
        with open(log, "a", encoding="utf-8") as fh:
            fh.writelines(f"labkit: {line}\n" for line in lines)


def _notes(path: Path) -> list[str]:
    """The sandbox's sentences about one submission (written by SandboxedExecute)."""
    try:
        notes = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [str(n) for n in notes if isinstance(n, str)] if isinstance(notes, list) else []


def _finish(course: Course, lab: str, student: str, root: Path | None, seconds: float, success: bool,
            error: str, log: Path, notes: tuple[str, ...]) -> SubmissionOutcome:
    """Copy one graded submission into place and merge its grades; never raises."""
    def failed(why: str) -> SubmissionOutcome:
        lines = [x for x in (why or "autograde failed").strip().splitlines() if x.strip()]
        return SubmissionOutcome(student=student, graded=False, score=None, max_score=None,
                                 seconds=seconds, log_path=log, error=lines[-1], notes=notes)

    if not success or root is None:
        return failed(error)
    try:
        made = root / course.autograded_dir.relative_to(course.root) / student / lab
        target = course.autograded_dir / student / lab
        copied = copy_tree(made, target, limits=SUBMISSION_LIMITS, replace=True)
        if copied.refused:
            _log(log, [f"refused in the graded folder {r}" for r in copied.refused])
        merge_submission(course.db_url, f"sqlite:///{_db_in(course, root)}", lab, student)
        score, max_score = submission_score(course.db_url, lab, student)
    except Exception as exc:  # noqa: BLE001 - one submission's failure never ends the batch
        _log(log, [f"could not be merged: {type(exc).__name__}: {exc}"])
        return failed(f"could not be merged: {type(exc).__name__}: {exc}")
    _log(log, list(notes))
    return SubmissionOutcome(student=student, graded=True, score=score, max_score=max_score,
                             seconds=seconds, log_path=log, notes=notes)
