"""Benchmark: from a knob change to new data in the charts, inside a real Jupyter kernel.

A learner releases a knob; the panel simulates the new scenario, summarises it
and pours the result into its eight charts.  This benchmark starts a Python
kernel (jupyter_client, the same machinery JupyterLab uses), builds a full
``Panel`` in it for each lab's default scenario, and times, inside the kernel,
``widget.value = new`` until the call returns, when every chart's traces hold
the new run (the benchmark checks the latency chart's p95 line against the
run it reports, so a skipped update cannot look fast).  Each change is a new
scenario (``model.service_ms`` nudged by 1%), so no change is served from the
cache.  The time includes the simulation, the summary, the per-bucket series
and the comm messages the widgets send; it excludes the browser's drawing.

Scenarios: the catalogue defaults, and each lab's first panel scenario
(``labkit.labs.lab1.SHAPE_WORKLOAD``, served in real time, and
``labkit.labs.lab2.CAPACITY_SCENARIO``), and a token-mode panel (``tokens``:
the ``chat-assistant`` preset over 30 simulated seconds, whose eleven charts
include TTFT/TPOT, batch and KV, and token cost; each change nudges
``llm.mfu`` by 1%, and the check reads the TTFT chart); ``--preset NAME``
times a preset instead.  Target: median at most 150 ms per change.

    python bench/bench_ui.py [--changes 15] [--preset NAME ...] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from jupyter_client.manager import start_new_kernel

TARGET_MS = 150.0

KERNEL_CODE = r'''
import json, statistics, time
import numpy as np
from labkit.sim import simulate
from labkit.ui import Panel
from labkit.viz.common import series

#: spec -> (the knob each change nudges, the chart and trace checked, its series key)
_CHECKS = {"tokens": ("llm.mfu", "tokens", 0, "ttft_p95_ms")}
_DEFAULT_CHECK = ("model.service_ms", "latency", 1, "p95_ms")

def _scenario(spec):
    """'default', 'tokens', 'preset:NAME' or 'module:ATTR[+module:ATTR...]' (knob dicts
    merged)."""
    import importlib
    if spec == "default":
        return {}, None
    if spec == "tokens":   # token mode's panel: chat-assistant over 30 simulated seconds
        return {"load.duration_s": 30.0}, "chat-assistant"
    if spec.startswith("preset:"):
        return {}, spec.split(":", 1)[1]
    knobs = {}
    for part in spec.split("+"):
        module, attr = part.split(":")
        knobs.update(getattr(importlib.import_module(module), attr))
    return knobs, None

def _bench(preset, changes):
    base, name = _scenario(preset)
    knob, chart, trace, key = _CHECKS.get(preset, _DEFAULT_CHECK)
    panel = Panel(preset=name, base=base)
    widget = panel.controls[knob]
    base = float(widget.value)
    wall, cpu, sim = [], [], []
    for k in range(1, changes + 1):
        value = round(base * (1 + 0.01 * k), 6)
        c0, t0 = time.process_time(), time.perf_counter()
        widget.value = value
        t1, c1 = time.perf_counter(), time.process_time()
        result = panel.result
        shown = np.asarray(panel.figures[chart].data[trace].y, float)
        group, field = knob.split(".")
        if panel.error or getattr(getattr(result.scenario, group), field) != value or not \
                np.allclose(shown, series(result)[key], equal_nan=True):
            raise RuntimeError(f"the charts did not update for {value}: {panel.error}")
        s0 = time.perf_counter()
        simulate(result.scenario, seed=result.seed)
        sim.append(time.perf_counter() - s0)
        wall.append(t1 - t0)
        cpu.append(c1 - c0)
    ms = lambda xs: 1000.0 * statistics.median(xs)
    return {"preset": preset, "requests": result.summary["requests"], "changes": changes,
            "charts": len(panel.figures), "median_ms": ms(wall),
            "p90_ms": 1000.0 * sorted(wall)[int(0.9 * (len(wall) - 1))],
            "cpu_median_ms": ms(cpu), "simulate_median_ms": ms(sim)}
'''


#: What a learner meets first: the defaults (lab 0 and the playground) and each lab's first panel.
LAB_SCENARIOS = [
    "default",
    "labkit.labs.lab1:SHAPE_WORKLOAD",
    "labkit.labs.lab2:CAPACITY_SCENARIO",
    "tokens",
]


def run(presets: list[str], changes: int) -> list[dict]:
    # the kernelspec runs "python": make it this interpreter
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    km, kc = start_new_kernel(kernel_name="python3", stderr=subprocess.DEVNULL)
    rows: list[dict] = []
    try:
        def execute(code: str) -> list[str]:
            out: list[str] = []

            def hook(msg: dict) -> None:
                kind = msg["msg_type"]
                if kind == "stream" and msg["content"]["name"] == "stdout":
                    out.append(msg["content"]["text"])
                elif kind == "error":
                    raise RuntimeError("\n".join(msg["content"]["traceback"]))

            reply = kc.execute_interactive(code, timeout=600, output_hook=hook)
            if reply["content"]["status"] != "ok":
                raise RuntimeError(f"kernel error: {reply['content'].get('evalue')}")
            return out

        execute(KERNEL_CODE)
        for preset in presets:
            out = execute(f"print(json.dumps(_bench({preset!r}, {changes})))")
            rows.append(json.loads("".join(out)))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    for row in rows:
        row["target_ms"] = TARGET_MS
        row["ratio_to_target"] = row["median_ms"] / TARGET_MS
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=15, help="knob changes per scenario")
    parser.add_argument("--preset", action="append", help="preset(s) to time instead of the "
                        "lab defaults")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    if args.changes < 3:
        parser.error(f"--changes must be >= 3, got {args.changes}")
    rows = run([f"preset:{p}" for p in args.preset] if args.preset else LAB_SCENARIOS,
               args.changes)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"knob change -> chart traces updated, in a Jupyter kernel ({args.changes} changes "
          f"each, target {TARGET_MS:.0f} ms median)")
    print(f"{'scenario':<40}{'requests':>9}{'median':>10}{'p90':>10}{'cpu':>9}"
          f"{'simulate':>10}{'ratio':>8}")
    for r in rows:
        print(f"{r['preset'][-40:]:<40}{r['requests']:>9,}{r['median_ms']:>8.0f}ms{r['p90_ms']:>8.0f}ms"
              f"{r['cpu_median_ms']:>7.0f}ms{r['simulate_median_ms']:>8.0f}ms"
              f"{r['ratio_to_target']:>7.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
