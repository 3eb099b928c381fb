"""Shared helpers for the lab notebook tests: run a notebook in a real kernel, read its cells,
and hand in filled-in copies of a release to a scratch course.

Each lab's test module runs its source notebook once (solutions in), keeps the kernel up for
wrong-answer probes, and reads nbgrader metadata and errors from the executed cells.
``test_round_trip.py`` fills a release with the source's solutions (``submission``) and grades
it with nbgrader in a copy of the course (``course_copy``), with the forgeries and a copy.  How
long a notebook takes is a benchmark (``bench/bench_notebooks.py``), not a test.
"""

from __future__ import annotations

import copy
import re
import shutil
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[2]


def lab_paths(lab: str) -> tuple[Path, Path]:
    """The source and release notebook of ``lab``."""
    return (ROOT / "source" / lab / f"{lab}.ipynb", ROOT / "release" / lab / f"{lab}.ipynb")


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def grade_index(nb) -> dict[str, int]:
    """grade_id -> cell index."""
    return {nbgrader_meta(c)["grade_id"]: i for i, c in enumerate(nb.cells) if nbgrader_meta(c)}


def cell_errors(cell) -> list[str]:
    """Errors and stderr text a cell produced (nbgrader zeroes a check cell that writes stderr)."""
    out = []
    for o in cell.get("outputs", []):
        if o.output_type == "error":
            out.append(f"{o.ename}: {o.evalue}")
        elif o.output_type == "stream" and o.name == "stderr":
            out.append(f"stderr: {o.text}")
    return out


@contextmanager
def executed(path: Path, timeout_s: int = 120,
             cwd: Path | None = None) -> Iterator[tuple[object, NotebookClient]]:
    """``path`` executed top to bottom in a fresh kernel, which stays up inside the block.

    The kernel starts in ``cwd`` (default: the notebook's folder).
    """
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout_s, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(cwd or path.parent)}})
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        yield nb, client


def run_snippet(client: NotebookClient, source: str) -> list[str]:
    """Run ``source`` in ``client``'s kernel; return its errors (and stderr)."""
    cell = nbformat.v4.new_code_cell(source)
    client.execute_cell(cell, 0)
    return cell_errors(cell)


def release_run_stops_at_first_task(release: Path) -> list:
    """Run a released notebook; assert it stops with an answer stub at its first task.

    Every code cell before the first autograded answer cell must have run without an error
    or stderr, and that answer cell must raise the stub's NotImplementedError.  Returns the
    executed cells before it.
    """
    nb = nbformat.read(release, as_version=4)
    text = release.read_text(encoding="utf-8")
    for secret in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "MARK SCHEME"):
        assert secret not in text, f"the release shows {secret!r}"
    client = NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(release.parent)}})
    with pytest.raises(CellExecutionError) as info:
        client.execute()
    failed = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and cell_errors(c))
    first_task = next(i for i, c in enumerate(nb.cells) if nbgrader_meta(c).get("solution"))
    assert failed == first_task, f"cell {failed} failed before the first task (cell {first_task})"
    assert "NotImplementedError" in str(info.value)
    before = [c for c in nb.cells[:failed] if c.cell_type == "code"]
    assert all(c.get("execution_count") and not cell_errors(c) for c in before)
    return before


def source_run_fixture(lab: str, timeout_s: int = 120):
    """A module-scoped fixture running ``lab``'s source notebook once (each cell within
    ``timeout_s``), in a fresh kernel started in a scratch folder; it yields ``(nb, client)``
    with the kernel still up, for wrong-answer probes (``run_snippet``).  In a test module:
    ``source_run = source_run_fixture(LAB)``."""
    source, _release = lab_paths(lab)

    @pytest.fixture(scope="module")
    def source_run(tmp_path_factory):
        with executed(source, timeout_s=timeout_s,
                      cwd=tmp_path_factory.mktemp("run")) as (nb, client):
            yield nb, client

    return source_run


def outputs_text(cell) -> str:
    """What a cell printed or displayed as text: its streams, and each display's Markdown
    (or its plain text when it has no Markdown)."""
    out = []
    for o in cell.get("outputs", []):
        out.append(o.get("text", "") or "")
        data = o.get("data", {})
        out.append("".join(data.get("text/markdown", "")) or "".join(data.get("text/plain", "")))
    return "".join(out)


