"""Layers import one way: labkit.sim -> labkit.viz -> labkit.ui.

STYLE.md habit 1 and BRIEF.md: ``import labkit.sim`` must not pull in plotly, ipywidgets,
IPython or anywidget, so the simulator runs in tests, sweeps and grading kernels without a
front end.  Checked in a fresh interpreter, where nothing else has imported them first.
"""
from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = ("plotly", "ipywidgets", "IPython", "anywidget")

PROBE = """
import json, sys
import labkit.sim
from labkit.sim import simulate
simulate({"load.duration_s": 2.0}, seed=1)
import labkit.knobs, labkit.sim.theory
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def test_importing_and_running_the_simulator_loads_no_front_end():
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""                   # nothing on stderr in normal use
    loaded = set(json.loads(proc.stdout))
    assert "labkit" in loaded and "simpy" in loaded and "numpy" in loaded
    assert loaded.isdisjoint(FORBIDDEN), sorted(loaded & set(FORBIDDEN))


def test_the_probe_would_notice_a_front_end_import():
    """Guard against a probe that cannot fail: the same check sees plotly when it is loaded."""
    code = "import json, sys, plotly; print(json.dumps(sorted(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "plotly" in {m.split(".")[0] for m in json.loads(proc.stdout)}
