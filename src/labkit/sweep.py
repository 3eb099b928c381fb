"""Sweeps: many runs of the simulator, one per grid point and seed, with honest error bars.

A sweep is an experiment: the cross product of knob values (the *grid*) times
a set of seeds.  Seed ``s`` is run at every grid point, so every point sees
the same arrivals and service draws (common random numbers): differences
between points come from the knobs, not from luck.  Each run becomes one row
(the grid knobs, the seed and every numeric summary metric, flattened to
names such as ``latency_ms.p95``, ``outcomes.ok``, ``cost.per_1k`` and
``budgets.p95_ms.pass``); :meth:`SweepTable.summary` gives the mean of each
metric over seeds with a 95% confidence interval from Student's t.

Runs go to a process pool, or to a Dask cluster (``dask="local"`` starts one
on loopback; ``dask="tcp://host:port"`` connects to a running scheduler whose
workers have labkit installed).  With ``out=...csv`` each row is appended and
flushed as soon as its run finishes, so an interrupted sweep keeps every
finished row, and ``resume=True`` runs only what is missing.  A sidecar
``<out>.meta.json`` records the preset and fixed knobs, so a resume with a
different base scenario is refused instead of mixing two experiments.

>>> table = run_sweep({"model.replicas": [2, 4]}, seeds=2, fixed={"load.duration_s": 5})
>>> [(r["model.replicas"], r["seed"]) for r in table.rows]
[(2, 1), (2, 2), (4, 1), (4, 2)]
>>> row = table.summary()[0]
>>> row["model.replicas"], row["n"], row["latency_ms.p95.mean"] > 0
(2, 2, True)
"""

from __future__ import annotations

import csv
import itertools
import math
import signal
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labkit.knobs import CATALOGUE, KnobError
from labkit.sweep_store import CsvSink, SweepError, csv_row
from labkit.tdist import mean_ci

__all__ = ["SweepError", "SweepSpec", "SweepTable", "parse_grid", "run_sweep",
           "flatten_summary"]


def parse_grid(text: str) -> tuple[str, tuple[Any, ...]]:
    """``KNOB=V1,V2,...`` as typed after ``--grid``; list-valued knobs separate values by ``;``.

    >>> parse_grid("model.replicas=1,2,4")
    ('model.replicas', (1, 2, 4))
    >>> parse_grid("fallback.chain=small_model,safe_message;safe_message")
    ('fallback.chain', (('small_model', 'safe_message'), ('safe_message',)))
    """
    if "=" not in text:
        raise SweepError(f"--grid takes KNOB=V1,V2,..., got {text!r}")
    name, _, values = text.partition("=")
    knob = CATALOGUE.get_knob(name.strip())
    parts = values.split(";" if knob.kind == "multi" else ",")
    if not values.strip() or any(not p.strip() for p in parts if knob.kind != "multi"):
        raise SweepError(f"--grid {knob.name} needs values like {knob.name}=V1,V2, got {text!r}")
    return knob.name, tuple(knob.check(p) for p in parts)


