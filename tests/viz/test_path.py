"""Request-path Sankey: flows come from the records and conserve requests at every node."""

from __future__ import annotations

from collections import Counter

import numpy as np

from labkit.viz.colors import OUTCOME_COLORS, rgba
from labkit.viz.path import NODES, path_figure, path_flows


def _in_out(flows):
    into, out = Counter(), Counter()
    for (src, dst, _), n in flows.items():
        out[src] += n
        into[dst] += n
    return into, out


def test_flows_end_in_the_summary_outcome_counts(reference_run):
    into, out = _in_out(path_flows(reference_run))
    for outcome, count in reference_run.summary["outcomes"].items():
        assert into[outcome] == count
    assert out["gateway"] == reference_run.summary["requests"]


def test_every_stage_passes_on_what_it_receives(reference_run):
    into, out = _in_out(path_flows(reference_run))
    for stage in NODES[1:-4]:            # stages between the gateway and the outcomes
        assert into[stage] == out[stage], stage


def test_retry_band_counts_requests_that_retried(reference_run):
    into, _ = _in_out(path_flows(reference_run))
    retried = int(((reference_run.records["path"] & 128) > 0).sum())
    assert retried > 0 and into["retries"] == retried


def test_no_cache_no_cache_band(default_run):
    flows = path_flows(default_run)
    assert not any("cache" in (src, dst) for src, dst, _ in flows)


def test_links_take_the_colour_of_their_outcome(reference_run):
    fig = path_figure(reference_run)
    link = fig.data[0].link
    assert len(link.source) == len(path_flows(reference_run))
    for color, custom in zip(link.color, link.customdata):
        assert color == rgba(OUTCOME_COLORS[custom[2]], 0.45)
    labels = list(fig.data[0].node.label)
    ok = reference_run.summary["outcomes"]["ok"]
    assert f"ok {ok:,}" in labels
    assert int(np.sum(link.value)) >= reference_run.summary["requests"]
