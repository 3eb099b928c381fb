"""Independent, named random streams for one simulation run.

Every run starts from one seed.  A :class:`numpy.random.SeedSequence` built
from it is spawned into one child per component, in the fixed order of
:data:`STREAM_NAMES`.  The order is append-only: adding a component adds a
name at the end, so existing streams keep their draws.  Because each
component draws only from its own stream, turning a cache knob does not move
a single arrival time or service draw (common random numbers), which keeps
A/B comparisons between two scenarios fair.

>>> a, b = Streams(7), Streams(7)
>>> float(a.rng("arrivals").random()) == float(b.rng("arrivals").random())
True
>>> float(Streams(7).rng("arrivals").random()) == float(Streams(7).rng("service").random())
False
"""

from __future__ import annotations

import numpy as np

__all__ = ["STREAM_NAMES", "Streams", "UniformPool"]

STREAM_NAMES: tuple[str, ...] = (
    "arrivals", "prompts", "validity", "service", "errors", "cache", "retry",
    "fallback", "faults", "steps", "boundary", "autoscale", "review", "guardrail",
    "throttle",
)


class Streams:
    """The named generators of one run (``Streams(seed).rng("service")``)."""

    def __init__(self, seed: int):
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
        self.seed = int(seed)
        children = np.random.SeedSequence(self.seed).spawn(len(STREAM_NAMES))
        self._rngs = {name: np.random.Generator(np.random.PCG64(child))
                      for name, child in zip(STREAM_NAMES, children)}

    def rng(self, name: str) -> np.random.Generator:
        """The generator of stream ``name``."""
        try:
            return self._rngs[name]
        except KeyError:
            raise ValueError(f"unknown random stream {name!r}; known: "
                             f"{', '.join(STREAM_NAMES)}") from None

    def pool(self, name: str, block: int = 4096) -> UniformPool:
        """Scalar uniforms from stream ``name``, drawn in blocks for speed."""
        return UniformPool(self.rng(name), block)


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
