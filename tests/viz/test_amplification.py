"""Retry amplification: the curve agrees with the summary and with the closed form."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.viz.amplification import amplification_figure


def test_overall_amplification_matches_summary_and_theory(retry_run):
    fig = amplification_figure(retry_run)
    bars, line, one = fig.data
    width = float(bars.x[1] - bars.x[0])
    from labkit.viz.common import series

    ts = series(retry_run)
    calls, retries = ts["model_calls"].sum(), ts["retries"].sum()
    amp = retry_run.summary["amplification"]
    assert calls / (calls - retries) == pytest.approx(amp, rel=1e-12)
    # Independent failures with probability f and n attempts cost (1 - f^n) / (1 - f)
    # calls per request: 1.5 for f = 0.5, n = 2.  Attempts per request are 1 or 2 with
    # equal odds (sd 0.5), so over ~2,400 requests the standard error is ~0.01: 0.05 is 5 SE.
    assert amp == pytest.approx((1 - 0.5 ** 2) / (1 - 0.5), abs=0.05)
    assert float(np.sum(bars.y)) * width == pytest.approx(retry_run.summary["retries"])
    assert f"{amp:.2f}× overall" in fig.layout.title.subtitle.text
    assert list(one.y) == [1.0, 1.0]


def test_without_retries_the_line_is_flat_at_one(default_run):
    line = amplification_figure(default_run).data[1]
    y = np.asarray(line.y, float)
    assert np.nanmin(y) == 1.0 and np.nanmax(y) == 1.0
