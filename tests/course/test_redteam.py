"""The red-team batch: every attack on the grader, graded in one run beside a perfect submission.

The fixtures in grading/fixtures/lab0-redteam/ (built by tests/course/build_redteam.py) are
correct lab 0 submissions plus attack cells.  This module adds the attacks that live outside
a notebook (links handed in, links placed straight into ``submitted/``), starts loopback
listeners, a root-owned 0600 canary file and a token in the grader's environment, runs
``labkit course autograde`` (two lanes, as root, inside a control group that measures the
whole run's peak memory), then ``labkit course feedback``, and checks what the hardening
issue demands:

* nothing outside each student's autograded folder changed (source, release, submitted
  notebooks, the canary, ``/dev``), and the gradebook is whole and holds only the grades
  the submissions earned;
* no listener received a byte; the token appears in no output, log, notebook or feedback;
* no process a submission started is alive afterwards, and no kernel cgroup, user or
  scratch folder is left;
* the whole run's peak memory stays under the per-submission limit times the lanes;
* the perfect submission keeps full marks, and each attack's line says what was refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import socket
import sqlite3
import stat
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest

from labkit.course.cgroups import KernelCgroup
from labkit.course.gradebook import cell_grades
from labkit.course.layout import Course

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_redteam import correct  # noqa: E402  (lab 0 answered for a learner's own numbers)

ROOT = Path(__file__).resolve().parents[2]
LAB = "lab0-orientation"
FIXTURES = ROOT / "grading" / "fixtures" / "lab0-redteam"
ATTACKS = json.loads((FIXTURES / "ATTACKS.json").read_text())
CANARY = Path(ATTACKS["canary"])
LANES = 2
MEMORY_MB = 2048                     # the default: six children of 1 GiB each must not fit
CELL_TIMEOUT_S = 20                  # as the lab0 pipeline test: room for a loaded machine
BUDGET_S = 60                         # 8 slow cells of 9 s exceed it; a big output fits under load
FULL = {"q1_check": 1.0, "q2_check": 1.0, "q3_check": 2.0}

pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.geteuid() != 0, reason="grading runs as root")]

# what each attack's line must say (the sandbox's own words)
SAYS = {
    "rt_symlinks": ["never followed or copied", "4 x symbolic link"],
    "rt_special_files": ["never followed or copied", "named pipe", "socket", "2 x hard-linked file"],
    "rt_notes_leak": ["never copied back"],
    "rt_network": ["refused:", "network socket (AF_INET stream)", "network socket (AF_INET datagram)",
                   "network socket (AF_INET stream MPTCP)", "network socket (AF_INET6 stream)",
                   "network socket (AF_NETLINK raw)", "network socket (AF_PACKET raw)"],
    "rt_io_uring": ["refused:", "io_uring"],
    "rt_namespaces": ["refused:", "2 x unshare", "1 x new namespace (clone)", "1 x setns"],
    "rt_fork_bomb": ["hit the limit of 128 processes", "still running when its kernel ended were killed"],
    "rt_memory_hog": [f"hit the {MEMORY_MB} MiB memory limit", "processes killed"],
    "rt_survivor": ["1 process still running when its kernel ended was killed"],
    "rt_disk_fill": ["filled its 256 MiB work folder"],
    "rt_big_output": [("output cut at 16 MiB", "MiB was dropped")],   # cut, or merged and dropped
    "rt_slow_total": [f"used its {BUDGET_S} s time budget"],
}


class Listener:
    """Loopback listeners (TCP, MPTCP, UDP, TCP on ::1) recording every byte and connection."""

    def __init__(self, names: list[str]):
        self.received: list[tuple[str, bytes]] = []
        self.sockets: list[tuple[str, socket.socket]] = []
        self.ports: dict[str, int] = {}
        for name in names:
            family = socket.AF_INET6 if name == "tcp6" else socket.AF_INET
            kind = socket.SOCK_DGRAM if name == "udp" else socket.SOCK_STREAM
            proto = 262 if name == "mptcp" else 0
            try:
                s = socket.socket(family, kind, proto)
            except OSError:                      # MPTCP switched off here: plain TCP on its port
                s = socket.socket(family, kind, 0)
            s.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))   # a free port
            self.ports[name] = s.getsockname()[1]
            if kind == socket.SOCK_STREAM:
                s.listen(16)
            s.settimeout(0.2)
            self.sockets.append((name, s))
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            for name, s in self.sockets:
                try:
                    if s.type == socket.SOCK_DGRAM:
                        data, _ = s.recvfrom(65536)
                        self.received.append((name, data))
                    else:
                        conn, _ = s.accept()
                        conn.settimeout(1)
                        self.received.append((name, b"<connection>" + conn.recv(65536)))
                        conn.close()
                except (TimeoutError, OSError):
                    continue

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        for _, s in self.sockets:
            s.close()


def tree_state(root: Path, skip: list[Path]) -> dict[str, tuple]:
    state = {}
    for path in sorted(root.rglob("*")):
        if any(path == s or s in path.parents for s in skip):
            continue
        st = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if stat.S_ISREG(st.st_mode) else ""
        state[str(path)] = (digest, st.st_mode, st.st_uid, st.st_mtime_ns if digest else 0,
                            os.readlink(path) if stat.S_ISLNK(st.st_mode) else "")
    return state


def dev_state() -> list[tuple]:
    return sorted((e.name, e.stat(follow_symlinks=False).st_mode, e.stat(follow_symlinks=False).st_rdev)
                  for e in os.scandir("/dev"))


def canary_state() -> tuple:
    st = CANARY.lstat()
    return CANARY.read_bytes(), st.st_mode, st.st_uid, st.st_mtime_ns


def processes_with(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                if marker.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    found.append(int(entry))
            except OSError:
                continue
    return found


def labkit(args: list[str], cwd: Path, env: dict[str, str],
           procs: list[str] = ()) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "labkit.cli", *args]
    if procs:   # join the measuring cgroup first, then become labkit
        command = ["sh", "-c", 'for f in $LABKIT_TEST_PROCS; do echo $$ > "$f"; done; exec "$@"', "sh",
                   *command]
        env = dict(env, LABKIT_TEST_PROCS=" ".join(procs))
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800,
                          check=False)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("redteam-course")
    shutil.copy2(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    shutil.copytree(ROOT / "source" / LAB, root / "source" / LAB)
    shutil.copytree(ROOT / "release" / LAB, root / "release" / LAB)
    (root / "grading").mkdir()
    course = Course.at(root)
    token = "tok-" + secrets.token_hex(16)
    env = dict(os.environ, LABKIT_REDTEAM_TOKEN=token, PWD=str(root),
               PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    CANARY.write_bytes(b"canary " + secrets.token_bytes(32))
    os.chmod(CANARY, 0o600)
    handed = tmp_path_factory.mktemp("handed-in")
    for nb in sorted(FIXTURES.glob("*.ipynb")):
        shutil.copy2(nb, handed / nb.name)
    (handed / "mallory.ipynb").symlink_to(handed / "rt_perfect.ipynb")       # another's work
    (handed / "oscar").mkdir()
    (handed / "oscar" / f"{LAB}.ipynb").symlink_to(ROOT / "source" / LAB / f"{LAB}.ipynb")
    collected = labkit(["course", "collect", LAB, *sorted(map(str, handed.iterdir()))], root, env)
    labkit(["course", "release", LAB], root, env)
    # attacks placed straight into submitted/ (as a shared drive or a careless script could)
    trudy = course.submitted_dir / "trudy" / LAB
    trudy.mkdir(parents=True)
    (trudy / f"{LAB}.ipynb").symlink_to(course.source_dir / LAB / f"{LAB}.ipynb")
    (course.submitted_dir / "eve").symlink_to(course.submitted_dir / "rt_perfect")
    peggy = course.submitted_dir / "peggy" / LAB
    peggy.mkdir(parents=True)
    nbformat.write(correct("peggy"), peggy / f"{LAB}.ipynb")      # answered for peggy's numbers
    os.mkfifo(peggy / "pipe")
    (peggy / "extra.txt").write_text("x")
    os.link(peggy / "extra.txt", peggy / "extra-link.txt")
    listener = Listener(list(ATTACKS["ports"]))
    handover = course.submitted_dir / "rt_network" / LAB / "ports.json"   # beside the notebook
    handover.write_text(json.dumps(listener.ports))
    volatile = [course.autograded_dir, course.feedback_dir, course.logs_dir, course.db_path,
                root / "grading" / ".registered"]
    before = tree_state(root, volatile)
    before_dev, before_canary = dev_state(), canary_state()
    tmp = tmp_path_factory.mktemp("grader-tmp")        # the grader's own temporary folder
    env["TMPDIR"] = str(tmp)
    meter = KernelCgroup.create(controllers=("pids", "memory", "cpu"))   # lanes and kernels nest in it
    try:
        proc = labkit(["course", "autograde", LAB, "--workers", str(LANES), "--cell-timeout",
                       str(CELL_TIMEOUT_S), "--submission-timeout", str(BUDGET_S), "--memory-mb",
                       str(MEMORY_MB)], root, env, procs=meter.procs_files)
        peak = meter.events()["memory_peak"]
        left = meter.pids()                             # every process the run started, nested too
        nested = sorted({str(Path(top).relative_to(folder)) for folder in meter.folders.values()
                         for top, _dirs, _files in os.walk(folder) if Path(top) != folder})
        feedback = labkit(["course", "feedback", LAB], root, env)
    finally:
        listener.close()
        meter.kill()
        meter.remove()
    lines = {line.split("\t")[0]: line for line in proc.stdout.splitlines() if "\t" in line}
    yield {"course": course, "proc": proc, "lines": lines, "collected": collected, "token": token,
           "before": before, "after": tree_state(root, volatile), "dev": (before_dev, dev_state()),
           "canary": (before_canary, canary_state()), "listener": listener, "peak": peak,
           "feedback": feedback, "tmp": tmp, "nested": nested, "left": left}
    CANARY.unlink(missing_ok=True)


def test_every_submission_has_a_line_and_the_batch_ends_cleanly(batch):
    proc = batch["proc"]
    assert "Traceback" not in proc.stdout + proc.stderr
    students = {p.stem for p in FIXTURES.glob("*.ipynb")} | {"trudy", "eve", "peggy"}
    assert set(batch["lines"]) == students, proc.stdout + proc.stderr
    assert proc.returncode == 1                      # trudy and eve cannot be graded


def test_the_perfect_submissions_keep_full_marks(batch):
    grades: dict[str, dict[str, float | None]] = {}
    for g in cell_grades(batch["course"].db_url, LAB):
        grades.setdefault(g.student, {})[g.cell] = g.auto_score
    for student in ("rt_perfect", "peggy"):
        assert {k: v for k, v in grades[student].items() if k != "q4_task"} == FULL, student
    contained = [s for s in SAYS if s not in ("rt_slow_total", "rt_memory_hog", "rt_fork_bomb")]
    for student in contained:                       # a contained attack costs its author nothing
        assert {k: v for k, v in grades[student].items() if k != "q4_task"} == FULL, student
    assert sum(v or 0 for k, v in grades["rt_slow_total"].items()) == 0   # ran out of time


@pytest.mark.parametrize("student", sorted(SAYS))
def test_each_attack_line_says_what_was_refused(batch, student):
    line = batch["lines"][student]
    for phrase in SAYS[student]:
        options = phrase if isinstance(phrase, tuple) else (phrase,)
        assert any(option in line for option in options), (student, phrase, line)


def test_links_and_special_files_handed_in_are_refused_not_followed(batch):
    collected = batch["collected"].stdout
    assert "mallory.ipynb: a symbolic link (not followed)" in collected
    assert f"oscar/{LAB}.ipynb: a symbolic link (not followed)" in collected
    lines = batch["lines"]
    assert "NOT GRADED" in lines["trudy"] and f"refused {LAB}.ipynb: a symbolic link" in lines["trudy"]
    assert "NOT GRADED" in lines["eve"] and "student folder is a symbolic link" in lines["eve"]
    assert "refused pipe: a named pipe (not opened)" in lines["peggy"]
    assert "refused extra.txt: a file with 2 hard links" in lines["peggy"]
    assert not (batch["course"].autograded_dir / "trudy").exists()
    assert not (batch["course"].autograded_dir / "eve").exists()


def test_nothing_outside_each_autograded_folder_changed(batch):
    assert batch["after"] == batch["before"]         # source, release, submitted, config, handed-in
    assert batch["canary"][1] == batch["canary"][0]  # bytes, mode, owner, mtime
    assert batch["dev"][1] == batch["dev"][0]
    course = batch["course"]
    with sqlite3.connect(course.db_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        scores = [s for (s,) in db.execute("SELECT auto_score FROM grade WHERE auto_score IS NOT NULL")]
    assert scores and max(scores) <= 2                # no forged score anywhere
    for folder in course.autograded_dir.iterdir():    # only what was filed came back
        names = {p.name for p in (folder / LAB).iterdir()}
        filed = {f"{LAB}.ipynb", "timestamp.txt"} | ({"ports.json"} if folder.name == "rt_network" else set())
        assert f"{LAB}.ipynb" in names and names <= filed, folder.name


def test_no_network_listener_received_anything(batch):
    assert batch["listener"].received == []
    report = reports(batch, "rt_network")
    assert report and all(v != "ALLOWED" for v in report.values()), report


def test_the_graders_token_reaches_no_output(batch):
    token = batch["token"]
    assert token not in batch["proc"].stdout + batch["proc"].stderr
    for path in (batch["course"].root / "grading").rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert token.encode() not in path.read_bytes(), path
    secret = reports(batch, "rt_secrets")
    assert secret["grader token in environment"] == "IndexError"
    assert secret["read /etc/shadow"] == "PermissionError"
    assert secret["course paths in command lines"] == 0
    assert secret["processes visible"] <= 3           # process 1, the kernel, maybe one child
    assert "LABKIT_REDTEAM_TOKEN" not in secret["environment names"]


def test_no_process_cgroup_or_scratch_folder_outlives_grading(batch):
    assert processes_with(ATTACKS["survivor"]) == []
    assert batch["left"] == set()                      # nothing of the run is alive after it
    assert batch["nested"] == []                       # every lane's and kernel's cgroup was removed
    assert list(batch["tmp"].iterdir()) == []         # every kernel's scratch folder is gone


def test_peak_memory_of_the_whole_run_stays_under_the_budget(batch):
    assert 0 < batch["peak"] < MEMORY_MB * 1024 * 1024 * LANES


def test_attacks_really_ran_and_met_walls(batch):
    symlinks = reports(batch, "rt_symlinks")
    assert symlinks["link notebook to canary"] == "ALLOWED"       # in its own folder only
    assert symlinks["read canary"] == "FileNotFoundError"         # the host is not in its world
    leak = reports(batch, "rt_notes_leak")
    assert leak["notebooks or history files found"] == 0
    assert leak["read own history db"] == "FileNotFoundError"
    bomb = reports(batch, "rt_fork_bomb")
    assert bomb["refused"] > 0 and bomb["forked"] < 128
    assert reports(batch, "rt_memory_hog")["children killed"] >= 1
    assert reports(batch, "rt_disk_fill")["files written"] < 34


def test_feedback_holds_html_only(batch):
    feedback = batch["feedback"]
    assert feedback.returncode == 0, feedback.stderr
    for folder in batch["course"].feedback_dir.glob(f"*/{LAB}"):
        assert sorted(p.suffix for p in folder.iterdir()) == [".html"], folder
    page = batch["course"].feedback_dir / "rt_notes_leak" / LAB / f"{LAB}.html"
    assert "NOTES-LEAK-7f3a" not in page.read_text()       # what notes.txt held


def reports(batch, student: str) -> dict:
    nb = nbformat.read(batch["course"].autograded_dir / student / LAB / f"{LAB}.ipynb", as_version=4)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                for line in out["text"].splitlines():
                    if line.startswith("REDTEAM "):
                        return json.loads(line[len("REDTEAM "):])
    return {}
