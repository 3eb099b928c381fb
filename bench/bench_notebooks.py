"""Benchmark: how long each lab's source notebook takes, against the time its issue allows.

Executes every ``source/<lab>/<lab>.ipynb`` top to bottom in a fresh kernel (solutions in,
as an instructor or CI runs it) and prints the wall time and its ratio to the lab's budget
(lab 0: 60 s, lab 1: 60 s, lab 2: 90 s, lab 3: 60 s, lab 4: 90 s).  A ratio above 1.0 means the lab is too
slow for its learners' patience and for nbgrader's per-cell limits.

    python bench/bench_notebooks.py [LAB ...] [--json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = {"lab0-orientation": 60.0, "lab1-system-shapes": 60.0,
            "lab2-scaling-cost-reliability": 90.0, "lab3-evaluation-governance": 60.0,
            "lab4-llm-serving-agents": 90.0}


def time_notebook(path: Path) -> float:
    """Seconds to execute ``path`` top to bottom once its kernel is up."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    with client.setup_kernel():
        start = time.perf_counter()
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("labs", nargs="*", default=list(BUDGET_S))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    for lab in args.labs:
        seconds = time_notebook(ROOT / "source" / lab / f"{lab}.ipynb")
        rows.append({"lab": lab, "seconds": round(seconds, 1), "budget_s": BUDGET_S[lab],
                     "ratio": round(seconds / BUDGET_S[lab], 2)})
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    for row in rows:
        print(f"{row['lab']:<32} {row['seconds']:6.1f} s  budget {row['budget_s']:4.0f} s  "
              f"ratio {row['ratio']:.2f}")


if __name__ == "__main__":
    main()
