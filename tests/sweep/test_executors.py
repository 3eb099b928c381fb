"""Executors: the same rows here, on a process pool and on Dask, and clear cluster errors.

The Dask tests run real schedulers and workers on 127.0.0.1, including ones whose
Python cannot import labkit or has another version of it (see ``conftest.py``).
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

from labkit.sweep import DaskClusterError, cores, executors, run_sweep
from labkit.sweep.executors import SweepRun, dask_client, run_here, run_on_dask, run_on_pool, run_one

SMALL = {"load.duration_s": 5.0, "load.rate_rps": 20.0}        # the `serial` fixture's sweep
GRID = {"model.replicas": [1, 2], "cache.enabled": [False, True]}
RUNS = [SweepRun(preset=None, fixed=tuple(SMALL.items()),
                 point=(("model.replicas", n), ("cache.enabled", c)), seed=s)
        for n in (1, 2) for c in (False, True) for s in (1, 2, 3)]
VERSION = importlib.metadata.version("labkit")


# --- here and on a pool --------------------------------------------------------------

def test_every_local_executor_gives_the_serial_rows(serial) -> None:
    assert [run_one(r) for r in RUNS] == list(serial.rows)
    here: list[dict] = []
    run_here(RUNS, here.append)
    assert here == list(serial.rows)
    pooled: list[dict] = []
    run_on_pool(RUNS, pooled.append, workers=3)
    key = lambda r: (r["model.replicas"], r["cache.enabled"], r["seed"])  # noqa: E731
    assert sorted(pooled, key=key) == list(serial.rows)   # completion order, same rows


# --- Dask --------------------------------------------------------------------------------

@pytest.mark.slow
def test_dask_local_starts_the_workers_asked_for_each_single_threaded() -> None:
    with dask_client("local", workers=3) as client:
        workers = client.scheduler_info()["workers"].values()
        assert len(workers) == 3
        assert [w["nthreads"] for w in workers] == [1, 1, 1]
        assert all(w["host"] == "127.0.0.1" for w in workers)
        cluster = client.cluster
    assert cluster.status.name == "closed" and client.status == "closed"


@pytest.mark.slow
def test_dask_local_writes_nothing_on_stderr_even_with_port_8787_taken() -> None:
    """Nothing on stderr in normal use: not the 'Port 8787 is already in use' warning."""
    import socket

    holder = socket.socket()
    try:
        holder.bind(("127.0.0.1", 8787))
        holder.listen()
    except OSError:
        pass                                  # someone else holds it: taken all the same
    code = ("from labkit.sweep import dask_client\n"
            "with dask_client('local', workers=1) as client:\n"
            "    print(client.submit(sum, [1, 2]).result())\n")
    try:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=300)
    finally:
        holder.close()
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "3\n", "")


@pytest.mark.slow
def test_dask_local_defaults_to_the_usable_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cores, "usable_cores", lambda: 3)
    with dask_client("local") as client:
        assert len(client.scheduler_info()["workers"]) == 3


@pytest.mark.slow
def test_dask_local_cluster_gives_the_serial_rows(serial, monkeypatch: pytest.MonkeyPatch) -> None:
    sizes: list[int | None] = []
    real = executors.dask_client

    def spy(address: str, **kwargs):
        sizes.append(kwargs.get("workers"))
        return real(address, **kwargs)

    from labkit.sweep import runner
    monkeypatch.setattr(runner, "dask_client", spy)
    table = run_sweep(GRID, seeds=3, fixed=SMALL, dask="local", workers=2)
    assert table.rows == serial.rows
    assert sizes == [2]


@pytest.mark.slow
def test_dask_scheduler_address_gives_the_serial_rows(serial, dask_processes,
                                                      tmp_path: Path) -> None:
    """A running cluster reached by its tcp:// address: `dask scheduler` + 2 `dask worker`."""
    address, workers = dask_processes("labkit", ["labkit", "labkit"])
    assert address.startswith("tcp://127.0.0.1:") and len(workers) == 2
    out = tmp_path / "r.csv"
    table = run_sweep(GRID, seeds=3, fixed=SMALL, dask=address, out=out)
    assert table.rows == serial.rows
    assert len(out.read_text().splitlines()) == 1 + 12
    rows: list[dict] = []
    with dask_client(address) as client:                # the helper, reused as is
        run_on_dask(RUNS[:2], rows.append, client=client)
    assert sorted(r["seed"] for r in rows) == [1, 2]


