"""Injected faults of the primary model: an outage, a slowdown and a lost replica.

An *outage* (``fault.outage_*``) either hangs the primary (``fault.mode =
hang``: no progress, so clients see timeouts) or makes every call fail at
once (``error``).  A *slowdown* (``fault.slowdown_*``) divides the primary's
speed by ``fault.slowdown_factor`` and adds ``fault.error_rate`` to its
failure probability.  A window of length 0 is no fault at all.

A *lost replica* (``fault.replica_lost_at_s``) is one replica of the primary that crashes
and does not come back: the pool's ``lose_replica`` decides which one and what happens to
the work and (in stateful mode) the sessions it held.

Hangs and slowdowns become the replicas' :class:`~labkit.sim.replicas.SpeedProfile`;
the error windows are asked about call by call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labkit.sim.replicas import SpeedProfile

if TYPE_CHECKING:
    import simpy

    from labkit.sim.config import FaultConfig

__all__ = ["Faults"]


class Faults:
    """The fault windows of one run and what they do to the primary."""

    __slots__ = ("outage", "slow", "error_outage", "slow_error_rate", "speed", "replica_lost_s")

    def __init__(self, config: FaultConfig):
        f = config
        self.outage = (f.outage_start_s, f.outage_start_s + f.outage_duration_s)
        self.slow = (f.slowdown_start_s, f.slowdown_start_s + f.slowdown_duration_s)
        self.error_outage = f.outage_duration_s > 0 and f.mode == "error"
        self.slow_error_rate = f.error_rate
        windows = []
        if f.slowdown_duration_s > 0:
            windows.append((self.slow[0], self.slow[1], 1.0 / f.slowdown_factor))
        if f.outage_duration_s > 0 and f.mode == "hang":
            windows.append((self.outage[0], self.outage[1], 0.0))
        self.speed = SpeedProfile(windows)
        self.replica_lost_s = f.replica_lost_at_s

    def arm(self, env: simpy.Environment, pool: Any) -> None:
        """Schedule the lost replica, if any: ``pool.lose_replica()`` at its time."""
        if self.replica_lost_s is not None:
            env.timeout(self.replica_lost_s).callbacks.append(lambda _e: pool.lose_replica())

    def failing_fast(self, now_s: float) -> bool:
        """Whether a call at ``now_s`` fails at once (an outage in error mode)."""
        return self.error_outage and self.outage[0] <= now_s < self.outage[1]

    def extra_error_rate(self, now_s: float) -> float:
        """The added failure probability of a call completing at ``now_s`` (slowdown)."""
        return self.slow_error_rate if self.slow[0] <= now_s < self.slow[1] else 0.0
