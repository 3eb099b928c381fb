"""Independent, named random streams for one simulation run (both simulators).

Every run starts from one seed.  A :class:`numpy.random.SeedSequence` built
from it is spawned into one child per purpose, in the fixed order of the
simulator's stream names (:data:`labkit.sim.run.STREAMS`,
:data:`labkit.monitor.run.STREAMS`).  The order is append-only: adding a
purpose adds a name at the end, so existing streams keep their draws.
Because each part of a model draws only from its own stream, turning one
knob does not move a single draw of another part (common random numbers),
which keeps A/B comparisons between two scenarios fair.

>>> a, b = Streams(7, ("arrivals", "service")), Streams(7, ("arrivals", "service"))
>>> float(a["arrivals"].random()) == float(b["arrivals"].random())
True
>>> float(a["arrivals"].random()) == float(a["service"].random())
False
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from labkit.errors import LabkitError

__all__ = ["Streams", "uniform_pool", "SeedError", "check_seed"]


class SeedError(LabkitError, ValueError):
    """A seed that is not a whole number >= 0."""


def check_seed(seed: Any) -> int:
    """``seed`` as an int, or a :class:`SeedError` naming the value.

    >>> check_seed(-1)
    Traceback (most recent call last):
    ...
    labkit.streams.SeedError: seed must be a whole number >= 0, got -1
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SeedError(f"seed must be a whole number >= 0, got {seed!r}")
    return int(seed)


class Streams(Mapping[str, np.random.Generator]):
    """The named generators of one run: ``Streams(seed, names)["service"]``."""

    def __init__(self, seed: int, names: Sequence[str]):
        self.seed = check_seed(seed)
        self.names = tuple(names)
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"stream names must be unique, got {self.names}")
        children = np.random.SeedSequence(self.seed).spawn(len(self.names))
        self._rngs = {name: np.random.Generator(np.random.PCG64(child))
                      for name, child in zip(self.names, children)}

    def __getitem__(self, name: str) -> np.random.Generator:
        try:
            return self._rngs[name]
        except KeyError:
            raise KeyError(f"unknown random stream {name!r}; known: "
                           f"{', '.join(self.names)}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def pool(self, name: str, block: int = 4096) -> Callable[[], float]:
        """Scalar uniforms from stream ``name``, drawn in blocks for speed."""
        return uniform_pool(self[name], block)


def uniform_pool(rng: np.random.Generator, block: int = 4096) -> Callable[[], float]:
    """A function handing out U(0, 1) scalars drawn from ``rng`` a block at a time.

    Drawing one scalar from numpy costs far more than reading one from a
    pre-drawn block, and the simulator draws several per request.  The next
    block is drawn only when one is used up, so the values are exactly
    ``rng.random(...)``'s in order; the function is a C-level iterator step.

    >>> draw = uniform_pool(np.random.default_rng(3), block=2)
    >>> [draw() for _ in range(3)] == np.random.default_rng(3).random(3).tolist()
    True
    """
    def blocks() -> Iterator[list[float]]:
        while True:
            yield rng.random(block).tolist()

    return itertools.chain.from_iterable(blocks()).__next__