@dataclass(frozen=True, kw_only=True)
class SweepSpec:
    """What to run: grid knobs and values, seeds, and the base scenario (preset + fixed)."""

    grid: tuple[tuple[str, tuple[Any, ...]], ...]
    seeds: tuple[int, ...]
    preset: str | None = None
    fixed: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        from labkit.sim import PRESETS, Scenario

        if not self.grid:
            raise SweepError("a sweep needs at least one --grid KNOB=V1,V2,...")
        names = [name for name, _ in self.grid]
        for name, values in self.grid:
            knob = CATALOGUE.get_knob(name)
            if knob.name != name:
                raise SweepError(f"grid knob {name!r} must be a full name like {knob.name!r}")
            if names.count(name) > 1:
                raise SweepError(f"{name} appears twice in the grid; give its values once")
            if not values:
                raise SweepError(f"{name} has no values in the grid")
            for value in values:
                knob.check(value)
            if len({knob.format(knob.check(v)) for v in values}) != len(values):
                raise SweepError(f"{name} repeats a value in the grid: {list(values)}")
        for name, _ in self.fixed:
            if name in names:
                raise SweepError(f"{name} is both swept (--grid) and fixed (--set); pick one")
        if not self.seeds or any(isinstance(s, bool) or not isinstance(s, int) or s < 0
                                 for s in self.seeds):
            raise SweepError(f"seeds must be whole numbers >= 0, got {list(self.seeds)}")
        if len(set(self.seeds)) != len(self.seeds):
            raise SweepError(f"seeds must not repeat, got {list(self.seeds)}")
        if self.preset is not None and self.preset not in PRESETS:
            raise SweepError(f"unknown preset {self.preset!r}; known: {', '.join(PRESETS)}")
        for point in self.points():   # refuse a bad combination before any run starts
            try:
                Scenario.from_knobs({**self.base(), **point})
            except KnobError as exc:
                raise SweepError(f"grid point {self.label(point)}: {exc}") from None

    @classmethod
    def build(cls, grid: Mapping[str, Sequence[Any]] | Iterable[str], seeds: int | Sequence[int],
              *, preset: str | None = None, fixed: Mapping[str, Any] | None = None) -> SweepSpec:
        """From a mapping ``{knob: values}`` or ``--grid`` strings; ``seeds=N`` means 1..N."""
        if isinstance(grid, Mapping):
            items = [(CATALOGUE.get_knob(k).name, tuple(CATALOGUE.get_knob(k).check(v)
                                                        for v in vs)) for k, vs in grid.items()]
        else:
            items = [parse_grid(text) for text in grid]
        if isinstance(seeds, int) and not isinstance(seeds, bool):
            if seeds < 1:
                raise SweepError(f"--seeds must be >= 1, got {seeds}")
            seeds = range(1, seeds + 1)
        fixed_items = tuple((CATALOGUE.get_knob(k).name, CATALOGUE.get_knob(k).check(v))
                            for k, v in (fixed or {}).items())
        return cls(grid=tuple(items), seeds=tuple(seeds), preset=preset, fixed=fixed_items)

    @property
    def knobs(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.grid)

    def base(self) -> dict[str, Any]:
        from labkit.sim import PRESETS
        return {**(PRESETS[self.preset] if self.preset else {}), **dict(self.fixed)}

    def points(self) -> list[dict[str, Any]]:
        """Every grid point, in grid order (the last knob varies fastest)."""
        return [dict(zip(self.knobs, combo)) for combo in
                itertools.product(*(values for _, values in self.grid))]

    def runs(self) -> list[tuple[dict[str, Any], int]]:
        return [(point, seed) for point in self.points() for seed in self.seeds]

    def key(self, point: Mapping[str, Any], seed: int) -> tuple[str, ...]:
        """A run's identity as written in the CSV: formatted knob values and the seed."""
        return tuple(CATALOGUE[k].format(CATALOGUE[k].check(point[k])) for k in self.knobs) + (
            str(int(seed)),)

    def label(self, point: Mapping[str, Any]) -> str:
        return " ".join(f"{k}={CATALOGUE[k].format(point[k])}" for k in self.knobs)

    def meta(self) -> dict[str, Any]:
        return {"preset": self.preset, "knobs": list(self.knobs),
                "fixed": {k: CATALOGUE[k].format(v) for k, v in self.fixed}}


def flatten_summary(summary: Mapping[str, Any], prefix: str = "") -> dict[str, float | int]:
    """Every numeric value of a summary, nested names joined by dots; booleans become 0/1.

    >>> flatten_summary({"latency_ms": {"p95": 9.5}, "budgets": {"p95_ms": {"pass": True}},
    ...                  "note": "text"})
    {'latency_ms.p95': 9.5, 'budgets.p95_ms.pass': 1}
    """
    out: dict[str, float | int] = {}
    for key, value in summary.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten_summary(value, name + "."))
        elif isinstance(value, bool):
            out[name] = int(value)
        elif isinstance(value, (int, float)):
            out[name] = value
        elif value is None:
            out[name] = math.nan
        elif hasattr(value, "item") and isinstance(value.item(), (int, float)):  # numpy scalar
            out[name] = value.item()
    return out


def _run_one(task: tuple[str | None, tuple, tuple, int]) -> dict[str, Any]:
    """One run (in a worker): simulate the point with the seed, return its row."""
    from labkit.sim import simulate

    preset, fixed, point, seed = task
    result = simulate({**dict(fixed), **dict(point)}, seed=seed, preset=preset)
    return {**dict(point), "seed": seed, **flatten_summary(result.summary)}


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the parent's to handle


