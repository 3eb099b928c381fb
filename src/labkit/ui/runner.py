"""Running the simulator for a panel: cached, timed, and never freezing the notebook.

A learner who drags a knob back to where it was should get the answer at
once, so results are cached by (scenario, seed).  Budgets do not change
what the simulated service does, only how a run is judged, so a run that
differs from a cached one only in ``budget.*`` knobs reuses the cached
records and is judged again (no simulation at all).

Quick runs happen inline, on the kernel's main thread: at the default scale
a run takes tens of milliseconds, well under the 150 ms a knob change may
take, and a thread or process hop would only add latency.  A run estimated
to take longer than :attr:`Runner.inline_limit_s` (from the expected number
of requests times the measured cost per request) goes to a separate worker
*process*: the kernel stays free to answer widgets and run cells, the panel
shows progress, and the run can be cancelled by ending that process.  A
thread would not do: the simulator is pure Python, so a thread would hold
the interpreter lock and could not be stopped.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from labkit.sim import Scenario, simulate

__all__ = ["Runner", "Job", "expected_requests", "sim_key"]


def sim_key(scenario: Scenario, seed: int) -> tuple:
    """What determines a run's records: every non-budget knob and the seed."""
    knobs = scenario.to_knobs()
    return (tuple((k, v) for k, v in sorted(knobs.items()) if not k.startswith("budget.")),
            int(seed))


def expected_requests(scenario: Scenario) -> float:
    """How many requests a scenario will generate, on average.

    >>> expected_requests(Scenario.from_knobs({"load.rate_rps": 10, "load.duration_s": 30}))
    300.0
    """
    load = scenario.load
    n = load.rate_rps * load.duration_s
    if load.pattern == "spike":
        inside = max(0.0, min(load.spike_duration_s, load.duration_s - load.spike_start_s))
        n += load.rate_rps * (load.spike_multiplier - 1.0) * inside
    return float(n)


def _worker(conn: Any, knobs: dict[str, Any], seed: int) -> None:
    """Body of the worker process: run one scenario and send back the result."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)  # nothing from the worker may reach the notebook's stderr
    try:
        result = simulate(Scenario.from_knobs(knobs), seed=seed)
        conn.send(("ok", result))
    except Exception as exc:  # reported to the panel as a message, never a traceback
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


class Job:
    """A run in a worker process; ``cancel()`` ends it, ``wait()`` blocks until done."""

    def __init__(self, scenario: Scenario, seed: int, estimate_s: float):
        self.scenario, self.seed, self.estimate_s = scenario, int(seed), estimate_s
        self.started = time.perf_counter()
        self.finished = threading.Event()
        self.cancelled = False
        self.result: Any = None
        self.error: str | None = None
        self._process: Any = None

    @property
    def elapsed_s(self) -> float:
        return time.perf_counter() - self.started

    def cancel(self) -> None:
        """Stop the run: end the worker process; no result will be delivered."""
        self.cancelled = True
        process = self._process
        if process is not None and process.is_alive():
            process.terminate()
        self.finished.wait(10.0)

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the job has finished (or was cancelled); True if it has."""
        return self.finished.wait(timeout_s)


#: Runs estimated to take longer than this (seconds) go to a worker process, so the notebook
#: stays responsive; quicker ones run inline.  The default of every :class:`Runner`.
INLINE_LIMIT_S = 0.75


class Runner:
    """Runs scenarios for one panel, with a cache and an inline/background split."""

    def __init__(self, *, cache_size: int = 32, inline_limit_s: float | None = None):
        if cache_size < 1:
            raise ValueError(f"cache_size must be >= 1, got {cache_size}")
        self.cache_size = cache_size
        self.inline_limit_s = INLINE_LIMIT_S if inline_limit_s is None else inline_limit_s
        self.per_request_s = 30e-6   # refined by every run this runner makes
        self.last_run_s: float | None = None
        self._cache: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()

    # ----------------------------------------------------------- cache
    def lookup(self, scenario: Scenario, seed: int) -> Any | None:
        """A cached result for (scenario, seed), judged against its budgets, or None."""
        key = sim_key(scenario, seed)
        with self._lock:
            result = self._cache.get(key)
            if result is None:
                return None
            self._cache.move_to_end(key)
        if result.scenario != scenario:  # only budgets differ: judge the same records again
            result = dataclasses.replace(result, scenario=scenario)
            self._store(result)
        return result

    def _store(self, result: Any) -> None:
        with self._lock:
            self._cache[sim_key(result.scenario, result.seed)] = result
            self._cache.move_to_end(sim_key(result.scenario, result.seed))
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    # --------------------------------------------------------- timing
    def estimate_s(self, scenario: Scenario) -> float:
        """Expected wall time of a simulation of ``scenario`` on this machine."""
        return expected_requests(scenario) * self.per_request_s

    def is_quick(self, scenario: Scenario) -> bool:
        """Whether a run can happen inline (cached, or estimated under the limit)."""
        return self.estimate_s(scenario) <= self.inline_limit_s

    def _learn(self, result: Any, elapsed_s: float) -> None:
        self.last_run_s = elapsed_s
        n = max(len(result.records), 1)
        self.per_request_s = 0.5 * self.per_request_s + 0.5 * elapsed_s / n

    # ------------------------------------------------------------ runs
    def run_inline(self, scenario: Scenario, seed: int) -> Any:
        """Simulate now, on this thread, and cache the result."""
        started = time.perf_counter()
        result = simulate(scenario, seed=seed)
        self._learn(result, time.perf_counter() - started)
        self._store(result)
        return result

    def run_background(self, scenario: Scenario, seed: int, *,
                       on_done: Callable[[Job], None],
                       on_progress: Callable[[Job], None] | None = None,
                       progress_every_s: float = 0.25) -> Job:
        """Simulate in a worker process; ``on_done(job)`` runs when it ends (not if cancelled)."""
        job = Job(scenario, seed, self.estimate_s(scenario))
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe(duplex=False)
        process = ctx.Process(target=_worker, args=(child, scenario.to_knobs(), int(seed)),
                              daemon=True, name="labkit-sim")
        job._process = process

        def watch() -> None:
            try:
                message = self._await(job, process, parent, child, on_progress,
                                      progress_every_s)
                if job.cancelled:
                    return
                if message is None:
                    job.error = (f"the simulation worker stopped without a result "
                                 f"(exit code {process.exitcode})")
                elif message[0] == "ok":
                    job.result = message[1]
                    self._learn(job.result, job.elapsed_s)
                    self._store(job.result)
                else:
                    job.error = message[1]
            except Exception as exc:  # a failure to start or to receive: report it
                job.error = f"{type(exc).__name__}: {exc}"
            finally:
                parent.close()
                if not job.cancelled:
                    try:
                        on_done(job)
                    finally:
                        job.finished.set()
                else:
                    job.finished.set()

        threading.Thread(target=watch, name="labkit-sim-watch", daemon=True).start()
        return job

    @staticmethod
    def _await(job: Job, process: Any, parent: Any, child: Any,
               on_progress: Callable[[Job], None] | None, every_s: float) -> Any:
        if job.cancelled:
            return None
        process.start()
        child.close()
        message = None
        while not job.cancelled:
            if parent.poll(every_s):
                try:
                    message = parent.recv()
                except EOFError:
                    message = None
                break
            if not process.is_alive():
                break
            if on_progress is not None:
                on_progress(job)
        if job.cancelled and process.is_alive():
            process.terminate()
        process.join(timeout=5.0)
        return message
