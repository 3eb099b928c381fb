"""The CPD timing model: tags counted exactly, words counted as prose, parts that add up."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import nbformat
import pytest
from nbformat import v4

from labkit.cpd import (
    Assumptions,
    CpdError,
    breakdown,
    count_notebook,
    format_minutes,
    prose_words,
    reading_minutes,
)

PARTS = ("reading_words", "reading_min", "activities", "activities_min", "checkpoint_blocks",
         "checkpoints_min", "reflections", "reflection_min", "written_tasks", "written_min",
         "evidence_artifacts", "evidence_min", "design_tasks", "design_min", "assessed_min",
         "total_min")


def words(n: int, stem: str = "word") -> str:
    return " ".join(f"{stem}{i}" for i in range(n))


def make_nb(path: Path, *, reading: int = 0, activities: int = 0, checkpoints: int = 0,
            reflections: int = 0, title: str = "Lab", extra: list | None = None,
            assessed: dict[str, int] | None = None) -> Path:
    """A notebook with exactly the given tagged content (reading words split over two cells)."""
    cells = [v4.new_markdown_cell(f"# {title}\n\n## Learning objectives\n\n- one thing\n"
                                  "- another thing")]
    first = reading // 2
    for n in (first, reading - first):
        if n:
            cells.append(v4.new_markdown_cell(words(n), metadata={"tags": ["reading"]}))
    for i in range(activities):
        cells.append(v4.new_markdown_cell(f"## Activity {i}", metadata={"tags": ["activity"]}))
        cells.append(v4.new_code_cell("x = 1"))
    for _ in range(checkpoints):
        cells.append(v4.new_markdown_cell("## Checkpoint", metadata={"tags": ["checkpoint"]}))
    for _ in range(reflections):
        cells.append(v4.new_markdown_cell("Reflect.", metadata={"tags": ["reflection"]}))
    for tag, n in (assessed or {}).items():       # written / evidence / design cells
        cells += [v4.new_code_cell(f"x{i} = None", metadata={"tags": [tag]}) for i in range(n)]
    cells += extra or []
    path.parent.mkdir(parents=True, exist_ok=True)
    # Plain JSON rather than nbformat.write: one test needs a tag repeated, which the
    # schema rejects but a hand-edited notebook can still hold.
    nb = v4.new_notebook()
    nb["cells"] = cells
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from labkit.commands import cpd as command

    parser = argparse.ArgumentParser(prog="labkit")
    command.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    code = args.func(args)
    out, err = capsys.readouterr()
    return code, out, err


# --- words ----------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("one two three", 3),
    ("# Heading here\n\n- item one\n- item two", 6),
    ("before\n```python\nx = 1\ny = 2\n```\nafter", 2),               # fenced code dropped
    ("before\n~~~\ncode code\n~~~\nafter", 2),
    ("text\n```\nnever closed code", 1),                              # open fence to the end
    ("see [the docs](https://example.org/a/b) now", 4),               # link text kept
    ("![a diagram of boxes](img.png) caption", 1),                    # image dropped
    ("<div class='x'>inside <b>bold</b></div>", 2),                   # tags dropped
    ("<!-- hidden note words --> shown", 1),                          # comments dropped
    ("go to https://example.org or www.example.org today", 4),        # bare URLs dropped
    ("set `model.replicas` to 4", 4),                                 # inline code is read
    ("| a | b |\n|---|---|\n| c | d |", 4),                           # table pipes dropped
    ("**bold** _it_ — > quote", 3),                                   # punctuation alone isn't
    ("$$\nW_q = \\frac{C}{c\\mu-\\lambda}\n$$ done", 1),               # display maths dropped
    ("[ref]: https://example.org\nword", 1),                          # reference definition
])
def test_prose_words_counts_only_prose(text: str, expected: int) -> None:
    assert prose_words(text) == expected


def test_reading_minutes_rule_and_seed_figure() -> None:
    # The course page: 3,845 words -> base 20 min x 1.3 = 26 min.
    assert reading_minutes(3845) == 26
    # ceil(words/200): 200 words is one page, 201 two.
    assert reading_minutes(200) == 1 and reading_minutes(201) == 3
    # 5 pages x 1.3 = 6.5 rounds half-up (Python's round() would give 6).
    assert reading_minutes(1000) == 7
    assert reading_minutes(0) == 0
    with pytest.raises(CpdError, match=r"words must be a whole number >= 0, got -1"):
        reading_minutes(-1)


@pytest.mark.parametrize("field, value, message", [
    ("activity_min", 0, "assumptions.activity_min must be a whole number >= 1, got 0"),
    ("words_per_min", 2.5, "assumptions.words_per_min must be a whole number >= 1, got 2.5"),
    ("reading_factor", 0.5, "assumptions.reading_factor must be a number >= 1, got 0.5"),
    ("claimed_min", True, "assumptions.claimed_min must be a whole number >= 1, got True"),
])
def test_assumptions_are_validated(field: str, value: object, message: str) -> None:
    with pytest.raises(CpdError) as info:
        Assumptions(**{field: value})
    assert str(info.value) == message


def test_format_minutes() -> None:
    assert format_minutes(118) == "1h 58m"
    assert format_minutes(45) == "45m"
    assert format_minutes(720) == "12h 00m"
    assert format_minutes(-61) == "-1h 01m"


# --- tags -------------------------------------------------------------------------------

def test_tags_are_counted_exactly(tmp_path: Path) -> None:
    extra = [
        v4.new_markdown_cell("not tagged prose is not reading"),
        v4.new_code_cell("print('tagged code')", metadata={"tags": ["reading"]}),
        {"cell_type": "markdown", "id": "twice", "source": "twice",
         "metadata": {"tags": ["activity", "activity"]}},   # schema-invalid, hand-edited
        v4.new_markdown_cell("near miss", metadata={"tags": ["activity-extra", "Checkpoint"]}),
        v4.new_markdown_cell("two roles", metadata={"tags": ["reflection", "evidence:reflection"]}),
    ]
    nb = make_nb(tmp_path / "lab.ipynb", reading=301, activities=2, checkpoints=3,
                 reflections=1, extra=extra, title="Lab 9 - Counting")
    timing, warnings = count_notebook(nb)
    assert timing.reading_words == 301
    assert timing.activities == 3                      # 2 + one cell carrying the tag twice
    assert timing.checkpoint_blocks == 3               # "Checkpoint" is not "checkpoint"
    assert timing.reflections == 2
    assert timing.title == "Lab 9 - Counting"
    assert timing.objectives == ("one thing", "another thing")
    assert len(warnings) == 1 and "cell 12 is tagged 'reading' but is a code cell" in warnings[0]
    assert timing.reading_min == 3                     # ceil(301/200) = 2 pages x 1.3 = 2.6
    assert timing.total_min == 3 + 3 * 15 + 3 * 5 + 2 * 8


# --- breakdown --------------------------------------------------------------------------

@pytest.fixture()
def workbook(tmp_path: Path) -> Path:
    rel = tmp_path / "release"
    make_nb(rel / "lab0-orientation" / "orientation.ipynb", reading=150, activities=1,
            checkpoints=1, title="Lab 0 - Orientation")
    make_nb(rel / "lab1-system-shapes" / "a.ipynb", reading=1201, activities=2, checkpoints=1,
            reflections=1, title="Lab 1 - System shapes")
    make_nb(rel / "lab1-system-shapes" / "b.ipynb", reading=1000, activities=2, reflections=0)
    make_nb(rel / "lab2-scaling-cost-reliability" / "lab2.ipynb", reading=2500, activities=7,
            checkpoints=1, reflections=1,
            assessed={"written": 2, "evidence:load-failure-design": 1, "evidence:reflection": 1,
                      "design": 3})
    (rel / "README.md").write_text("not a lab")
    return tmp_path


def test_breakdown_finds_labs_in_order_and_groups_folders(workbook: Path) -> None:
    b = breakdown(root=workbook)
    assert [lab.name for lab in b.labs] == ["lab0-orientation", "lab1-system-shapes",
                                            "lab2-scaling-cost-reliability"]
    lab1 = b.labs[1]
    assert len(lab1.notebooks) == 2 and lab1.reading_words == 2201 and lab1.activities == 4
    # ceil(2201/200) = 12 pages x 1.3 = 15.6 -> 16; the folder is one lab, not two.
    assert lab1.reading_min == 16


def test_numbers_add_up(workbook: Path) -> None:
    d = breakdown(root=workbook).to_dict()
    for key in PARTS:
        assert d["total"][key] == sum(lab[key] for lab in d["labs"]), key
    for row in [*d["labs"], d["total"]]:
        assert row["total_min"] == (row["reading_min"] + row["activities_min"]
                                    + row["checkpoints_min"] + row["reflection_min"]
                                    + row["assessed_min"])
        assert row["assessed_min"] == (row["written_min"] + row["evidence_min"]
                                       + row["design_min"])
        assert row["written_min"] == 10 * row["written_tasks"]
        assert row["evidence_min"] == 20 * row["evidence_artifacts"]
        assert row["design_min"] == 10 * row["design_tasks"]
        assert row["activities_min"] == 15 * row["activities"]
        assert row["checkpoints_min"] == 5 * row["checkpoint_blocks"]
        assert row["reflection_min"] == 8 * row["reflections"]
    assert d["total"]["claimed_min"] == 720
    assert d["total"]["gap_min"] == 720 - d["total"]["total_min"]


def test_assessed_work_is_counted_per_tagged_cell(workbook: Path) -> None:
    lab2 = breakdown(root=workbook).labs[2]
    assert (lab2.written_tasks, lab2.evidence_artifacts, lab2.design_tasks) == (2, 1, 3)
    assert lab2.assessed_min == 2 * 10 + 20 + 3 * 10 == 70
    before = breakdown(root=workbook)
    path = workbook / "release" / "lab0-orientation" / "orientation.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(v4.new_markdown_cell("Your runbook",
                                         metadata={"tags": ["evidence:incident-runbook"]}))
    nbformat.write(nb, path)
    after = breakdown(root=workbook)
    assert after.total_min - before.total_min == 20 == after.assessed_min - before.assessed_min
    lines = " ".join(Assumptions().lines())
    for words in ("Written tasks: 10 min", "Evidence artifacts: 20 min", "Design tasks: 10 min"):
        assert words in lines


def test_reading_total_is_the_sum_over_labs_not_a_recount(tmp_path: Path) -> None:
    a = make_nb(tmp_path / "a.ipynb", reading=201)
    b = make_nb(tmp_path / "b.ipynb", reading=201)
    bd = breakdown([a, b])
    assert [lab.reading_min for lab in bd.labs] == [3, 3]
    assert bd.reading_min == 6 and reading_minutes(402) == 4


def test_seed_page_arithmetic_is_not_repeated(tmp_path: Path) -> None:
    # The course page's own content: 3,845 words, 3 activities, 3 blocks, 4 reflections.
    nb = make_nb(tmp_path / "seed.ipynb", reading=3845, activities=3, checkpoints=3,
                 reflections=4)
    b = breakdown([nb])
    parts = (b.reading_min, b.activities_min, b.checkpoints_min, b.reflection_min)
    assert parts == (26, 45, 15, 32)
    assert b.total_min == sum(parts) == 118          # the page shows 2 h 58 m (178 min)
    assert format_minutes(b.total_min) == "1h 58m"
    assert b.gap_min == 602


def test_one_more_activity_adds_exactly_fifteen_minutes(workbook: Path) -> None:
    before = breakdown(root=workbook)
    path = workbook / "release" / "lab2-scaling-cost-reliability" / "lab2.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(v4.new_markdown_cell("## New activity", metadata={"tags": ["activity"]}))
    nbformat.write(nb, path)
    after = breakdown(root=workbook)
    assert after.total_min - before.total_min == 15
    assert after.activities - before.activities == 1
    assert after.gap_min - before.gap_min == -15
    assert after.labs[2].total_min - before.labs[2].total_min == 15


def test_gap_and_what_closes_it(workbook: Path) -> None:
    b = breakdown(root=workbook)
    close = b.to_close_gap()
    gap = b.gap_min
    assert gap > 0
    # The suggested number of activities is the smallest that closes the gap.
    n = close["activities"]
    assert n * 15 >= gap > (n - 1) * 15
    m = close["checkpoint_blocks"]
    assert m * 5 >= gap > (m - 1) * 5
    text = " ".join(b.gap_lines())
    assert f"{n} more 15-minute activities" in text
    assert format_minutes(gap) in text


def test_no_gap_when_the_estimate_covers_the_claim(tmp_path: Path) -> None:
    nb = make_nb(tmp_path / "big.ipynb", activities=50)
    b = breakdown([nb])
    assert b.gap_min == 720 - 750
    assert b.to_close_gap()["activities"] == 0
    assert "nothing to close" in b.gap_lines()[0]
    assert "exceeds the claim by 30m (30 min)" in b.gap_lines()[1]


# --- errors -----------------------------------------------------------------------------

def test_errors_name_the_path(tmp_path: Path) -> None:
    with pytest.raises(CpdError, match=r"release\)?/\*/\*\.ipynb matched nothing"):
        breakdown(root=tmp_path / "nowhere")
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json")
    with pytest.raises(CpdError, match=r"bad\.ipynb: not a readable notebook"):
        breakdown([bad])
    with pytest.raises(CpdError, match=r"missing\.ipynb: no such notebook"):
        breakdown([tmp_path / "missing.ipynb"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(CpdError, match=r"empty: folder holds no \.ipynb notebooks"):
        breakdown([tmp_path / "empty"])
    (tmp_path / "list.ipynb").write_text("[1, 2]")
    with pytest.raises(CpdError, match=r"list\.ipynb: not a notebook \(no 'cells' list\)"):
        breakdown([tmp_path / "list.ipynb"])


# --- CLI --------------------------------------------------------------------------------

def test_cli_json_contract(workbook: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["cpd", "--json", "--root", str(workbook)], capsys)
    assert code == 0 and err == ""
    d = json.loads(out)
    assert len(d["labs"]) == 3
    for row in [*d["labs"], d["total"]]:
        assert set(PARTS) <= set(row)
    assert {"claimed_min", "gap_min"} <= set(d["total"])
    assert d["total"]["total_min"] == breakdown(root=workbook).total_min
    assert any("1.3" in note for note in d["assumption_notes"])


def test_cli_text_report(workbook: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["cpd", "--root", str(workbook)], capsys)
    b = breakdown(root=workbook)
    assert code == 0 and err == ""
    assert "Lab 0 - Orientation" in out and "Total" in out
    assert f"Estimated guided time: {format_minutes(b.total_min)}" in out
    assert "Assumptions:" in out and "ceil(words / 200)" in out
    assert f"{b.to_close_gap()['activities']} more 15-minute activities" in out


def test_cli_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["cpd", str(tmp_path / "missing.ipynb")], capsys)
    assert code == 2 and out == ""
    assert err.strip() == f"labkit cpd: {tmp_path / 'missing.ipynb'}: no such notebook"


@pytest.mark.parametrize("text, expected", [
    ("## Learning objectives\n\n- one\n- two\n\nProse after.", ["one", "two"]),
    ("Intro.\n\n**Learning objectives.** By the end of this lab you can:\n\n1. explain a\n"
     "   wrapped item;\n2. size replicas.\n\nThe system you will watch",
     ["explain a wrapped item;", "size replicas."]),
    ("**By the end you will be able to**\n\n* read a trace\n", ["read a trace"]),
    ("# Lab\n\n- a list that is not objectives", []),
])
def test_objectives_are_read_from_the_lab_introduction(text: str, expected: list) -> None:
    from labkit.cpd import objectives

    assert objectives(text) == expected


def test_a_timed_assessment_is_pending_not_guided_time(workbook: Path) -> None:
    before = breakdown(root=workbook)
    path = make_nb(workbook / "release" / "zz-assessment" / "exam.ipynb", reading=900,
                   activities=2, assessed={"written": 1})
    nb = json.loads(path.read_text())
    nb["metadata"]["labkit"] = {"assessment": {"time_limit_min": 50}}
    path.write_text(json.dumps(nb))
    after = breakdown(root=workbook)
    assert after.total_min == before.total_min          # its cells are not guided time
    assert after.assessment_pending_min == 50 == after.labs[-1].assessment_pending_min
    assert after.to_dict()["total"]["assessment_pending_min"] == 50
    assert "Pending: the timed assessment's 50 min count once" in " ".join(after.gap_lines())
    nb["metadata"]["labkit"]["assessment"]["time_limit_min"] = "soon"
    path.write_text(json.dumps(nb))
    with pytest.raises(CpdError, match=r"exam\.ipynb: labkit.assessment.time_limit_min must be "
                                       r"a whole number of minutes >= 1, got 'soon'"):
        breakdown(root=workbook)


def test_the_shipped_capstone_counts_two_to_three_hours_from_its_tags() -> None:
    root = Path(__file__).resolve().parents[1]
    (cap,) = [lab for lab in breakdown(root=root).labs if lab.name == "capstone-support-assistant"]
    # six guided activities, two checkpoint blocks, one reflection, the design graded on unseen
    # seeds, and two evidence artifacts (design document, postmortem) marked by a tutor
    assert (cap.activities, cap.checkpoint_blocks, cap.reflections) == (6, 2, 1)
    assert (cap.written_tasks, cap.evidence_artifacts, cap.design_tasks) == (0, 2, 1)
    assert cap.assessed_min == 2 * 20 + 10
    assert cap.total_min == cap.reading_min + 6 * 15 + 2 * 5 + 8 + 50
    assert 120 <= cap.total_min <= 180 and cap.assessment_pending_min == 0
