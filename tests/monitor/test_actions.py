"""Release mechanics and the review queue of a shutdown."""

from __future__ import annotations

import numpy as np

from labkit.monitor.actions import Candidate, labelled_window, review_backlog, train_candidate
from labkit.monitor.config import MonitorConfig
from labkit.monitor.model import train_model
from labkit.monitor.run import STREAMS
from labkit.monitor.world import generate_stream, offline_sample
from labkit.streams import Streams


def test_review_backlog_is_a_first_come_first_served_queue() -> None:
    backlog, wait = review_backlog(np.array([5, 20, 0, 12, 0]), 10)
    assert backlog.tolist() == [0, 10, 0, 2, 0]
    assert wait.tolist() == [0, 1.0, 0, 0.2, 0]
    stuck, wait = review_backlog(np.array([0, 3]), 0)
    assert stuck.tolist() == [0, 3] and wait.tolist() == [0, np.inf]


def _setup(knobs: dict):
    cfg = MonitorConfig.from_knobs({"stream.weeks": 2, **knobs})
    rng = Streams(0, STREAMS)
    world = generate_stream(cfg, rng)
    v1 = train_model(offline_sample(rng["offline"], 20_000, 0.03), version=1,
                     data_snapshot="offline", trained_at_h=0)
    return cfg, world, v1


def test_candidate_trains_on_labelled_data_only_and_holds_out_the_newest() -> None:
    cfg, world, v1 = _setup({"labels.delay_h": 48, "retrain.train_days": 3,
                             "retrain.holdout_days": 1})
    cand = train_candidate(world, cfg, at_h=200, version=2, current=v1, threshold=0.2)
    assert isinstance(cand, Candidate)
    # labels known up to hour 152; holdout 129-152; training 57-128
    assert cand.holdout == (129, 152)
    assert cand.model.data_snapshot == "tx-h0057-h0128"
    assert cand.model.n_train == labelled_window(world, 57, 128)["label"].size
    assert cand.passed == (cand.cost_candidate <= cand.cost_current)
    assert cand.detail()["holdout_h"] == [129, 152]


def test_retuned_threshold_comes_from_the_costs() -> None:
    cfg, world, v1 = _setup({"retrain.retune_threshold": True})
    cand = train_candidate(world, cfg, at_h=300, version=2, current=v1, threshold=0.2)
    assert isinstance(cand, Candidate)
    # calibrated scores: the cost-optimal cut is near 10 / (10 + 150)
    assert 0.02 < cand.threshold < 0.15


def test_candidate_is_skipped_without_enough_labels() -> None:
    cfg, world, v1 = _setup({"labels.delay_h": 72})
    why = train_candidate(world, cfg, at_h=100, version=2, current=v1, threshold=0.2)
    assert why == "not enough labelled data: labels reach hour 28, need 72 labelled hours"
