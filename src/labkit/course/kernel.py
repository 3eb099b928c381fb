"""Executing a submission: sandboxed kernels, and a cell runner that never gives up on a student.

nbgrader's ``Execute`` preprocessor interrupts a cell that runs past
``Execute.timeout``.  A loop that swallows ``KeyboardInterrupt`` ignores the
interrupt; the kernel then never reports "idle", nbclient raises a timeout
error while waiting for its output (``raise_on_iopub_timeout``), and
nbgrader's converter catches that as a failed submission and **deletes the
whole autograded submission** (the student is dropped from the batch).  A
kernel killed by its memory or CPU limit (``DeadKernelError``) meets the same
fate.

:class:`SandboxedExecute` enforces the limit at kernel level instead: when a
cell times out and the kernel does not come back within
``iopub_timeout`` seconds, or the kernel dies, the cell gets an error output
saying so (the cell scores zero), the kernel and everything it started are
killed, a fresh kernel starts, the cells above are re-run silently to restore
the state the rest of the notebook depends on, and grading goes on with the
next cell.  It also holds the whole submission to a wall-time budget
(``submission_timeout``) and each cell's output to a size
(``max_cell_output_bytes``), so neither a slow nor a chatty notebook can
hold or flood the grader.

Every kernel is started by :class:`SandboxKernelManager` through
:mod:`labkit.course.sandbox`, in a private scratch folder, its own control
group and its own user id, and talks to the grader over Unix sockets.  When a
kernel ends, what the sandbox refused or cut is collected as plain sentences
(:func:`sandbox_notes`) for the student's line and log.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

import zmq
import zmq.asyncio
from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async, run_sync
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Dict, Float, Integer, List, Unicode
from zmq.utils import monitor as zmq_monitor

from labkit.course.answers import EXPORT_VARIABLE, Export, export_code, needs, read_export
from labkit.course.cgroups import KernelCgroup
from labkit.course.layout import CourseError
from labkit.course.sandbox import SandboxLimits, free_uid
from labkit.course.untrusted import TreeLimits, copy_tree

__all__ = ["SandboxKernelManager", "SandboxKernelClient", "SandboxedExecute", "sandbox_notes",
           "is_check", "grading_environment", "stop_judge"]

_MIB = 1024 * 1024
_END_WAIT_S = 4.0           # how long a kernel's process 1 gets to write its report
_SOCKET_PATH_MAX = 100      # bytes of a Unix socket path (the kernel's limit is 107)


class SandboxKernelClient(AsyncKernelClient):
    """A kernel client whose sockets refuse any single message larger than ``max_message_bytes``.

    ZeroMQ drops an oversized message by resetting the connection; a monitor
    on the output (iopub) socket counts those resets, so the grader can say
    that output was dropped (:meth:`dropped_connections`).
    """

    max_message_bytes = Integer(64 * _MIB)
    _monitor: zmq.Socket | None = None

    def _context_default(self) -> zmq.asyncio.Context:
        context = super()._context_default()
        context.setsockopt(zmq.MAXMSGSIZE, int(self.max_message_bytes))
        return context

    def connect_iopub(self, identity: bytes | None = None) -> zmq.sugar.socket.Socket:
        sock = super().connect_iopub(identity)
        address = f"inproc://labkit-iopub-monitor-{id(self)}-{id(sock)}"
        sock.monitor(address, zmq.EVENT_DISCONNECTED)
        self._monitor = zmq.Context.shadow(self.context.underlying).socket(zmq.PAIR)
        self._monitor.connect(address)
        return sock

    def dropped_connections(self) -> int:
        """Resets of the output connection since the last call (an oversized message each)."""
        count = 0
        while self._monitor is not None and self._monitor.poll(0):
            event = zmq_monitor.recv_monitor_message(self._monitor)
            count += event["event"] == zmq.EVENT_DISCONNECTED
        return count

    def stop_channels(self) -> None:
        if self._monitor is not None:          # first: the context waits for every socket
            self._monitor.close(linger=0)
            self._monitor = None
        super().stop_channels()


class SandboxKernelManager(AsyncKernelManager):
    """Start the kernel through :mod:`labkit.course.sandbox`: own root, user, cgroup, no network."""

    memory_mb = Integer(SandboxLimits.memory_mb, help="Memory of a grading kernel and everything "
                        "it starts, in MiB, its work folder included (0 = none).").tag(config=True)
    cpu_s = Integer(SandboxLimits.cpu_s, help="CPU seconds each process of a grading kernel may "
                    "use (0 = none).").tag(config=True)
    file_mb = Integer(SandboxLimits.file_mb, help="Largest file a grading kernel may write, in "
                      "MiB.").tag(config=True)
    processes = Integer(SandboxLimits.processes, help="Processes and threads a grading kernel "
                        "may run at once (0 = none).").tag(config=True)
    cpus = Float(SandboxLimits.cpus, help="CPUs a grading kernel may use at once (0 = no "
                 "limit).").tag(config=True)
    work_mb = Integer(SandboxLimits.work_mb, help="Size of the kernel's only writable folder "
                      "(its working folder, HOME and /tmp), in MiB.").tag(config=True)
    shm_mb = Integer(SandboxLimits.shm_mb, help="Size of the kernel's /dev/shm, in MiB.").tag(config=True)
    uid_base = Integer(61000, help="First user id the grader may give a kernel; each kernel gets "
                       "an unused one from [uid_base, uid_base + uid_span).").tag(config=True)
    uid_span = Integer(4000, help="How many user ids kernels may use.").tag(config=True)
    pass_env = List(Unicode(), default_value=["PYTHONPATH"], help="Environment variables of the "
                    "grader handed to the kernel (everything else is left out).").tag(config=True)
    extra_env = Dict(value_trait=Unicode(), help="Environment variables set for the kernel (the "
                     "grader sets LABKIT_GRADING and LABKIT_LEARNER).")
    max_message_bytes = Integer(64 * _MIB, help="Largest single message the grader accepts from "
                                "a kernel; a kernel that sends more is disconnected.").tag(config=True)
    kernel_log = Unicode("", help="File receiving the kernel process's own stdout and stderr "
                         "(startup messages, crashes); empty = discard.").tag(config=True)
    scratch_dir = Unicode("", help="Folder holding each kernel's private scratch folder (empty = "
                          "the system's temporary folder).").tag(config=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.transport = "ipc"
        self.client_factory = SandboxKernelClient
        self.report_sink: list[dict] | None = None
        self._scratch: Path | None = None
        self._ipc: Path | None = None
        self._cgroup: KernelCgroup | None = None
        self._uid: int | None = None
        self._finished = False

    @property
    def limits(self) -> SandboxLimits:
        return SandboxLimits(memory_mb=self.memory_mb, cpu_s=self.cpu_s, file_mb=self.file_mb,
                             processes=self.processes, cpus=self.cpus, work_mb=self.work_mb,
                             shm_mb=self.shm_mb)

    def _prepare(self, notebook_dir: str | None) -> None:
        limits = self.limits
        scratch = Path(tempfile.mkdtemp(prefix="labkit-kernel-", dir=self.scratch_dir or None))
        self._scratch = scratch
        self._uid = free_uid(self.uid_base, self.uid_span, seed=zlib.crc32(scratch.name.encode()))
        # Unix socket paths are limited to 107 bytes: a deep scratch folder gets a short one
        if len(str(scratch / "ipc" / "kernel-ipc-99999")) <= _SOCKET_PATH_MAX:
            ipc = scratch / "ipc"
            ipc.mkdir(mode=0o700)
        else:
            ipc = Path(tempfile.mkdtemp(prefix="labkit-ipc-", dir="/tmp"))
        self._ipc = ipc
        os.chown(ipc, self._uid, self._uid)
        if notebook_dir and os.path.isdir(notebook_dir):   # support files, never notebooks
            copy_tree(notebook_dir, scratch / "seed", limits=TreeLimits(max_files=100),
                      accept=lambda rel: not rel.endswith(".ipynb") and ".ipynb_checkpoints" not in rel)
        self._cgroup = KernelCgroup.create(processes=limits.processes, memory_mb=limits.memory_mb,
                                           cpus=limits.cpus, controllers=("pids",))
        self.connection_file = str(scratch / "kernel.json")
        self.ip = str(ipc / "kernel-ipc")
        self._finished = False

    async def _async_pre_start_kernel(self, **kw: Any) -> Any:
        if self._scratch is None:
            self._prepare(kw.get("cwd"))
        kw["cwd"] = str(self._scratch)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
        env.update({k: os.environ[k] for k in self.pass_env if k in os.environ})
        kw["env"] = env
        return await super()._async_pre_start_kernel(**kw)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd = super().format_kernel_cmd(extra_arguments)
        if not any(a.startswith("--HistoryManager.") for a in cmd):
            cmd.append("--HistoryManager.enabled=False")   # no history file, even in its own folder
        assert self._scratch is not None and self._uid is not None and self._cgroup is not None
        extra = ["--log", self.kernel_log] if self.kernel_log else []
        for procs in self._cgroup.procs_files:
            extra += ["--cgroup-procs", procs]
        for name in self.pass_env:
            extra += ["--pass-env", name]
        for name, value in sorted(self.extra_env.items()):
            extra += ["--env", f"{name}={value}"]
        return [sys.executable, "-m", "labkit.course.sandbox", *self.limits.as_args(),
                "--scratch", str(self._scratch), "--ipc", str(self._ipc), "--uid", str(self._uid),
                "--report", str(self._scratch / "report.json"), *extra, "--", *cmd]

    def client(self, **kwargs: Any) -> AsyncKernelClient:  # type: ignore[override]
        kwargs.setdefault("max_message_bytes", self.max_message_bytes)
        return super().client(**kwargs)

    async def _async_kill_kernel(self, restart: bool = False) -> None:
        """Ask the launcher to end the namespace (so process 1 writes its report), then kill."""
        process = getattr(self.provisioner, "process", None)
        if process is not None and process.poll() is None:
            try:
                process.send_signal(signal.SIGTERM)     # the launcher only, not the group
                for _ in range(int(_END_WAIT_S / 0.05)):
                    if process.poll() is not None:
                        break
                    await asyncio.sleep(0.05)
            except OSError:
                pass
        await super()._async_kill_kernel(restart=restart)

    def _finish(self, *, remove: bool) -> None:
        """Kill what is left of the kernel, collect its report, remove its traces."""
        if self._finished or self._scratch is None:
            return
        report: dict[str, Any] = {}
        if self._cgroup is not None:               # let process 1 finish its report
            deadline = time.monotonic() + _END_WAIT_S
            while self._cgroup.pids() and time.monotonic() < deadline:
                time.sleep(0.05)
        try:
            report = json.loads((self._scratch / "report.json").read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            report = {}
        if self._cgroup is not None:
            report["cgroup"] = self._cgroup.events()
            report["killed_at_end"] = self._cgroup.kill()
            self._cgroup.remove()
            self._cgroup = None
        report["limits"] = {"memory_mb": self.memory_mb, "processes": self.processes,
                            "work_mb": self.work_mb}
        if self.report_sink is not None:
            self.report_sink.append(report)
        self._finished = True
        if remove:
            shutil.rmtree(self._scratch, ignore_errors=True)
            if self._ipc is not None and self._scratch not in self._ipc.parents:
                shutil.rmtree(self._ipc, ignore_errors=True)
            self._scratch = self._ipc = None

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        self._finish(remove=not restart)

    # shutdown_kernel calls _async_cleanup_resources; nbclient calls cleanup_resources
    cleanup_resources = _async_cleanup_resources


def stop_judge(resources: Any) -> list[dict]:
    """Shut down a pre-started judge kernel and remove its folder; returns its reports."""
    judge = ((resources or {}).get("labkit") or {}).pop("judge", None)
    if judge is None:
        return []
    km, empty = judge
    try:
        if km.has_kernel:
            run_sync(km.shutdown_kernel)(now=True)
    finally:
        shutil.rmtree(empty, ignore_errors=True)
    return list(getattr(km, "report_sink", None) or [])


def is_check(cell: NotebookNode) -> bool:
    """Is this an autograder test cell (graded code that is not an answer)?"""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def grading_environment(resources: Any, resits: Any = None) -> dict[str, str]:
    """The variables every grading kernel gets: the student the submission is filed under and,
    for a re-sit the instructor recorded (``c.TimedAssessment.resits = {lab: {student: n}}``),
    the sitting whose draw the submission answers (:func:`labkit.variants.attempt`)."""
    info = (resources or {}).get("nbgrader") or {}
    student = info.get("student")
    if not student:
        return {}
    env = {"LABKIT_GRADING": "1", "LABKIT_LEARNER": str(student)}
    sitting = ((resits or {}).get(info.get("assignment")) or {}).get(student)
    if sitting is not None:
        if isinstance(sitting, bool) or not isinstance(sitting, int) or not 0 <= sitting <= 999:
            raise ValueError(f"c.TimedAssessment.resits[{info.get('assignment')!r}][{student!r}] "
                             f"must be a whole number from 0 to 999, got {sitting!r}")
        env["LABKIT_ATTEMPT"] = str(sitting)
    return env


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}{'es' if word.endswith('s') else 's'}"


def sandbox_notes(reports: list[dict]) -> list[str]:
    """What the sandbox refused, cut or cleaned up for one submission, as plain sentences."""
    refused: dict[str, int] = {}
    special: dict[str, int] = {}
    notes: list[str] = []
    full = pid_hits = ooms = running = written = 0
    limits: dict[str, int] = {}
    for report in reports:
        limits = report.get("limits", limits)
        for what, count in report.get("refused", {}).items():
            refused[what] = refused.get(what, 0) + int(count)
        for kind, count in report.get("left_behind", {}).get("special", {}).items():
            special[kind] = special.get(kind, 0) + int(count)
        written += int(report.get("left_behind", {}).get("written", 0))
        size = report.get("work_size_bytes", 0)
        if size and report.get("work_used_bytes", 0) >= 0.98 * size:
            full += 1
        group = report.get("cgroup", {})
        pid_hits += int(group.get("pids_max", 0))
        ooms += int(group.get("oom_kills", 0))
        running += int(report.get("still_running", 0))
        if report.get("error"):
            notes.append(f"the sandbox could not start a kernel ({report['error']})")
    if refused:
        notes.append("refused: " + ", ".join(f"{count} x {what}" for what, count in sorted(refused.items())))
    if special:
        notes.append("left in its work folder and never followed or copied: " +
                     ", ".join(f"{count} x {kind}" for kind, count in sorted(special.items())))
    if written:
        notes.append(f"wrote {_plural(written, 'file')} in its work folder (discarded with it; "
                     f"never copied back)")
    if full:
        notes.append(f"filled its {limits.get('work_mb', '?')} MiB work folder")
    if pid_hits:
        notes.append(f"hit the limit of {limits.get('processes', '?')} processes "
                     f"({_plural(pid_hits, 'fork')} refused)")
    if ooms:
        notes.append(f"hit the {limits.get('memory_mb', '?')} MiB memory limit "
                     f"({_plural(ooms, 'process')} killed)")
    if running:
        notes.append(f"{_plural(running, 'process')} still running when its kernel ended "
                     f"{'was' if running == 1 else 'were'} killed")
    return notes


_STOPPERS = ("CellTimeoutError", "KernelDied", "KernelGaveUp", "SubmissionTimeLimit")


def _stopped_kernel(cell: NotebookNode) -> bool:
    """Did this cell time out or kill its kernel?  Such cells are not re-run."""
    return any(out.get("output_type") == "error" and out.get("ename") in _STOPPERS
               for out in cell.get("outputs", []))


def _error_output(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"{ename}: {evalue}"])


def _size(out: NotebookNode) -> int:
    """Characters an output holds (text, every data representation, a traceback)."""
    total = len(str(out.get("text", "")))
    total += sum(len(v) if isinstance(v, str) else len(json.dumps(v, default=str))
                 for v in out.get("data", {}).values())
    return total + sum(len(line) for line in out.get("traceback", []))


class SandboxedExecute(Execute):
    """nbgrader's ``Execute`` with sandboxed kernels, kernel-level time limits and output caps."""

    sandbox = Bool(True, help="Start kernels through labkit.course.sandbox (own root, user, "
                   "cgroup, no network, Landlock, seccomp). Switch off only for trusted "
                   "notebooks.").tag(config=True)
    max_restarts = Integer(5, help="Kernel restarts allowed per notebook; after that the "
                           "remaining cells are marked as not run.").tag(config=True)
    submission_timeout = Integer(1800, help="Wall-clock seconds one notebook may take in all; "
                                 "cells past it are not run (0 = no limit).").tag(config=True)
    max_cell_output_bytes = Integer(16 * _MIB, help="Output one cell may keep; past it, its "
                                    "further output is dropped with a note.").tag(config=True)
    max_output_bytes = Integer(64 * _MIB, help="Output a whole notebook may keep.").tag(config=True)
    report_file = Unicode("", help="File receiving, as a JSON list of sentences, what the "
                          "sandbox refused or cut for this notebook (empty = log only).").tag(config=True)
    store_widget_state = Bool(False, help="Keep the widgets' state in the graded notebook's "
                              "metadata. Off: a lab's first chart carries plotly.js (several "
                              "MB) in its state, which would swell every graded notebook and "
                              "feedback page, and nothing graded reads it.").tag(config=True)
    trusted = Bool(True, help="Judge check cells (nbgrader's autograder tests) in a fresh sandboxed "
                   "kernel that never ran the notebook's code, on the answers each check reads, "
                   "sent over as plain data (labkit.course.judge.TrustedJudge, next in the "
                   "pipeline). False runs them in the notebook's own kernel, as stock nbgrader "
                   "does.").tag(config=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.sandbox:
            self.kernel_manager_class = SandboxKernelManager
        self._restarts = 0
        self._reports: list[dict] = []
        self._notes: list[str] = []
        self._deadline = float("inf")
        self._cell_bytes = self._total_bytes = 0
        self._cut: set[int] = set()
        self._out_of_time = False

    def create_kernel_manager(self) -> Any:
        km = super().create_kernel_manager()
        self._configure(km, self.resources)
        return km

    def _configure(self, km: Any, resources: Any) -> None:
        if isinstance(km, SandboxKernelManager):
            km.report_sink = self._reports
            resits = (self.config.get("TimedAssessment") or {}).get("resits") or {}
            km.extra_env = grading_environment(resources, resits)

    def _prestart_judge(self, nb: NotebookNode, resources: Any) -> None:
        """Start the judge's kernel now, in an empty folder, so that it boots while the
        learner's notebook runs (:class:`labkit.course.judge.TrustedJudge` takes it over)."""
        if not any(is_check(cell) for cell in nb.cells):
            return
        kernel_name = self.kernel_name or nb.metadata.get("kernelspec", {}).get("name") or ""
        judge = (self.kernel_manager_class(kernel_name=kernel_name, config=self.config)
                 if kernel_name else self.kernel_manager_class(config=self.config))
        self._configure(judge, resources)
        if isinstance(judge, SandboxKernelManager):
            judge.report_sink = []                 # its notes go to the judge's log
        # in the run's scratch folder, as the kernels' own: autograde removes that folder even
        # when its watchdog had to kill the lane before this one was cleaned up
        scratch = judge.scratch_dir if isinstance(judge, SandboxKernelManager) else ""
        empty = tempfile.mkdtemp(prefix="labkit-judge-", dir=scratch or None)
        try:
            run_sync(judge.start_kernel)(cwd=empty)   # returns once launched, not once ready
        except BaseException:
            shutil.rmtree(empty, ignore_errors=True)
            raise
        resources["labkit"]["judge"] = (judge, empty)

    def preprocess(self, nb: NotebookNode, resources: Any = None, km: Any = None) -> Any:
        if self.trusted and resources is not None:
            resources.setdefault("labkit", {})["exports"] = {}
            self._prestart_judge(nb, resources)
        self._restarts = 0
        self._reports, self._notes, self._cut = [], [], set()
        self._out_of_time = False
        self._total_bytes = 0
        self._deadline = (time.monotonic() + self.submission_timeout if self.submission_timeout
                          else float("inf"))
        try:
            return super().preprocess(nb, resources, km)
        except BaseException:
            stop_judge(resources)                  # nothing will judge this notebook now
            raise
        finally:
            self._write_report()

    def _write_report(self) -> None:
        notes = sandbox_notes(self._reports) + self._notes
        for note in notes:
            self.log.warning("sandbox: %s", note)
        if self.report_file:
            Path(self.report_file).write_text(json.dumps(notes), encoding="utf-8")

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int) -> Any:
        self._check_assign_resources(resources)
        if cell.cell_type != "code" or not cell.source.strip():
            return cell, self.resources
        check = self.trusted and is_check(cell)
        if check and (time.monotonic() > self._deadline or self._restarts > self.max_restarts):
            why = ("the notebook used its time budget before this check" if time.monotonic() >
                   self._deadline else "the kernel had to be restarted too many times")
            self._record(cell, Export(answers={}, problems={"answers": f"not read: {why}"}))
            return cell, self.resources
        if check:
            self._export(cell, index)
            return cell, self.resources
        if time.monotonic() > self._deadline:
            cell.outputs = [_error_output("SubmissionTimeLimit", f"not run: the notebook used its "
                                          f"{self.submission_timeout} s time budget")]
            if not self._out_of_time:
                self._out_of_time = True
                self._notes.append(f"used its {self.submission_timeout} s time budget; later cells "
                                   f"were not run")
            return cell, self.resources
        if self._restarts > self.max_restarts:
            cell.outputs = [_error_output("KernelGaveUp", "not run: the kernel had to be "
                                          "restarted too many times in this notebook")]
            return cell, self.resources
        self._cell_bytes = 0
        try:
            cell = self.execute_cell(cell, index, store_history=True)
            self._check_dropped(cell, index)
        except CellTimeoutError:
            self._check_dropped(cell, index)
            cell.outputs.append(_error_output(
                "CellTimeoutError", f"this cell ran longer than {self.timeout} s and ignored the "
                "interrupt, so its kernel was stopped; the cells above were re-run in a fresh "
                "kernel and grading went on"))
            self._restart(index)
        except DeadKernelError:
            cell.outputs.append(_error_output(
                "KernelDied", "the kernel stopped while running this cell (it exceeded the memory "
                "or CPU limit, or the code ended the process); the cells above were re-run in a "
                "fresh kernel and grading went on"))
            self._restart(index)
        return cell, self.resources

    def _record(self, cell: NotebookNode, export: Export) -> None:
        exports = self.resources.setdefault("labkit", {}).setdefault("exports", {})
        exports[cell.metadata["nbgrader"]["grade_id"]] = {"answers": dict(export.answers),
                                                          "problems": dict(export.problems)}
        # Fail closed: until the judge of record replaces it, the check holds an error, so a
        # pipeline without TrustedJudge after this preprocessor grades it 0, never full marks.
        cell.outputs = [_error_output("NotJudged", "this check is marked by the judge of record "
                                      "(labkit.course.judge.TrustedJudge), which has not run")]

    def _export(self, cell: NotebookNode, index: int) -> None:
        """At a check cell's place, take the answers it reads out of the learner's kernel."""
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        try:
            wanted = needs(cell.source, where=f"check cell {grade_id}")
        except CourseError as exc:
            self._record(cell, Export(answers={}, problems={"check": str(exc)}))
            return
        text = None
        try:
            reply = run_sync(self.kc.execute_interactive)(
                export_code(wanted), silent=True, store_history=False, allow_stdin=False,
                user_expressions={"answers": EXPORT_VARIABLE}, timeout=self.timeout,
                output_hook=lambda msg: None)
            found = reply["content"].get("user_expressions", {}).get("answers", {})
            if found.get("status") == "ok":
                text = found.get("data", {}).get("text/plain")
            run_sync(self.kc.execute_interactive)(
                f"del {EXPORT_VARIABLE}", silent=True, store_history=False, allow_stdin=False,
                timeout=self.timeout, output_hook=lambda msg: None)
        except Exception as exc:  # noqa: BLE001 - a dead or stuck kernel: no answers, restart
            self.log.warning("check cell %s: answers could not be read (%s)", grade_id, exc)
            self._record(cell, read_export(None, wanted))
            self._restart(index)
            return
        self._record(cell, read_export(text, wanted))

    def _check_dropped(self, cell: NotebookNode, index: int) -> None:
        """Say so when the kernel's output connection was reset by an oversized message."""
        dropped = getattr(self.kc, "dropped_connections", lambda: 0)()
        if dropped and isinstance(self.km, SandboxKernelManager):
            limit = self.km.max_message_bytes // _MIB
            cell.outputs.append(NotebookNode(output_type="stream", name="stdout", text=(
                f"[output dropped: this cell sent a message over {limit} MiB, which the grader "
                f"does not accept]\n")))
            self._notes.append(f"cell {index}: a message over {limit} MiB was dropped")

    def output(self, outs: list[NotebookNode], msg: dict, display_id: str | None,
               cell_index: int) -> NotebookNode | None:
        out = super().output(outs, msg, display_id, cell_index)
        if out is None:
            return None
        size = _size(out)
        self._cell_bytes += size
        self._total_bytes += size
        if self._cell_bytes > self.max_cell_output_bytes or self._total_bytes > self.max_output_bytes:
            if out in outs:
                outs.remove(out)
            if cell_index not in self._cut:
                self._cut.add(cell_index)
                limit = (self.max_cell_output_bytes if self._cell_bytes > self.max_cell_output_bytes
                         else self.max_output_bytes)
                outs.append(NotebookNode(output_type="stream", name="stdout", text=(
                    f"[output cut: more than {limit // _MIB} MiB; the rest of this cell's output "
                    f"was dropped by the grader]\n")))
                self._notes.append(f"cell {cell_index}: output cut at {limit // _MIB} MiB")
            return None
        return out

    km: Any
    kc: Any

    def _restart(self, index: int) -> None:
        self._restarts += 1
        run_sync(self._async_restart)(index)

    async def _async_restart(self, index: int) -> None:
        km: Any = self.km
        if km is not None:
            try:
                await km.shutdown_kernel(now=True)      # SIGKILL to the kernel's process group
            except Exception:   # noqa: BLE001 - already dead is fine
                pass
            await ensure_async(km.cleanup_resources())
        kc: Any = self.kc
        if kc is not None:
            await ensure_async(kc.stop_channels())
        self.kc = None
        self.km = self.create_kernel_manager()
        await self.async_start_new_kernel()
        await self.async_start_new_kernel_client()
        await self._async_replay(index)

    async def _async_replay(self, index: int) -> None:
        """Re-run the code cells above ``index`` without recording their outputs."""
        assert self.kc is not None
        for cell in self.nb.cells[:index]:
            if cell.cell_type != "code" or not cell.source.strip() or _stopped_kernel(cell):
                continue
            if self._restarts > self.max_restarts:
                return
            try:
                await self.kc.execute_interactive(
                    cell.source, store_history=False, allow_stdin=False,
                    timeout=self.timeout, output_hook=lambda msg: None)
            except (TimeoutError, asyncio.TimeoutError, RuntimeError):
                # A cell that ran fine the first time no longer does: start clean and go on.
                self._restarts += 1
                if self.km is not None:
                    await self.km.shutdown_kernel(now=True)
                    await ensure_async(self.km.cleanup_resources())
                await ensure_async(self.kc.stop_channels())
                self.km = self.create_kernel_manager()
                await self.async_start_new_kernel()
                await self.async_start_new_kernel_client()
