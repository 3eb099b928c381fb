"""Reports of one run: plain text for the terminal, an HTML table for notebooks."""

from __future__ import annotations

from html import escape
from typing import Any

__all__ = ["format_report", "format_html"]


def format_report(result: Any, traces: list[dict[str, Any]] | None = None) -> str:
    """The summary as aligned lines of text, budgets first."""
    s = result.summary
    o = s["outcomes"]
    lat = s["latency_ms"]
    cost = s["cost"]
    lines = [
        f"labkit run (seed {result.seed}); knobs changed: "
        + (", ".join(f"{k}={_show(v)}" for k, v in result.scenario.diff().items()) or "none"),
        "",
        "budgets:",
    ]
    for name, b in s["budgets"].items():
        if not b["judged"]:
            continue
        mark = "PASS" if b["pass"] else "FAIL"
        lines.append(f"  {mark}  {name:<13} limit {b['limit']:>10.4g}   actual {b['actual']:>10.4g}")
    lines += [
        "",
        f"requests         {s['requests']}  (ok {o['ok']}, degraded {o['degraded']}, "
        f"failed {o['failed']}, rejected {o['rejected']})",
        f"success rate     {s['success_rate']:.4f}",
        f"latency ms       mean {lat['mean']:.1f}  p50 {lat['p50']:.1f}  p95 {lat['p95']:.1f}  "
        f"p99 {lat['p99']:.1f}",
        f"model queue wait {s['model_wait_ms_mean']:.1f} ms (mean)",
        f"throughput       {s['throughput_rps']:.2f} answers/s",
        f"cache            hit ratio {s['cache_hit_ratio']:.3f}  stale {s['stale_hit_ratio']:.3f}",
        f"model calls      {s['model_calls']}  amplification {s['amplification']:.3f}  "
        f"retries {s['retries']}  wasted {s['wasted_work_s']:.1f} s",
        "fallbacks        " + ", ".join(f"{k} {v}" for k, v in s["fallback_by_path"].items())
        + f"   breaker opens {s['breaker_opens']}",
        f"quality          mean {s['quality_mean']:.3f}",
        f"cost             total {cost['total']:.4f}  per 1k {cost['per_1k']:.4f}  (calls "
        f"{cost['calls']:.4f}, replicas {cost['replicas']:.4f}, steps {cost['steps']:.4f}, "
        f"fallback {cost['fallback']:.4f}, jobs {cost['jobs']:.4f})",
    ]
    for name, step in s.get("steps", {}).items():   # data-path steps with capacity
        if step["calls"]:
            load = (f"servers {step['servers']}  utilisation {step['utilisation']:.3f}"
                    if step["servers"] else f"servers unlimited  busy {step['busy_servers_mean']:.2f}")
            lines.append(f"{name + ' step':<17}{step['calls']} calls  {load}  wait ms mean "
                         f"{step['wait_ms_mean']:.1f}  p95 {step['wait_ms_p95']:.1f}")
    if "ttft_ms" in s:   # token mode
        ttft, tpot, tok = s["ttft_ms"], s["tpot_ms"], s["tokens"]
        lines += [
            f"ttft ms          mean {ttft['mean']:.1f}  p50 {ttft['p50']:.1f}  "
            f"p95 {ttft['p95']:.1f}  p99 {ttft['p99']:.1f}",
            f"tpot ms          mean {tpot['mean']:.2f}  p50 {tpot['p50']:.2f}  "
            f"p95 {tpot['p95']:.2f}  p99 {tpot['p99']:.2f}",
            f"tokens           input {tok['input']}  output {tok['output']}  "
            f"({s['throughput_tokens_s']:.1f} output tokens/s)",
            f"batching         {s['batch_seqs_mean']:.1f} sequences per decode iteration  "
            f"KV use {s['kv_utilization_mean']:.3f}  preemptions {s['preemptions']}  "
            f"prefix hits {s['prefix_hit_ratio']:.3f}",
        ]
    if "tasks" in s:   # agent mode
        tasks, cpt, lat_s = s["tasks"], s["cost_per_task"], s["task_latency_s"]
        lines += [
            "tasks            " + ", ".join(f"{k} {v}" for k, v in tasks.items())
            + f"   unsafe rate {s['unsafe_rate']:.4f}",
            f"per task         steps mean {s['steps_per_task']['mean']:.2f} "
            f"p95 {s['steps_per_task']['p95']:.1f}  model calls {s['llm_calls_per_task']:.2f}  "
            f"tool calls {s['tool_calls_per_task']:.2f}",
            f"task cost        mean {cpt['mean']:.4f}  p95 {cpt['p95']:.4f}  (tools "
            f"{cost['tools']:.4f} in all)   task latency s p50 {lat_s['p50']:.2f}  "
            f"p95 {lat_s['p95']:.2f}",
        ]
    for t in traces or []:
        lines += ["", f"trace of request {t['request']}: {t['outcome']}"
                  + (f" ({t['reason']})" if t["reason"] else "")
                  + f", {t['latency_ms']:.1f} ms, path {' > '.join(t['path'])}"]
        for a in t["attempts"]:
            lines.append(f"  attempt {a['attempt']}: {a['result']} {a['start_s']:.3f}s -> "
                         f"{a['end_s']:.3f}s (queued {a['queue_wait_ms']:.1f} ms)")
        lines.append(f"  answered by {t['answered_by']}; budgets broken: "
                     + ("; ".join(t["budgets_broken"]) or "none"))
    return "\n".join(lines)


