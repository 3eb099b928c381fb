"""The guardrail and the write boundary, on scripted uniform draws."""
from __future__ import annotations

import math

import numpy as np
import pytest
import simpy

from labkit.sim.actions import Guardrail, WriteBoundary
from labkit.sim.codes import DEGRADED, OK, Path
from labkit.sim.config import BoundaryConfig, GuardrailConfig
from labkit.sim.load import Workload
from labkit.sim.recorder import Recorder
from labkit.sim.request import Request


def draws(*values):
    it = iter(values)
    return lambda: next(it)


def req(i=0, write=False):
    return Request(i, prompt=i, write=write, deadline=math.inf)


@pytest.mark.parametrize("enabled, u_harm, v, harm, blocked, delivered", [
    (True, 0.001, 0.6, 0.8, True, False),     # harmful, 0.5 + 0.5 x 0.6 >= 0.7: blocked
    (True, 0.001, 0.2, 0.6, False, True),     # harmful but scored below: delivered
    (True, 0.5, 0.99, 0.7425, True, False),   # harmless, 0.75 x 0.99 >= 0.7: false block
    (False, 0.001, 0.6, 0.8, False, True),    # off: nothing is blocked
])
def test_guardrail_scores_and_blocks_at_the_threshold(enabled, u_harm, v, harm, blocked,
                                                      delivered):
    g = Guardrail(GuardrailConfig(enabled=enabled, threshold=0.7, harmful_rate=0.01),
                  draws(u_harm, v))
    r = req()
    assert g.blocks(r) is blocked
    assert r.harm == pytest.approx(harm) and r.harmful is delivered


def boundary(policy, *, uniform, reviewers=1, review_s=2.0):
    env = simpy.Environment()
    n = 3
    rec = Recorder(Workload(arrival_s=np.zeros(n), prompt=np.arange(n), valid=np.ones(n, bool),
                            write=np.ones(n, bool), service_u=np.zeros(n), error_u=np.zeros(n)))
    b = WriteBoundary(env, BoundaryConfig(policy=policy, wrong_write_rate=0.1,
                                          reviewers=reviewers, review_s=review_s),
                      review_factors=[1.0] * n, uniform=uniform, recorder=rec)
    return env, b, rec


def test_without_approval_a_wrong_write_executes_unauthorised():
    env, b, rec = boundary("none", uniform=draws(0.05, 0.5))
    wrong, right = req(0, write=True), req(1, write=True)
    b.answer(wrong, OK, 1.0)
    b.answer(right, OK, 1.0)
    assert wrong.unauthorised and not right.unauthorised
    assert wrong.done and wrong.end == 1.0


def test_with_approval_writes_wait_for_a_reviewer_and_none_executes_unreviewed():
    env, b, rec = boundary("approval", uniform=draws(0.05, 0.5), reviewers=1, review_s=2.0)
    first, second = req(0, write=True), req(1, write=True)
    b.answer(first, OK, 0.0)
    b.answer(second, OK, 0.0)
    env.run()
    assert first.path & Path.REVIEW and not first.unauthorised
    assert first.review_wait == 0.0 and second.review_wait == 2.0   # one reviewer, 2 s each
    assert first.end == 0.0          # the answer is given; the write waits for review


def test_reads_and_degraded_answers_skip_the_boundary():
    env, b, rec = boundary("approval", uniform=draws())               # no draw at all
    read, degraded = req(0), req(1, write=True)
    b.answer(read, OK, 1.0)
    b.answer(degraded, DEGRADED, 1.0)
    env.run()
    assert not read.path & Path.REVIEW and not degraded.path & Path.REVIEW
    assert math.isnan(read.review_wait) and degraded.outcome == DEGRADED
