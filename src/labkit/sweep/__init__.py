"""Sweeps: many runs of the simulator, one per grid point and seed, with honest error bars.

A sweep is an experiment: the cross product of knob values (the *grid*) times
a set of seeds.  Seed ``s`` is run at every grid point, so every point sees
the same arrivals and service draws (common random numbers): differences
between points come from the knobs, not from luck.  Each run becomes one row
(the grid knobs, the seed and every numeric summary metric, flattened to
names such as ``latency_ms.p95``, ``outcomes.ok``, ``cost.per_1k`` and
``budgets.p95_ms.pass``); :meth:`SweepTable.summary` gives the mean of each
metric over seeds with a 95% confidence interval from Student's t.

Runs go to a process pool, or to a Dask cluster (``dask="local"`` starts
single-threaded workers on loopback, one per usable core unless ``workers``
says otherwise; ``dask="tcp://host:port"`` uses a running scheduler whose
machines have the same labkit installed).  With ``out=...csv`` each row is
appended and flushed as soon as its run finishes, so an interrupted sweep
keeps every finished row, and ``resume=True`` runs only what is missing.

The package, imports flowing one way (each module imports only those above it):

- :mod:`~labkit.sweep.spec`: what to run (grid, seeds, base scenario), checked up front;
- :mod:`~labkit.sweep.store`: the results CSV and its sidecar, appended run by run;
- :mod:`~labkit.sweep.table`: rows and their per-point means with 95% intervals;
- :mod:`~labkit.sweep.cores`: how many CPUs this process may use (affinity, cgroup quota);
- :mod:`~labkit.sweep.executors`: here, a process pool or Dask (``dask_client``);
- :mod:`~labkit.sweep.runner`: :func:`run_sweep`, which ties them together.

>>> table = run_sweep({"model.replicas": [2, 4]}, seeds=2, fixed={"load.duration_s": 5})
>>> [(r["model.replicas"], r["seed"]) for r in table.rows]
[(2, 1), (2, 2), (4, 1), (4, 2)]
>>> row = table.summary()[0]
>>> row["model.replicas"], row["n"], row["latency_ms.p95.mean"] > 0
(2, 2, True)
"""

from labkit.sweep.cores import usable_cores
from labkit.sweep.executors import DaskClusterError, dask_client
from labkit.sweep.runner import run_sweep
from labkit.sweep.spec import SweepError, SweepSpec, parse_grid
from labkit.sweep.table import SweepTable, flatten_summary

__all__ = ["DaskClusterError", "SweepError", "SweepSpec", "SweepTable", "dask_client",
           "flatten_summary", "parse_grid", "run_sweep", "usable_cores"]
