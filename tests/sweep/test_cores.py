"""usable_cores: CPU affinity capped by cgroup v1/v2 quotas, read from fake files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from labkit.sweep.cores import usable_cores


@pytest.fixture
def four_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)


def cgroup(tmp_path: Path, files: dict[str, str], proc: str = "0::/\n") -> dict[str, Path]:
    """A fake /sys/fs/cgroup tree and /proc/self/cgroup under tmp_path."""
    root = tmp_path / "cgroup"
    root.mkdir()
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (tmp_path / "self-cgroup").write_text(proc)
    return {"cgroup_root": root, "proc_cgroup": tmp_path / "self-cgroup"}


@pytest.mark.parametrize("files, proc, cores", [
    ({}, "0::/\n", 4),                                           # no cgroup files: affinity
    ({"cpu.max": "max 100000\n"}, "0::/\n", 4),                  # v2, no limit
    ({"cpu.max": "150000 100000\n"}, "0::/\n", 2),               # v2, 1.5 CPUs round up
    ({"cpu.max": "50000 100000\n"}, "0::/\n", 1),                # half a CPU is still one
    ({"cpu.max": "800000 100000\n"}, "0::/\n", 4),               # quota above affinity
    ({"a/cpu.max": "200000 100000\n", "a/b/cpu.max": "max 100000\n"}, "0::/a/b\n", 2),
    ({"a/cpu.max": "max 100000\n", "a/b/cpu.max": "100000 100000\n"}, "0::/a/b\n", 1),
    ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, "1:cpu:/\n", 4),
    ({"cpu/cpu.cfs_quota_us": "300000\n", "cpu/cpu.cfs_period_us": "100000\n"}, "1:cpu:/\n",
     3),
    ({"cpu,cpuacct/docker/x/cpu.cfs_quota_us": "200000",
      "cpu,cpuacct/docker/x/cpu.cfs_period_us": "100000"}, "4:cpu,cpuacct:/docker/x\n", 2),
    ({"cpu,cpuacct/cpu.cfs_quota_us": "100000", "cpu,cpuacct/cpu.cfs_period_us": "100000"},
     "4:cpu,cpuacct:/docker/x\n", 1),                          # the container's own root
    ({"cpu.max": "garbage\n", "cpu/cpu.cfs_quota_us": "x", "cpu/cpu.cfs_period_us": "0"},
     "0::/\n", 4),                                              # unreadable numbers: ignored
])
def test_usable_cores_respects_affinity_and_cgroup_quotas(four_cpus, tmp_path: Path,
                                                          files: dict, proc: str,
                                                          cores: int) -> None:
    assert usable_cores(**cgroup(tmp_path, files, proc)) == cores


def test_usable_cores_without_proc_self_cgroup_reads_the_root_files(four_cpus,
                                                                   tmp_path: Path) -> None:
    paths = cgroup(tmp_path, {"cpu.max": "200000 100000"})
    paths["proc_cgroup"].unlink()
    assert usable_cores(**paths) == 2


def test_usable_cores_follows_the_affinity_mask(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3}, raising=False)
    assert usable_cores(**cgroup(tmp_path, {})) == 1


def test_usable_cores_on_this_machine_is_at_most_its_affinity() -> None:
    assert 1 <= usable_cores() <= len(os.sched_getaffinity(0))
