"""The circuit breaker: stop calling a dependency that keeps failing.

Closed, the breaker lets calls through and counts their results over a
sliding window of ``window_s`` seconds.  When at least ``min_calls`` results
are in the window and the failure share reaches ``failure_rate``, it *opens*:
calls fail at once, without touching the dependency, for ``open_s`` seconds.
Then it goes *half-open* and lets ``half_open_calls`` probe calls through; if
they all succeed it closes, and one failure opens it again.

Results are counted in per-second buckets, so the window costs O(1) per call
and no simulation events.
"""

from __future__ import annotations

import math

__all__ = ["Breaker", "CLOSED", "OPEN", "HALF_OPEN"]

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class Breaker:
    """A closed / open / half-open circuit breaker over a sliding time window."""

    def __init__(self, *, failure_rate: float, min_calls: int, window_s: float,
                 open_s: float, half_open_calls: int):
        self.failure_rate = failure_rate
        self.min_calls = min_calls
        self.open_s = open_s
        self.half_open_calls = half_open_calls
        self.n_buckets = max(1, math.ceil(window_s))
        self.bucket_s = window_s / self.n_buckets
        self._calls = [0] * self.n_buckets
        self._fails = [0] * self.n_buckets
        self._stamp = [-1] * self.n_buckets
        self.state = CLOSED
        self.opened_at = -math.inf
        self.probes_left = 0
        self.probe_successes = 0
        self.opens: list[float] = []
        self.transitions: list[tuple[float, str]] = []

    def blocked(self, now_s: float) -> bool:
        """Whether a call at ``now_s`` would be refused; claims nothing.

        Use it before deciding to call, and :meth:`allow` at the moment the
        call is really made, so a call dropped in between (throttled locally,
        shed) never holds a half-open probe slot.
        """
        if self.state == OPEN:
            return now_s - self.opened_at < self.open_s
        return self.state == HALF_OPEN and self.probes_left <= 0

    def allow(self, now_s: float) -> bool:
        """Whether a call may go through at ``now_s`` (claims a probe slot when half-open)."""
        if self.state == OPEN:
            if now_s - self.opened_at < self.open_s:
                return False
            self._move(HALF_OPEN, now_s)
            self.probes_left = self.half_open_calls
            self.probe_successes = 0
        if self.state == HALF_OPEN:
            if self.probes_left <= 0:
                return False
            self.probes_left -= 1
        return True

    def record(self, now_s: float, success: bool) -> None:
        """Count one call's result."""
        if self.state == HALF_OPEN:
            if not success:
                self._open(now_s)
                return
            self.probe_successes += 1
            if self.probe_successes >= self.half_open_calls:
                self._move(CLOSED, now_s)
                self._reset()
            return
        if self.state == OPEN:
            return  # a late result of a call made before the breaker opened
        slot_id = int(now_s / self.bucket_s)
        slot = slot_id % self.n_buckets
        if self._stamp[slot] != slot_id:
            self._stamp[slot], self._calls[slot], self._fails[slot] = slot_id, 0, 0
        self._calls[slot] += 1
        if not success:
            self._fails[slot] += 1
            calls = fails = 0
            for i in range(self.n_buckets):
                if slot_id - self._stamp[i] < self.n_buckets:
                    calls += self._calls[i]
                    fails += self._fails[i]
            if calls >= self.min_calls and fails >= self.failure_rate * calls:
                self._open(now_s)

    def _open(self, now_s: float) -> None:
        self._move(OPEN, now_s)
        self.opened_at = now_s
        self.opens.append(now_s)
        self._reset()

    def _reset(self) -> None:
        self._stamp = [-1] * self.n_buckets
        self._calls = [0] * self.n_buckets
        self._fails = [0] * self.n_buckets

    def _move(self, state: str, now_s: float) -> None:
        self.state = state
        self.transitions.append((now_s, state))
