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

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from labkit.errors import LabkitError

__all__ = ["Streams", "UniformPool", "SeedError", "check_seed"]


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

    def pool(self, name: str, block: int = 4096) -> UniformPool:
        """Scalar uniforms from stream ``name``, drawn in blocks for speed."""
        return UniformPool(self[name], block)


class UniformPool:
    """Hands out U(0, 1) scalars drawn from a generator a block at a time.

    Drawing one scalar from numpy costs far more than reading one from a
    pre-drawn block, and the simulator draws several per request.
    """

    __slots__ = ("_rng", "_block", "_buf", "_i")

    def __init__(self, rng: np.random.Generator, block: int = 4096):
        self._rng = rng
        self._block = block
        self._buf: list[float] = []
        self._i = 0

    def __call__(self) -> float:
        i = self._i
        if i >= len(self._buf):
            self._buf = self._rng.random(self._block).tolist()
            i = 0
        self._i = i + 1
        return self._buf[i]
