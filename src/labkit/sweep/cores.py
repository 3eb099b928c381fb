"""How many CPUs this process may really use: its CPU affinity, capped by cgroup quotas.

``os.cpu_count()`` is the machine's total, which is the wrong number to size a
pool with in two common cases: a process pinned to some cores (``taskset``,
a batch scheduler) and a container given a CPU quota (Docker's ``--cpus``,
Kubernetes' CPU limit).  There, more CPU-bound processes than the quota allows
only take turns, each throttled.  :func:`usable_cores` reads both limits; the
process pool and ``--dask local`` use it as their default size.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

__all__ = ["usable_cores"]


def usable_cores(*, cgroup_root: str | Path = "/sys/fs/cgroup",
                 proc_cgroup: str | Path = "/proc/self/cgroup") -> int:
    """The CPUs this process may use: its CPU affinity, capped by any cgroup CPU quota.

    A container given 1.5 CPUs of a 64-core host gets 2 here (quotas round up), not
    64.  Quotas are read from cgroup v2 ``cpu.max`` or v1 ``cpu.cfs_quota_us`` /
    ``cpu.cfs_period_us``, on this process's cgroup and its ancestors (the tightest
    wins); the arguments exist so tests can point at fake files.

    >>> 1 <= usable_cores() <= (os.cpu_count() or 1)
    True
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:                       # macOS, Windows: no affinity call
        cores = os.cpu_count() or 1
    limit = _cgroup_cpu_limit(Path(cgroup_root), Path(proc_cgroup))
    if limit is not None:
        cores = min(cores, math.ceil(limit))
    return max(1, cores)


def _cgroup_cpu_limit(root: Path, proc_cgroup: Path) -> float | None:
    """The tightest CPU quota, in CPUs, on this process's cgroup or an ancestor; None if none."""
    try:
        lines = proc_cgroup.read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    v1_mounts = ("cpu", "cpu,cpuacct", "cpuacct,cpu")
    v2_dirs, v1_dirs = [root], [root / m for m in v1_mounts]   # the hierarchy's root counts too
    for line in lines:
        _, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        parts = [p for p in path.strip().split("/") if p]
        ancestors = [Path(*parts[:i]) for i in range(1, len(parts) + 1)]
        if controllers == "" and line.startswith("0:"):
            v2_dirs += [root / a for a in ancestors]
        elif "cpu" in controllers.split(","):
            v1_dirs += [root / m / a for m in (controllers, *v1_mounts) for a in ancestors]
    limits = [_ratio(_read(d / "cpu.max").split()) for d in v2_dirs]
    limits += [_ratio([_read(d / "cpu.cfs_quota_us"), _read(d / "cpu.cfs_period_us")])
               for d in v1_dirs]
    found = [x for x in limits if x is not None]
    return min(found) if found else None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:                              # absent, or not ours to read
        return ""


def _ratio(fields: list[str]) -> float | None:
    """quota / period in CPUs; None for no limit ("max", -1) or a file that makes no sense."""
    try:
        quota, period = int(fields[0]), int(fields[1])
    except (IndexError, ValueError):
        return None
    return quota / period if quota > 0 and period > 0 else None
