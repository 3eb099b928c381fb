"""Shared pieces of the sweep tests: the reference serial table and real Dask processes.

``serial`` is a small sweep (2 x 2 grid points x 3 seeds of 5 s at 20 req/s) run here,
one run after the other; every other executor must give exactly its rows.

``dask_processes`` starts real ``dask scheduler`` / ``dask worker`` processes on
127.0.0.1, optionally in a Python that cannot import labkit: ``python -S`` (no site
module, so the ``.pth`` file of labkit's editable install is never read) with only
the venv's site-packages on ``PYTHONPATH``, and a fake labkit of another version in
front of it when asked.  Each process gets its own session and is stopped by its id.
"""

from __future__ import annotations

import os
import site
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from labkit.sweep import run_sweep

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from daskcluster import DaskCluster  # noqa: E402

SMALL = {"load.duration_s": 5.0, "load.rate_rps": 20.0}
GRID = {"model.replicas": [1, 2], "cache.enabled": [False, True]}


@pytest.fixture(scope="session")
def serial():
    return run_sweep(GRID, seeds=3, fixed=SMALL)


def site_packages() -> list[str]:
    """The venv's site-packages (where dask lives); labkit itself is not inside them."""
    return [p for p in site.getsitepackages() if Path(p, "distributed").is_dir()]


def python_env(tmp: Path, *, labkit_version: str | None) -> tuple[list[str], dict[str, str]]:
    """argv prefix and environment of a Python with dask and either no labkit
    (``labkit_version=None``) or a fake, empty labkit package of that version."""
    path = site_packages()
    if labkit_version is not None:
        fake = tmp / f"fake-labkit-{labkit_version}"
        (fake / "labkit").mkdir(parents=True, exist_ok=True)
        (fake / "labkit" / "__init__.py").write_text('"""Not labkit."""\n')
        info = fake / f"labkit-{labkit_version}.dist-info"
        info.mkdir(exist_ok=True)
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: labkit\nVersion: {labkit_version}\n")
        path = [str(fake), *path]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(PYTHONPATH=os.pathsep.join(path), PYTHONNOUSERSITE="1", PYTHONSAFEPATH="1")
    return [sys.executable, "-S"], env


@pytest.fixture
def python(tmp_path: Path) -> Callable[[str], tuple[list[str], dict[str, str]]]:
    """``python(kind) -> (argv prefix, environment)`` of a Python that has ``"labkit"`` (this
    venv as it is), ``"no labkit"``, or ``"labkit X.Y.Z"`` (a fake labkit of that version)."""
    def make(kind: str) -> tuple[list[str], dict[str, str]]:
        if kind == "labkit":
            return [sys.executable], dict(os.environ)
        if kind == "no labkit":
            return python_env(tmp_path, labkit_version=None)
        assert kind.startswith("labkit "), kind
        return python_env(tmp_path, labkit_version=kind.split()[1])
    return make


@pytest.fixture
def dask_processes(tmp_path: Path, python: Callable[[str], tuple[list[str], dict[str, str]]]
                   ) -> Iterator[Callable[[str, list[str]], tuple[str, list[str]]]]:
    """``start(scheduler, workers) -> (scheduler address, sorted worker addresses)``, each
    process in a Python of the given kind (see ``python``): ``start("no labkit", ["no labkit"])``.
    """
    cluster = DaskCluster(tmp_path)

    def start(scheduler: str, workers: list[str]) -> tuple[str, list[str]]:
        from distributed import Client

        address = cluster.start_scheduler(*python(scheduler))
        for worker in workers:
            cluster.start_worker(address, *python(worker))
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(len(workers), timeout=120)
            return address, sorted(client.scheduler_info()["workers"])

    try:
        yield start
    finally:
        cluster.stop()
