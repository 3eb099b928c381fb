"""The response cache: least-recently-used eviction, expiry and staleness.

A cache answers a repeated prompt from memory instead of calling the model.
It holds at most ``capacity_items`` answers; when full, the answer used least
recently is evicted.  Under independent requests with Zipf popularity, Che's
approximation predicts the hit ratio (see :mod:`labkit.sim.theory`).

Two clocks make a cached answer less useful:

* **expiry** (``ttl_s``; ``None``: never): an answer is stored with a timer that starts on
  insertion and is *not* reset by hits; after ``ttl_s`` it no longer counts
  as a hit (it stays around as an expired entry that a ``stale_cache``
  fallback may still serve).
* **content change** (``content_change_s``; ``None``: never; and the one-off world change
  ``world.change_at_s``): the true answer to a prompt changes now and then
  (a price, a policy).  A hit on an answer stored before
  the change is a *stale hit*: fast, counted as a hit, but wrong.  Each entry
  draws its next change time when it is stored, so staleness is consistent.

Lookups answer with a :class:`~labkit.sim.codes.CacheState` code:

>>> c = LRUCache(capacity_items=2, ttl_s=None, content_change_s=None, rng=lambda: 0.5)
>>> c.put(1, 0.0); c.put(2, 0.0); c.lookup(1, 1.0) == HIT; c.put(3, 1.0)
True
>>> c.lookup(2, 2.0) == MISS, c.lookup(1, 2.0) == HIT
(True, True)
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable

from labkit.sim.codes import CacheState

__all__ = ["LRUCache", "HIT", "STALE", "MISS", "EXPIRED"]

HIT, STALE, MISS, EXPIRED = CacheState.HIT, CacheState.STALE, CacheState.MISS, CacheState.EXPIRED


class LRUCache:
    """An LRU cache of prompt answers with insertion-time expiry and staleness."""

    __slots__ = ("capacity", "ttl_s", "change_s", "world_change_s", "uniform", "_store",
                 "evictions")

    def __init__(self, *, capacity_items: int, ttl_s: float | None,
                 content_change_s: float | None,
                 rng: Callable[[], float], world_change_s: float = math.inf):
        if capacity_items < 1:
            raise ValueError(f"capacity_items must be >= 1, got {capacity_items}")
        self.capacity = capacity_items
        self.ttl_s = ttl_s
        self.change_s = content_change_s
        self.world_change_s = world_change_s  # every stored answer goes stale then
        self.uniform = rng
        # key -> (stored_at_s, content_changes_at_s)
        self._store: OrderedDict[int, tuple[float, float]] = OrderedDict()
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._store)

    def lookup(self, key: int, now_s: float) -> int:
        """``HIT``, ``STALE`` (hit on outdated content), ``EXPIRED`` or ``MISS``."""
        entry = self._store.get(key)
        if entry is None:
            return MISS
        stored_at, changes_at = entry
        if self.ttl_s is not None and now_s - stored_at >= self.ttl_s:
            return EXPIRED
        self._store.move_to_end(key)
        return STALE if now_s >= changes_at else HIT

    def has_entry(self, key: int) -> bool:
        """Whether any answer (fresh or expired) is held for ``key``."""
        return key in self._store

    def put(self, key: int, now_s: float) -> None:
        """Store a fresh answer for ``key``, evicting the least recently used."""
        store = self._store
        if key in store:
            store.move_to_end(key)
        elif len(store) >= self.capacity:
            store.popitem(last=False)
            self.evictions += 1
        changes_at = self.world_change_s if now_s < self.world_change_s else math.inf
        if self.change_s is not None:
            changes_at = min(changes_at, now_s - self.change_s * math.log(1.0 - self.uniform()))
        store[key] = (now_s, changes_at)
