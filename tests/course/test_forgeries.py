"""The committed forgery fixtures are what tests/course/build_forgeries.py builds from today's
releases (a lab changed without rebuilding them would be attacked in a notebook it no longer
ships)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = sorted((ROOT / "grading" / "fixtures").glob("*-forgery"))


def _builder():
    spec = importlib.util.spec_from_file_location("build_forgeries",
                                                  Path(__file__).with_name("build_forgeries.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("folder", FIXTURES, ids=[f.name for f in FIXTURES])
def test_committed_forgeries_are_built_from_the_release(folder):
    built = _builder().build(folder.name.removesuffix("-forgery"))
    committed = {p.stem: p.read_text() for p in folder.glob("*.ipynb")}
    assert sorted(committed) == sorted(built)
    stale = [name for name, nb in built.items() if nbformat.writes(nb) + "\n" != committed[name]]
    assert stale == [], f"rebuild: python tests/course/build_forgeries.py {folder.name[:-8]}"
