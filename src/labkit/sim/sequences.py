"""A sequence in token mode, and one replica's run of decode iterations.

A :class:`Seq` is one model call's sequence: prompt and output lengths, the
tokens it has produced, and where it runs.  Its token count is never updated
token by token: it is ``gen`` when it joined the replica's decode plus the
iterations the replica has done since (``it - it_join``).  A
:class:`TokenReplica` holds one replica's running sequences (newest last, for
preemption), the heap of the iterations at which they finish, and the run of
decode iterations it is in, whose boundaries have a closed form.  The
scheduling itself is :class:`~labkit.sim.tokenpool.TokenPool`'s.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from labkit.sim.replicas import Call, SpeedProfile

__all__ = ["IDLE", "PREFILL", "DECODE", "Seq", "TokenReplica"]

#: What a replica is doing.
IDLE, PREFILL, DECODE = 0, 1, 2


class Seq:
    """One call's sequence: its lengths, tokens so far and where it runs.

    ``gen`` is the tokens produced when it last joined a replica's decode
    (``it_join``: that replica's iteration count then, -1 when not decoding);
    it finishes at iteration ``finish_it``.  ``share`` is the prompt tokens it
    shares with the replica's resident prefix, ``skip`` the prompt tokens its
    latest prefill did not compute.
    """

    __slots__ = ("call", "uid", "prompt", "out", "gen", "it_join", "finish_it", "first_s",
                 "last_s", "alive", "rep", "booked", "share", "skip", "hit", "share0",
                 "preemptions", "model")

    def __init__(self, call: Call, uid: int, prompt: int, out: int):
        self.call, self.uid, self.prompt, self.out = call, uid, prompt, out
        self.gen = 0
        self.it_join = -1
        self.finish_it = -1
        self.first_s = -1.0     # when its first token came out
        self.last_s = -1.0      # when its last token came out
        self.alive = True       # False once cancelled or abandoned
        self.rep: TokenReplica | None = None
        self.booked = 0         # reserve: KV tokens booked for it
        self.share = 0
        self.skip = 0
        self.hit = False        # its first prefill found the prefix resident
        self.share0 = 0.0       # the replica's share clock when it was admitted
        self.preemptions = 0
        self.model = 0          # which model serves it (labkit.sim.router; 0: no router)

    @property
    def tpot_s(self) -> float:
        """Mean gap between its later tokens (NaN for a one-token answer)."""
        return (self.last_s - self.first_s) / (self.out - 1) if self.out > 1 else math.nan


class TokenReplica:
    """One replica's running sequences and the run of decode iterations it is in.

    A run starts at ``t0`` with ``b0`` sequences holding ``ctx0`` tokens of context; its
    i-th iteration reads ``ctx0 + b0 x i`` tokens, so the work of its first i iterations,
    and so the time of every boundary, has a closed form (:meth:`work`,
    :meth:`next_boundary`).
    """

    __slots__ = ("running", "heap", "it", "ctx", "mem", "reserved", "phase", "version",
                 "t0", "ctx0", "b0", "plan", "cut", "draining", "prefix", "prefilling",
                 "share", "kv_level", "kv_t", "dead", "weight", "mix_left", "chunk", "pf_s")

    def __init__(self, now: float):
        self.running: dict[int, Seq] = {}   # insertion order: the newest is last
        self.heap: list[tuple[int, int, Seq]] = []   # (finish iteration, uid, seq)
        self.it = 0           # decode iterations done
        self.ctx = 0          # KV tokens read by one iteration (every running sequence)
        self.mem = 0          # paged: KV tokens held by running sequences
        self.reserved = 0     # reserve: KV tokens booked
        self.phase = IDLE
        self.version = 0      # bumps when a planned run is replaced
        self.t0 = now         # start of the current decode run
        self.ctx0 = 0
        self.b0 = 0
        self.plan = 0         # iterations planned in the current run
        self.cut = False      # a cut is scheduled (do not cut again)
        self.draining = False
        self.prefix = False   # the shared prefix's KV is resident
        self.prefilling: list[Seq] = []
        self.share = 0.0      # replica time per sequence held, integrated
        self.kv_level = 0.0
        self.kv_t = now
        self.dead: list[Seq] = []
        self.weight = 0.0     # share of its capacity in use (utilisation, autoscaling)
        self.mix_left = 0     # chunked prefill: prompt tokens still to prefill at t0
        self.chunk = 0        # ... tokens prefilled per mixed iteration
        self.pf_s = 0.0       # ... seconds of prefill compute per token

    def work(self, i: int, step_s: float, kv_s: float) -> float:
        """Full-speed seconds of the first ``i`` iterations of the current run.

        With a chunked prefill in progress (``mix_left`` tokens), iteration j also
        prefills a chunk of ``chunk`` tokens (the last one what is left) and takes the
        longer of its decode read, a + b j, and its chunk's compute, P (roofline: the
        decode rides along with the prefill's compute).
        """
        if not self.mix_left:
            return i * (step_s + kv_s * self.ctx0) + kv_s * self.b0 * i * (i - 1) / 2.0
        a, b = step_s + kv_s * self.ctx0, kv_s * self.b0
        full, rem = divmod(self.mix_left, self.chunk)
        p = self.pf_s * self.chunk
        n = min(i, full)
        if b > 0:
            j0 = max(0, math.ceil((p - a) / b))
        else:
            j0 = 0 if a >= p else n
        j0 = min(j0, n)
        total = p * j0 + (n - j0) * a + b * (n - j0) * (j0 + n - 1) / 2.0
        if i > full and rem:
            total += max(a + b * full, self.pf_s * rem)
        return total

    def mix_iterations(self) -> int:
        """Mixed iterations the chunked prefill in progress still needs."""
        return -(-self.mix_left // self.chunk)

    def next_boundary(self, now: float, speed: SpeedProfile, step_s: float,
                      kv_s: float) -> tuple[int, float]:
        """The first iteration boundary of the current run at or after ``now``: (index, time)."""
        done = speed.work_done(self.t0, now)
        a, b = step_s + kv_s * self.ctx0, kv_s * self.b0
        # smallest i with work(i) >= done: b/2 i^2 + (a - b/2) i - done >= 0
        if b > 0:
            lin = a - b / 2.0
            i = math.ceil((-lin + math.sqrt(lin * lin + 2.0 * b * done)) / b - 1e-9)
        else:
            i = math.ceil(done / a - 1e-9) if a > 0 else 0
        i = min(max(0, i), self.plan)
        while i > 0 and self.work(i - 1, step_s, kv_s) >= done:
            i -= 1
        while i < self.plan and self.work(i, step_s, kv_s) < done - 1e-12:
            i += 1
        return i, max(now, speed.finish_s(self.t0, self.work(i, step_s, kv_s)))

    def remove(self, seq: Seq) -> None:
        """Take a running sequence off, freeing its KV; it keeps the tokens it produced."""
        seq.call.work_s += self.share - seq.share0
        grown = self.it - seq.it_join
        del self.running[seq.uid]
        self.ctx -= seq.prompt + seq.gen + grown
        self.mem -= seq.prompt - seq.share + seq.gen + grown
        self.reserved -= seq.booked
        seq.gen += grown
        seq.it_join = -1

    def kv_tokens(self, paged: bool, prefix_len: int) -> float:
        """KV tokens in use at the last boundary (the resident prefix included)."""
        return float((self.mem if paged else self.reserved) + (prefix_len if self.prefix else 0))
