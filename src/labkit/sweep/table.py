"""A sweep's results: one row per run, and per grid point the mean with a 95% interval.

A row is the grid knobs' values, the seed and every numeric summary metric of
that run, flattened to dotted names (``latency_ms.p95``, ``outcomes.ok``,
``cost.per_1k``, ``budgets.p95_ms.pass``).  With a handful of seeds the mean
of a metric is uncertain; :meth:`SweepTable.summary` gives each grid point's
mean and the half-width of the 95% Student-t interval across its seeds
(``labkit.tdist``), so a difference smaller than the error bars is read as
what it is: not shown by this experiment.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labkit.sweep.spec import SweepError
from labkit.sweep.store import write_csv
from labkit.tdist import mean_ci

__all__ = ["SweepTable", "flatten_summary"]


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
        elif isinstance(value, int):
            out[name] = int(value)
        elif isinstance(value, float):
            out[name] = float(value)        # np.float64 too: its repr is not a CSV number
        elif value is None:
            out[name] = math.nan
        elif hasattr(value, "item") and isinstance(value.item(), (int, float)):  # numpy scalar
            out[name] = value.item()
    return out


@dataclass(frozen=True, kw_only=True)
class SweepTable:
    """The rows of a sweep (one per run, in grid then seed order) and their summary.

    >>> table = SweepTable.from_rows(["model.replicas"], [
    ...     {"model.replicas": 2, "seed": 1, "p95_ms": 10.0},
    ...     {"model.replicas": 2, "seed": 2, "p95_ms": 14.0}])
    >>> table.columns
    ('model.replicas', 'seed', 'p95_ms')
    >>> entry = table.summary()[0]
    >>> entry["n"], entry["p95_ms.mean"], round(entry["p95_ms.ci95"], 2)
    (2, 12.0, 25.41)
    """

    knobs: tuple[str, ...]
    rows: tuple[dict[str, Any], ...]
    metrics: tuple[str, ...] = field(default=())

    @classmethod
    def from_rows(cls, knobs: Sequence[str], rows: Sequence[dict[str, Any]]) -> SweepTable:
        """A table whose metrics are every column of the rows besides the knobs and seed."""
        metrics: dict[str, None] = {}
        for row in rows:
            metrics.update((k, None) for k in row if k not in knobs and k != "seed")
        return cls(knobs=tuple(knobs), rows=tuple(rows), metrics=tuple(metrics))

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.knobs, "seed", *self.metrics)

    def column(self, name: str) -> list[Any]:
        if name not in self.columns:
            raise SweepError(f"no column {name!r}; columns: {', '.join(self.columns)}")
        return [row.get(name, math.nan) for row in self.rows]

    def to_csv(self, path: str | Path) -> Path:
        """The whole table in the format ``run_sweep(out=...)`` writes run by run."""
        return write_csv(Path(path), self.columns, self.rows, self.knobs)

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
