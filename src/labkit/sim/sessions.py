"""Sticky sessions: the stateful mode of the primary's replicas (``model.session_affinity``).

A stateless replica holds nothing the next request needs, so any replica can serve any
request: one shared queue feeds them all (:class:`~labkit.sim.replicas.ReplicaPool`).  A
*stateful* service keeps a session's state (a conversation, a loaded user profile) in the
memory of one replica, and the load balancer pins the session to it (sticky sessions):

* **Sessions.**  ``model.session_users`` users each have one session open at a time; every
  request comes from a user drawn at random, and after it the user's session ends with
  probability 1 / ``model.session_requests_mean`` (a geometric number of requests, with
  that mean), so the user's next request opens a new one (:func:`draw_sessions`).
* **Placement.**  A new session goes to the ready replica holding the fewest open
  sessions; every later request of it joins that replica's own queue, however long.
* **Moves.**  When a replica is lost (``fault.replica_lost_at_s``) or retired by the
  autoscaler, its open sessions leave it.  With ``model.session_moves = rebuild`` they move
  to the other ready replicas and their state is rebuilt there: a moved session's next call
  costs ``model.session_warmup_ms`` of extra work; and when the autoscaler's new replicas
  become ready, sessions move to them from the fullest replicas until they hold their share.
  With ``lose`` the state is gone: each such session is counted lost and its user's next
  request starts afresh; new replicas then take only new sessions (moving one would lose
  it), so a scale-out relieves the busy replicas only as their sessions end.
* **Work in flight.**  Calls queued on (or in service at) a lost replica start again on
  their sessions' new replicas; a retired replica finishes its batch first.

With one replica and no fault, sticky and stateless pools serve every call at the same
times.  :class:`StickyPool` reports per-replica utilisation, so ``imbalance`` (the busiest
replica's utilisation over the mean, :func:`~labkit.sim.replicas.imbalance`) can be compared
with the stateless pool's.

>>> import numpy as np
>>> sid, last = draw_sessions(6, users=1, mean_requests=1.0, rng=np.random.default_rng(1))
>>> sid.tolist(), bool(last.all())
([0, 1, 2, 3, 4, 5], True)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from labkit.sim.accounting import Accounting
from labkit.sim.batcher import Batcher
from labkit.sim.replicas import Batch, Call, SpeedProfile, imbalance

if TYPE_CHECKING:
    import simpy

__all__ = ["draw_sessions", "Lane", "StickyPool"]

STARTING, READY, RETIRING, GONE = range(4)


def draw_sessions(n: int, *, users: int, mean_requests: float,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Session id of each of ``n`` requests (in arrival order) and whether it is its
    session's last request."""
    who = rng.integers(0, users, n).tolist()
    ends = (rng.random(n) < 1.0 / mean_requests).tolist()
    open_session = [-1] * users
    sid = np.empty(n, dtype=np.int64)
    started = 0
    for i, user in enumerate(who):
        if open_session[user] < 0:
            open_session[user] = started
            started += 1
        sid[i] = open_session[user]
        if ends[i]:
            open_session[user] = -1
    last = np.array(ends, dtype=bool)
    return sid, last


class Lane:
    """One replica of a :class:`StickyPool`: its own queue, its open sessions, its clock."""

    __slots__ = ("index", "batcher", "state", "serving", "sessions", "busy_s", "ready_s",
                 "since_s", "started_s")

    def __init__(self, index: int, batcher: Batcher, state: int, now_s: float):
        self.index = index
        self.batcher = batcher
        self.state = state
        self.serving: Batch | None = None
        self.sessions: set[int] = set()
        self.busy_s = 0.0
        self.ready_s = 0.0
        self.since_s = now_s        # when it became ready (while ready)
        self.started_s = 0.0        # when its current batch started


