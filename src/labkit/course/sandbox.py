"""The grading sandbox: run a learner's kernel so it can only hurt itself, and say what it tried.

A submitted notebook is untrusted code.  When it is graded, its kernel is
started through this module (``python -m labkit.course.sandbox [limits] --
KERNEL COMMAND``), which the grader's kernel manager
(:class:`labkit.course.kernel.SandboxKernelManager`) calls with a private
scratch folder, a control group and an unused user id prepared for it.
Each control, what it stops, and the module that applies it:

* **own root** (:mod:`~labkit.course.jail`): reading or writing anything on
  the host but the system and Python folders (read-only) and its own work
  folder; no course, gradebook, other students, ``/root`` or ``/tmp``;
* **own user** (:mod:`~labkit.course.nsinit`): file permissions apply
  (``/etc/shadow``), ``RLIMIT_NPROC`` counts only its processes, no
  capabilities, no setuid gain;
* **PID namespace** (:mod:`~labkit.course.nsinit`): seeing or signalling
  other processes; any process it starts (``setsid`` included) dies with it;
* **network namespace** (:mod:`~labkit.course.jail`): every network, as it
  has no interface; the grader talks to it over Unix sockets in the one
  folder they share;
* **seccomp** (:mod:`~labkit.course.seccomp`): sockets other than
  ``AF_UNIX``, io_uring, new namespaces, mount, ptrace, BPF, modules, the
  clock, metadata changes;
* **Landlock** (:mod:`~labkit.course.landlock`): writes outside its work
  folder, TCP, signals out, abstract sockets (a second wall);
* **cgroup** (:mod:`~labkit.course.cgroups`): more than N processes, more
  than M MiB in total (children and its tmpfs included), more than C CPUs;
* **tmpfs work folder** (:mod:`~labkit.course.jail`): writing more than W
  MiB in total; nothing it writes is ever copied back or followed;
* **rlimits** (:mod:`~labkit.course.nsinit`): one process's address space,
  CPU seconds, file size;
* **minimal environment** (this module): the grader's environment variables
  (tokens) never reach it.

Grading needs Linux (x86_64 or aarch64) with Landlock, seccomp user
notification, namespaces and writable cgroups, run as root.
:func:`check_available` says which control is missing, and the grader then
refuses to run student code rather than run it half-protected.

Process tree: this launcher (the kernel manager's child, in the kernel's
process group) joins the control group, moves its children into a fresh PID
namespace and forks process 1 there (:mod:`labkit.course.nsinit`), which
builds the kernel's world and forks the kernel.  The launcher waits, forwards a
terminate or hang-up to process 1 (which kills the kernel, writes its report
and exits, taking the whole namespace with it; after a few seconds the
launcher kills it outright), and exits with the kernel's status.  The init
process writes a JSON report (``--report``) when the kernel ends.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from labkit.course import cgroups, jail, landlock, nsinit, seccomp
from labkit.errors import LabkitError

__all__ = ["SandboxLimits", "SandboxError", "check_available", "controls", "free_uid", "main",
           "python_paths", "kernel_environment"]

_KERNEL_ARCHES = ("x86_64", "aarch64")
_END_GRACE_S = 3.0          # after a terminate, how long process 1 may take to write its report


class SandboxError(LabkitError, RuntimeError):
    """The sandbox could not be set up; the message says what is missing."""


@dataclass(frozen=True, kw_only=True)
class SandboxLimits:
    """Resource limits for one grading kernel and everything it starts (``0`` switches one off).

    ``memory_mb``, ``processes`` and ``cpus`` hold for the kernel's whole
    control group; ``cpu_s`` and ``file_mb`` for each process; ``work_mb`` is
    the size of its only writable folder; ``shm_mb`` of its ``/dev/shm``.
    """

    memory_mb: int = 2048
    cpu_s: int = 900
    file_mb: int = 64
    processes: int = 128
    cpus: float = 1.0
    work_mb: int = 256
    shm_mb: int = 64

    def __post_init__(self) -> None:
        for name in ("memory_mb", "cpu_s", "file_mb", "processes", "work_mb", "shm_mb"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise SandboxError(f"sandbox.{name} must be a whole number >= 0, got {value!r}")
        cpus = self.cpus
        if isinstance(cpus, bool) or not isinstance(cpus, (int, float)) or not 0 <= cpus <= 256:
            raise SandboxError(f"sandbox.cpus must be a number of CPUs from 0 to 256, got {self.cpus!r}")
        if 0 < self.memory_mb < 256:
            raise SandboxError(f"sandbox.memory_mb must be >= 256 (a Python kernel needs "
                               f"that much address space), got {self.memory_mb}")
        if 0 < self.processes < 16:
            raise SandboxError(f"sandbox.processes must be >= 16 (a kernel runs about ten "
                               f"threads), got {self.processes}")
        if self.work_mb < 1 or self.shm_mb < 1:
            raise SandboxError(f"sandbox.work_mb and sandbox.shm_mb must be >= 1, got "
                               f"{self.work_mb} and {self.shm_mb}")

    @property
    def cgroup_controllers(self) -> tuple[str, ...]:
        """The cgroup controllers these limits need (those whose limit is not 0)."""
        return tuple(n for n, v in (("pids", self.processes), ("memory", self.memory_mb),
                                    ("cpu", self.cpus)) if v)

    def as_args(self) -> list[str]:
        return ["--memory-mb", str(self.memory_mb), "--cpu-s", str(self.cpu_s),
                "--file-mb", str(self.file_mb), "--processes", str(self.processes),
                "--cpus", repr(float(self.cpus)), "--work-mb", str(self.work_mb),
                "--shm-mb", str(self.shm_mb)]


def _machine() -> str:
    return seccomp.machine()


def _notify_supported() -> bool:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    sizes = (ctypes.c_uint16 * 3)()
    number = {"x86_64": 317, "aarch64": 277}.get(_machine())
    return number is not None and libc.syscall(ctypes.c_long(number), ctypes.c_uint(3),
                                               ctypes.c_uint(0), ctypes.byref(sizes)) == 0


def _namespaces_work() -> str:
    """'' when this process can make every namespace the sandbox uses, else why not."""
    pid = os.fork()
    if pid == 0:
        try:
            jail.unshare(jail.NEW_PID | jail.NEW_REST)
            os._exit(0)
        except BaseException:  # noqa: BLE001
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return "" if status == 0 else "new mount, PID, network, IPC, UTS and cgroup namespaces cannot be made"


def controls(limits: SandboxLimits = SandboxLimits()) -> dict[str, str]:
    """Each control the sandbox applies -> '' when it works here, else why it cannot."""
    out: dict[str, str] = {}
    arch = _machine()
    linux = sys.platform.startswith("linux") and arch in _KERNEL_ARCHES
    out["platform"] = "" if linux else f"Linux on x86_64 or aarch64 is required, not {sys.platform} {arch}"
    root = os.geteuid() == 0
    out["root"] = "" if root else ("grading must run as root: each kernel gets its own user, "
                                   "namespaces and control group")
    out["landlock"] = "" if linux and landlock.landlock_abi() >= 1 else (
        "Linux Landlock is not available (kernel >= 5.13 with landlock in the LSM list)")
    out["seccomp"] = "" if linux and _notify_supported() else (
        "seccomp user notification is not available (kernel >= 5.5)")
    out["namespaces"] = _namespaces_work() if linux and root else "needs root"
    wanted = limits.cgroup_controllers
    missing = cgroups.available(wanted) if linux else wanted
    out["cgroups"] = "" if not missing else (f"no writable cgroup for {', '.join(missing)} "
                                             f"(set those limits to 0 to grade without them)")
    return out


def check_available(limits: SandboxLimits = SandboxLimits()) -> None:
    """Raise :class:`SandboxError` naming every control that cannot be applied here."""
    missing = {name: why for name, why in controls(limits).items() if why}
    if missing:
        raise SandboxError("cannot grade untrusted notebooks safely here: " +
                           "; ".join(f"{name}: {why}" for name, why in missing.items()))


def free_uid(base: int, span: int, *, seed: int) -> int:
    """An unused user id in ``[base, base + span)``: no process runs as it (checked in /proc)."""
    taken: set[int] = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                taken.add(os.stat(f"/proc/{entry}").st_uid)
            except OSError:
                continue
    for step in range(span):
        uid = base + (seed + step) % span
        if uid not in taken:
            return uid
    raise SandboxError(f"no unused user id between {base} and {base + span - 1}")


def python_paths() -> list[str]:
    """Folders the kernel's Python needs: prefixes, the interpreter's folder, ``sys.path``."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix,
             os.path.dirname(os.path.realpath(sys.executable)), os.path.dirname(sys.executable)}
    paths.update(p for p in sys.path if p and os.path.isabs(p) and os.path.exists(p))
    here = os.getcwd()            # `python -m` puts the working folder on sys.path: not Python's
    return sorted(p for p in paths if p not in (here, "/"))


