"""The grading sandbox: run a learner's kernel so it can only hurt itself.

A submitted notebook is untrusted code.  When it is graded it runs in a
kernel started through this module (``python -m labkit.course.sandbox
[limits] -- KERNEL COMMAND``), which restricts the process and then
``exec``s the kernel, so every restriction is inherited by the kernel and
anything it starts:

* **files**: Linux Landlock (no extra package, works as root and in
  containers) allows writing only inside the kernel's working folder (the
  student's own ``autograded/<student>/<lab>`` folder) and a private scratch
  folder, and reading only the Python installation, system folders, the
  scratch folder and the kernel's connection file.  The gradebook, other
  students' files and ``source/`` are neither writable nor readable.
* **network and signals** (Landlock ABI >= 4 / >= 6): the kernel may bind
  only its own five ports and connect nowhere; it cannot signal processes
  outside its sandbox (such as the grader).
* **metadata and dangerous calls**: a seccomp filter (:mod:`labkit.course.seccomp`)
  refuses chmod/chown/utime/xattr changes, mounting, tracing, rebooting,
  module loading, clock changes and new namespaces, which Landlock does not
  cover.
* **privileges**: when started as root, every capability is dropped (so the
  kernel cannot mount, reboot, load modules or override file permissions).
* **resources**: ``RLIMIT_AS`` (memory), ``RLIMIT_CPU`` (CPU seconds for the
  whole kernel), ``RLIMIT_FSIZE`` (largest file) and ``RLIMIT_NPROC`` (processes
  beyond those the user already runs; the kernel ignores it for root).

Wall-clock limits per cell are enforced by the grader (see
:mod:`labkit.course.kernel`), which kills the kernel's process group when a
cell ignores the interrupt.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from labkit.course import seccomp

__all__ = ["SandboxLimits", "SandboxError", "landlock_abi", "check_available", "restrict", "main"]

_SYS_CREATE, _SYS_ADD_RULE, _SYS_RESTRICT = 444, 445, 446   # x86_64 and aarch64 alike
_PR_SET_NO_NEW_PRIVS, _PR_CAPBSET_DROP, _PR_SET_SECUREBITS = 38, 24, 28
_RULE_PATH_BENEATH, _RULE_NET_PORT = 1, 2
_FS_EXECUTE, _FS_WRITE_FILE, _FS_READ_FILE, _FS_READ_DIR = 1, 2, 4, 8
_FS_TRUNCATE, _FS_IOCTL_DEV = 1 << 14, 1 << 15
_FILE_RIGHTS = _FS_EXECUTE | _FS_WRITE_FILE | _FS_READ_FILE | _FS_TRUNCATE | _FS_IOCTL_DEV
_READ_RIGHTS = _FS_EXECUTE | _FS_READ_FILE | _FS_READ_DIR
_NET_BIND, _NET_CONNECT = 1, 2
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1, 2
_SYSTEM_READ = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc", "/sys",
                "/opt", "/dev/urandom", "/dev/random", "/dev/zero", "/dev/null", "/proc")


class SandboxError(RuntimeError):
    """The sandbox could not be set up; the message says what is missing."""


@dataclass(frozen=True, kw_only=True)
class SandboxLimits:
    """Resource limits for one grading kernel (``0`` switches a limit off)."""

    memory_mb: int = 2048
    cpu_s: int = 900
    file_mb: int = 64
    processes: int = 256

    def __post_init__(self) -> None:
        for name in ("memory_mb", "cpu_s", "file_mb", "processes"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise SandboxError(f"sandbox.{name} must be a whole number >= 0, got {value!r}")
        if 0 < self.memory_mb < 256:
            raise SandboxError(f"sandbox.memory_mb must be >= 256 (a Python kernel needs "
                               f"that much address space), got {self.memory_mb}")

    def as_args(self) -> list[str]:
        return ["--memory-mb", str(self.memory_mb), "--cpu-s", str(self.cpu_s),
                "--file-mb", str(self.file_mb), "--processes", str(self.processes)]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class _NetPort(ctypes.Structure):
    _fields_ = [("allowed", ctypes.c_uint64), ("port", ctypes.c_uint64)]


def landlock_abi() -> int:
    """The Landlock ABI version this kernel offers (0 when Landlock is unavailable)."""
    if not sys.platform.startswith("linux"):
        return 0
    version = _libc.syscall(_SYS_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return int(version) if version > 0 else 0


def check_available() -> int:
    """The Landlock ABI, or :class:`SandboxError` saying why student code cannot be contained here."""
    abi = landlock_abi()
    if abi < 1:
        raise SandboxError("Linux Landlock is not available on this machine (kernel >= 5.13 with "
                           "landlock in the LSM list is required to grade untrusted notebooks)")
    machine = os.uname().machine.lower()
    if {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine) not in ("x86_64", "aarch64"):
        raise SandboxError(f"the grading sandbox supports x86_64 and aarch64, not {machine}")
    return abi


def _fs_rights(abi: int) -> int:
    rights = (1 << 13) - 1              # ABI 1: execute .. make_sym
    if abi >= 2:
        rights |= 1 << 13               # refer
    if abi >= 3:
        rights |= _FS_TRUNCATE
    if abi >= 5:
        rights |= _FS_IOCTL_DEV
    return rights


def _check(result: int, what: str) -> None:
    if result < 0:
        raise SandboxError(f"{what} failed: {os.strerror(ctypes.get_errno())}")


def _add_path(ruleset: int, path: str, rights: int, handled: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return                           # a path that does not exist needs no rule
    try:
        if not os.path.isdir(path):
            rights &= _FILE_RIGHTS
        rule = _PathBeneath(rights & handled, fd)
        _check(_libc.syscall(_SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH),
                             ctypes.byref(rule), ctypes.c_uint32(0)), f"landlock rule for {path}")
    finally:
        os.close(fd)


def _drop_capabilities() -> None:
    """As root: empty the bounding set and the process's capability sets."""
    if os.geteuid() != 0:
        return
    for cap in range(64):
        if _libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() == 22:
            break                        # EINVAL: past the last capability
    # securebits NOROOT | NOROOT_LOCKED | NO_SETUID_FIXUP | its lock: uid 0 regains nothing on exec
    _libc.prctl(_PR_SET_SECUREBITS, 0x0F, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)       # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()                      # effective, permitted, inheritable = 0
    _check(_libc.capset(header, data), "dropping capabilities")


