"""Build the lab0 fixture submissions in grading/fixtures/lab0-orientation/ from the release.

Run after changing lab0 (``python tests/course/build_fixtures.py``); the tests
check that every untampered fixture still matches the release cell for cell.
Each fixture is what a learner could hand in, answered for the student id it is filed
under (its file name), since Q2 and Q3 have numbers of their own per learner:

* ``perfect``: every objective answer right, a written answer to Q4;
* ``empty``: the release as downloaded, nothing answered;
* ``tampered``: Q1 right with its check cell deleted, Q2 wrong with its check
  cell renamed and replaced by ``pass``, Q3 wrong with its check cell edited
  and its points raised, the Q4 task cell deleted;
* ``infinite_loop``: every answer right, an unrelated cell loops forever;
* ``swallow_interrupt``: the same, but the loop swallows KeyboardInterrupt;
* ``raises_at_import``: the first cell fails to import, Q1 and Q3 right, Q2 unanswered;
* ``hostile``: every answer right, and a cell that tries to change the gradebook,
  other students' files, ``source/`` and the installed package.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import nbformat

from labkit.labs import lab0

ROOT = Path(__file__).resolve().parents[2]
LAB = "lab0-orientation"
RELEASE = ROOT / "release" / LAB / f"{LAB}.ipynb"
OUT = ROOT / "grading" / "fixtures" / LAB
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"

def smallest_fleet(student: str) -> int:
    """The fewest replicas that hold every budget of ``student``'s Q3 on seed 1 (as a learner finds it)."""
    task = lab0.q3_task(learner=student)
    return next(n for n in range(1, 40) if task.judge({"model.replicas": n}, seeds=[1]).passed)


def right(student: str) -> dict[str, str]:
    """Correct literal answers for the learner the submission is filed under (their variant)."""
    v = lab0.q2(learner=student)
    return {"q1_answer": 'q1_answer = "B"',
            "q2_answer": f"q2_answer = {v.rate_rps} * {v.service_ms / 1000:g}",
            "q3_answer": f'q3_knobs = {{"model.replicas": {smallest_fleet(student)}}}'}


def wrong(student: str) -> dict[str, str]:
    """Plausible wrong answers: milliseconds not converted, one replica too few."""
    v = lab0.q2(learner=student)
    return {"q1_answer": 'q1_answer = "A"',
            "q2_answer": f"q2_answer = {v.rate_rps} * {v.service_ms}",
            "q3_answer": f'q3_knobs = {{"model.replicas": {smallest_fleet(student) - 1}}}'}
Q4_TEXT = ("Each seed is one random stretch of traffic, so a setting can pass on the seed I tried "
           "by luck. Judging on unseen seeds checks the design holds with headroom, not just on "
           "one sample.")

LOOP = "while True:\n    spin = 1"
SWALLOW = ("while True:\n    try:\n        while True:\n            spin = 1\n"
           "    except KeyboardInterrupt:\n        pass  # ignore the grader's interrupt")

