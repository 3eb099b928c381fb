"""The committed forgery fixtures are what tests/course/build_forgeries.py builds from today's
releases (a lab changed without rebuilding them would be attacked in a notebook it no longer
ships)."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_forgeries import build  # noqa: E402  (as test_redteam imports build_redteam)

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = sorted((ROOT / "grading" / "fixtures").glob("*-forgery"))


@pytest.mark.parametrize("folder", FIXTURES, ids=[f.name for f in FIXTURES])
def test_committed_forgeries_are_built_from_the_release(folder):
    built = build(folder.name.removesuffix("-forgery"))
    committed = {p.stem: p.read_text() for p in folder.glob("*.ipynb")}
    assert sorted(committed) == sorted(built)
    stale = [name for name, nb in built.items() if nbformat.writes(nb) + "\n" != committed[name]]
    assert stale == [], f"rebuild: python tests/course/build_forgeries.py {folder.name[:-8]}"
