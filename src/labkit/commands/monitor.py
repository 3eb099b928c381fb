"""``labkit monitor``: run lab 3's monitoring simulator and print what happened.

``labkit monitor [--set KNOB=VALUE ...] [--seed N] [--json] [--audit]``
prints a readable report: offline against online quality, alerts per rule
(true and false), time to detect each injected event, releases and
shutdown.  ``--json`` prints :meth:`MonitorResult.to_dict` instead;
``--knobs`` lists the monitoring knobs.  Bad input exits 2 with a message
naming the knob, the rule and the value.
"""

from __future__ import annotations

import argparse
import json

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("monitor", help="simulate a deployed model for weeks: drift, "
                              "alerts, retraining, shutdown, audit trail")
    p.add_argument("--set", action="append", default=[], metavar="KNOB=VALUE",
                   help="change a monitoring knob (repeatable); see --knobs")
    p.add_argument("--seed", default="0", help="random seed (a whole number >= 0)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--audit", action="store_true", help="also print the audit trail")
    p.add_argument("--knobs", action="store_true", help="list the monitoring knobs and exit")
    p.set_defaults(func=run)


def _fmt(x: object, spec: str = ".3f") -> str:
    return "-" if x is None else format(x, spec) if isinstance(x, float) else str(x)


def run(args: argparse.Namespace) -> int:
    from labkit.knobs import KnobError, parse_assignment
    from labkit.monitor import MONITOR_CATALOGUE, run_monitor

    if args.knobs:
        if args.json:
            print(json.dumps([k.as_dict() for k in MONITOR_CATALOGUE.values()], indent=2))
            return 0
        for k in MONITOR_CATALOGUE.values():
            unit = f" {k.unit}" if k.unit else ""
            off = f" ({k.off})" if k.off else ""
            print(f"{k.name} = {k.format(k.default)}{unit}   range: {k.describe_range()}{off}")
            print(f"    {k.help}")
        return 0
    try:
        seed = int(args.seed)
    except ValueError:
        seed = -1
    if seed < 0:
        raise KnobError(f"--seed must be a whole number >= 0, got {args.seed!r}")
    knobs = dict(parse_assignment(text, MONITOR_CATALOGUE) for text in args.set)
    res = run_monitor(knobs, seed=seed)
    if args.json:
        print(json.dumps(res.to_dict(audit=args.audit), indent=2))
        return 0
    s = res.summary
    print(f"labkit monitor: {s['weeks']} weeks, {s['transactions']} transactions, "
          f"fraud rate {s['fraud_rate']:.2%}, labels {s['label_delay_h']} h late, seed {seed}")
    changed = res.config.diff()
    if changed:
        print("knobs: " + ", ".join(f"{k}={MONITOR_CATALOGUE[k].format(v)}"
                                    for k, v in changed.items()))
    print(f"{'':9}{'precision':>10}{'recall':>8}{'flag rate':>11}{'cost/tx':>9}")
    for name in ("offline", "online"):
        q = s[name]
        print(f"{name:9}{_fmt(q['precision']):>10}{_fmt(q['recall']):>8}"
              f"{_fmt(q['flag_rate'], '.2%'):>11}{_fmt(q['cost_per_tx'], '.2f'):>9}")
    a = s["alerts"]
    print(f"alerts: {a['total']} ({a['per_week']:.1f}/week), false {a['false']} "
          f"(share {_fmt(a['false_share'], '.0%')})")
    for name, r in a["by_rule"].items():
        if r["alerts"]:
            print(f"  {name:26} {r['alerts']:3} alerts, {r['false']:3} false   owner {r['owner']}")
    for name, d in a["detection"].items():
        when = (f"detected after {d['time_to_detect_h']} h by {d['detected_by']}"
                if d["time_to_detect_h"] is not None else "NOT detected")
        print(f"event {name} at hour {d['start_h']}: {when}")
    r = s["releases"]
    print(f"releases: {r['retrains']} trained, {r['gate_failed']} failed the gate, "
          f"{r['rolled_out']} rolled out, {r['rolled_back']} rolled back, "
          f"{r['skipped']} skipped; live model {r['final_model']}")
    sd = s["shutdown"]
    if sd["hours_off"]:
        print(f"shutdown: {sd['hours_off']} h on fallback {sd['fallback']}, {sd['reviews']} "
              f"reviews, peak backlog {sd['review_backlog_peak']:.0f}, "
              f"longest wait {sd['review_wait_h_max']:.1f} h")
    print(f"cost: {s['cost']['total']:,.0f} total, {s['cost']['per_tx']:.2f} per transaction")
    if args.audit:
        print("audit trail:")
        for rec in res.audit:
            print(f"  #{rec.seq} h{rec.at_h:<4} {rec.action:18} {rec.model_version:4} "
                  f"thr {rec.threshold:.3f} owner {rec.owner}: {rec.reason}")
    return 0
