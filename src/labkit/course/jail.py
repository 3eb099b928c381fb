"""The grading kernel's own world: private namespaces and a root that holds only what it needs.

A kernel started for grading sees a filesystem built for it alone, the way
container runtimes and bubblewrap build one:

* a fresh, nearly empty root (a small tmpfs) into which the host folders the
  kernel needs are bind-mounted **read-only** at their usual paths: the
  system folders (``/usr``, ``/lib``, ``/etc`` ...), the Python installation
  and the folders on ``sys.path``.  Everything else on the host (``/root``,
  ``/home``, ``/tmp``, ``/run``, other students, the gradebook, the course)
  simply does not exist for it;
* ``/labkit/work``: its working folder, HOME and TMPDIR, a tmpfs of a fixed
  size owned by the kernel's user, so the total it can write is capped and
  everything it wrote disappears with it; ``/tmp`` points there (unless
  the Python installation lives under ``/tmp``: then ``/tmp`` holds it,
  read-only, and ``TMPDIR`` still points to the work folder);
* ``/labkit/ipc``: the one host folder it shares with the grader, where it
  creates the Unix sockets the grader talks to it over;
* ``/proc`` of its own PID namespace, mounted ``hidepid=2`` (it sees only
  its own processes, not even process 1's command line),
  a ``/dev`` with ``null``, ``zero``, ``full``, ``random`` and ``urandom``,
  and a small ``/dev/shm``.

The caller (:mod:`labkit.course.nsinit`, as root inside fresh mount, PID,
network, IPC, UTS and cgroup namespaces) calls :func:`enter_root`, then
drops to the kernel's own user.  Nothing here runs in the grader's process.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from labkit.course.untrusted import TreeLimits, copy_tree

__all__ = ["WORK", "IPC", "RootPlan", "unshare", "enter_root", "NEW_PID", "NEW_REST",
           "read_only_paths"]

WORK = "/labkit/work"
IPC = "/labkit/ipc"
NEW_PID = 0x20000000
# mount | network | IPC | UTS | cgroup
NEW_REST = 0x00020000 | 0x40000000 | 0x08000000 | 0x04000000 | 0x02000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18
_MNT_DETACH = 2
_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
_DEVICES = ("null", "zero", "full", "random", "urandom")

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def unshare(flags: int) -> None:
    """``unshare(2)``: move the calling process into new namespaces."""
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    def enc(text: str | None) -> bytes | None:
        return text.encode() if text is not None else None

    _check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
           f"mount {source or fstype} on {target}")


@dataclass(frozen=True, kw_only=True)
class RootPlan:
    """What the kernel's root holds; every path is a host path shown at the same place."""

    read_only: tuple[str, ...]
    ipc_dir: str
    uid: int
    gid: int
    work_mb: int = 256
    shm_mb: int = 64
    seed_dir: str | None = None   # host folder whose files start in the work folder


