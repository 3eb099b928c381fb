"""Capacity figure: queue and replica series from the run's samples."""

from __future__ import annotations

import numpy as np

from labkit.viz.capacity import capacity_figure
from labkit.viz.common import series


def test_fixed_pool_shows_constant_provisioned_replicas(default_run):
    fig = capacity_figure(default_run)
    names = [t.name for t in fig.data]
    assert names == ["queue length", "provisioned replicas", "ready replicas", "busy replicas"]
    provisioned = np.asarray(fig.data[1].y, float)
    busy = np.asarray(fig.data[3].y, float)
    assert set(provisioned) == {4.0}                       # model.replicas, no autoscaling
    assert (busy <= provisioned).all() and (busy >= 0).all()
    assert (np.asarray(fig.data[0].y, float) >= 0).all()
    assert fig.layout.yaxis.title.text == "queue length (requests)"
    assert fig.layout.yaxis2.title.text == "replicas"
    assert fig.layout.yaxis2.range[1] >= 4.0


def test_autoscaling_moves_the_provisioned_line_within_its_bounds(reference_run):
    fig = capacity_figure(reference_run)
    provisioned = np.asarray(fig.data[1].y, float)
    auto = reference_run.scenario.autoscale
    assert provisioned.min() >= auto.min_replicas and provisioned.max() <= auto.max_replicas
    assert provisioned.max() > provisioned.min()           # the spike made it scale
    np.testing.assert_array_equal(provisioned, series(reference_run)["replicas"])
    s = reference_run.summary
    assert f"utilisation {100 * s['utilisation']:.0f}%" in fig.layout.title.subtitle.text
