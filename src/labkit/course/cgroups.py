"""Limits for a whole submission, not one process: a control group per grading kernel.

``RLIMIT_AS`` and ``RLIMIT_CPU`` bound each process separately, so six
children of a notebook may each take the memory limit, and a ``setsid``
child may outlive the kernel.  A Linux control group (cgroup) holds a
kernel and everything it starts, wherever it moves in the process tree:

* ``pids``: how many processes and threads may exist at once (a fork bomb
  stops at the limit);
* ``memory``: the total memory of the group, page cache and the sandbox's
  size-capped tmpfs included; past it the kernel's OOM killer ends a
  process of the group, never one of the grader;
* ``cpu``: how many CPUs the group may use at once (a bandwidth quota).

:class:`KernelCgroup` creates one group per kernel under the grader's own
group in each hierarchy (cgroup v1 controllers mounted separately, as on
this machine, or the unified v2 hierarchy), joins a process to it, reads
what was hit (:meth:`KernelCgroup.events`), kills every process in it when
grading ends and removes it.  Which hierarchies exist and are writable is
found out by :func:`available`; the sandbox refuses to grade when a
configured limit cannot be applied.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from labkit.errors import LabkitError

__all__ = ["CgroupError", "KernelCgroup", "available", "CGROUP_ROOT"]

CGROUP_ROOT = Path("/sys/fs/cgroup")


class CgroupError(LabkitError, RuntimeError):
    """A control group could not be made or used; the message says which and why."""


def _own_paths(proc_cgroup: str) -> tuple[dict[str, str], str | None]:
    """Controller -> our cgroup path (v1), and our v2 path (or None)."""
    v1: dict[str, str] = {}
    v2 = None
    for line in proc_cgroup.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":
            v2 = path
        for name in controllers.split(","):
            if name:
                v1[name] = path
    return v1, v2


def _v2_mount(root: Path) -> Path | None:
    if (root / "cgroup.controllers").is_file():
        return root
    unified = root / "unified"
    return unified if (unified / "cgroup.controllers").is_file() else None


def _writable_dir(path: Path) -> bool:
    return path.is_dir() and os.access(path, os.W_OK)


@dataclass(frozen=True, kw_only=True)
class _Plan:
    """Where each wanted controller lives: v1 folder per controller, or one v2 folder."""

    v1: dict[str, Path] = field(default_factory=dict)
    v2: Path | None = None
    missing: tuple[str, ...] = ()


def _plan(wanted: tuple[str, ...], root: Path = CGROUP_ROOT) -> _Plan:
    try:
        text = Path("/proc/self/cgroup").read_text(encoding="ascii")
    except OSError:
        return _Plan(missing=wanted)
    v1_paths, v2_path = _own_paths(text)
    v1: dict[str, Path] = {}
    for name in wanted:
        mount = root / name
        if name in v1_paths and (mount / "cgroup.procs").is_file():
            parent = mount / v1_paths[name].lstrip("/")
            if _writable_dir(parent):
                v1[name] = parent
    rest = tuple(n for n in wanted if n not in v1)
    unified = _v2_mount(root)
    if rest and unified is not None and v2_path is not None:
        parent = unified / v2_path.lstrip("/")
        try:
            offered = set((parent / "cgroup.subtree_control").read_text().split())
            if parent == unified:                 # the root group offers all its controllers
                offered |= set((parent / "cgroup.controllers").read_text().split())
        except OSError:
            offered = set()
        if _writable_dir(parent) and set(rest) <= offered:
            return _Plan(v1=v1, v2=parent)
    return _Plan(v1=v1, missing=rest)


def available(wanted: tuple[str, ...] = ("pids", "memory", "cpu"),
              root: Path = CGROUP_ROOT) -> tuple[str, ...]:
    """The wanted controllers this process cannot use for its children (empty = all usable)."""
    return _plan(wanted, root).missing


class KernelCgroup:
    """One control group (one folder per hierarchy) holding a grading kernel and its children."""

    def __init__(self, folders: dict[str, Path], version: int):
        self.folders, self.version = folders, version

    @classmethod
    def create(cls, *, processes: int = 0, memory_mb: int = 0, cpus: float = 0.0,
               root: Path = CGROUP_ROOT, name: str | None = None,
               controllers: tuple[str, ...] = ()) -> KernelCgroup:
        """A fresh group with the given limits (0 = that limit off).

        ``controllers`` adds hierarchies the group joins without a limit (to
        find and kill its processes later).
        """
        wanted = tuple(n for n, v in (("pids", processes), ("memory", memory_mb), ("cpu", cpus)) if v)
        wanted += tuple(c for c in controllers if c not in wanted)
        plan = _plan(wanted, root)
        if plan.missing:
            raise CgroupError(f"no writable cgroup controller for {', '.join(plan.missing)} "
                              f"(needed for the per-submission limits)")
        leaf = name or f"labkit-kernel-{uuid.uuid4().hex[:12]}"
        folders: dict[str, Path] = {}
        try:
            if plan.v2 is not None:
                folder = plan.v2 / leaf
                folder.mkdir()
                folders = {n: folder for n in wanted if n not in plan.v1}
            for ctl, parent in plan.v1.items():
                folder = parent / leaf
                folder.mkdir()
                folders[ctl] = folder
            group = cls(folders, 2 if plan.v2 is not None and not plan.v1 else 1)
            group._limit(processes=processes, memory_mb=memory_mb, cpus=cpus, v2=plan.v2 is not None)
        except OSError as exc:
            cls(folders, 1).remove()
            raise CgroupError(f"could not create the kernel's cgroup: {exc}") from None
        return group

    def _is_v2(self, ctl: str) -> bool:
        return (self.folders[ctl] / "cgroup.controllers").is_file()

    def _limit(self, *, processes: int, memory_mb: int, cpus: float, v2: bool) -> None:
        if processes:
            (self.folders["pids"] / "pids.max").write_text(str(processes))
        if memory_mb:
            folder, limit = self.folders["memory"], memory_mb * 1024 * 1024
            if self._is_v2("memory"):
                (folder / "memory.max").write_text(str(limit))
                if (folder / "memory.swap.max").exists():
                    (folder / "memory.swap.max").write_text("0")
            else:
                (folder / "memory.limit_in_bytes").write_text(str(limit))
                swap = folder / "memory.memsw.limit_in_bytes"
                if swap.exists():
                    try:
                        swap.write_text(str(limit))
                    except OSError:
                        pass             # swap accounting off: memory.limit_in_bytes still holds
        if cpus:
            folder, period = self.folders["cpu"], 100_000
            quota = max(1000, int(cpus * period))
            if self._is_v2("cpu"):
                (folder / "cpu.max").write_text(f"{quota} {period}")
            else:
                (folder / "cpu.cfs_period_us").write_text(str(period))
                (folder / "cpu.cfs_quota_us").write_text(str(quota))

    @property
    def procs_files(self) -> list[str]:
        """The ``cgroup.procs`` files a process writes its pid to, to join (one per hierarchy)."""
        return sorted({str(folder / "cgroup.procs") for folder in self.folders.values()})

    def pids(self) -> set[int]:
        """Every process in the group or in a group nested inside it."""
        found: set[int] = set()
        for folder in set(self.folders.values()):
            for top, _dirs, files in os.walk(folder):
                if "cgroup.procs" not in files:
                    continue
                try:
                    found.update(int(x) for x in Path(top, "cgroup.procs").read_text().split())
                except (OSError, ValueError):
                    continue
        return found

    def events(self) -> dict[str, int]:
        """What the group ran into: ``pids_max`` (forks refused), ``oom_kills``, ``memory_peak``."""
        out: dict[str, int] = {}
        folder = self.folders.get("pids")
        if folder is not None:
            out["pids_max"] = _field(folder / "pids.events", "max")
        folder = self.folders.get("memory")
        if folder is not None:
            if self._is_v2("memory"):
                out["oom_kills"] = _field(folder / "memory.events", "oom_kill")
                out["memory_peak"] = _number(folder / "memory.peak")
            else:
                out["oom_kills"] = _field(folder / "memory.oom_control", "oom_kill")
                out["memory_limit_hits"] = _number(folder / "memory.failcnt")
                out["memory_peak"] = _number(folder / "memory.max_usage_in_bytes")
        return out

    def kill(self, *, timeout_s: float = 5.0) -> int:
        """SIGKILL every process in the group until it is empty; the number of processes killed."""
        killed: set[int] = set()
        first = next(iter(self.folders.values()), None)
        if first is not None and (first / "cgroup.kill").exists():
            try:
                killed = self.pids()
                (first / "cgroup.kill").write_text("1")
            except OSError:
                pass
        deadline = time.monotonic() + timeout_s
        while True:
            alive = self.pids()
            if not alive:
                return len(killed)
            for pid in alive:
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.add(pid)
                except ProcessLookupError:
                    pass
            if time.monotonic() > deadline:
                raise CgroupError(f"{len(alive)} processes of the kernel's cgroup would not die")
            time.sleep(0.02)

    def remove(self) -> None:
        """Remove the group's folders, nested groups first (it must be empty: :meth:`kill` first)."""
        folders: list[Path] = []
        for folder in set(self.folders.values()):
            folders += [Path(top) for top, _dirs, _files in os.walk(folder)]
        for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
            for _ in range(50):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)     # the last process is still being reaped


def _field(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


def _number(path: Path) -> int:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0
