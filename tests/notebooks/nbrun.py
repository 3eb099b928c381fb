"""Shared helpers for the lab notebook tests: run a notebook in a real kernel, read its cells.

Each lab's test module runs its source notebook once (solutions in), keeps the kernel up for
wrong-answer probes, and reads nbgrader metadata and errors from the executed cells.  How long
a notebook takes is a benchmark (``bench/bench_notebooks.py``), not a test.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nbformat
from nbclient import NotebookClient

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
