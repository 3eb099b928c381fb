"""What a pool of replicas pays for and what it uses: the accounting every pool shares.

Each kind of pool (request mode's :class:`~labkit.sim.replicas.ReplicaPool`, stateful
mode's :class:`~labkit.sim.sessions.StickyPool`, token mode's
:class:`~labkit.sim.tokenpool.TokenPool`) schedules its work its own way, but counts its
replicas the same way: *ready* ones serve, *starting* ones are in a cold start (paid for
from the moment they start, serving only once warm), *busy* ones are doing work.  Two
integrals over simulated time follow from those counts, exactly, by adding the area since
the last change whenever a count is about to change (:meth:`Accounting._advance`):

* **provisioned replica-seconds**, (ready + starting) x time: what the replicas cost;
* **busy replica-seconds**, the load x time: utilisation is busy over provisioned, and the
  autoscaler reads the busy integral over its last interval.

The load is the number of busy replicas, unless a pool weighs them (:meth:`Accounting._load`:
a token replica decoding a handful of sequences is not fully used).  Each pool also counts
the calls it served and their total wait in its queue.

>>> import simpy
>>> env = simpy.Environment()
>>> pool = Accounting(env, replicas=2)
>>> pool.busy = 1
>>> env.run(until=3.0)
>>> pool.utilisation_integrals()
(3.0, 6.0)
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import simpy

__all__ = ["Accounting"]


class Accounting:
    """Replica counts and their busy and provisioned integrals; the base of every pool.

    A subclass calls :meth:`_advance` *before* it changes ``ready``, ``starting``,
    ``busy`` (or whatever :meth:`_load` reads), and implements :meth:`_warm`, which
    :meth:`add_replicas` calls when a cold start ends.
    """

    def __init__(self, env: simpy.Environment, replicas: int):
        self.env = env
        self.ready = replicas       # serving
        self.starting = 0           # in a cold start
        self.busy = 0               # doing work
        self.served = 0             # calls that received service
        self.wait_sum_s = 0.0       # their queueing delay, summed
        self.busy_s = 0.0           # integral of the load over time
        self.provisioned_s = 0.0    # integral of ready + starting replicas over time
        self._t_last = 0.0

    def _load(self) -> float:
        """The replicas in use now (the busy integral's integrand): the busy ones."""
        return self.busy

    def _advance(self) -> None:
        """Add the area since the last change to both integrals."""
        now = self.env.now
        dt = now - self._t_last
        if dt:
            self.busy_s += self._load() * dt
            self.provisioned_s += (self.ready + self.starting) * dt
            self._t_last = now

    @property
    def provisioned(self) -> int:
        """Replicas paid for: ready and starting."""
        return self.ready + self.starting

    def utilisation_integrals(self) -> tuple[float, float]:
        """Busy and provisioned replica-seconds up to now."""
        self._advance()
        return self.busy_s, self.provisioned_s

    def add_replicas(self, count: int, cold_start_s: float) -> None:
        """Start ``count`` replicas; each serves after ``cold_start_s`` and costs from now."""
        self._advance()
        self.starting += count
        self.env.timeout(cold_start_s).callbacks.append(partial(self._warm, count))

    def _warm(self, count: int, _event: object = None) -> None:
        """``count`` replicas finished their cold start (move them to ``ready``)."""
        raise NotImplementedError
