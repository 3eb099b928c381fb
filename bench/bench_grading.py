"""Benchmark: seconds to autograde one submission, with the trusted judge on and off, per lab.

For each lab, builds a scratch course (this repository's ``nbgrader_config.py``, the lab's
source and release), files ``--copies`` correct submissions under different student ids (the
release with every answer stub filled by the source's solution code, so each works out its
own learner's numbers) and runs ``labkit course autograde`` with one lane, so submissions are
graded one after another.  It does so twice in the same run, once with
``c.SandboxedExecute.trusted = False`` (check cells run in the learner's kernel) and once with
``True`` (answers taken out as plain data and judged in a fresh kernel), alternating the order
per lab so drift on a busy machine falls on both.  Prints the median seconds per submission
for each mode, as the pipeline reports them (kernel start, sandbox set-up, every cell, grade
merge), and the ratio on/off: the trusted-grading issue allows at most 1.30.

    python bench/bench_grading.py [--lab LAB ...] [--copies 3] [--json]
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

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "notebooks"))
from nbrun import lab_paths, submission  # noqa: E402

ALLOWED_RATIO = 1.30


def _labkit(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    return subprocess.run([sys.executable, "-m", "labkit.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False, timeout=3600)


def grade_copies(lab: str, copies: int, *, trusted: bool) -> list[float]:
    """Seconds per submission for ``copies`` correct submissions, graded one at a time."""
    source, release = (nbformat.read(p, as_version=4) for p in lab_paths(lab))
    with tempfile.TemporaryDirectory(prefix="labkit-bench-grading-") as tmp:
        root = Path(tmp)
        config = (ROOT / "nbgrader_config.py").read_text(encoding="utf-8")
        (root / "nbgrader_config.py").write_text(
            config + f"\nc.SandboxedExecute.trusted = {trusted}\n", encoding="utf-8")
        shutil.copytree(ROOT / "source" / lab, root / "source" / lab)
        shutil.copytree(ROOT / "release" / lab, root / "release" / lab)
        (root / "grading").mkdir()
        handed = root / "handed-in"
        handed.mkdir()
        for i in range(copies):
            nbformat.write(submission(release, source), handed / f"s{i:02d}.ipynb")
        for step in (("release", lab), ("collect", lab, *map(str, sorted(handed.iterdir())))):
            proc = _labkit("course", *step, cwd=root)
            if proc.returncode != 0:
                raise SystemExit(f"labkit course {step[0]} failed:\n{proc.stdout}{proc.stderr}")
        proc = _labkit("course", "autograde", lab, "--workers", "1", cwd=root)
        if proc.returncode != 0:
            raise SystemExit(f"autograde failed:\n{proc.stdout}{proc.stderr}")
        rows = [line.split("\t") for line in proc.stdout.splitlines() if "\t" in line]
        return [float(row[2].rstrip("s")) for row in rows]


def labs() -> list[str]:
    return sorted(p.name for p in (ROOT / "source").iterdir() if (p / f"{p.name}.ipynb").is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", action="append", help="a lab folder (default: every lab)")
    parser.add_argument("--copies", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    out = []
    for n, lab in enumerate(args.lab or labs()):
        order = (False, True) if n % 2 == 0 else (True, False)
        seconds = {mode: grade_copies(lab, args.copies, trusted=mode) for mode in order}
        off, on = (statistics.median(seconds[m]) for m in (False, True))
        out.append({"lab": lab, "copies": args.copies, "off_median_s": round(off, 2),
                    "on_median_s": round(on, 2), "ratio": round(on / off, 3),
                    "within_allowance": on / off <= ALLOWED_RATIO,
                    "off_each_s": seconds[False], "on_each_s": seconds[True]})
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"{'lab':34} {'trusted off':>12} {'trusted on':>12} {'on/off':>8}")
    for row in out:
        mark = "" if row["within_allowance"] else f"   over the {ALLOWED_RATIO:.2f} allowance"
        print(f"{row['lab']:34} {row['off_median_s']:>10.2f} s {row['on_median_s']:>10.2f} s "
              f"{row['ratio']:>8.2f}{mark}")


if __name__ == "__main__":
    main()