def kernel_environment(command0: str, passed: dict[str, str]) -> dict[str, str]:
    """The kernel's whole environment: paths into its own world, nothing of the grader's."""
    work = jail.WORK
    env = {"PATH": os.pathsep.join([os.path.dirname(command0), "/usr/local/bin", "/usr/bin", "/bin"]),
           "HOME": work, "TMPDIR": work + "/.tmp", "TEMP": work + "/.tmp", "TMP": work + "/.tmp",
           "IPYTHONDIR": work + "/.ipython", "MPLCONFIGDIR": work + "/.config/matplotlib",
           "XDG_CACHE_HOME": work + "/.cache", "XDG_CONFIG_HOME": work + "/.config",
           "JUPYTER_CONFIG_DIR": work + "/.jupyter", "JUPYTER_DATA_DIR": work + "/.local/share/jupyter",
           "JUPYTER_RUNTIME_DIR": work + "/.local/share/jupyter/runtime",
           "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PYTHONHASHSEED": "0",
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1",
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env.update(passed)
    return env


def _connection(command: list[str], ipc_dir: str) -> tuple[list[str], dict | None]:
    """Rewrite the kernel command and its connection info to the paths the kernel sees."""
    if "-f" not in command:
        return command, None
    at = command.index("-f") + 1
    with open(command[at], encoding="utf-8") as fh:
        info = json.load(fh)
    if info.get("transport") != "ipc":
        raise SandboxError("the grading kernel must use the ipc transport (it has no network)")
    ip = os.path.normpath(str(info.get("ip", "")))
    if os.path.dirname(ip) != os.path.normpath(ipc_dir):
        raise SandboxError(f"the kernel's sockets must live in {ipc_dir}, not {ip}")
    info["ip"] = f"{jail.IPC}/{os.path.basename(ip)}"
    rewritten = list(command)
    rewritten[at] = f"{jail.IPC}/kernel-sandbox.json"
    return rewritten, info


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: ``python -m labkit.course.sandbox [limits] --scratch DIR --uid N -- CMD...``."""
    parser = argparse.ArgumentParser(prog="labkit.course.sandbox")
    defaults = SandboxLimits()
    parser.add_argument("--memory-mb", type=int, default=defaults.memory_mb)
    parser.add_argument("--cpu-s", type=int, default=defaults.cpu_s)
    parser.add_argument("--file-mb", type=int, default=defaults.file_mb)
    parser.add_argument("--processes", type=int, default=defaults.processes)
    parser.add_argument("--cpus", type=float, default=defaults.cpus)
    parser.add_argument("--work-mb", type=int, default=defaults.work_mb)
    parser.add_argument("--shm-mb", type=int, default=defaults.shm_mb)
    parser.add_argument("--scratch", required=True, help="private folder of this kernel (root-only)")
    parser.add_argument("--uid", type=int, required=True, help="the kernel's own unused user id")
    parser.add_argument("--ipc", help="folder the kernel's sockets go in (default: SCRATCH/ipc)")
    parser.add_argument("--cgroup-procs", action="append", default=[],
                        help="cgroup.procs file to join (one per hierarchy)")
    parser.add_argument("--report", help="file receiving the JSON report when the kernel ends")
    parser.add_argument("--log", help="file for the kernel's own stdout/stderr (default: discard)")
    parser.add_argument("--pass-env", action="append", default=[], metavar="NAME",
                        help="environment variable handed to the kernel (repeatable)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="environment variable set for the kernel (repeatable)")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no kernel command given after --")
    sink = os.open(args.log or os.devnull, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        limits = SandboxLimits(memory_mb=args.memory_mb, cpu_s=args.cpu_s, file_mb=args.file_mb,
                               processes=args.processes, cpus=args.cpus, work_mb=args.work_mb,
                               shm_mb=args.shm_mb)
        if args.uid < 1000:
            raise SandboxError(f"--uid must be an unprivileged id >= 1000, got {args.uid}")
        scratch = os.path.abspath(args.scratch)
        ipc_dir = os.path.abspath(args.ipc) if args.ipc else os.path.join(scratch, "ipc")
        command, connection = _connection(command, ipc_dir)
        passed = {name: os.environ[name] for name in args.pass_env if name in os.environ}
        for item in args.env:
            name, sep, value = item.partition("=")
            if not sep or not name.replace("_", "").isalnum() or not name[0].isalpha():
                raise SandboxError(f"--env takes NAME=VALUE with a plain NAME, got {item!r}")
            passed[name] = value
        plan = nsinit.KernelPlan(
            root=jail.RootPlan(read_only=jail.read_only_paths(python_paths()), ipc_dir=ipc_dir,
                               uid=args.uid, gid=args.uid, work_mb=limits.work_mb,
                               shm_mb=limits.shm_mb, seed_dir=os.path.join(scratch, "seed")),
            staging=os.path.join(scratch, "root"),
            command=tuple(command), env=kernel_environment(command[0], passed),
            memory_mb=limits.memory_mb, cpu_s=limits.cpu_s, file_mb=limits.file_mb,
            processes=limits.processes, connection=connection)
        for procs in args.cgroup_procs:
            with open(procs, "w", encoding="ascii") as fh:
                fh.write(str(os.getpid()))
        report = os.open(args.report or os.devnull,
                         os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        jail.unshare(jail.NEW_PID)
    except (SandboxError, OSError, ValueError) as exc:
        os.write(sink, f"labkit sandbox: {exc}\n".encode())
        sys.stderr.write(f"labkit sandbox: {exc}\n")
        return 3
    os.dup2(sink, 1)
    os.dup2(sink, 2)
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the kernel gets it through the process group
    child = os.fork()
    if child == 0:
        nsinit.main_init(plan, report)
    os.close(report)

    asked = {"at": 0.0}

    def end_all(signum: int, frame: object) -> None:
        if not asked["at"]:
            asked["at"] = time.monotonic()
        try:
            os.kill(child, signal.SIGTERM)      # process 1 ends the kernel, reports, exits
        except ProcessLookupError:
            pass

    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(sig, end_all)
    while True:
        try:
            pid, status = os.waitpid(child, os.WNOHANG)
        except ChildProcessError:
            return 1
        if pid == child:
            break
        if asked["at"] and time.monotonic() - asked["at"] > _END_GRACE_S:
            os.kill(child, signal.SIGKILL)      # process 1 gone: the whole namespace goes
        time.sleep(0.02)
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
