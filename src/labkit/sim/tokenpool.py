"""Token mode's replicas: iteration-level scheduling of prefill and decode.

Each replica runs *iterations* (Orca, OSDI 2022; vLLM, SOSP 2023).  A
*prefill* iteration reads the prompts of the sequences just admitted and
gives each its first token; running sequences wait while it runs (prefill is
scheduled in iterations of its own, ahead of decode, as vLLM's default
scheduler did before chunked prefill).  A *decode* iteration gives every
running sequence one more token and takes ``step + kv x context`` seconds
(:class:`~labkit.sim.tokens.TokenModel`).  With ``llm.chunked_prefill_tokens``
(chunked prefill, Sarathi-Serve), a replica already decoding prefills the
admitted prompts that many tokens per iteration instead, mixed into its decode
iterations, each taking the longer of its decode read and its chunk's compute;
the new sequences join the decode when their last chunk is done, and nothing
else is admitted meanwhile.

With ``continuous`` scheduling, waiting sequences join at the next iteration
boundary when a slot (``llm.max_batch_seqs``) and KV memory are free; with
``static`` a replica takes a batch only when it is empty and runs it until
its last sequence finishes (it prefills the whole batch at once).  A
continuous prefill computes at most ``llm.max_prefill_tokens`` tokens (a
longer prompt alone).  KV admission ``reserve`` books prompt + output tokens
when a sequence starts; ``paged`` books tokens as they are written and, when
the next iteration would not fit, preempts the newest sequence, whose KV is
dropped and recomputed by a later prefill.

**Cost: one event per run of identical iterations.**  Between two changes (a
sequence finishes, memory runs out, a sequence is waiting to join, a call is
abandoned) decode iterations differ only by their growing context, so the
time of the i-th boundary has a closed form (:meth:`TokenReplica.work`) and the
whole run is one event at its end.  A change in the middle cuts the run at
the next iteration boundary (:meth:`TokenPool._cut`).  Nothing is ever done
per token per sequence: a sequence's token count is ``tokens at join +
iterations since``.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from labkit.sim.accounting import Accounting
from labkit.sim.replicas import Call, SpeedProfile
from labkit.sim.sequences import DECODE, IDLE, PREFILL, Seq, TokenReplica

if TYPE_CHECKING:
    import simpy

    from labkit.sim.config import LLMConfig
    from labkit.sim.tokens import TokenModel

__all__ = ["TokenPool", "Seq"]

class TokenPool(Accounting):
    """Replicas serving sequences token by token, behind one FIFO queue.

    The interface is :class:`~labkit.sim.replicas.ReplicaPool`'s (``submit``,
    ``cancel``, ``abort``, ``drain``, scaling, utilisation), so the engine,
    the autoscaler, the kill switch and the recorder use either.  A finished
    call goes to ``on_done([call], now)``; its :class:`~labkit.sim.sequences.Seq` (``call.seq``)
    holds the token counts and first-token time.

    ``busy`` counts the replicas doing anything (the drain check and the
    capacity chart), but the busy integral behind ``utilisation`` and the
    autoscaler weighs each replica by the capacity it uses: all of it while
    prefilling, while decoding the fuller of its slots and its KV memory, since
    a bandwidth-bound iteration costs about the same however few sequences
    share it (:meth:`_reweigh`).
    """

    def __init__(self, env: simpy.Environment, *, replicas: int, model: TokenModel,
                 llm: LLMConfig, prompt_tokens: list[int], output_tokens: list[int],
                 shared_prefix: int, on_done: Callable[[list[Call], float], None],
                 speed: SpeedProfile | None = None, model_code: int = 0):
        super().__init__(env, replicas)
        self.model_code = model_code   # the router's code of the model served (0: none)
        self.model = model
        self.step_s, self.kv_s = model.step_s, model.kv_s_per_token
        self.capacity = model.kv_capacity
        self.max_seqs = llm.max_batch_seqs
        self.max_prefill = llm.max_prefill_tokens
        self.chunk = llm.chunked_prefill_tokens   # 0: whole prefills, the decode waits
        self.static = llm.scheduler == "static"
        self.paged = llm.kv_admission == "paged"
        self.prefix_len = shared_prefix if llm.prefix_cache else 0
        self.prompt_tokens, self.output_tokens = prompt_tokens, output_tokens
        self.on_done = on_done
        self.speed = speed or SpeedProfile()
        self.waiting: deque[Seq] = deque()
        self.live = 0
        self.reps = [TokenReplica(0.0) for _ in range(replicas)]
        self.draining = 0
        self.load = 0.0              # the replicas' weighed load (see _reweigh)
        self.batcher = None          # no dynamic batcher in token mode
        # token totals
        self.tokens_out = 0          # every output token produced (wasted work included)
        self.decode_iters = 0
        self.seq_iters = 0           # sum over decode iterations of the sequences in them
        self.kv_token_s = 0.0        # integral of KV tokens in use over time, all replicas
        self.preemptions = 0
        self.prefills = 0            # first prefills (the prefix hit ratio's denominator)
        self.prefix_hits = 0
        self._uid = 0

    # --- the ReplicaPool interface (counts and integrals: Accounting) ------------------
    @property
    def queued(self) -> int:
        """Sequences waiting to start (not cancelled)."""
        return self.live

    def _load(self) -> float:
        """The busy integral weighs each replica by the capacity it uses (:meth:`_reweigh`)."""
        return self.load

    def submit(self, call: Call) -> None:
        """Queue a call; an idle replica starts it now, a running one at its next iteration."""
        rid = call.owner.id
        self._uid += 1
        seq = call.seq = Seq(call, self._uid, self.prompt_tokens[rid], self.output_tokens[rid])
        seq.model = self.model_code
        self.waiting.append(seq)
        self.live += 1
        self._wake()

    def cancel(self, call: Call) -> None:
        """Drop a queued call; no effect once it started."""
        seq = call.seq
        if seq is not None and seq.alive and seq.rep is None:
            seq.alive = False
            self.live -= 1

    def drain(self) -> list[Call]:
        """Remove and return every live queued call."""
        calls = [s.call for s in self.waiting if s.alive]
        for s in self.waiting:
            s.alive = False
        self.waiting.clear()
        self.live = 0
        return calls

    def abort(self, call: Call) -> bool:
        """Stop a started call: its slot and KV are freed at the next iteration boundary."""
        seq = call.seq
        if seq is None or not seq.alive:
            return False
        seq.alive = False
        call.end_s = self.env.now
        rep = seq.rep
        if rep is None:          # preempted and waiting again: it is skipped
            self.live -= 1
        elif seq.it_join >= 0:   # decoding: off at the next boundary
            rep.dead.append(seq)
            if rep.phase == DECODE:
                self._cut(rep)
        return True              # a prefilling sequence is dropped when its prefill ends

    # --- scaling (add_replicas: Accounting) ----------------------------------------------
    def _warm(self, count: int, _event: object = None) -> None:
        self._advance()
        self.starting -= count
        self.ready += count
        now = self.env.now
        self.reps.extend(TokenReplica(now) for _ in range(count))
        self._wake()

    def remove_replicas(self, count: int, keep_ready: int = 1) -> None:
        """Retire up to ``count`` ready replicas, keeping ``keep_ready``: idle ones at once,
        busy ones once their last sequence finishes (they admit no new one)."""
        self._advance()
        count = max(0, min(count, self.ready - self.draining - max(1, keep_ready)))
        for rep in [r for r in self.reps if r.phase == IDLE and not r.draining][:count]:
            self.reps.remove(rep)
            self.ready -= 1
            count -= 1
        for rep in self.reps:
            if count <= 0:
                break
            if not rep.draining:
                rep.draining = True
                self.draining += 1
                count -= 1

    def lose_replica(self) -> None:
        """A replica crashes, if another stays ready: an idle one if any, else the first busy
        one.  Its sequences lose their KV and queue again at the head, oldest first, keeping
        the tokens they had at the last iteration boundary (a later prefill recomputes them,
        as after a preemption); the iterations of the run it was in are lost."""
        if self.ready - self.draining < 2:
            return
        self._advance()
        reps = [r for r in self.reps if not r.draining]
        rep = next((r for r in reps if r.phase == IDLE), reps[0])
        now = self.env.now
        self._kv_mark(rep, now)
        rep.version += 1          # its planned run or prefill never ends
        back: list[Seq] = []
        for seq in list(rep.running.values()):
            rep.remove(seq)
            back.append(seq)
        for seq in rep.prefilling:
            seq.call.work_s += rep.share - seq.share0
            back.append(seq)
        rep.prefilling = []
        for seq in rep.dead:
            seq.rep = None
        rep.dead.clear()
        back.sort(key=lambda q: q.uid)
        for seq in reversed(back):
            seq.rep = None
            if seq.alive:
                seq.preemptions += 1
                self.preemptions += 1
                self.waiting.appendleft(seq)
                self.live += 1
        self._set_phase(rep, IDLE)
        self.load -= rep.weight
        rep.weight = 0.0
        self.reps.remove(rep)
        self.ready -= 1
        self._wake()

    # --- scheduling ------------------------------------------------------------------------
    def _wake(self) -> None:
        """Start idle replicas on the queue; ask a running one to take the head next."""
        for rep in self.reps:
            if not self.live:
                return
            if rep.phase == IDLE and not rep.draining:
                self._replan(rep)
        if not self.live or self.static:
            return
        head = self._head()
        best, best_t = None, math.inf
        for rep in self.reps:
            if (rep.phase == DECODE and not rep.cut and not rep.draining and not rep.mix_left
                    and self._room(rep, head, len(rep.running))):
                t = rep.next_boundary(self.env.now, self.speed, self.step_s, self.kv_s)[1]
                if t < best_t:
                    best, best_t = rep, t
        if best is not None:
            self._cut(best)

    def _head(self) -> Seq:
        waiting = self.waiting
        while not waiting[0].alive:
            waiting.popleft()
        return waiting[0]

    def _room(self, rep: TokenReplica, seq: Seq, seqs: int, extra: int = 0) -> bool:
        """Whether ``seq`` fits next to ``seqs`` sequences and ``extra`` tokens just booked."""
        if seqs >= self.max_seqs:
            return False
        prefix = self.prefix_len   # pinned once computed, so counted whether or not it is yet
        share = min(prefix, seq.prompt)
        if self.paged:
            return rep.mem + extra + prefix + seq.prompt - share + seq.gen + 1 <= self.capacity
        return rep.reserved + extra + prefix + seq.prompt - share + seq.out <= self.capacity

    def _cut(self, rep: TokenReplica) -> None:
        """End the current decode run at its next iteration boundary, to re-plan there."""
        if rep.cut:
            return
        i, t = rep.next_boundary(self.env.now, self.speed, self.step_s, self.kv_s)
        rep.cut = True
        if i >= rep.plan:
            return   # the run ends there anyway
        rep.plan = i
        rep.version += 1
        self.env.timeout(t - self.env.now).callbacks.append(
            partial(self._run_end, rep, rep.version))

    def _run_end(self, rep: TokenReplica, version: int, _event: object = None) -> None:
        if version != rep.version:
            return
        m = rep.plan
        now = self.env.now
        rep.it += m
        rep.ctx += rep.b0 * m
        rep.mem += rep.b0 * m
        produced = rep.b0 * m
        self.tokens_out += produced
        self.seq_iters += produced
        if rep.b0:   # (a chunked prefill's iterations may have no sequence decoding)
            self.decode_iters += m
            rep.share += (now - rep.t0) / rep.b0
        if rep.mix_left:   # chunked prefill: m more chunks done
            rep.mix_left -= min(rep.mix_left, m * rep.chunk)
            if not rep.mix_left:
                self._prefill_done(rep, now)
                return
        self._replan(rep)

    def _kv_mark(self, rep: TokenReplica, now: float) -> None:
        """Integrate the replica's KV use up to now (linear in between), then hold it."""
        level = rep.kv_tokens(self.paged, self.prefix_len)
        self.kv_token_s += (rep.kv_level + level) / 2.0 * (now - rep.kv_t)
        rep.kv_level, rep.kv_t = level, now

    def _set_phase(self, rep: TokenReplica, phase: int) -> None:
        if (rep.phase == IDLE) != (phase == IDLE):
            self._advance()
            self.busy += 1 if phase != IDLE else -1
        rep.phase = phase

    def _replan(self, rep: TokenReplica) -> None:
        """At an iteration boundary: finish, admit, preempt, and plan what runs next."""
        now = self.env.now
        rep.cut = False
        self._kv_mark(rep, now)
        done: list[Seq] = []
        heap = rep.heap
        while heap and heap[0][0] <= rep.it:
            _, _, seq = heapq.heappop(heap)
            if seq.alive and seq.rep is rep and seq.it_join >= 0 and seq.finish_it == rep.it:
                rep.remove(seq)
                done.append(seq)
        for seq in rep.dead:
            if seq.rep is rep and seq.it_join >= 0:
                rep.remove(seq)
                self._release(seq)
        rep.dead.clear()
        admitted = self._admit(rep) if (self.live and not rep.draining and not rep.mix_left
                                        and not (self.static and rep.running)) else []
        if admitted and self.chunk and rep.running:   # mixed into the decode iterations
            rep.mix_left = self._book(rep, admitted, now)
            rep.chunk, rep.pf_s = self.chunk, self.model.prefill_s_per_token
            self._plan_decode(rep, now)
        elif admitted:
            self._start_prefill(rep, admitted, now)
        elif rep.running or rep.mix_left:
            self._plan_decode(rep, now)
        else:
            self._set_phase(rep, IDLE)
            if rep.draining:
                rep.draining = False
                self.draining -= 1
                self._advance()
                self.reps.remove(rep)
                self.ready -= 1
        rep.kv_level = rep.kv_tokens(self.paged, self.prefix_len)
        self._reweigh(rep)
        for seq in done:
            self._finish(seq, now)

    def _reweigh(self, rep: TokenReplica) -> None:
        """Set how much of the replica's capacity is in use: all of it while it prefills
        (compute-bound), while decoding the fuller of its slots and its KV memory (a
        bandwidth-bound iteration costs about the same however few sequences share it)."""
        if rep.phase == PREFILL:
            weight = 1.0
        elif rep.phase == DECODE:
            weight = min(1.0, max(len(rep.running) / self.max_seqs,
                                  rep.kv_level / self.capacity))
        else:
            weight = 0.0
        if weight != rep.weight:
            self._advance()
            self.load += weight - rep.weight
            rep.weight = weight

    def _admit(self, rep: TokenReplica) -> list[Seq]:
        """Take waiting sequences, oldest first, while a slot and KV memory are free."""
        admitted: list[Seq] = []
        extra = budget = 0
        waiting, prefix = self.waiting, self.prefix_len
        while self.live:
            seq = self._head()
            if not self._room(rep, seq, len(rep.running) + len(admitted), extra):
                break
            # The first sequence on a replica computes the prefix the later ones reuse.
            skip = min(prefix, seq.prompt) if rep.prefix else 0
            budget += max(1, seq.prompt - skip + seq.gen)
            if admitted and budget > self.max_prefill and not self.static:
                break
            waiting.popleft()
            self.live -= 1
            seq.share = min(prefix, seq.prompt)
            seq.skip = skip
            if prefix:
                rep.prefix = True
            if self.paged:
                extra += seq.prompt - seq.share + seq.gen
            else:
                seq.booked = seq.prompt - seq.share + seq.out
                extra += seq.booked
            admitted.append(seq)
        return admitted

    def _start_prefill(self, rep: TokenReplica, admitted: list[Seq], now: float) -> None:
        tokens = self._book(rep, admitted, now)
        self._set_phase(rep, PREFILL)
        end = self.speed.finish_s(now, self.model.prefill_s(tokens))
        rep.version += 1
        self.env.timeout(end - now).callbacks.append(
            partial(self._prefill_end, rep, rep.version, now))

    def _book(self, rep: TokenReplica, admitted: list[Seq], now: float) -> int:
        """Start the admitted sequences' prefill: first-start counts, KV booked; returns the
        prompt tokens to compute."""
        tokens = 0
        for seq in admitted:
            seq.rep = rep
            call = seq.call
            if call.start_s < 0:
                call.start_s = now
                self.served += 1
                self.wait_sum_s += now - call.enq_s
                self.prefills += 1
                seq.hit = seq.skip > 0
                self.prefix_hits += seq.hit
            call.batch_size = len(rep.running) + len(admitted)
            tokens += max(1, seq.prompt - seq.skip + seq.gen)
            seq.share0 = rep.share
            if self.paged:
                rep.mem += seq.prompt - seq.share + seq.gen
            else:
                rep.reserved += seq.booked
        rep.prefilling = admitted
        return tokens

    def _prefill_end(self, rep: TokenReplica, version: int, start: float,
                     _event: object = None) -> None:
        if version == rep.version:   # (a lost replica's prefill never ends)
            self._prefill_done(rep, start)

    def _prefill_done(self, rep: TokenReplica, start: float) -> None:
        """The prefilling sequences have their first token: they join the decode."""
        now = self.env.now
        seqs, rep.prefilling = rep.prefilling, []
        rep.share += (now - start) / (len(rep.running) + len(seqs))
        self._kv_mark(rep, now)
        done: list[Seq] = []
        for seq in seqs:
            seq.call.work_s += rep.share - seq.share0
            seq.share0 = rep.share
            if not seq.alive:   # abandoned while prefilling
                if self.paged:
                    rep.mem -= seq.prompt - seq.share + seq.gen
                else:
                    rep.reserved -= seq.booked
                self._release(seq)
                continue
            seq.gen += 1
            self.tokens_out += 1
            if self.paged:
                rep.mem += 1
            if seq.first_s < 0:
                seq.first_s = now
            if seq.gen >= seq.out:
                if self.paged:
                    rep.mem -= seq.prompt - seq.share + seq.gen
                else:
                    rep.reserved -= seq.booked
                done.append(seq)
                continue
            seq.it_join = rep.it
            seq.finish_it = rep.it + seq.out - seq.gen
            rep.running[seq.uid] = seq
            rep.ctx += seq.prompt + seq.gen
            heapq.heappush(rep.heap, (seq.finish_it, seq.uid, seq))
        rep.phase = DECODE   # busy either way; _replan settles it
        for seq in done:
            seq.rep = None
        self._replan(rep)
        for seq in done:
            self._finish(seq, now)

    def _plan_decode(self, rep: TokenReplica, now: float) -> None:
        heap = rep.heap
        while heap and not (heap[0][2].alive and heap[0][2].it_join >= 0
                            and heap[0][2].finish_it == heap[0][0] and heap[0][2].rep is rep):
            heapq.heappop(heap)
        if self.paged:
            pinned = self.prefix_len if rep.prefix else 0
            while rep.running and rep.mem + pinned + len(rep.running) > self.capacity:
                self._preempt(rep)
            if not rep.running and not rep.mix_left:   # all preempted: start over
                self._set_phase(rep, IDLE)
                self._replan(rep)
                return
            while heap and heap[0][2].it_join < 0:
                heapq.heappop(heap)
        b = len(rep.running)
        plan = heap[0][0] - rep.it if b else rep.mix_iterations()
        if self.paged and b:
            pinned = self.prefix_len if rep.prefix else 0
            plan = min(plan, (self.capacity - pinned - rep.mem) // b)
        if rep.mix_left:   # a chunked prefill ends the run when its last chunk is done
            plan = min(plan, rep.mix_iterations())
        rep.t0, rep.ctx0, rep.b0, rep.plan = now, rep.ctx, b, plan
        self._set_phase(rep, DECODE)
        rep.version += 1
        end = self.speed.finish_s(now, rep.work(plan, self.step_s, self.kv_s))
        self.env.timeout(end - now).callbacks.append(partial(self._run_end, rep, rep.version))

    def _preempt(self, rep: TokenReplica) -> None:
        """Drop the newest running sequence's KV; it waits at the head of the queue."""
        seq = next(reversed(rep.running.values()))
        rep.remove(seq)
        seq.rep = None
        seq.preemptions += 1
        self.preemptions += 1
        self.waiting.appendleft(seq)
        self.live += 1

    def _release(self, seq: Seq) -> None:
        seq.rep = None

    def _finish(self, seq: Seq, now: float) -> None:
        seq.rep = None
        seq.call.end_s = seq.last_s = now
        self.on_done([seq.call], now)

    # --- what the recorder samples -------------------------------------------------------
    def snapshot(self) -> tuple[int, float, int]:
        """Running sequences, KV tokens in use and output tokens produced so far, now."""
        now = self.env.now
        running, kv, out = 0, 0.0, self.tokens_out
        for rep in self.reps:
            running += len(rep.running) + len(rep.prefilling)
            level = rep.kv_tokens(self.paged, self.prefix_len)
            if rep.phase == DECODE and rep.plan:
                i = rep.next_boundary(self.env.now, self.speed, self.step_s, self.kv_s)[0]
                if self.speed.finish_s(rep.t0, rep.work(i, self.step_s, self.kv_s)) > now:
                    i -= 1
                i = max(0, i)
                out += rep.b0 * i
                if self.paged:
                    level += rep.b0 * i
            kv += level
        return running, kv, out

    def stats(self) -> dict[str, Any]:
        """Token totals for the result."""
        return {"tokens_produced": self.tokens_out, "decode_iters": self.decode_iters,
                "seq_iters": self.seq_iters, "kv_token_s": self.kv_token_s,
                "kv_capacity": self.capacity, "preemptions": self.preemptions,
                "prefills": self.prefills, "prefix_hits": self.prefix_hits}