@dataclass(frozen=True, kw_only=True)
class SweepTable:
    """The rows of a sweep (one per run, in grid then seed order) and their summary."""

    knobs: tuple[str, ...]
    rows: tuple[dict[str, Any], ...]
    metrics: tuple[str, ...] = field(default=())

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.knobs, "seed", *self.metrics)

    def column(self, name: str) -> list[Any]:
        if name not in self.columns:
            raise SweepError(f"no column {name!r}; columns: {', '.join(self.columns)}")
        return [row.get(name, math.nan) for row in self.rows]

    def to_csv(self, path: str | Path) -> Path:
        path = Path(path)
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=self.columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(csv_row(row, self.knobs) for row in self.rows)
        return path

    def summary(self, metrics: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Per grid point: ``n`` seeds, and for each metric ``<m>.mean``, ``<m>.ci95`` (the
        half-width of the 95% t interval; NaN with one seed), ``<m>.low`` and ``<m>.high``."""
        metrics = list(self.metrics if metrics is None else metrics)
        for m in metrics:
            if m not in self.metrics:
                raise SweepError(f"no metric {m!r}; metrics: {', '.join(self.metrics)}")
        groups: dict[tuple, list[dict[str, Any]]] = {}
        for row in self.rows:
            groups.setdefault(tuple(row[k] for k in self.knobs), []).append(row)
        out = []
        for values, rows in groups.items():
            entry: dict[str, Any] = {**dict(zip(self.knobs, values)), "n": len(rows)}
            for m in metrics:
                mean, half = mean_ci([float(r.get(m, math.nan)) for r in rows])
                entry.update({f"{m}.mean": mean, f"{m}.ci95": half,
                              f"{m}.low": mean - half, f"{m}.high": mean + half})
            out.append(entry)
        return out


def _on_pool(tasks: list, workers: int, accept: Callable[[dict[str, Any]], None]) -> None:
    from concurrent.futures import ProcessPoolExecutor, as_completed

    pool = ProcessPoolExecutor(max_workers=min(workers, len(tasks)), initializer=_ignore_sigint)
    try:
        for future in as_completed([pool.submit(_run_one, t) for t in tasks]):
            accept(future.result())
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


DASK_CONNECT_TIMEOUT_S = 10   # how long to wait for a remote scheduler before giving up


def _on_dask(tasks: list, address: str, accept: Callable[[dict[str, Any]], None]) -> None:
    import logging

    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if address != "local" and not address.startswith("tcp://"):
        raise SweepError(f"--dask takes 'local' or tcp://HOST:PORT, got {address!r}")
    try:
        if address == "local":
            cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=None,
                                   silence_logs=logging.ERROR)
        client = Client(cluster or address, timeout=f"{DASK_CONNECT_TIMEOUT_S}s")
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        raise SweepError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    futures = []
    try:
        futures = client.map(_run_one, tasks, pure=False)
        for future in as_completed(futures):
            accept(future.result())
    except BaseException:
        client.cancel(futures)
        raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_sweep(grid: Mapping[str, Sequence[Any]] | Iterable[str] | SweepSpec,
              seeds: int | Sequence[int] = 3, *, preset: str | None = None,
              fixed: Mapping[str, Any] | None = None, workers: int = 1,
              dask: str | None = None, out: str | Path | None = None, resume: bool = False,
              on_row: Callable[[int, int], None] | None = None) -> SweepTable:
    """Run a sweep and return its table (see the module docstring).

    ``grid`` is ``{knob: values}``, ``--grid`` strings or a :class:`SweepSpec`;
    ``seeds=N`` means seeds 1..N.  ``workers=1`` runs here, one run after the
    other (the default: safe in notebooks); more uses a process pool, and
    ``dask`` a Dask cluster.  ``on_row(done, total)`` is called after each run.
    Ctrl-C raises KeyboardInterrupt after the finished rows are saved.
    """
    spec = grid if isinstance(grid, SweepSpec) else SweepSpec.build(
        grid, seeds, preset=preset, fixed=fixed)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise SweepError(f"workers must be a whole number >= 1, got {workers!r}")
    if resume and out is None:
        raise SweepError("resume needs the results file of the sweep (-o results.csv)")
    sink = CsvSink(Path(out), spec, resume) if out is not None else None
    results = dict(sink.existing) if sink else {}
    total = len(spec.runs())
    tasks = [(spec.preset, spec.fixed, tuple(p.items()), s) for p, s in spec.runs()
             if spec.key(p, s) not in results]

    def accept(row: dict[str, Any]) -> None:
        results[spec.key(row, row["seed"])] = row
        if sink:
            sink.write(row)
        if on_row:
            on_row(len(results), total)

    try:
        if dask:
            _on_dask(tasks, dask, accept)
        elif workers == 1 or len(tasks) < 2:
            for task in tasks:
                accept(_run_one(task))
        else:
            _on_pool(tasks, workers, accept)
    finally:
        if sink:
            sink.close()
    rows = tuple(results[spec.key(p, s)] for p, s in spec.runs())
    metrics: dict[str, None] = {}
    for row in rows:
        metrics.update((k, None) for k in row if k not in spec.knobs and k != "seed")
    return SweepTable(knobs=spec.knobs, rows=rows, metrics=tuple(metrics))
