"""Random streams: one seed per run, one independent stream per purpose.

A run's seed becomes a :class:`numpy.random.SeedSequence`, spawned into named
child streams in a fixed, append-only order.  Each part of the world draws
only from its own stream, so turning one knob (say, when data drift starts)
does not reshuffle the draws of another (the traffic, the labels): two runs
that differ in one knob are compared on the same transactions.

>>> a = spawn_streams(7)["labels"].random(3)
>>> b = spawn_streams(7)["labels"].random(3)
>>> bool((a == b).all())
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["STREAM_NAMES", "spawn_streams", "check_seed"]

#: Append new names at the end only: the order fixes which child each name gets.
STREAM_NAMES = ("traffic", "features", "labels", "nulls", "blips", "health", "offline",
                "canary", "fallback")


def check_seed(seed: Any) -> int:
    """A seed must be a whole number >= 0."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed}")
    return int(seed)


def spawn_streams(seed: int) -> dict[str, np.random.Generator]:
    """Named independent generators for one run."""
    children = np.random.SeedSequence(check_seed(seed)).spawn(len(STREAM_NAMES))
    return {name: np.random.default_rng(child) for name, child in zip(STREAM_NAMES, children)}
