"""The autoscaler: add and remove replicas to hold a target utilisation.

Every ``autoscale.interval_s`` it measures the busy share of the ready
replicas over the last interval and applies the Kubernetes HPA rule:
``desired = ceil(ready x utilisation / target)``, left alone within 10% of
the target, clamped to ``min_replicas .. max_replicas``.  New replicas serve
after ``cold_start_s`` but cost money from the moment they start; it scales
down only once every started replica is warm, and never below the floor of
ready replicas.  It stops deciding at the end of the load.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import simpy

    from labkit.sim.config import AutoscaleConfig
    from labkit.sim.recorder import Recorder
    from labkit.sim.replicas import Pool

__all__ = ["Autoscaler"]


class Autoscaler:
    """Scales ``pool`` from the ``autoscale.*`` knobs until ``horizon_s``."""

    def __init__(self, config: AutoscaleConfig, *, pool: Pool, horizon_s: float,
                 recorder: Recorder):
        self.config = config
        self.pool = pool
        self.horizon_s = horizon_s
        self.recorder = recorder

    def run(self, env: simpy.Environment) -> Generator[Any, Any, None]:
        """The SimPy process that decides every ``interval_s``."""
        a, pool = self.config, self.pool
        busy0, _ = pool.utilisation_integrals()
        while env.now < self.horizon_s:
            yield env.timeout(a.interval_s)
            busy1, _ = pool.utilisation_integrals()
            util = (busy1 - busy0) / (a.interval_s * max(pool.ready, 1))
            busy0 = busy1
            current = pool.provisioned
            ratio = util / a.target_utilization
            desired = current if abs(ratio - 1.0) <= 0.1 else math.ceil(pool.ready * ratio)
            desired = min(a.max_replicas, max(a.min_replicas, desired))
            if desired > current:
                pool.add_replicas(desired - current, a.cold_start_s)
            elif desired < current and not pool.starting:
                pool.remove_replicas(current - desired, keep_ready=a.min_replicas)
            self.recorder.autoscale_decisions += 1