class StickyPool(Accounting):
    """Replicas with one queue each, every session pinned to one of them (replica counts and
    integrals: :class:`~labkit.sim.accounting.Accounting`)."""

    def __init__(self, env: simpy.Environment, *, replicas: int, service_s: float,
                 per_item_fraction: float, max_size: int, max_wait_s: float,
                 on_done: Callable[[list[Call], float], None], sessions: Sequence[int],
                 last: Sequence[bool], warmup_s: float, moves: str,
                 speed: SpeedProfile | None = None):
        super().__init__(env, replicas)
        self.service_s, self.per_item = service_s, per_item_fraction
        self.max_size, self.max_wait_s = max_size, max_wait_s
        self.on_done = on_done
        self.speed = speed or SpeedProfile()
        self.session_of, self.last = list(sessions), list(last)
        self.warmup_s, self.rebuild = warmup_s, moves == "rebuild"
        self.lanes: list[Lane] = []
        self.home: dict[int, Lane] = {}
        self.cold: set[int] = set()          # moved sessions whose state is rebuilt next
        self.opened = self.moved = self.lost = self.warmups = 0
        for _ in range(replicas):
            self._new_lane(READY)

    # --- bookkeeping ---------------------------------------------------------
    def _new_lane(self, state: int) -> Lane:
        lane = Lane(len(self.lanes), None, state, self.env.now)  # type: ignore[arg-type]
        lane.batcher = Batcher(self.env, max_size=self.max_size, max_wait_s=self.max_wait_s,
                               on_due=partial(self._dispatch, lane))
        self.lanes.append(lane)
        return lane

    @property
    def queued(self) -> int:
        """Calls waiting in every replica's queue (not cancelled)."""
        return sum(lane.batcher.live for lane in self.lanes)

    def session_stats(self) -> dict[str, float]:
        """Sessions opened, moved and lost, warm-ups paid, and the replicas' imbalance."""
        now = self.env.now
        ready = [lane.ready_s + (now - lane.since_s if lane.state == READY else 0.0)
                 for lane in self.lanes]
        return {"sessions_opened": self.opened, "sessions_moved": self.moved,
                "sessions_lost": self.lost, "session_warmups": self.warmups,
                "session_warmup_s": self.warmups * self.warmup_s,
                "replica_imbalance": imbalance([lane.busy_s for lane in self.lanes], ready)}

    # --- placement -----------------------------------------------------------
    def _least_loaded(self, exclude: Lane | None = None) -> Lane:
        ready = [lane for lane in self.lanes if lane.state == READY and lane is not exclude]
        pool = ready or [lane for lane in self.lanes if lane.state == STARTING]
        return min(pool, key=lambda lane: (len(lane.sessions), lane.index))

    def _place(self, sid: int) -> Lane:
        lane = self._least_loaded()
        lane.sessions.add(sid)
        self.home[sid] = lane
        return lane

    def _move_away(self, lane: Lane) -> None:
        """``lane`` stops serving: its open sessions move (or are lost), its queue follows."""
        for sid in sorted(lane.sessions):
            self._move(sid, lane, None)
        lane.sessions.clear()
        for call in lane.batcher.drain():
            call.alive = True
            self.submit(call)

    def _move(self, sid: int, old: Lane, new: Lane | None) -> None:
        old.sessions.discard(sid)
        if self.rebuild:
            new = new or self._least_loaded(exclude=old)
            new.sessions.add(sid)
            self.home[sid] = new
            self.cold.add(sid)
            self.moved += 1
        else:
            del self.home[sid]
            self.cold.discard(sid)
            self.lost += 1

    # --- queue ---------------------------------------------------------------
    def submit(self, call: Call) -> None:
        """Queue a call on its session's replica (a new session is placed first)."""
        rid = call.owner.id
        sid = self.session_of[rid]
        lane = self.home.get(sid)
        if lane is None or lane.state in (RETIRING, GONE):
            self.opened += lane is None
            lane = self._place(sid)
        if self.last[rid] and sid in lane.sessions:   # its last request: no longer open
            lane.sessions.discard(sid)
        call.lane = lane
        lane.batcher.add(call)
        if lane.state == READY and lane.serving is None:
            self._dispatch(lane)

    def cancel(self, call: Call) -> None:
        """Drop a queued call (its replica's batcher skips it)."""
        if call.lane is not None:
            call.lane.batcher.cancel(call)

    def drain(self) -> list[Call]:
        """Remove and return every live queued call, from every replica."""
        return [call for lane in self.lanes for call in lane.batcher.drain()]

    def _dispatch(self, lane: Lane) -> None:
        batcher = lane.batcher
        if lane.state == READY and lane.serving is None and batcher.live:
            batch = batcher.take()
            if batch is not None:
                self._start(lane, batch)

    def _start(self, lane: Lane, batch: list[Call]) -> None:
        self._advance()
        self.busy += 1
        now = self.env.now
        b = len(batch)
        work = self.service_s * batch[0].factor * (1.0 + self.per_item * (b - 1))
        cold = [c for c in batch if self.session_of[c.owner.id] in self.cold]
        for call in cold:
            self.cold.discard(self.session_of[call.owner.id])
        if cold:
            self.warmups += len(cold)
            work += self.warmup_s * len(cold)
        end = self.speed.finish_s(now, work)
        record = Batch(batch)
        for call in batch:
            call.start_s = now
            call.batch_size = b
            call.work_s = work / b
            call.batch = record
            self.wait_sum_s += now - call.enq_s
        self.served += b
        lane.serving, lane.started_s = record, now
        self.env.timeout(end - now).callbacks.append(partial(self._finish, lane, record))

    def _release(self, lane: Lane) -> None:
        self._advance()
        self.busy -= 1
        lane.busy_s += self.env.now - lane.started_s
        lane.serving = None
        if lane.state == RETIRING:
            self._gone(lane)

    def _gone(self, lane: Lane) -> None:
        if lane.state == READY:
            lane.ready_s += self.env.now - lane.since_s
        lane.state = GONE
        self.ready -= 1

    def _finish(self, lane: Lane, record: Batch, _event: object = None) -> None:
        if record.aborted:
            return
        self._release(lane)
        now = self.env.now
        for call in record.calls:
            call.end_s = now
        self.on_done(record.calls, now)
        self._dispatch(lane)

    def abort(self, call: Call) -> bool:
        """Stop serving ``call``'s batch if every call in it was abandoned; True if stopped."""
        record, lane = call.batch, call.lane
        if (record is None or lane is None or record.aborted or lane.serving is not record
                or not all(c.closed for c in record.calls)):
            return False
        record.aborted = True
        self._release(lane)
        now = self.env.now
        for c in record.calls:
            c.end_s = now
        self._dispatch(lane)
        return True

    # --- scaling and loss ----------------------------------------------------
    def add_replicas(self, count: int, cold_start_s: float) -> None:
        """Start ``count`` replicas; each serves after ``cold_start_s`` and costs from now."""
        self._advance()
        lanes = [self._new_lane(STARTING) for _ in range(count)]
        self.starting += count
        self.env.timeout(cold_start_s).callbacks.append(partial(self._warm_lanes, lanes))

    def _warm_lanes(self, lanes: list[Lane], _event: object = None) -> None:
        self._advance()
        now = self.env.now
        self.starting -= len(lanes)
        self.ready += len(lanes)
        for lane in lanes:
            lane.state, lane.since_s = READY, now
        for lane in lanes if self.rebuild else ():   # a fair share from the fullest
            share = sum(len(x.sessions) for x in self.lanes) // max(self.ready, 1)
            while len(lane.sessions) < share:
                full = max((x for x in self.lanes if x.state == READY and x is not lane),
                           key=lambda x: (len(x.sessions), -x.index))
                if len(full.sessions) <= share:
                    break
                sid = max(full.sessions)
                self._move(sid, full, lane)
        for lane in self.lanes:
            self._dispatch(lane)

    def remove_replicas(self, count: int, keep_ready: int = 1) -> None:
        """Retire up to ``count`` ready replicas, keeping ``keep_ready``: idle ones at once,
        busy ones after their batch; their sessions move (or are lost) at once."""
        self._advance()
        ready = [lane for lane in self.lanes if lane.state == READY]
        count = max(0, min(count, len(ready) - max(1, keep_ready)))
        order = sorted(ready, key=lambda x: (x.serving is not None, -x.index))
        for lane in order[:count]:
            if lane.serving is None:
                self._gone(lane)
            else:
                lane.ready_s += self.env.now - lane.since_s
                lane.state = RETIRING
            self._move_away(lane)

    def lose_replica(self) -> None:
        """A replica crashes (the lowest-numbered ready one, if another stays ready): its
        sessions move (or are lost) and its queued and in-service calls start again."""
        ready = [lane for lane in self.lanes if lane.state == READY]
        if len(ready) < 2:
            return
        lane = ready[0]
        self._advance()
        record = lane.serving
        if record is not None:
            record.aborted = True
            self.busy -= 1
            lane.busy_s += self.env.now - lane.started_s
            lane.serving = None
        self._gone(lane)
        self._move_away(lane)
        for call in record.calls if record is not None else ():
            if not call.closed:
                call.start_s, call.batch, call.batch_size = -1.0, None, 0
                self.submit(call)
