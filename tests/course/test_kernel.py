"""labkit.course.kernel: a cell that will not stop, or kills its kernel, costs only itself.

Runs real sandboxed kernels through SandboxedExecute (nbgrader's Execute
preprocessor with kernel-level time enforcement).  One notebook exercises
every case in order, so the suite starts few kernels.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from labkit.course.kernel import SandboxedExecute

TIMEOUT_S = 3
GRACE_S = 2
SWALLOW = ("while True:\n    try:\n        while True:\n            pass\n"
           "    except KeyboardInterrupt:\n        pass")
CELLS = {
    "define": "x = 41",
    "swallow": SWALLOW,                                       # ignores the interrupt: killed
    "after_swallow": "print(x + 1)",
    "sleep": "import time\ntime.sleep(600)",                  # interruptible: no restart
    "after_sleep": "y = 'kept'\nprint(x, y)",
    "exit": "import os\nos._exit(3)",                         # kills its own kernel
    "after_exit": "print(x, y)",
    "memory": "blob = bytearray(6 * 1024 ** 3)",              # > the 2 GiB default limit
    "after_memory": "print('alive')",
    "escape": f"open({str(Path(__file__).resolve())!r}, 'a')",   # a host file: not even visible
    "chmod": "import os\nos.chmod('.', 0o777)",
}


def run(cells, tmp_path, **kwargs):
    nb = new_notebook(cells=[new_code_cell(c) for c in cells], metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    ep = SandboxedExecute(timeout=TIMEOUT_S, iopub_timeout=GRACE_S, **kwargs)
    start = time.monotonic()
    nb, _ = ep.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    return nb, time.monotonic() - start


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    nb, elapsed = run(list(CELLS.values()), tmp_path_factory.mktemp("kernel"))
    return dict(zip(CELLS, nb.cells)), elapsed


def errors(cell):
    return [(o.ename, o.evalue) for o in cell.outputs if o.output_type == "error"]


def stdout(cell):
    return "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")


def test_a_loop_that_swallows_interrupts_is_killed_and_the_rest_still_runs(graded):
    cells, elapsed = graded
    (ename, evalue), = errors(cells["swallow"])
    assert ename == "CellTimeoutError" and f"longer than {TIMEOUT_S} s" in evalue
    assert stdout(cells["after_swallow"]) == "42\n"   # state before the loop restored by replay
    assert not errors(cells["after_swallow"])
    # three timeouts at most (swallow, sleep) plus grace and restarts: nowhere near 600 s
    assert elapsed < 90


def test_an_interruptible_loop_times_out_without_losing_state(graded):
    cells, _ = graded
    names = [e[0] for e in errors(cells["sleep"])]
    assert "KeyboardInterrupt" in names and "CellTimeoutError" in names
    assert stdout(cells["after_sleep"]) == "41 kept\n"


def test_a_cell_that_kills_its_kernel_is_marked_and_grading_goes_on(graded):
    cells, _ = graded
    (ename, evalue), = errors(cells["exit"])
    assert ename == "KernelDied" and "memory or CPU limit" in evalue
    # the replay re-ran define and after_sleep but skipped swallow, sleep and exit
    assert stdout(cells["after_exit"]) == "41 kept\n"


def test_memory_limit_raises_memory_error_in_the_cell(graded):
    cells, _ = graded
    assert errors(cells["memory"])[0][0] == "MemoryError"
    assert stdout(cells["after_memory"]) == "alive\n"


def test_kernel_code_runs_sandboxed(graded):
    cells, _ = graded
    assert errors(cells["escape"])[0][0] == "FileNotFoundError"    # the host is not in its root
    assert errors(cells["chmod"])[0][0] == "PermissionError"       # seccomp


def scratch_dirs():
    return set(Path(tempfile.gettempdir()).glob("labkit-kernel-*"))


def test_restarts_are_bounded_and_leave_no_scratch_folders(tmp_path):
    before = scratch_dirs()
    nb, _ = run(["import os\nos._exit(1)"] * 3 + ["print('never')"], tmp_path, max_restarts=1)
    assert scratch_dirs() <= before            # every kernel's private folder was removed
    assert errors(nb.cells[0])[0][0] == "KernelDied"
    assert errors(nb.cells[2])[0][0] == "KernelGaveUp"
    assert errors(nb.cells[3])[0][0] == "KernelGaveUp"


def test_the_judge_boots_in_the_runs_scratch_folder(tmp_path):
    # A lane the watchdog kills cannot remove the judge's folder; autograde removes its run's
    # scratch folder (the kernels' scratch_dir) whatever happened, so the judge's goes there.
    from nbformat.v4 import new_notebook as notebook
    from traitlets.config import Config

    from labkit.course.kernel import stop_judge

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    config = Config()
    config.SandboxKernelManager.scratch_dir = str(scratch)
    check = new_code_cell("assert True", metadata={"nbgrader": {
        "grade": True, "solution": False, "grade_id": "q1_check", "points": 1}})
    nb = notebook(cells=[check], metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    resources = {"labkit": {}, "nbgrader": {"student": "s1", "assignment": "lab"}}
    SandboxedExecute(config=config)._prestart_judge(nb, resources)
    _km, empty = resources["labkit"]["judge"]
    try:
        assert Path(empty).parent == scratch and Path(empty).name.startswith("labkit-judge-")
    finally:
        stop_judge(resources)
    assert not Path(empty).exists()