def read_only_paths(python_paths: Iterable[str]) -> tuple[str, ...]:
    """System folders plus the Python installation, without entries inside another entry."""
    wanted = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt", "/sys",
              *python_paths]
    kept: list[str] = []
    for path in sorted({os.path.normpath(p) for p in wanted if p and os.path.isabs(p)}, key=len):
        if not any(path == k or path.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(path)
    return tuple(p for p in kept if os.path.lexists(p))


def _place(root: str, path: str, done: set[str], todo: list[str]) -> None:
    """Show host ``path`` at the same place under ``root`` (links recreated, folders bound)."""
    parts = path.strip("/").split("/")
    for i in range(1, len(parts) + 1):
        prefix = "/" + "/".join(parts[:i])
        if os.path.islink(prefix):
            target = os.readlink(prefix)
            mirror = root + prefix
            os.makedirs(os.path.dirname(mirror), exist_ok=True)
            if not os.path.lexists(mirror):
                os.symlink(target, mirror)
            resolved = os.path.normpath(os.path.join(os.path.dirname(prefix), target))
            todo.append("/".join([resolved, *parts[i:]]) if i < len(parts) else resolved)
            return
    if path in done:
        return
    mirror = root + path
    if os.path.isdir(path):
        os.makedirs(mirror, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(mirror), exist_ok=True)
        open(mirror, "a").close()
    _mount(path, mirror, None, _MS_BIND)
    _mount(None, mirror, None, _MS_BIND | _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV)
    done.add(path)


def _bind_all(root: str, paths: Sequence[str]) -> None:
    todo: list[str] = list(paths)
    done: set[str] = set()
    guard = 0
    while todo:
        guard += 1
        if guard > 200:
            raise OSError("too many symbolic links while building the sandbox's root")
        path = todo.pop(0)
        if any(path == d or path.startswith(d.rstrip("/") + "/") for d in done):
            continue
        if os.path.lexists(path):
            _place(root, path, done, todo)


def _dev(root: str, shm_mb: int) -> None:
    dev = root + "/dev"
    os.makedirs(dev, exist_ok=True)
    _mount("tmpfs", dev, "tmpfs", _MS_NOSUID | _MS_NOEXEC, "size=64k,mode=0755")
    for name in _DEVICES:
        if os.path.exists(f"/dev/{name}"):
            open(f"{dev}/{name}", "a").close()
            _mount(f"/dev/{name}", f"{dev}/{name}", None, _MS_BIND)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"{dev}/{name}")
    os.mkdir(f"{dev}/shm")
    _mount("tmpfs", f"{dev}/shm", "tmpfs", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC,
           f"size={shm_mb}m,mode=1777")
    _mount(None, dev, None, _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NOEXEC, "size=64k,mode=0755")


def enter_root(plan: RootPlan, staging: str, *, machine: str) -> None:
    """Build the kernel's root at ``staging`` and make it this process's ``/`` (needs root).

    Must run inside a fresh mount namespace, as the first process of a fresh
    PID namespace (so ``/proc`` shows that namespace only).
    """
    for path in plan.read_only:
        if path == "/labkit" or path.startswith("/labkit/"):
            raise OSError(f"{path} collides with the sandbox's own /labkit folder")
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE)
    os.makedirs(staging, exist_ok=True)
    _mount("tmpfs", staging, "tmpfs", _MS_NOSUID | _MS_NODEV, "size=4m,mode=0755")
    _bind_all(staging, plan.read_only)
    os.makedirs(staging + "/proc")
    # hidepid=2: the kernel's user sees only its own processes, not process 1's command line
    _mount("proc", staging + "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, "hidepid=2")
    _dev(staging, plan.shm_mb)
    work = staging + WORK
    os.makedirs(work)
    _mount("tmpfs", work, "tmpfs", _MS_NOSUID | _MS_NODEV,
           f"size={plan.work_mb}m,mode=0700,uid={plan.uid},gid={plan.gid}")
    if plan.seed_dir and os.path.isdir(plan.seed_dir):
        copy_tree(plan.seed_dir, work + "/.seed", limits=TreeLimits(max_files=200))
        for name in os.listdir(work + "/.seed"):
            os.rename(f"{work}/.seed/{name}", f"{work}/{name}")
        os.rmdir(work + "/.seed")
    os.makedirs(staging + IPC)
    _mount(plan.ipc_dir, staging + IPC, None, _MS_BIND)
    _mount(None, staging + IPC, None, _MS_BIND | _MS_REMOUNT | _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)
    if not os.path.lexists(staging + "/tmp"):     # unless Python itself lives under /tmp
        os.symlink(WORK + "/.tmp", staging + "/tmp")
    os.mkdir(staging + "/.old")
    os.chdir(staging)
    _check(_libc.syscall(ctypes.c_long(_PIVOT_ROOT[machine]), b".", b".old"), "pivot_root")
    _check(_libc.umount2(b"/.old", ctypes.c_int(_MNT_DETACH)), "detaching the host's root")
    os.rmdir("/.old")
    _mount(None, "/", None, _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV, "size=4m,mode=0755")
    os.chdir("/")
