"""Monitors: hourly statistics and the metrics alert rules watch.

Three families, in the order an on-call engineer should look at them:

* **inputs**: null rate per feature, share of values outside the range seen
  in the reference window, share of merchant categories never seen before,
  and PSI of each feature's distribution (missing values get a bin of their
  own) against the reference window;
* **outputs**: PSI of the score distribution, mean score, flag rate overall
  and per region, and the gap between the most and least flagged regions;
* **system health**: traffic, p95 latency, error rate, rate-limited share.

Labels arrive late, so the **label** metrics (precision, recall, fraud rate,
cost per transaction) at hour ``h`` describe the transactions of the window
ending ``labels.delay_h`` hours earlier.

Every metric is computed over a window of ``window_h`` hours ending at the
evaluation hour, by pooling hourly counts (a 6-hour null rate is nulls over
six hours divided by transactions over six hours), except latency, which is
the mean of the hourly p95 values.  Hours whose window is incomplete give NaN.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import numpy as np

from labkit.errors import MonitorError
from labkit.monitor.metrics import PSI_FLOOR
from labkit.monitor.world import CATEGORIES, NUMERIC_FEATURES, REGIONS

__all__ = ["METRICS", "LABEL_METRICS", "HourlyStats", "series", "check_metric",
           "window_sum", "psi_rows"]

LABEL_METRICS = ("label.precision", "label.recall", "label.fraud_rate", "label.cost_per_tx")
METRICS: tuple[str, ...] = (
    *(f"input.null_rate.{f}" for f in NUMERIC_FEATURES),
    *(f"input.out_of_range.{f}" for f in NUMERIC_FEATURES),
    "input.new_category_share",
    *(f"input.psi.{f}" for f in (*NUMERIC_FEATURES, "merchant_category")),
    "output.score_psi", "output.score_mean", "output.flag_rate",
    *(f"output.flag_rate.{r}" for r in REGIONS), "output.flag_rate_gap",
    "health.traffic_tx", "health.latency_p95_ms", "health.error_rate",
    "health.rate_limited_share",
    *LABEL_METRICS,
)


def check_metric(metric: str, owner: str = "metric") -> str:
    """``metric`` if it is a known metric name, else an error naming the closest one."""
    if metric in METRICS:
        return metric
    close = difflib.get_close_matches(str(metric), METRICS, n=1, cutoff=0.4)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise MonitorError(f"{owner} must be a known metric, got {metric!r}{hint}")


@dataclass
class HourlyStats:
    """Counts per hour (first axis) that every metric is derived from.

    Input counts are filled once; decision counts are rewritten from an
    hour on whenever an action changes the model, threshold or fallback.
    """

    hours: int
    bins: int
    label_delay_h: int
    n: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        h, f, b, r = self.hours, len(NUMERIC_FEATURES), self.bins, len(REGIONS)
        z = np.zeros
        self.n = z(h)
        self.nulls, self.out_of_range = z((h, f)), z((h, f))
        self.hist = z((h, f, b + 1))            # last bin: missing values
        self.cat_hist = z((h, len(CATEGORIES)))
        self.new_category = z(h)
        self.scored, self.score_sum = z(h), z(h)
        self.score_hist, self.score_expected = z((h, b)), z((h, b))
        self.flags, self.reviews = z(h), z(h)
        self.n_region, self.flags_region = z((h, r)), z((h, r))
        self.tp, self.fp, self.fn, self.tn, self.cost = z(h), z(h), z(h), z(h), z(h)
        self.latency_p95_ms, self.errors, self.rate_limited = z(h), z(h), z(h)

    def freeze(self) -> HourlyStats:
        for value in vars(self).values():
            if isinstance(value, np.ndarray):
                value.setflags(write=False)
        return self


def window_sum(x: np.ndarray, window_h: int, lag_h: int = 0) -> np.ndarray:
    """Sum of ``x`` over hours ``h-lag-window+1 .. h-lag`` for each hour ``h``.

    Hours whose window starts before hour 0 get NaN.
    """
    x = np.asarray(x, dtype=float)
    hours = x.shape[0]
    c = np.concatenate((np.zeros((1,) + x.shape[1:]), np.cumsum(x, axis=0)))
    h = np.arange(hours)
    hi, lo = h - lag_h + 1, h - lag_h - window_h + 1
    ok = lo >= 0
    out = np.full(x.shape, np.nan)
    out[ok] = c[hi[ok]] - c[lo[ok]]
    return out


def psi_rows(expected: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """Row-wise PSI of count matrices (rows: hours, columns: bins); NaN for empty rows."""
    with np.errstate(invalid="ignore", divide="ignore"):
        e = expected / expected.sum(axis=-1, keepdims=True)
        a = actual / actual.sum(axis=-1, keepdims=True)
        e, a = np.maximum(e, PSI_FLOOR), np.maximum(a, PSI_FLOOR)
        return np.sum((a - e) * np.log(a / e), axis=-1)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def series(stats: HourlyStats, metric: str, window_h: int, *,
           reference_hist: np.ndarray | None = None,
           reference_cat: np.ndarray | None = None) -> np.ndarray:
    """The value of ``metric`` at every hour, over windows of ``window_h`` hours.

    Input PSI needs the reference counts: ``reference_hist`` (features x
    (bins + 1)) and ``reference_cat`` (categories).
    """
    check_metric(metric)
    if window_h < 1:
        raise MonitorError(f"window_h must be >= 1, got {window_h}")
    W = int(window_h)
    s = stats
    if metric.startswith("label."):
        ws = lambda x: window_sum(x, W, s.label_delay_h)  # noqa: E731
        tp, fp, fn, tn = ws(s.tp), ws(s.fp), ws(s.fn), ws(s.tn)
        if metric == "label.precision":
            return _ratio(tp, tp + fp)
        if metric == "label.recall":
            return _ratio(tp, tp + fn)
        if metric == "label.fraud_rate":
            return _ratio(tp + fn, tp + fp + fn + tn)
        return _ratio(ws(s.cost), tp + fp + fn + tn)
    ws = lambda x: window_sum(x, W)  # noqa: E731
    family, _, name = metric.partition(".")
    if family == "input":
        kind, _, feature = name.partition(".")
        if kind == "new_category_share":
            return _ratio(ws(s.new_category), ws(s.n))
        if kind == "psi" and feature == "merchant_category":
            if reference_cat is None:
                raise MonitorError("input.psi.merchant_category needs reference_cat")
            return _psi_window(np.asarray(reference_cat, float), ws(s.cat_hist))
        i = NUMERIC_FEATURES.index(feature)
        if kind == "null_rate":
            return _ratio(ws(s.nulls[:, i]), ws(s.n))
        if kind == "out_of_range":
            return _ratio(ws(s.out_of_range[:, i]), ws(s.n - s.nulls[:, i]))
        if reference_hist is None:
            raise MonitorError(f"{metric} needs reference_hist")
        return _psi_window(np.asarray(reference_hist, float)[i], ws(s.hist[:, i, :]))
    if family == "output":
        if name == "score_psi":
            expected = ws(s.score_expected * s.scored[:, None])
            return _mask(psi_rows(expected, ws(s.score_hist)), ws(s.scored))
        if name == "score_mean":
            return _ratio(ws(s.score_sum), ws(s.scored))
        if name == "flag_rate":
            return _ratio(ws(s.flags), ws(s.n))
        rates = _ratio(ws(s.flags_region), ws(s.n_region))
        if name == "flag_rate_gap":
            with np.errstate(invalid="ignore"):
                bad = np.isnan(rates).all(axis=1)
                filled = np.where(np.isnan(rates), 0.0, rates)
                hi = np.where(np.isnan(rates), -np.inf, filled).max(axis=1)
                lo = np.where(np.isnan(rates), np.inf, filled).min(axis=1)
            return np.where(bad, np.nan, hi - lo)
        return rates[:, REGIONS.index(name.split(".", 1)[1])]
    # health
    if name == "traffic_tx":
        return ws(s.n) / W
    if name == "latency_p95_ms":
        return ws(s.latency_p95_ms) / W
    if name == "error_rate":
        return _ratio(ws(s.errors), ws(s.n))
    return _ratio(ws(s.rate_limited), ws(s.n))


def _psi_window(expected: np.ndarray, window_counts: np.ndarray) -> np.ndarray:
    e = np.broadcast_to(expected, window_counts.shape)
    return _mask(psi_rows(e, window_counts), window_counts.sum(axis=-1))


def _mask(values: np.ndarray, totals: np.ndarray) -> np.ndarray:
    return np.where(np.nan_to_num(totals) > 0, values, np.nan)
