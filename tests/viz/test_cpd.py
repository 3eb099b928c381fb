"""The CPD chart draws exactly the timing model's numbers."""

from __future__ import annotations

import json
from pathlib import Path

from nbformat import v4

from labkit.cpd import breakdown
from labkit.viz.cpd import cpd_figure


def _nb(path: Path, activities: int, reading_words: int, designs: int = 0) -> Path:
    nb = v4.new_notebook()
    nb["cells"] = [v4.new_markdown_cell(f"# {path.stem}")]
    nb["cells"] += [v4.new_markdown_cell(" ".join(["w"] * reading_words),
                                         metadata={"tags": ["reading"]})]
    nb["cells"] += [v4.new_markdown_cell("go", metadata={"tags": ["activity"]})] * activities
    nb["cells"] += [v4.new_markdown_cell("why?", metadata={"tags": ["reflection"]})]
    nb["cells"] += [v4.new_code_cell("design = ...", metadata={"tags": ["design"]})] * designs
    path.write_text(json.dumps(nb))
    return path


def test_cpd_figure_shows_the_breakdown(tmp_path: Path) -> None:
    b = breakdown([_nb(tmp_path / "lab-a.ipynb", 2, 450, designs=1),
                   _nb(tmp_path / "lab-b.ipynb", 5, 0)])
    fig = cpd_figure(b)
    traces = {t.name: t for t in fig.data}
    assert list(traces) == ["Reading", "Activities", "Checkpoints", "Reflection", "Written tasks",
                            "Evidence", "Design tasks", "Claimed level hours"]
    assert list(traces["Reading"].y) == ["lab-a", "lab-b", "All labs"]
    # ceil(450/200) = 3 pages x 1.3 = 3.9 -> 4 minutes; activities 15 min each.
    assert list(traces["Reading"].x) == [4, 0, 4]
    assert list(traces["Activities"].x) == [30, 75, 105]
    assert list(traces["Reflection"].x) == [8, 8, 16]
    assert list(traces["Design tasks"].x) == [10, 0, 10]
    assert list(traces["Claimed level hours"].x) == [720]
    # Stacked segments of each bar add up to its total, which the annotation states.
    stacked = [sum(fig.data[i].x[row] for i in range(7)) for row in range(3)]
    assert stacked == [52, 83, 135] == [lab.total_min for lab in b.labs] + [b.total_min]
    assert [a.text for a in fig.layout.annotations] == ["52m", "1h 23m", "2h 15m"]
    assert "gap 9h 45m" in fig.layout.title.text
    assert fig.layout.xaxis.title.text == "guided time (min)"