HOSTILE = r'''
import os, signal, sqlite3, sys
from pathlib import Path

mark = "HOSTILE" + "-" + "MARKER"          # built at run time: the literal is not in this file
report = {}

def attempt(label, action):
    try:
        action()
        report[label] = "ALLOWED"
    except Exception as exc:               # record and carry on
        report[label] = "blocked: " + type(exc).__name__

def ancestors_of(path):
    path = Path(path)
    return [path, *path.parents]

places = set(ancestors_of(Path.cwd()))
for var in ("PWD", "OLDPWD", "INIT_CWD"):      # where the grader was started from
    if os.path.isdir(os.environ.get(var, "")):
        places.update(ancestors_of(os.environ[var]))
pid = os.getpid()
for _ in range(12):                        # walk up the process tree via /proc
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        pid = int(status.split("PPid:")[1].split()[0])
        if pid <= 1:
            break
        places.update(ancestors_of(os.readlink(f"/proc/{pid}/cwd")))
    except Exception:
        break

own = Path.cwd()
targets = []
for place in sorted(places, key=str):
    if place == own or own in place.parents:
        continue                           # its own work folder is fair game
    for rel in ("gradebook.db", "grading/gradebook.db", "source", "release", "grading/submitted",
                "grading/autograded", "nbgrader_config.py"):
        if (place / rel).exists() or rel.endswith(".db"):
            targets.append(place / rel)

for target in targets:
    if target.name.endswith(".db"):
        attempt(f"append to {target}", lambda t=target: open(t, "ab").write(mark.encode()))
        attempt(f"sql update {target}", lambda t=target: sqlite3.connect(t).execute(
            "UPDATE grade SET auto_score = 99").connection.commit())
        attempt(f"chmod {target}", lambda t=target: os.chmod(t, 0o777))
        attempt(f"delete {target}", lambda t=target: os.remove(t))
    elif target.is_dir():
        attempt(f"list {target}", lambda t=target: os.listdir(t))
        attempt(f"create in {target}", lambda t=target: (t / "pwned.txt").write_text(mark))
        lab = "lab0-orientation"                 # paths guessed from the course layout
        guesses = [target / lab / f"{lab}.ipynb", target / "perfect" / lab / f"{lab}.ipynb"]
        for child in guesses + sorted(target.rglob("*.ipynb"))[:5]:
            attempt(f"overwrite {child}", lambda c=child: c.write_text(mark))
            attempt(f"touch {child}", lambda c=child: os.utime(c, (0, 0)))
    else:
        attempt(f"overwrite {target}", lambda t=target: t.write_text(mark))

import labkit.checkpoints
attempt("patch installed labkit", lambda: open(labkit.checkpoints.__file__, "a").write("#" + mark))
attempt("write /tmp", lambda: open("/tmp/labkit-" + mark + ".txt", "w").write(mark))
attempt("kill the grader", lambda: os.kill(os.getppid(), signal.SIGKILL))
attempt("write own folder", lambda: open("own-" + mark + ".txt", "w").write(mark))

for label, verdict in sorted(report.items()):
    print(verdict.ljust(28), label.replace(mark, "<mark>"))
'''


def cell(nb, grade_id):
    for i, c in enumerate(nb.cells):
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return i, c
    raise KeyError(grade_id)


def by_id(nb, cell_id):
    for i, c in enumerate(nb.cells):
        if c.get("id") == cell_id:
            return i, c
    raise KeyError(cell_id)


def answered(nb, answers, q4=True):
    nb = copy.deepcopy(nb)
    for gid, code in answers.items():
        _, c = cell(nb, gid)
        assert STUB in c.source, gid
        c.source = c.source.replace(STUB, code)
    if q4:
        _, c = by_id(nb, "lab0-q4-answer")
        c.source = Q4_TEXT
    return nb


def build() -> dict[str, nbformat.NotebookNode]:
    """Every fixture, answered for the student id it is filed under (its file name)."""
    release = nbformat.read(RELEASE, as_version=4)
    out = {"perfect": answered(release, right("perfect")), "empty": copy.deepcopy(release)}

    good, bad = right("tampered"), wrong("tampered")
    nb = answered(release, {"q1_answer": good["q1_answer"], "q2_answer": bad["q2_answer"],
                            "q3_answer": bad["q3_answer"]})
    i, _ = cell(nb, "q1_check")
    del nb.cells[i]
    _, c = cell(nb, "q2_check")
    c.metadata.nbgrader["grade_id"] = "q2_check_mine"
    c.source = "pass"
    _, c = cell(nb, "q3_check")
    c.metadata.nbgrader["points"] = 10
    c.source = 'print("all good")'
    i, _ = cell(nb, "q4_task")
    del nb.cells[i]
    out["tampered"] = nb

    for name, code in (("infinite_loop", LOOP), ("swallow_interrupt", SWALLOW)):
        nb = answered(release, right(name))
        _, c = by_id(nb, "lab0-q3-try")
        c.source = code
        out[name] = nb

    good = right("raises_at_import")
    nb = answered(release, {"q1_answer": good["q1_answer"], "q3_answer": good["q3_answer"]})
    _, c = by_id(nb, "lab0-first-run")
    c.source = "import labkit_no_such_module\n" + c.source
    out["raises_at_import"] = nb

    nb = answered(release, right("hostile"))
    _, c = cell(nb, "q1_answer")
    c.source = HOSTILE.strip() + "\n\n" + c.source
    out["hostile"] = nb
    return out


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, nb in build().items():
        nbformat.write(nb, OUT / f"{name}.ipynb")
    print(f"wrote {len(build())} fixtures to {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
