"""The serving simulator: a SimPy model of an AI inference service.

Pure: imports SimPy and numpy only (no plotting, no widgets), so it runs in
tests, sweeps and grading kernels without a browser.

>>> from labkit.sim import simulate
>>> result = simulate({"model.replicas": 2, "load.duration_s": 5}, seed=1)
>>> result.summary["requests"] == len(result.records)
True
"""

from labkit.sim.changes import Change
from labkit.sim.presets import PRESET_HELP, PRESETS
from labkit.sim.result import Result
from labkit.sim.run import simulate
from labkit.sim.scenario import CATALOGUE, Scenario

__all__ = ["simulate", "Scenario", "Change", "Result", "CATALOGUE", "PRESETS", "PRESET_HELP"]
