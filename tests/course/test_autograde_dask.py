"""``labkit course autograde LAB --dask``: grading lanes on a Dask cluster, the same grades.

Three learners of the class of ``gradedclass.py`` (4, 1 and 2 points) are graded in separate
scratch courses: by local lanes, with ``--dask local`` (two single-threaded workers on
127.0.0.1), and (two of them) on a running ``dask scheduler`` + ``dask worker`` pair reached at
its tcp:// address on loopback, started as the sweep tests start theirs.  The gradebooks and
the answers the trusted judge used must be the same.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from labkit.cli import main
from labkit.course import autograde as autograde_module
from labkit.course.autograde import autograde
from labkit.course.layout import CourseError
from labkit.sweep import executors

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gradedclass import EXPECTED, LAB, auto_scores, class_course  # noqa: E402

from daskcluster import DaskCluster  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.kernel]


def answers_used(course) -> dict[str, dict]:
    """student -> check -> the answers the judge used (from the graded notebooks)."""
    found: dict[str, dict] = {}
    for student in sorted(p.name for p in course.autograded_dir.iterdir()):
        nb = json.loads((course.autograded_dir / student / LAB / f"{LAB}.ipynb").read_text())
        for cell in nb["cells"]:
            grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
            used = cell["metadata"].get("labkit", {}).get("answers")
            if used is not None:
                found.setdefault(student, {})[grade_id] = used
    return found


STUDENTS = ["ana", "cai", "fay"]


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    course = class_course(tmp_path_factory.mktemp("local"), students=STUDENTS)
    outcomes = autograde(course, LAB, workers=2)
    assert all(o.graded for o in outcomes), [o.error for o in outcomes if not o.graded]
    assert auto_scores(course) == {s: EXPECTED[s] for s in STUDENTS}
    return course


def test_dask_local_gives_the_grades_of_local_lanes(local, tmp_path, capsys, monkeypatch):
    course = class_course(tmp_path, students=STUDENTS)
    monkeypatch.chdir(course.root)
    capsys.readouterr()
    assert main(["course", "autograde", LAB, "--dask", "local", "--workers", "2"]) == 0
    out = capsys.readouterr().out
    lines = sorted(line.split("\t")[:2] for line in out.splitlines())
    assert lines == [["ana", "4/6"], ["cai", "1/6"], ["fay", "2/6"]]
    assert auto_scores(course) == auto_scores(local)
    assert answers_used(course) == answers_used(local)


@pytest.fixture()
def scheduler(tmp_path):
    """``dask scheduler`` and one ``dask worker`` on 127.0.0.1 (this Python, with labkit)."""
    cluster = DaskCluster(tmp_path)
    try:
        address = cluster.start_scheduler([sys.executable])
        cluster.start_worker(address, [sys.executable])
        yield address
    finally:
        cluster.stop()


def test_a_tcp_scheduler_gives_the_grades_of_local_lanes(local, scheduler, tmp_path):
    assert scheduler.startswith("tcp://127.0.0.1:")
    course = class_course(tmp_path / "c", students=["ana", "cai"])
    seen = []
    outcomes = autograde(course, LAB, dask=scheduler,
                         progress=lambda o, done, total: seen.append((o.student, done, total)))
    assert [(o.student, o.graded, o.score) for o in outcomes] == [("ana", True, 4.0),
                                                                  ("cai", True, 1.0)]
    assert sorted(s for s, _, _ in seen) == ["ana", "cai"]
    assert [(done, total) for _, done, total in seen] == [(1, 2), (2, 2)]
    theirs = auto_scores(local)
    assert auto_scores(course) == {s: theirs[s] for s in ("ana", "cai")}
    used = answers_used(local)
    assert answers_used(course) == {s: used[s] for s in ("ana", "cai")}
    log = (course.logs_dir / LAB / "autograde-ana.log").read_text()
    assert "[IPKernelApp]" in log               # the kernel log written on the worker came back


def test_an_unreachable_scheduler_names_the_option_and_the_address(tmp_path, monkeypatch, capsys):
    course = class_course(tmp_path, students=["ana"])
    monkeypatch.setattr(executors, "DASK_CONNECT_TIMEOUT_S", 1)
    with pytest.raises(CourseError, match=r"^--dask tcp://127\.0\.0\.1:9: cannot reach the Dask "
                                          r"scheduler at tcp://127\.0\.0\.1:9: "):
        autograde(course, LAB, dask="tcp://127.0.0.1:9")
    assert not (course.autograded_dir / "ana").exists() and not (course.logs_dir / LAB).exists()
    monkeypatch.chdir(course.root)
    capsys.readouterr()
    assert main(["course", "autograde", LAB, "--dask", "tcp://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("labkit course autograde: --dask tcp://127.0.0.1:9: cannot reach")
    assert len(err.strip().splitlines()) == 1


def test_bad_addresses_and_missing_dask_are_refused_before_anything_runs(tmp_path, monkeypatch):
    course = class_course(tmp_path, students=["ana"])
    with pytest.raises(CourseError, match=r"--dask takes 'local' or tcp://HOST:PORT, got "
                                          r"'udp://h:1'"):
        autograde(course, LAB, dask="udp://h:1")
    real = autograde_module.importlib.util.find_spec
    monkeypatch.setattr(autograde_module.importlib.util, "find_spec",
                        lambda name, *a: None if name == "distributed" else real(name, *a))
    with pytest.raises(CourseError, match=r"--dask local needs Dask's distributed package, which "
                                          r"is not installed here"):
        autograde(course, LAB, dask="local")
    assert not (course.logs_dir / LAB).exists()
