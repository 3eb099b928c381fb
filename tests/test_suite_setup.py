"""The test suite's own set-up (tests/conftest.py) does what ``make test`` relies on.

* Tests that share a module-scoped fixture run on one pytest-xdist worker, so the fixture (a
  graded course, an executed notebook) is built once.  xdist's grouping fails silently when
  pytest and xdist disagree on how a test is named (pytest-xdist issue 1386), so this runs a
  small suite on two workers and counts how often its shared fixture was built.
* The suite passes without the virtual environment's ``bin/`` on ``PATH``: the executables
  installed beside the interpreter (``alembic``, ``jupyter``) are found anyway.
* Every test that ``KERNEL_TESTS`` or ``SWEEPS`` names (left out of ``make check``, or all but
  its first variant) still exists, ``mark_sweeps`` keeps exactly one variant of a sweep, and
  ``start_order`` puts the longest modules first without splitting a module.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

CONFTEST = Path(__file__).with_name("conftest.py")
ROOT = Path(__file__).resolve().parents[1]

SMALL_SUITE = '''
import os
import shutil
from pathlib import Path

import pytest

BUILDS = Path(os.environ["BUILDS_FILE"])
PARAM_BUILDS = Path(os.environ["PARAM_BUILDS_FILE"])


@pytest.fixture(scope="module")
def shared():
    with BUILDS.open("a") as out:
        out.write(f"{os.getpid()}\\n")


@pytest.mark.parametrize("i", range(6))
def test_uses_the_shared_fixture(shared, i):
    pass


@pytest.mark.parametrize("i", range(6))
def test_independent(i):
    pass


@pytest.fixture(scope="module", params=["north", "south"])
def per_lab(request):
    with PARAM_BUILDS.open("a") as out:
        out.write(f"{request.param} {os.getpid()}\\n")
    return request.param


@pytest.mark.parametrize("j", range(3))
def test_uses_a_parametrised_shared_fixture(per_lab, j):
    pass


@pytest.mark.parametrize("tool", ["alembic", "jupyter"])
def test_the_environments_executables_are_found(tool):
    found = shutil.which(tool)
    assert found and Path(found).parent == Path(os.environ["EXPECTED_BIN"]), found
'''


def test_a_shared_fixture_is_built_once_on_two_workers_without_the_venv_on_path(tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    shutil.copy(CONFTEST, suite / "conftest.py")
    (suite / "test_small.py").write_text(SMALL_SUITE)
    builds, param_builds = tmp_path / "builds.txt", tmp_path / "param-builds.txt"
    bindir = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "COV_"))}
    env.update(PATH=os.pathsep.join(p for p in ("/usr/bin", "/bin") if p != bindir),
               BUILDS_FILE=str(builds), PARAM_BUILDS_FILE=str(param_builds),
               EXPECTED_BIN=bindir)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup",
                           "-p", "no:cacheprovider", "-q", str(suite)], cwd=suite, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "20 passed" in proc.stdout, proc.stdout
    pids = builds.read_text().split()
    assert len(pids) == 1, f"the module fixture was built {len(pids)} times, on workers {pids}"
    # a parametrised module fixture: each parameter built once (its tests are one group)
    params = sorted(line.split()[0] for line in param_builds.read_text().splitlines())
    assert params == ["north", "south"], param_builds.read_text()


def test_every_kernel_test_entry_names_a_test_that_exists():
    from .conftest import KERNEL_TESTS, LONGEST_FIRST, is_kernel_test

    for path in LONGEST_FIRST:
        assert (ROOT / path).is_file(), f"LONGEST_FIRST names {path}, which is gone"
    for entry in KERNEL_TESTS:
        path, _, name = entry.partition("::")
        assert (ROOT / path).exists(), f"KERNEL_TESTS names {path}, which is gone"
        if name:
            assert f"def {name}(" in (ROOT / path).read_text(), f"{entry} is gone"
    assert is_kernel_test("tests/notebooks/test_lab2.py::test_x[a]")
    assert is_kernel_test("tests/course/test_pipeline.py::test_x@tests/course/test_pipeline.py")
    assert not is_kernel_test("tests/course/test_pipeline_more.py::test_x")
    assert not is_kernel_test("tests/course/test_release.py::test_other")


class FakeItem:
    def __init__(self, nodeid: str, *marks: str):
        self.nodeid, self.marks = nodeid, marks

    def get_closest_marker(self, name: str):
        return name if name in self.marks else None


def test_the_longest_modules_start_first_and_every_module_stays_together():
    from .conftest import LONGEST_FIRST, start_order

    items = [FakeItem("tests/a.py::t1"), FakeItem("tests/b.py::t1"),
             FakeItem("tests/b.py::t2", "slow"), FakeItem("tests/a.py::t2"),
             FakeItem(f"{LONGEST_FIRST[1]}::t"), FakeItem(f"{LONGEST_FIRST[0]}::t")]
    order = [item.nodeid for item in start_order(items)]
    assert order == [f"{LONGEST_FIRST[0]}::t", f"{LONGEST_FIRST[1]}::t", "tests/b.py::t1",
                     "tests/b.py::t2", "tests/a.py::t1", "tests/a.py::t2"]


def test_every_sweep_names_a_test_that_exists():
    from .conftest import SWEEPS

    assert len(set(SWEEPS)) == len(SWEEPS)
    for entry in SWEEPS:
        path, _, name = entry.partition("::")
        assert (ROOT / path).is_file(), f"SWEEPS names {path}, which is gone"
        assert f"def {name}(" in (ROOT / path).read_text(), f"{entry} is gone"


class SweepItem:
    def __init__(self, nodeid: str):
        self.nodeid, self.marks = nodeid, []

    def add_marker(self, mark) -> None:
        self.marks.append(mark.name)


def test_a_sweep_keeps_one_variant_and_marks_the_others_slow(monkeypatch):
    from . import conftest

    first, named = "tests/x.py::test_first", "tests/x.py::test_named"
    monkeypatch.setattr(conftest, "SWEEPS", {first: None, named: "b c"})
    items = [SweepItem(f"{first}[b]"), SweepItem("tests/x.py::test_other[a]"),
             SweepItem(f"{first}[a]"), SweepItem(f"{named}[a]"), SweepItem(f"{named}[b c]"),
             SweepItem(f"{first}_longer[a]"), SweepItem(f"{first}_longer[b]"),
             SweepItem(f"{first}[c]")]
    conftest.mark_sweeps(items)   # type: ignore[arg-type]
    assert [item.marks for item in items] == [[], [], ["slow"], ["slow"], [], [], [],
                                              ["slow"]]
