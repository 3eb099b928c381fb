"""The first process of a grading kernel's PID namespace: build its world, start it, watch it, end it.

:mod:`labkit.course.sandbox` forks this as process 1 of a fresh PID
namespace.  As root inside fresh mount, network, IPC, UTS and cgroup
namespaces it

1. builds the kernel's root (:func:`labkit.course.jail.enter_root`) and seeds
   its work folder with the support files the grader chose;
2. forks the kernel, which drops for good to its own unprivileged user (no
   groups, no capabilities, ``no_new_privs``), sets its resource limits,
   enforces Landlock and installs the seccomp filter, hands the filter's
   notification descriptor back, and ``exec``s the Jupyter kernel with a
   minimal environment;
3. answers the filter's reported calls (:class:`labkit.course.seccomp.Supervisor`),
   reaps every process the kernel orphans, and when the kernel exits writes
   a report (what was refused, how full the work folder got, what was left
   behind, how many processes were still running) and exits, which makes the
   Linux kernel kill every process left in the namespace.

An interrupt from the grader reaches the kernel through its process group;
this process ignores it.  A terminate or hang-up from the grader ends
everything.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import select
import signal
import socket
import sys
from dataclasses import dataclass

from labkit.course import jail, landlock, seccomp
from labkit.course.untrusted import TreeLimits, scan_tree

__all__ = ["KernelPlan", "run_init", "main_init"]

_PR_SET_PDEATHSIG, _PR_SET_NO_NEW_PRIVS, _PR_CAPBSET_DROP = 1, 38, 24
_libc = ctypes.CDLL(None, use_errno=True)


@dataclass(frozen=True, kw_only=True)
class KernelPlan:
    """Everything the init process needs to start one sandboxed kernel."""

    root: jail.RootPlan
    staging: str                 # host folder (on the launcher's scratch) where the root is built
    command: tuple[str, ...]     # the kernel command, as the kernel sees paths
    env: dict[str, str]
    memory_mb: int
    cpu_s: int
    file_mb: int
    processes: int
    connection: dict | None      # the kernel's connection info (written for it at /labkit/ipc)
    connection_name: str = "kernel-sandbox.json"


def _prepare_work(plan: KernelPlan) -> None:
    uid, gid = plan.root.uid, plan.root.gid
    for sub in (".tmp", ".ipython/profile_default/startup", ".ipython/profile_default/log",
                ".ipython/profile_default/pid", ".ipython/profile_default/security", ".config", ".cache"):
        os.makedirs(f"{jail.WORK}/{sub}", exist_ok=True)
    for top, dirs, files in os.walk(jail.WORK):
        for name in dirs + files:
            os.lchown(os.path.join(top, name), uid, gid)
    os.lchown(jail.WORK, uid, gid)
    startup = f"{jail.WORK}/.ipython/profile_default/startup/00-labkit-sandbox-ready.py"
    with open(startup, "w", encoding="utf-8") as fh:
        fh.write(_READY_SCRIPT)
    if plan.connection is not None:
        path = f"{jail.IPC}/{plan.connection_name}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(plan.connection, fh)
        os.lchown(path, uid, gid)


READY_ENV = "LABKIT_SANDBOX_READY_FD"
_READY_SCRIPT = f"""# written by the grading sandbox: tells it the kernel has finished starting
import os as _os
_fd = int(_os.environ.pop("{READY_ENV}", "-1"))
if _fd >= 0:
    try:
        _os.write(_fd, b"r")
        _os.close(_fd)
    except OSError:
        pass
