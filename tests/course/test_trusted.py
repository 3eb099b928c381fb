"""Every graded notebook is judged outside the learner's kernel.

A notebook converted to trusted grading declares ``VARIANTS`` in its ``labkit.labs`` module
(check grade_id -> the draw of its numbers).  Its grading end to end (the perfect submission,
the forgery fixtures of grading/fixtures/<lab>-forgery/ and a copy of another learner's answers)
is in tests/notebooks/test_round_trip.py, one graded course per notebook.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "notebooks"))
from nbrun import ROOT, trusted_labs  # noqa: E402


def test_every_lab_is_judged_outside_the_learners_kernel():
    labs = sorted(p.name for p in (ROOT / "source").iterdir() if (p / f"{p.name}.ipynb").is_file())
    assert sorted(trusted_labs()) == labs
    config = (ROOT / "nbgrader_config.py").read_text(encoding="utf-8")
    assert "\nc.SandboxedExecute.trusted = True" in config
