"""``run_sweep``: a spec, a store and an executor put together.

The runner is the top of the package: it builds the :class:`SweepSpec`, opens
the results file (:class:`CsvSink`), skips the runs the file already holds,
sends the rest to an executor, writes each row as it arrives and finally
returns the rows in grid order as a :class:`SweepTable`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from labkit.sweep import cores
from labkit.sweep.executors import (
    SweepRun,
    check_dask_address,
    dask_client,
    run_here,
    run_on_dask,
    run_on_pool,
)
from labkit.sweep.spec import SweepError, SweepSpec
from labkit.sweep.store import CsvSink, run_key
from labkit.sweep.table import SweepTable

__all__ = ["run_sweep"]


def _check_workers(workers: int | None, dask: str | None) -> None:
    if workers is None:
        return
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise SweepError(f"workers must be a whole number >= 1, got {workers!r}")
    if dask is not None and dask != "local":
        raise SweepError(f"workers sizes the process pool or dask='local'; the cluster at "
                         f"{dask} has the workers it was started with, got workers={workers}")


def run_sweep(grid: Mapping[str, Sequence[Any]] | Iterable[str] | SweepSpec,
              seeds: int | Sequence[int] = 3, *, preset: str | None = None,
              fixed: Mapping[str, Any] | None = None, workers: int | None = None,
              dask: str | None = None, out: str | Path | None = None, resume: bool = False,
              on_row: Callable[[int, int], None] | None = None) -> SweepTable:
    """Run a sweep and return its table (see :mod:`labkit.sweep`).

    ``grid`` is ``{knob: values}``, ``--grid`` strings or a :class:`SweepSpec`;
    ``seeds=N`` means seeds 1..N.  Without ``dask``, ``workers`` is the number of
    processes: ``None`` or 1 runs here, one run after the other (safe in notebooks),
    more uses a process pool.  ``dask="local"`` starts ``workers`` single-threaded
    Dask workers (default: :func:`~labkit.sweep.cores.usable_cores`);
    ``dask="tcp://HOST:PORT"`` uses a running cluster as it is (``workers`` must be
    None).  Pools and local clusters
    never start more processes than there are runs.  ``out`` is the CSV written as
    runs finish; ``resume=True`` keeps the rows it holds and runs the rest.
    ``on_row(done, total)`` is called after each run.  Ctrl-C raises
    KeyboardInterrupt after the finished rows are saved.
    """
    spec = grid if isinstance(grid, SweepSpec) else SweepSpec.build(
        grid, seeds, preset=preset, fixed=fixed)
    if dask is not None:
        check_dask_address(dask)
    _check_workers(workers, dask)
    if resume and out is None:
        raise SweepError("resume needs the results file of the sweep (-o results.csv)")
    sink = (CsvSink(Path(out), knobs=spec.knobs, meta=spec.meta(), resume=resume)
            if out is not None else None)
    wanted = {run_key({**point, "seed": seed}, spec.knobs) for point, seed in spec.runs()}
    results = {k: row for k, row in (sink.existing if sink else {}).items() if k in wanted}
    total = len(wanted)
    runs = [SweepRun(preset=spec.preset, fixed=spec.fixed, point=tuple(point.items()), seed=seed)
            for point, seed in spec.runs()
            if run_key({**point, "seed": seed}, spec.knobs) not in results]

    def accept(row: dict[str, Any]) -> None:
        results[run_key(row, spec.knobs)] = row
        if sink:
            sink.write(row)
        if on_row:
            on_row(len(results), total)

    try:
        if not runs:
            pass
        elif dask is not None:
            size = None if dask != "local" else min(workers or cores.usable_cores(), len(runs))
            with dask_client(dask, workers=size) as client:
                run_on_dask(runs, accept, client=client)
        elif (workers or 1) == 1 or len(runs) < 2:
            run_here(runs, accept)
        else:
            run_on_pool(runs, accept, workers=workers or 1)
    finally:
        if sink:
            sink.close()
    rows = [results[run_key({**point, "seed": seed}, spec.knobs)] for point, seed in spec.runs()]
    return SweepTable.from_rows(spec.knobs, rows)