del _os, _fd
"""


def _drop_bounding_set() -> None:
    for cap in range(64):
        if _libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() == 22:
            break


def _limits(plan: KernelPlan) -> None:
    mib = 1024 * 1024
    # RLIMIT_NPROC counts only this kernel's own user; a little above the cgroup's count, so
    # the cgroup (which also holds process 1) is the limit that bites and is reported
    nproc = plan.processes + 4 if plan.processes else 0
    pairs = [(resource.RLIMIT_AS, plan.memory_mb * mib), (resource.RLIMIT_CPU, plan.cpu_s),
             (resource.RLIMIT_FSIZE, plan.file_mb * mib), (resource.RLIMIT_NPROC, nproc)]
    for which, value in pairs:
        if value:
            resource.setrlimit(which, (value, value))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _become_kernel(plan: KernelPlan, channel: socket.socket, ready: int) -> None:
    """In the forked child: drop everything, lock down, hand back the listener, exec."""
    try:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        _drop_bounding_set()
        os.setgroups([])
        os.setresgid(plan.root.gid, plan.root.gid, plan.root.gid)
        os.setresuid(plan.root.uid, plan.root.uid, plan.root.uid)
        if _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0 or os.getppid() != 1:
            os._exit(70)
        os.umask(0o077)
        _limits(plan)
        if _libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "no_new_privs")
        landlock.restrict(read_paths=["/"], write_paths=[jail.WORK, "/dev/shm", "/dev/null"],
                          socket_paths=[jail.IPC])
        listener = seccomp.install(notify=True)
        if listener is None:
            raise OSError("the seccomp filter gave no notification descriptor")
        socket.send_fds(channel, [b"L"], [listener])
        os.close(listener)
        channel.close()
        os.chdir(jail.WORK)
        os.set_inheritable(ready, True)
        env = {**plan.env, READY_ENV: str(ready)}
        os.execve(_which(plan.command[0], plan.env["PATH"]), list(plan.command), env)
    except BaseException as exc:  # noqa: BLE001 - report and leave; nothing may run unconfined
        os.write(2, f"labkit sandbox: the kernel could not be started: {exc}\n".encode())
    os._exit(71)


def _which(command: str, path: str) -> str:
    if "/" in command:
        return command
    for folder in path.split(os.pathsep):
        candidate = os.path.join(folder, command)
        if os.access(candidate, os.X_OK):
            return candidate
    return command


_OWN = (".ipython/", ".cache/", ".config/", ".local/", ".jupyter/")   # the Python stack's own


def _files() -> set[str]:
    try:
        scan = scan_tree(jail.WORK, limits=TreeLimits(max_files=10_000, max_bytes=1 << 62, max_depth=64))
    except Exception:  # noqa: BLE001 - a report must not fail on a hostile tree
        return set()
    return set(scan.files)


def _left_behind(before: set[str]) -> dict:
    """What the kernel left in its work folder: new files, and what a grader must never open."""
    try:
        scan = scan_tree(jail.WORK, limits=TreeLimits(max_files=10_000, max_bytes=1 << 62, max_depth=64))
    except Exception:  # noqa: BLE001 - a report must not fail on a hostile tree
        return {}
    kinds: dict[str, int] = {}
    for refusal in scan.refused:
        if refusal.kind != "file over the count limit":
            kinds[refusal.kind] = kinds.get(refusal.kind, 0) + 1
    written = [f for f in scan.files if f not in before and not f.startswith(_OWN)]
    return {"written": len(written), "special": kinds,
            "examples": [str(r) for r in scan.refused[:3]]}


def _running() -> int:
    return sum(1 for name in os.listdir("/proc") if name.isdigit() and name != "1")


def run_init(plan: KernelPlan, report_fd: int) -> int:
    """Process 1 of the kernel's PID namespace; returns the kernel's exit status."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    ending = {"now": False}

    def end(signum: int, frame: object) -> None:
        ending["now"] = True

    signal.signal(signal.SIGTERM, end)
    signal.signal(signal.SIGHUP, end)
    status = 1
    report: dict = {"started": False}
    try:
        jail.unshare(jail.NEW_REST)
        socket.sethostname("labkit-sandbox")
        jail.enter_root(plan.root, plan.staging, machine=seccomp.machine())
        _prepare_work(plan)
        parent_end, child_end = socket.socketpair()
        ready_r, ready_w = os.pipe()
        before = _files()
        kernel = os.fork()
        if kernel == 0:
            parent_end.close()
            os.close(ready_r)
            _become_kernel(plan, child_end, ready_w)
        child_end.close()
        os.close(ready_w)
        supervisor = _receive_supervisor(parent_end)
        report["started"] = supervisor is not None
        status = _watch(kernel, supervisor, ending, ready_r)
        if supervisor is not None:
            report["refused"] = dict(supervisor.counts)
        stats = os.statvfs(jail.WORK)
        report["work_used_bytes"] = (stats.f_blocks - stats.f_bfree) * stats.f_frsize
        report["work_size_bytes"] = stats.f_blocks * stats.f_frsize
        report["left_behind"] = _left_behind(before)
        report["still_running"] = _running()
    except BaseException as exc:  # noqa: BLE001 - the report says why; the namespace then ends
        report["error"] = f"{type(exc).__name__}: {exc}"
    try:
        os.write(report_fd, json.dumps(report).encode())
    except OSError:
        pass
    return status


def _receive_supervisor(channel: socket.socket) -> seccomp.Supervisor | None:
    channel.settimeout(60)
    try:
        _msg, fds, _flags, _addr = socket.recv_fds(channel, 4, 1)
    except (OSError, TimeoutError):
        return None
    finally:
        channel.close()
    return seccomp.Supervisor(fds[0]) if fds else None


def _watch(kernel: int, supervisor: seccomp.Supervisor | None, ending: dict, ready: int) -> int:
    """Serve notifications and reap children until the kernel exits; its exit status.

    Calls refused before the kernel says it is ready (the ``ready`` pipe) are
    its own start-up probing, not the submission's, and are not counted.
    """
    poller = select.poll()
    if supervisor is not None:
        poller.register(supervisor.listener, select.POLLIN)
        supervisor.counting = False
    poller.register(ready, select.POLLIN)
    while True:
        if ending["now"]:
            os.kill(kernel, signal.SIGKILL)
            ending["now"] = False
        try:
            events = poller.poll(200)
        except InterruptedError:
            events = []
        for fd, mask in sorted(events, key=lambda e: e[0] != ready):   # "ready" first
            if fd == ready:
                poller.unregister(ready)
                os.close(ready)
                if supervisor is not None:
                    supervisor.counting = True
            elif supervisor is not None and fd == supervisor.listener:
                if mask & select.POLLIN:
                    supervisor.handle()
                elif mask & (select.POLLHUP | select.POLLERR | select.POLLNVAL):
                    poller.unregister(fd)
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return 1
            if pid == 0:
                break
            if pid == kernel:
                return os.waitstatus_to_exitcode(status) if status else 0


def main_init(plan: KernelPlan, report_fd: int) -> None:
    """Entry for the forked process 1; never returns."""
    code = run_init(plan, report_fd)
    sys.stdout.flush()
    os._exit(code if code >= 0 else 128 - code)