def cell_of(nb, grade_id: str):
    """The cell of ``nb`` whose nbgrader grade_id is ``grade_id``."""
    return next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == grade_id)


# ----------------------------------------------------------------- submissions and courses
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
SOLUTION = re.compile(r"( *)### BEGIN SOLUTION\n(.*?)\1### END SOLUTION\n?", re.S)
WRITTEN_PREFIX = "*Write your answer"


def submission(release, source, wrong: Mapping[str, str] | None = None,
               written: str | None = None):
    """A copy of the ``release`` notebook with each answer stub replaced by the ``source``'s
    solution, as a learner who got everything right would hand it in.

    ``wrong`` maps an answer cell's grade_id to the whole text the learner wrote there instead.
    A cell may hold several stubs (and indented ones, inside a ``def``): they are filled in
    order from the source cell's solution regions.  ``written`` fills the markdown cells that
    invite a written answer.
    """
    nb = copy.deepcopy(release)
    src = {nbgrader_meta(c).get("grade_id"): c for c in source.cells if nbgrader_meta(c)}
    for cell in nb.cells:
        gid = nbgrader_meta(cell).get("grade_id")
        if cell.cell_type == "markdown" and written and cell.source.startswith(WRITTEN_PREFIX):
            cell.source = written
            continue
        if not (nbgrader_meta(cell).get("solution") and "# YOUR CODE HERE" in cell.source):
            continue
        if wrong and gid in wrong:
            cell.source = wrong[gid]
            continue
        for indent, body in SOLUTION.findall(src[gid].source):   # stubs in source order
            stub = indent + STUB.replace("\n", "\n" + indent)
            cell.source = cell.source.replace(stub, body.rstrip("\n"), 1)
    return nb


def trusted_labs() -> dict[str, str]:
    """lab -> its ``labkit.labs`` module, for every graded notebook whose module declares
    ``VARIANTS`` (check grade_id -> the draw of its numbers), as every lab judged by the
    trusted judge does."""
    import importlib

    labs = {}
    for folder in sorted((ROOT / "source").iterdir()):
        if (folder / f"{folder.name}.ipynb").is_file():
            name = f"labkit.labs.{folder.name.split('-')[0]}"
            if hasattr(importlib.import_module(name), "VARIANTS"):
                labs[folder.name] = name
    return labs


def course_copy(tmp: Path, lab: str):
    """A scratch course in ``tmp/course``: this repository's nbgrader_config.py and ``lab``'s
    source and release folders, opened as a :class:`labkit.course.layout.Course`."""
    from labkit.course.layout import Course

    root = tmp / "course"
    for part in ("source", "release"):
        shutil.copytree(ROOT / part / lab, root / part / lab,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copy2(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    return Course.at(root)


def assert_multiple_choice_fair(source: Path, items: int) -> None:
    """Issue 15, one lab at a time: ``items`` multiple-choice questions, each with options A-D
    close in length (longest <= 2x shortest) and a key that is never the unique longest
    option, and no letter the key of more than 35% of the lab's items."""
    nb = nbformat.read(source, as_version=4)
    keys = {}
    for cell in nb.cells:
        match = re.search(r"### BEGIN SOLUTION\n(q\d+)_answer = \"([A-D])\"", cell.source)
        if match:
            keys[match.group(1).upper()] = match.group(2)
    seen = 0
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.startswith("MultipleChoice("):
            q = re.match(r'MultipleChoice\("(Q\d+)"', cell.source).group(1)
            options = dict(re.findall(r'^    "([A-D])": "(.*)",$', cell.source, re.M))
            assert sorted(options) == ["A", "B", "C", "D"], q
            lengths = {k: len(v) for k, v in options.items()}
            assert max(lengths.values()) <= 2 * min(lengths.values()), (q, lengths)
            longest = [k for k, n in lengths.items() if n == max(lengths.values())]
            assert longest != [keys[q]], f"{q}: the key is the unique longest option"
            seen += 1
    assert seen == len(keys) == items
    assert max(Counter(keys.values()).values()) <= 0.35 * len(keys), keys
