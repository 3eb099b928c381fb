"""Agent mode's random draws, keyed by (task, step, purpose).

A task's k-th step always gets the same draws, whatever else the knobs
change: a lower step cap cuts each task's run of steps short but leaves
the steps it keeps as they were, and two scenarios that differ only in a
policy see the same tasks, tools and injections (common random numbers at
the finest grain).  The draws come from a counter-based hash (SplitMix64's
finaliser) of the run's ``agent`` stream key and the triple, so no draw
depends on the order in which the simulation asks for it.

>>> d = Draws(12345)
>>> d.u(3, 2, Purpose.LOOP) == float(d.array(np.array([3]), np.array([2]), Purpose.LOOP)[0])
True
>>> 0.0 <= d.u(0, 0, Purpose.NEED) < 1.0
True
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from labkit.sim.load import Workload

if TYPE_CHECKING:
    from labkit.sim.config import AgentConfig, LoadConfig

__all__ = ["Draws", "Purpose", "steps_needed", "call_workload"]

_M64 = (1 << 64) - 1
_G, _A, _B = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB


class Purpose:
    """What a draw decides (the third key of a draw)."""

    (NEED, LOOP, TOOL, KIND, TOOL_ERROR, INJECT, GUARD, APPROVE, REVIEW, SERVICE,
     CALL_ERROR) = range(11)


def _mix(x: int) -> int:
    z = (x + _G) & _M64
    z = ((z ^ (z >> 30)) * _A) & _M64
    z = ((z ^ (z >> 27)) * _B) & _M64
    return z ^ (z >> 31)


def _mix_array(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = x + np.uint64(_G)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(_A)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(_B)
    return z ^ (z >> np.uint64(31))


class Draws:
    """Uniforms in [0, 1) for (task, step, purpose), from one 64-bit ``key``."""

    def __init__(self, key: int):
        self.key = int(key) & _M64

    def u(self, task: int, step: int, purpose: int) -> float:
        """One uniform (tasks < 2**40, steps < 2**16)."""
        x = (task << 24) | (step << 8) | purpose
        return (_mix(self.key ^ _mix(x)) >> 11) * 2.0 ** -53

    def array(self, task: np.ndarray, step: np.ndarray, purpose: int) -> np.ndarray:
        """The same uniforms for arrays of tasks and steps."""
        x = ((task.astype(np.uint64) << np.uint64(24)) | (step.astype(np.uint64) << np.uint64(8))
             | np.uint64(purpose))
        h = _mix_array(np.uint64(self.key) ^ _mix_array(x))
        return (h >> np.uint64(11)).astype(np.float64) * 2.0 ** -53


def steps_needed(config: AgentConfig, u: float) -> int:
    """Productive steps a task needs: geometric on 1, 2, ... with mean ``steps_mean``
    (P(N > k) = (1 - 1/mean)^k), or fixed; ``u`` is the task's uniform.

    >>> from labkit.sim.config import AgentConfig
    >>> steps_needed(AgentConfig(steps_mean=1.0), 0.99), steps_needed(AgentConfig(
    ...     steps_dist="fixed", steps_mean=3.4), 0.5)
    (1, 3)
    """
    mean = config.steps_mean
    if config.steps_dist == "fixed":
        return max(1, int(mean + 0.5))
    p = 1.0 / mean
    if p >= 1.0:
        return 1
    return 1 + int(math.log1p(-u) / math.log1p(-p))


def call_workload(load: LoadConfig, tasks: Workload, stride: int, draws: Draws) -> Workload:
    """The model calls every task could make: call ``task * stride + step``.

    Each call has its own service and first-attempt error draws and a prompt
    no other call shares (an agent's context never repeats, so the response
    cache never answers a step).  Arrival times are filled in when the run is
    collected, with the moments the calls were really made.
    """
    n = len(tasks) * stride
    ids = np.arange(n, dtype=np.int64)
    task, step = ids // stride, ids % stride
    return Workload(arrival_s=np.zeros(n), prompt=load.catalog_size + ids,
                    valid=np.ones(n, dtype=bool), write=np.zeros(n, dtype=bool),
                    service_u=draws.array(task, step, Purpose.SERVICE),
                    error_u=draws.array(task, step, Purpose.CALL_ERROR))