def format_html(result: Any) -> str:
    """The headline numbers and budgets as one HTML table (a ``Result`` in a notebook)."""
    s = result.summary
    o, lat, cost = s["outcomes"], s["latency_ms"], s["cost"]
    changed = ", ".join(f"{k}={_show(v)}" for k, v in result.scenario.diff().items())
    rows = [
        ("requests", f"{s['requests']:,} (ok {o['ok']:,}, degraded {o['degraded']:,}, "
                     f"failed {o['failed']:,}, rejected {o['rejected']:,})"),
        ("success rate", f"{s['success_rate']:.4f}"),
        ("latency ms", f"p50 {lat['p50']:.1f} · p95 {lat['p95']:.1f} · p99 {lat['p99']:.1f}"),
        ("cost per 1k", f"{cost['per_1k']:.4f} (total {cost['total']:.4f})"),
        ("cache hit ratio", f"{s['cache_hit_ratio']:.3f}"),
        ("model calls", f"{s['model_calls']:,} (amplification {s['amplification']:.3f}, "
                        f"retries {s['retries']:,})"),
        ("quality", f"{s['quality_mean']:.3f}"),
    ]
    rows += [(f"{name} step", (f"{step['servers']} servers · utilisation {step['utilisation']:.2f}"
                               if step["servers"] else "unlimited servers")
                              + f" · wait p95 {step['wait_ms_p95']:.1f} ms")
             for name, step in s.get("steps", {}).items() if step["calls"]]
    if "ttft_ms" in s:   # token mode
        rows += [
            ("TTFT ms", f"p50 {s['ttft_ms']['p50']:.1f} · p95 {s['ttft_ms']['p95']:.1f}"),
            ("TPOT ms", f"p50 {s['tpot_ms']['p50']:.2f} · p95 {s['tpot_ms']['p95']:.2f}"),
            ("tokens", f"input {s['tokens']['input']:,} · output {s['tokens']['output']:,} "
                       f"({s['throughput_tokens_s']:,.1f}/s)"),
        ]
    if "tasks" in s:   # agent mode
        rows += [
            ("tasks", ", ".join(f"{k} {v:,}" for k, v in s["tasks"].items())),
            ("unsafe rate", f"{s['unsafe_rate']:.4f}"),
            ("steps per task", f"mean {s['steps_per_task']['mean']:.2f} · p95 "
                               f"{s['steps_per_task']['p95']:.1f}"),
            ("cost per task", f"mean {s['cost_per_task']['mean']:.4f} · p95 "
                              f"{s['cost_per_task']['p95']:.4f}"),
            ("task latency s", f"p50 {s['task_latency_s']['p50']:.2f} · p95 "
                               f"{s['task_latency_s']['p95']:.2f}"),
        ]
    for name, b in s["budgets"].items():
        if b["judged"]:
            rows.append((f"budget {name}", f"{'PASS' if b['pass'] else 'FAIL'}: actual "
                                           f"{b['actual']:.4g}, limit {b['limit']:.4g}"))
    body = "".join(f"<tr><th style='text-align:left'>{escape(k)}</th>"
                   f"<td style='text-align:left'>{escape(v)}</td></tr>" for k, v in rows)
    caption = f"labkit run, seed {result.seed}; knobs changed: {changed or 'none'}"
    return (f"<table class='labkit-result'><caption style='text-align:left'>{escape(caption)}"
            f"</caption>{body}</table>")


def _show(value: Any) -> str:
    return ",".join(value) if isinstance(value, tuple) else str(value)
