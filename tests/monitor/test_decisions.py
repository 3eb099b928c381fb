"""The reference window and the fallback's review rules."""

from __future__ import annotations

import math

import numpy as np

from labkit.monitor.config import MonitorConfig
from labkit.monitor.decisions import build_reference, fallback_review, score_reference
from labkit.monitor.model import train_model
from labkit.monitor.run import STREAMS
from labkit.monitor.world import generate_stream, offline_sample
from labkit.streams import Streams


def _world():
    cfg = MonitorConfig.from_knobs({"stream.weeks": 1})
    rng = Streams(2, STREAMS)
    return cfg, generate_stream(cfg, rng), rng


def test_reference_ranges_leave_one_percent_out() -> None:
    cfg, world, _ = _world()
    ref = build_reference(world, cfg.reference_h, 10)
    n_ref = int(world.starts[cfg.reference_h])
    amounts = world.amount[:n_ref]
    ok = amounts[~np.isnan(amounts)]
    out = np.mean((ok < ref.ranges[0, 0]) | (ok > ref.ranges[0, 1]))
    assert abs(out - 0.01) < 0.002
    assert ref.hist.shape == (3, 11) and ref.known_categories[:6].all()
    assert not ref.known_categories[6]          # crypto never seen in the reference
    assert ref.hist[0].sum() == n_ref


def test_score_reference_is_deciles() -> None:
    cfg, world, rng = _world()
    model = train_model(offline_sample(rng["offline"], 20_000, 0.03), version=1,
                        data_snapshot="s", trained_at_h=0)
    sref = score_reference(model, world, cfg.reference_h, 10)
    assert np.allclose(sref.shares, 0.1, atol=0.002)


def test_fallback_modes() -> None:
    cfg, world, _ = _world()
    ref = build_reference(world, cfg.reference_h, 10)
    sl = slice(0, world.size)
    rules = fallback_review(world, ref, sl, "rules_review")
    # three 95th-percentile rules on near-independent inputs: about 1 - 0.95^3 = 14%
    assert abs(rules.mean() - (1 - 0.95 ** 3)) < 0.03
    assert fallback_review(world, ref, sl, "review_all").all()
    assert not fallback_review(world, ref, sl, "allow_all").any()
    assert math.isclose(rules.size, world.size)
