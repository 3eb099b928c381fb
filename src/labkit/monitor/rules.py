"""The default alert rules, derived from the ``alerts.*`` knobs.

Each rule has an owner: input rules page the data platform team that runs
the pipelines feeding the model, output and label rules page the ML on-call,
the flag-rate gap goes to the risk team, system health to SRE.  A threshold
of 0 switches a rule off (``None`` in the config).  When ``retrain.policy`` is
``trigger``, the rule families named in ``retrain.trigger_on`` start a
retraining when they fire.

>>> from labkit.monitor.config import MonitorConfig
>>> [r.name for r in default_rules(MonitorConfig())][:3]
['null-rate:amount', 'null-rate:velocity', 'null-rate:device_risk']
"""

from __future__ import annotations

from typing import Any

from labkit.monitor.alerts import AlertRule
from labkit.monitor.world import NUMERIC_FEATURES

__all__ = ["default_rules", "OWNERS", "TRIGGER_METRICS"]

#: Default-rule families that can trigger a retraining when ``retrain.policy`` is ``trigger``.
TRIGGER_METRICS = ("input_psi", "score_psi", "recall", "precision")

#: Who is paged for each family of metrics.
OWNERS = {"input": "data-platform", "output": "ml-oncall", "label": "ml-oncall",
          "fairness": "risk-team", "health": "sre"}


def default_rules(config: Any) -> tuple[AlertRule, ...]:
    """The rules the knobs of ``config`` (a :class:`MonitorConfig`) switch on."""
    a = config.alerts
    trigger = config.retrain.trigger_on if config.retrain.policy == "trigger" else ()

    def act(family: str) -> str:
        return "retrain" if family in trigger else "page"

    specs: list[tuple[str, str, float | None, int, str, str, str]] = []
    for f in NUMERIC_FEATURES:
        specs.append((f"null-rate:{f}", f"input.null_rate.{f}", a.null_rate_threshold,
                      a.null_window_h, OWNERS["input"], "above", "page"))
    for f in NUMERIC_FEATURES:
        specs.append((f"out-of-range:{f}", f"input.out_of_range.{f}", a.range_threshold,
                      a.range_window_h, OWNERS["input"], "above", "page"))
    specs.append(("new-category", "input.new_category_share", a.new_category_threshold,
                  a.new_category_window_h, OWNERS["input"], "above", "page"))
    for f in (*NUMERIC_FEATURES, "merchant_category"):
        specs.append((f"psi:{f}", f"input.psi.{f}", a.psi_threshold, a.psi_window_h,
                      OWNERS["output"], "above", act("input_psi")))
    specs += [
        ("score-psi", "output.score_psi", a.score_psi_threshold, a.score_psi_window_h,
         OWNERS["output"], "above", act("score_psi")),
        ("flag-gap", "output.flag_rate_gap", a.flag_gap_threshold, a.flag_gap_window_h,
         OWNERS["fairness"], "above", "page"),
        ("recall-floor", "label.recall", a.recall_floor, a.label_window_h, OWNERS["label"],
         "below", act("recall")),
        ("precision-floor", "label.precision", a.precision_floor, a.label_window_h,
         OWNERS["label"], "below", act("precision")),
        ("latency-p95", "health.latency_p95_ms", a.latency_p95_ms, a.health_window_h,
         OWNERS["health"], "above", "page"),
        ("error-rate", "health.error_rate", a.error_rate_threshold, a.health_window_h,
         OWNERS["health"], "above", "page"),
        ("rate-limited", "health.rate_limited_share", a.rate_limited_threshold,
         a.health_window_h, OWNERS["health"], "above", "page"),
    ]
    return tuple(AlertRule(name=n, metric=m, threshold=t, window_h=w, owner=o, direction=d,
                           action=x) for n, m, t, w, o, d, x in specs if t is not None)
