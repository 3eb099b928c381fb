"""What a sweep runs: grid knobs and their values, seeds, and the base scenario.

A sweep is an experiment: the cross product of knob values (the *grid*)
times a set of seeds, each run on top of one base scenario (a preset and
fixed knobs).  :class:`SweepSpec` checks all of it when it is built, down to
every combination of grid values, so a bad sweep is refused before the first
run starts instead of failing an hour in.

This is the bottom of the package: it imports nothing else from
``labkit.sweep`` (the store, table, executors and runner import it).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from labkit.knobs import KnobError
from labkit.sim.scenario import CATALOGUE

__all__ = ["SweepError", "SweepSpec", "parse_grid"]


class SweepError(KnobError):
    """A grid, seed list, output file or cluster the sweep cannot use (CLI exit 2)."""


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
    """Grid knobs and values, seeds, and the base scenario (preset + fixed knobs).

    >>> spec = SweepSpec.build({"model.replicas": [2, 4]}, seeds=2)
    >>> spec.knobs, spec.seeds, len(spec.runs())
    (('model.replicas',), (1, 2), 4)
    """

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
        if isinstance(seeds, int):
            if isinstance(seeds, bool) or seeds < 1:
                raise SweepError(f"--seeds must be >= 1, got {seeds}")
            seed_tuple = tuple(range(1, seeds + 1))
        else:
            seed_tuple = tuple(seeds)
        fixed_items = tuple((CATALOGUE.get_knob(k).name, CATALOGUE.get_knob(k).check(v))
                            for k, v in (fixed or {}).items())
        return cls(grid=tuple(items), seeds=seed_tuple, preset=preset, fixed=fixed_items)

    @property
    def knobs(self) -> tuple[str, ...]:
        """The grid knobs, in grid order (the first columns of every row)."""
        return tuple(name for name, _ in self.grid)

    def base(self) -> dict[str, Any]:
        """The knobs every run shares: the preset's, overridden by the fixed ones."""
        from labkit.sim import PRESETS
        return {**(PRESETS[self.preset] if self.preset else {}), **dict(self.fixed)}

    def points(self) -> list[dict[str, Any]]:
        """Every grid point, in grid order (the last knob varies fastest)."""
        return [dict(zip(self.knobs, combo)) for combo in
                itertools.product(*(values for _, values in self.grid))]

    def runs(self) -> list[tuple[dict[str, Any], int]]:
        """Every (grid point, seed) pair, in the order of the table's rows."""
        return [(point, seed) for point in self.points() for seed in self.seeds]

    def label(self, point: Mapping[str, Any]) -> str:
        return " ".join(f"{k}={CATALOGUE[k].format(point[k])}" for k in self.knobs)

    def meta(self) -> dict[str, Any]:
        """What identifies the experiment besides its grid: written beside the results file."""
        return {"preset": self.preset, "knobs": list(self.knobs),
                "fixed": {k: CATALOGUE[k].format(v) for k, v in self.fixed}}