@pytest.mark.slow
def test_the_labkit_less_python_has_dask_but_not_labkit(python) -> None:
    """The precondition of the next tests: that Python really cannot import labkit."""
    prefix, env = python("no labkit")
    code = "import distributed, importlib.util; print(importlib.util.find_spec('labkit'))"
    proc = subprocess.run([*prefix, "-c", code], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "None"
    prefix, env = python("labkit 0.0.1")
    code = "import labkit, importlib.metadata; print(importlib.metadata.version('labkit'))"
    proc = subprocess.run([*prefix, "-c", code], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.stdout.strip() == "0.0.1", proc.stderr


@pytest.mark.slow
def test_a_cluster_without_labkit_is_named_machine_by_machine(dask_processes, capsys) -> None:
    """Not a pickling traceback: which machines lack labkit, and what to do about it."""
    from labkit.cli import main

    address, [worker] = dask_processes("no labkit", ["no labkit"])
    code = main(["sweep", "--grid", "model.replicas=1,2", "--seeds", "1",
                 "--set", "load.duration_s=5", "--dask", address])
    stdout, stderr = capsys.readouterr()
    assert code == 2 and stdout == ""
    assert "Traceback" not in stderr and "pickle" not in stderr
    message = stderr.strip().splitlines()[-1]
    assert message.startswith(
        f"labkit sweep: labkit is not importable on the Dask scheduler {address} "
        "(ModuleNotFoundError: No module named 'labkit'); labkit is not importable on the "
        f"Dask worker {worker} (ModuleNotFoundError: No module named 'labkit'). The scheduler "
        f"and every worker need labkit {VERSION}, the version here: install it into the Python "
        "environment that runs them")
    assert "restart them" in message


@pytest.mark.slow
def test_another_labkit_version_on_a_worker_is_refused(dask_processes) -> None:
    address, workers = dask_processes("labkit", ["labkit", "labkit 0.0.1"])
    with dask_client(address, require_labkit=False) as client:     # which worker is which
        versions = client.run(importlib.metadata.version, "labkit")
    [old] = [w for w in workers if versions[w] == "0.0.1"]
    with pytest.raises(DaskClusterError) as info:
        run_sweep(GRID, seeds=1, fixed=SMALL, dask=address)
    assert str(info.value).startswith(
        f"the Dask worker {old} has labkit 0.0.1, this machine labkit {VERSION}. The "
        f"scheduler and every worker need labkit {VERSION}")


@pytest.mark.slow
def test_a_worker_that_joins_without_labkit_ends_the_sweep_with_a_message(
        dask_processes, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that joined after the check (here: the check is skipped) dies at its first
    task, leaving no workers: the sweep says so instead of waiting forever."""
    monkeypatch.setattr(executors, "DASK_NO_WORKERS_S", 3)
    address, [worker] = dask_processes("labkit", ["no labkit"])
    rows: list[dict] = []
    with dask_client(address, require_labkit=False) as client:
        with pytest.raises(DaskClusterError) as info:
            run_on_dask(RUNS[:2], rows.append, client=client)
    assert rows == []
    assert str(info.value) == (
        f"the Dask cluster at {address} has had no workers for 3 s with 2 runs unfinished; a "
        "worker that cannot import labkit leaves the cluster at its first task (its log says "
        "No module named 'labkit'): install labkit there and restart it")


@pytest.mark.slow
def test_unreachable_scheduler_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(executors, "DASK_CONNECT_TIMEOUT_S", 1)
    with pytest.raises(DaskClusterError, match=r"cannot reach the Dask scheduler at "
                                               r"tcp://127\.0\.0\.1:9: "):
        run_sweep(GRID, seeds=1, fixed=SMALL, dask="tcp://127.0.0.1:9")


@pytest.mark.slow
def test_a_scheduler_without_workers_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from distributed import LocalCluster

    monkeypatch.setattr(executors, "DASK_CONNECT_TIMEOUT_S", 2)
    with LocalCluster(n_workers=0, host="127.0.0.1", dashboard_address=None,
                      silence_logs=50) as cluster:
        address = cluster.scheduler_address
        with pytest.raises(DaskClusterError) as info:
            run_sweep(GRID, seeds=1, fixed=SMALL, dask=address)
    assert str(info.value) == (f"the Dask scheduler at {address} has no workers after 2 s; "
                               f"start some with: dask worker {address} --nthreads 1")


@pytest.mark.parametrize("kwargs, message", [
    ({"address": "udp://h:1"}, "--dask takes 'local' or tcp://HOST:PORT, got 'udp://h:1'"),
    ({"address": "local", "workers": 0}, "workers must be a whole number >= 1, got 0"),
    ({"address": "tcp://h:1", "workers": 2},
     "workers sizes a local cluster; the cluster at tcp://h:1 has the workers it was started "
     "with, got workers=2"),
])
def test_dask_client_checks_its_arguments_before_starting_anything(kwargs: dict,
                                                                   message: str) -> None:
    address = kwargs.pop("address")
    with pytest.raises(DaskClusterError) as info:
        with dask_client(address, **kwargs):
            pass
    assert str(info.value) == message
