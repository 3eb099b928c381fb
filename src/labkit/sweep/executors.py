"""Where a sweep's runs execute: here, on a process pool, or on a Dask cluster.

Every executor calls the same :func:`run_one` on the same :class:`SweepRun`
records and hands each row to ``accept`` as soon as it is done, in whatever
order runs finish; the runner puts rows back in grid order, so the table is
the same wherever it ran.  A run is one process-worth of CPU work (a SimPy
event loop in pure Python), so parallelism means processes: a pool on this
machine, or single-threaded Dask workers, by default as many as
:func:`~labkit.sweep.cores.usable_cores` says.

:func:`dask_client` is the one way labkit opens a Dask cluster: ``"local"``
starts N single-threaded worker processes on 127.0.0.1, ``"tcp://HOST:PORT"``
connects to a running scheduler.  Either way it checks that the scheduler and
every worker can import labkit at this machine's version (:func:`check_labkit`)
and closes everything on exit.  It is not tied to sweeps; any labkit job that
fans out work can use it.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from labkit.sweep import cores
from labkit.sweep.spec import SweepError
from labkit.sweep.table import flatten_summary

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["DASK_CONNECT_TIMEOUT_S", "DASK_NO_WORKERS_S", "DaskClusterError", "SweepRun",
           "check_dask_address", "check_labkit", "dask_client", "run_here", "run_on_dask",
           "run_on_pool", "run_one"]

DASK_CONNECT_TIMEOUT_S = 10   # how long to wait for a remote scheduler (and its first worker)
DASK_NO_WORKERS_S = 60        # how long a cluster may have no workers before a sweep gives up

Accept = Callable[[dict[str, Any]], None]


class DaskClusterError(SweepError):
    """A Dask cluster labkit cannot use: unreachable, without workers, or without labkit."""


@dataclass(frozen=True, kw_only=True)
class SweepRun:
    """One run of a sweep: a grid point and a seed on top of the base scenario."""

    preset: str | None
    fixed: tuple[tuple[str, Any], ...]
    point: tuple[tuple[str, Any], ...]
    seed: int


def run_one(run: SweepRun) -> dict[str, Any]:
    """Simulate one run (in whichever process executes it) and return its row."""
    from labkit.sim import simulate

    result = simulate({**dict(run.fixed), **dict(run.point)}, seed=run.seed, preset=run.preset)
    return {**dict(run.point), "seed": run.seed, **flatten_summary(result.summary)}


def run_here(runs: Sequence[SweepRun], accept: Accept) -> None:
    """One run after the other in this process (safe anywhere, notebooks included)."""
    for run in runs:
        accept(run_one(run))


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the parent's to handle


def run_on_pool(runs: Sequence[SweepRun], accept: Accept, *, workers: int) -> None:
    """A pool of ``workers`` processes on this machine (no more than there are runs)."""
    from concurrent.futures import ProcessPoolExecutor, as_completed

    pool = ProcessPoolExecutor(max_workers=max(1, min(workers, len(runs))),
                               initializer=_ignore_sigint)
    try:
        for future in as_completed([pool.submit(run_one, r) for r in runs]):
            accept(future.result())
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def run_on_dask(runs: Sequence[SweepRun], accept: Accept, *, client: Client) -> None:
    """Every run as a Dask task on the client's cluster; unfinished ones cancelled on error.

    A cluster left with no workers for :data:`DASK_NO_WORKERS_S` while runs are
    unfinished is an error, not a silent wait: that is what a worker without labkit
    that joined after :func:`check_labkit` looks like (it leaves at its first task).
    """
    from distributed import as_completed

    futures = client.map(run_one, list(runs), pure=False)
    done = as_completed(futures)
    alone_since: float | None = None
    checked = time.monotonic()
    try:
        while not done.is_empty():
            batch = done.next_batch(block=False)
            for future in batch:
                try:
                    row = future.result()
                except Exception as exc:
                    if "labkit" in str(exc) or "deserializ" in str(exc):
                        check_labkit(client)   # names the machine that lacks labkit
                    raise
                accept(row)
            now = time.monotonic()
            if batch:
                alone_since = None
            elif now - checked >= 1.0:
                checked = now
                if client.scheduler_info()["workers"]:
                    alone_since = None
                elif alone_since is None:
                    alone_since = now
                elif now - alone_since >= DASK_NO_WORKERS_S:
                    raise DaskClusterError(
                        f"the Dask cluster at {_address(client)} has had no workers for "
                        f"{DASK_NO_WORKERS_S:g} s with {done.count()} runs unfinished; a worker "
                        "that cannot import labkit leaves the cluster at its first task (its log "
                        "says No module named 'labkit'): install labkit there and restart it")
            else:
                time.sleep(0.05)
    except BaseException:
        client.cancel(futures)
        raise


# --- Dask --------------------------------------------------------------------------------

def check_dask_address(address: str) -> str:
    """``"local"`` or ``tcp://HOST:PORT``; anything else is refused naming the value."""
    if address != "local" and not (address.startswith("tcp://") and len(address) > 6):
        raise DaskClusterError(f"--dask takes 'local' or tcp://HOST:PORT, got {address!r}")
    return address


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """SIGINT ignored meanwhile (main thread only), so processes started now ignore it too."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def dask_client(address: str, *, workers: int | None = None,
                connect_timeout_s: float | None = None,
                require_labkit: bool = True) -> Iterator[Client]:
    """A Dask client for ``"local"`` or ``"tcp://HOST:PORT"``, closed properly on exit.

    ``"local"`` starts ``workers`` single-threaded worker processes on 127.0.0.1
    (default: :func:`~labkit.sweep.cores.usable_cores`) and stops them on exit.
    ``"tcp://..."`` connects to a running scheduler (``workers`` must be None: that
    cluster has the workers it was started with) and waits up to ``connect_timeout_s``
    (default :data:`DASK_CONNECT_TIMEOUT_S`) for it and its first worker.  Unless
    ``require_labkit=False``, the scheduler and every worker must import labkit at
    this machine's version (:func:`check_labkit`).  Problems raise
    :class:`DaskClusterError`::

        with dask_client("local", workers=4) as client:
            rows = client.gather(client.map(run_one, runs, pure=False))
    """
    import asyncio
    import logging

    from distributed import Client, LocalCluster

    check_dask_address(address)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise DaskClusterError(f"workers must be a whole number >= 1, got {workers!r}")
    if workers is not None and address != "local":
        raise DaskClusterError(f"workers sizes a local cluster; the cluster at {address} has "
                               f"the workers it was started with, got workers={workers}")
    timeout_s = DASK_CONNECT_TIMEOUT_S if connect_timeout_s is None else connect_timeout_s
    with ExitStack() as stack:
        target: Any = address
        if address == "local":
            with _sigint_ignored():       # workers inherit it: Ctrl-C is this process's
                target = stack.enter_context(LocalCluster(
                    n_workers=workers or cores.usable_cores(), threads_per_worker=1,
                    processes=True, host="127.0.0.1", dashboard_address=None,
                    # no dashboard, and its HTTP server on any free port, not 8787
                    scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                    silence_logs=logging.CRITICAL))   # errors reach us as exceptions
        try:
            client = stack.enter_context(Client(target, timeout=f"{timeout_s}s"))
        except (OSError, TimeoutError, asyncio.TimeoutError) as exc:
            raise DaskClusterError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        try:
            client.wait_for_workers(1, timeout=timeout_s)
        except (OSError, TimeoutError, asyncio.TimeoutError):
            raise DaskClusterError(
                f"the Dask scheduler at {address} has no workers after {timeout_s:g} s; start "
                f"some with: dask worker {address} --nthreads 1") from None
        if require_labkit:
            check_labkit(client)
        yield client


def _address(client: Client) -> str:
    return str(getattr(client.scheduler, "address", "(unknown address)"))


def _labkit_version() -> str | None:
    import importlib.metadata

    try:
        return importlib.metadata.version("labkit")
    except importlib.metadata.PackageNotFoundError:
        return None


def _make_probe() -> Callable[[], dict[str, Any]]:
    """A function that reports labkit's importability and version where it runs.

    It is built inside this factory so Dask pickles it by value: a machine without
    labkit can still run it (a module-level function would need labkit to unpickle).
    """
    def probe() -> dict[str, Any]:
        import importlib
        import importlib.metadata

        try:
            importlib.import_module("labkit")
        except Exception as exc:
            return {"error": f"{type(exc).__name__}: {exc}", "version": None}
        try:
            return {"error": None, "version": importlib.metadata.version("labkit")}
        except importlib.metadata.PackageNotFoundError:
            return {"error": None, "version": None}
    return probe


def check_labkit(client: Client) -> None:
    """Refuse a cluster whose scheduler or a worker lacks labkit or has another version.

    The scheduler unpickles the task graph and the workers run it, so both need the
    same labkit as this machine; otherwise the error would be a pickling traceback
    from deep inside Dask, or, worse, rows from another version of the simulator.
    """
    here = _labkit_version()
    probe = _make_probe()
    found: dict[str, Any] = {}
    try:
        found[f"scheduler {_address(client)}"] = client.run_on_scheduler(probe)
    except Exception as exc:
        found[f"scheduler {_address(client)}"] = {"error": f"the check failed: {exc}"}
    for worker, info in sorted(client.run(probe, on_error="return").items()):
        found[f"worker {worker}"] = (info if isinstance(info, dict)
                                     else {"error": f"the check failed: {info}"})
    problems = []
    for where, info in found.items():
        if info.get("error"):
            problems.append(f"labkit is not importable on the Dask {where} ({info['error']})")
        elif info["version"] != here:
            problems.append(f"the Dask {where} has labkit {info['version'] or '(no version)'}, "
                            f"this machine labkit {here or '(no version)'}")
    if problems:
        raise DaskClusterError(
            "; ".join(problems) + f". The scheduler and every worker need labkit {here}, the "
            "version here: install it into the Python environment that runs them (pip install "
            "a wheel or checkout of this labkit) and restart them (see README 'Sweeps')")
