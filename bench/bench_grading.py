"""Benchmark: seconds to autograde one submission, through the whole sandboxed pipeline.

Builds a scratch course (this repository's ``nbgrader_config.py``, the lab's source and
release), files ``--copies`` copies of a correct submission under different student ids and
runs ``labkit course autograde`` with one lane, so submissions are graded one after another.
Prints the median and mean seconds per submission as the pipeline reports them (kernel
start, sandbox set-up, every cell, grade merge).  Compare two builds by running this script on
each in turn on the same machine: the hardening issue allows at most 20% more per submission.

    python bench/bench_grading.py [--lab lab0-orientation] [--copies 4] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _labkit(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    return subprocess.run([sys.executable, "-m", "labkit.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False, timeout=3600)


def grade_copies(lab: str, copies: int, submission: Path) -> list[float]:
    """Seconds per submission for ``copies`` copies of ``submission``, graded one at a time."""
    with tempfile.TemporaryDirectory(prefix="labkit-bench-grading-") as tmp:
        root = Path(tmp)
        shutil.copy2(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
        shutil.copytree(ROOT / "source" / lab, root / "source" / lab)
        shutil.copytree(ROOT / "release" / lab, root / "release" / lab)
        (root / "grading").mkdir()
        handed = root / "handed-in"
        handed.mkdir()
        for i in range(copies):
            shutil.copy2(submission, handed / f"s{i:02d}.ipynb")
        for step in (("release", lab), ("collect", lab, *map(str, sorted(handed.iterdir())))):
            proc = _labkit("course", *step, cwd=root)
            if proc.returncode != 0:
                raise SystemExit(f"labkit course {step[0]} failed:\n{proc.stdout}{proc.stderr}")
        proc = _labkit("course", "autograde", lab, "--workers", "1", cwd=root)
        if proc.returncode != 0:
            raise SystemExit(f"autograde failed:\n{proc.stdout}{proc.stderr}")
        return [float(line.split("\t")[2].rstrip("s")) for line in proc.stdout.splitlines()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", default="lab0-orientation")
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--submission", type=Path,
                        help="notebook to grade (default: grading/fixtures/<lab>/perfect.ipynb)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    submission = args.submission or ROOT / "grading" / "fixtures" / args.lab / "perfect.ipynb"
    seconds = grade_copies(args.lab, args.copies, submission)
    row = {"lab": args.lab, "copies": len(seconds), "median_s": round(statistics.median(seconds), 2),
           "mean_s": round(statistics.fmean(seconds), 2), "each_s": seconds}
    if args.json:
        print(json.dumps(row, indent=2))
    else:
        print(f"{row['lab']}: {row['copies']} submissions, median {row['median_s']:.2f} s, "
              f"mean {row['mean_s']:.2f} s per submission ({', '.join(f'{s:.1f}' for s in seconds)})")


if __name__ == "__main__":
    main()