def _user_tasks(uid: int) -> int:
    """Threads the user already runs (RLIMIT_NPROC counts them all, system-wide)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", encoding="ascii", errors="replace") as fh:
                fields = dict(line.split(":", 1) for line in fh if ":" in line)
            if int(fields["Uid"].split()[0]) == uid:
                total += int(fields["Threads"])
        except (OSError, KeyError, ValueError):
            continue
    return total


def _set_limits(limits: SandboxLimits) -> None:
    # RLIMIT_NPROC is per user, not per process tree: allow `processes` more than already run.
    nproc = limits.processes + _user_tasks(os.getuid()) if limits.processes else 0
    pairs = [(resource.RLIMIT_AS, limits.memory_mb * 1024 * 1024),
             (resource.RLIMIT_CPU, limits.cpu_s),
             (resource.RLIMIT_FSIZE, limits.file_mb * 1024 * 1024),
             (resource.RLIMIT_NPROC, nproc),
             (resource.RLIMIT_CORE, 0)]
    for which, value in pairs:
        if value or which == resource.RLIMIT_CORE:
            resource.setrlimit(which, (value, value))


def restrict(*, write_paths: Sequence[str], read_paths: Sequence[str],
             bind_ports: Sequence[int] = (), limits: SandboxLimits = SandboxLimits()) -> int:
    """Restrict the calling process for good and return the Landlock ABI used.

    Raises :class:`SandboxError` when Landlock is unavailable: grading
    without it would let a submission write anywhere the grader can.
    """
    abi = check_available()
    handled_fs = _fs_rights(abi)
    handled_net = (_NET_BIND | _NET_CONNECT) if abi >= 4 else 0
    scoped = (_SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL) if abi >= 6 else 0
    attr = _RulesetAttr(handled_fs, handled_net, scoped)
    size = ctypes.sizeof(attr) if abi >= 6 else (16 if abi >= 4 else 8)
    ruleset = _libc.syscall(_SYS_CREATE, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    _check(ruleset, "creating the landlock ruleset")
    try:
        for path in read_paths:
            _add_path(ruleset, path, _READ_RIGHTS, handled_fs)
        for path in write_paths:
            _add_path(ruleset, path, handled_fs, handled_fs)
        for port in list(bind_ports) + [0] if handled_net else ():  # 0: ephemeral (IOPub pipe)
            rule = _NetPort(_NET_BIND, int(port))
            _check(_libc.syscall(_SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_NET_PORT),
                                 ctypes.byref(rule), ctypes.c_uint32(0)), f"landlock port {port}")
        _set_limits(limits)
        _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "setting no_new_privs")
        _drop_capabilities()
        _check(_libc.syscall(_SYS_RESTRICT, ctypes.c_int(ruleset), ctypes.c_uint32(0)),
               "enforcing the landlock ruleset")
        seccomp.install()
    finally:
        os.close(ruleset)
    return abi


def _python_paths() -> list[str]:
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))}
    paths.update(p for p in sys.path if p and os.path.isabs(p))
    return sorted(paths)


def _kernel_ports(command: Sequence[str]) -> tuple[str | None, list[int]]:
    if "-f" not in command:
        return None, []
    path = command[command.index("-f") + 1]
    with open(path, encoding="utf-8") as fh:
        info = json.load(fh)
    return path, [int(info[k]) for k in ("shell_port", "iopub_port", "stdin_port",
                                           "control_port", "hb_port") if info.get(k)]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: ``python -m labkit.course.sandbox [limits] --scratch DIR -- CMD...``."""
    parser = argparse.ArgumentParser(prog="labkit.course.sandbox")
    parser.add_argument("--memory-mb", type=int, default=SandboxLimits.memory_mb)
    parser.add_argument("--cpu-s", type=int, default=SandboxLimits.cpu_s)
    parser.add_argument("--file-mb", type=int, default=SandboxLimits.file_mb)
    parser.add_argument("--processes", type=int, default=SandboxLimits.processes)
    parser.add_argument("--scratch", required=True, help="private writable folder (HOME, TMPDIR)")
    parser.add_argument("--log", help="file for the kernel's own stdout/stderr (default: discard)")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = [c for c in args.command if c != "--"] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no kernel command given after --")
    limits = SandboxLimits(memory_mb=args.memory_mb, cpu_s=args.cpu_s, file_mb=args.file_mb,
                           processes=args.processes)
    workdir, scratch = os.getcwd(), os.path.abspath(args.scratch)
    connection_file, ports = _kernel_ports(command)
    for name in ("HOME", "TMPDIR", "TEMP", "TMP", "IPYTHONDIR", "MPLCONFIGDIR", "XDG_CACHE_HOME",
                 "XDG_CONFIG_HOME", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR"):
        os.environ[name] = scratch
    for sub in ("startup", "log", "pid", "security"):   # IPython would copy files in (chmod)
        os.makedirs(os.path.join(scratch, "profile_default", sub), exist_ok=True)
    os.environ.update({"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                       "MKL_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"})
    reads = list(_SYSTEM_READ) + _python_paths() + ([connection_file] if connection_file else [])
    # The kernel's own fds 1 and 2 must not reach the grader: it reads results from its stdout.
    sink = os.open(args.log or os.devnull, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        restrict(write_paths=[workdir, scratch, "/dev/null"], read_paths=reads, bind_ports=ports, limits=limits)
    except (SandboxError, OSError, ValueError) as exc:
        os.write(sink, f"labkit sandbox: {exc}\n".encode())
        sys.stderr.write(f"labkit sandbox: {exc}\n")
        return 3
    os.dup2(sink, 1)
    os.dup2(sink, 2)
    os.execvp(command[0], command)
    return 0  # pragma: no cover - execvp does not return


if __name__ == "__main__":
    sys.exit(main())
