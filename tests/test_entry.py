"""The learner's entry: the lab list follows release/, the index is current and runs cleanly."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat import v4

from labkit.entry import GENERATED_TAG, PLANNED, lab_entries, labs_markdown, main, write_index

REPO = Path(__file__).resolve().parents[1]
INDEX = REPO / "labs" / "index.ipynb"


def lab_nb(path: Path, title: str, activities: int = 1) -> None:
    nb = v4.new_notebook()
    nb["cells"] = [v4.new_markdown_cell(f"# {title}\n\n## Learning objectives\n\n- size replicas"
                                        "\n- read a trace", metadata={"tags": ["reading"]})]
    nb["cells"] += [v4.new_markdown_cell("go", metadata={"tags": ["activity"]})] * activities
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb))


@pytest.fixture()
def workbook(tmp_path: Path) -> Path:
    lab_nb(tmp_path / "release" / "lab0-orientation" / "lab0-orientation.ipynb", "Lab 0")
    lab_nb(tmp_path / "release" / "lab2-scaling-cost-reliability" / "lab2.ipynb", "Lab 2", 3)
    lab_nb(tmp_path / "release" / "lab9-extra" / "extra.ipynb", "Extra lab")
    (tmp_path / "labs").mkdir()
    shutil.copy(INDEX, tmp_path / "labs" / "index.ipynb")
    return tmp_path


def test_entries_follow_the_plan_then_extras(workbook: Path) -> None:
    entries = lab_entries(workbook)
    assert [e.folder for e in entries] == [p[0] for p in PLANNED] + ["lab9-extra"]
    assert [e.released for e in entries] == [True, False, True, False, False, False, False, True]
    lab2 = entries[2]
    assert lab2.notebooks == ("release/lab2-scaling-cost-reliability/lab2.ipynb",)
    assert lab2.objectives == ("size replicas", "read a trace")
    assert lab2.timing is not None and lab2.timing.activities_min == 45


def test_markdown_links_released_labs_and_names_planned_ones(workbook: Path) -> None:
    text = labs_markdown(lab_entries(workbook), details=True)
    assert "0. **[Lab 0 · Orientation](../release/lab0-orientation/lab0-orientation.ipynb)**" \
        in text
    assert ("1. **Lab 1 · System shapes**: not released yet (it will appear in "
            "`release/lab1-system-shapes/`)") in text
    assert "about 46m of guided time" in text          # 1 min reading + 3 x 15
    assert "   - read a trace" in text
    assert "**[lab9-extra](../release/lab9-extra/extra.ipynb)**" in text


def test_write_index_updates_only_the_generated_cell(workbook: Path) -> None:
    index = workbook / "labs" / "index.ipynb"
    before = nbformat.read(index, as_version=4)
    assert write_index(index, check=True) is False      # the fixture's release differs
    assert write_index(index) is False
    assert write_index(index, check=True) is True
    after = nbformat.read(index, as_version=4)
    changed = [i for i, (a, b) in enumerate(zip(before.cells, after.cells))
               if a.source != b.source]
    tagged = [i for i, c in enumerate(after.cells) if GENERATED_TAG in c.metadata.get("tags", [])]
    assert changed == tagged
    assert "release/lab9-extra/extra.ipynb" in after.cells[tagged[0]].source


def test_main_reports_stale_index(workbook: Path, capsys: pytest.CaptureFixture[str]) -> None:
    index = workbook / "labs" / "index.ipynb"
    assert main(["--index", str(index)]) == 1
    assert "out of date; run python -m labkit.entry --write" in capsys.readouterr().out
    assert main(["--index", str(index), "--write"]) == 0
    assert main(["--index", str(index)]) == 0
    assert main(["--index", str(workbook / "nope.ipynb")]) == 2
    assert "nope.ipynb" in capsys.readouterr().err


# --- the committed index ------------------------------------------------------------------

def test_committed_index_is_current_with_release() -> None:
    assert write_index(INDEX, check=True), (
        "labs/index.ipynb lists other labs than release/ holds: "
        "run .venv/bin/python -m labkit.entry --write and commit it")


def test_committed_index_has_no_outputs_and_working_links() -> None:
    nb = nbformat.read(INDEX, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    links = [target for cell in nb.cells if cell.cell_type == "markdown"
             for target in re.findall(r"\]\(([^)#]+)\)", cell.source)]
    assert "playground.ipynb" in links and any("lab0-orientation" in t for t in links)
    for target in links:
        assert (INDEX.parent / target).resolve().is_file(), f"broken link in index: {target}"


def test_index_runs_top_to_bottom_without_errors_or_stderr() -> None:
    from nbclient import NotebookClient

    nb = nbformat.read(INDEX, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(INDEX.parent)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert not [o for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    markdown = "".join(o.get("data", {}).get("text/markdown", "") for o in outputs)
    assert "| Total |" in markdown and "Claimed for the level" in markdown
    assert "lab0-orientation" in markdown
    figures = [o for o in outputs if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert len(figures) == 1
    names = [t["name"] for t in figures[0]["data"]["application/vnd.plotly.v1+json"]["data"]]
    assert names == ["Reading", "Activities", "Checkpoints", "Reflection", "Written tasks",
                     "Evidence", "Design tasks", "Claimed level hours"]
