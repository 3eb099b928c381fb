"""The CPD evidence pack, from complete, partial and empty fixture notebooks."""

from __future__ import annotations

import argparse
import json
import re
import threading
from pathlib import Path

import pytest
from nbformat import v4

from labkit.cpd import format_minutes
from labkit.evidence.pack import (
    EVIDENCE_MIME,
    EXPECTED,
    MIN_WORDS,
    PackError,
    collect,
    evidence_bundle,
    passed_assessments,
    write_pack,
)

ANSWER = ("I would route every refund approval through a logged review queue, keep the "
          "model read-only by default, and name one owner for the fallback path so that an "
          "outage has a person attached to it before it happens.")
assert len(ANSWER.split()) >= MIN_WORDS


def md(text: str, *tags: str):
    return v4.new_markdown_cell(text, metadata={"tags": list(tags)})


def code(src: str, *tags: str, outputs: list | None = None):
    cell = v4.new_code_cell(src, metadata={"tags": list(tags)})
    cell["outputs"] = outputs or []
    return cell


def payload_output(kind: str, markdown: str, problems: tuple[str, ...] = ()) -> dict:
    bundle = evidence_bundle(kind=kind, data={"owner": "ops lead", "steps": ["a", "b"]},
                             markdown=markdown, title=f"My {kind}", problems=problems)
    return v4.new_output("display_data", data=bundle)


def notebook(path: Path, title: str, cells: list) -> Path:
    nb = v4.new_notebook()
    nb["cells"] = [md(f"# {title}\n\n## Learning objectives\n\n- see the whole system"),
                   md("Prose " * 250, "reading"), md("## Activity", "activity"),
                   md("## Checkpoint", "checkpoint"), *cells]
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def reflection(answer: str) -> list:
    return [md("**Reflect:** what will you change at work?", "reflection"),
            md(answer, "evidence:reflection")]


@pytest.fixture()
def complete(tmp_path: Path) -> list[Path]:
    tmp_path = tmp_path / "complete"
    tmp_path.mkdir()
    return [
        notebook(tmp_path / "lab1.ipynb", "Lab 1 - System shapes", [
            code("sketch.show()", "evidence:system-sketch",
                 outputs=[payload_output("system-sketch", "**Boundary**: read only")]),
            *reflection(ANSWER)]),
        notebook(tmp_path / "lab2.ipynb", "Lab 2 - Scaling", [
            md(ANSWER + " Budgets: p95 800 ms.", "evidence:load-failure-design"),
            *reflection(ANSWER)]),
        notebook(tmp_path / "lab3.ipynb", "Lab 3 - Governance", [
            code("register", "evidence:risk-register",
                 outputs=[payload_output("risk-register", "| risk | MEASURE 2.4 |")]),
            code("runbook", "evidence:incident-runbook",
                 outputs=[payload_output("incident-runbook", "1. Triage")]),
            *reflection(ANSWER + " <script>alert('x')</script>")]),
        notebook(tmp_path / "lab4.ipynb", "Lab 4 - Serving and agents", [
            code("boundary_sheet", "evidence:agent-boundary-sheet",
                 outputs=[helper_output(boundary_sheet())]),
            *reflection(ANSWER)]),
    ]


@pytest.fixture()
def partial(tmp_path: Path) -> list[Path]:
    tmp_path = tmp_path / "partial"
    tmp_path.mkdir()
    error = v4.new_output("error", ename="KnobError", evalue="bad owner", traceback=[])
    return [
        notebook(tmp_path / "lab1.ipynb", "Lab 1", [
            code("sketch", "evidence:system-sketch", outputs=[payload_output(
                "system-sketch", "draft", problems=("write path 'refund' has no approval",))]),
            *reflection("Too short to count.")]),
        notebook(tmp_path / "lab3.ipynb", "Lab 3", [
            code("register = RiskRegister(...)", "evidence:risk-register", outputs=[error]),
            code("runbook = Runbook(...)", "evidence:incident-runbook"),
            code("print('notes')", "evidence:load-failure-design",
                 outputs=[v4.new_output("stream", name="stdout", text="notes\n")]),
            md("something else", "evidence:capstone"),
            code("boundary_sheet", "evidence:agent-boundary-sheet",
                 outputs=[helper_output(boundary_sheet(budget_usd=0))])]),
    ]


@pytest.fixture()
def empty(tmp_path: Path) -> list[Path]:
    tmp_path = tmp_path / "empty"
    tmp_path.mkdir()
    return [notebook(tmp_path / "lab1.ipynb", "Lab 1", [
        code("# YOUR CODE HERE\nraise NotImplementedError()", "evidence:system-sketch"),
        md("**Reflect:** what changes?", "reflection"),
        md("YOUR ANSWER HERE", "evidence:reflection")])]


def boundary_sheet(**change):
    """Lab 4's agent boundary sheet, complete unless ``change`` opens a gap."""
    from labkit.labs.lab4 import AgentBoundarySheet

    fields = dict(
        title="Refund helper", agent="support agent v1", owner="Head of customer support",
        reads=["order lookup"], writes=["issue refund"],
        approvals={"issue refund": "support team lead"}, max_steps=9, budget_usd=0.05,
        permission_policy=True,
        logged=["prompt version", "tool", "read/write class", "approval", "cost so far"],
        nist=[{"subcategory": "MAP 3.5", "how": "refunds need a named approver",
               "owner": "Head of customer support", "evidence": "approval log"},
              {"subcategory": "MANAGE 2.4", "how": "step cap, budget, kill switch",
               "owner": "support platform on-call", "evidence": "agent config in git"}],
        iso=[{"risk": "injected text asks for a refund", "option": "change likelihood",
              "control": "permission policy"}])
    fields.update(change)
    return AgentBoundarySheet(**fields)


def by_name(pack) -> dict[str, list]:
    out: dict[str, list] = {}
    for a in pack.artifacts:
        out.setdefault(a.name, []).append(a)
    return out


def test_complete_pack_has_every_artifact(complete: list[Path]) -> None:
    pack = collect(complete)
    arts = by_name(pack)
    assert set(arts) == set(EXPECTED)
    assert all(a.status == "complete" for a in pack.artifacts), pack.problems
    assert pack.problems == []
    assert len(arts["reflection"]) == 4
    assert arts["agent-boundary-sheet"][0].data == boundary_sheet().to_dict()
    assert arts["reflection"][0].prompt.startswith("**Reflect:**")
    assert arts["system-sketch"][0].data == {"owner": "ops lead", "steps": ["a", "b"]}
    assert [a.name for a in pack.artifacts][:4] == list(EXPECTED)[:4]   # the labs' order
    # Timing of the four labs: 250 words -> 2 pages x 1.3 = 2.6 -> 3 min; 15 + 5 + 8 min.
    # 4 labs x 31 guided minutes, plus 5 evidence artifacts x 20 minutes of assessed work
    assert pack.timing is not None and pack.timing.total_min == 4 * (3 + 15 + 5 + 8) + 5 * 20


def test_partial_pack_says_what_is_missing(partial: list[Path]) -> None:
    pack = collect(partial)
    arts = by_name(pack)
    status = {name: [a.status for a in items] for name, items in arts.items()}
    assert status == {"system-sketch": ["incomplete"], "load-failure-design": ["incomplete"],
                      "risk-register": ["incomplete"], "incident-runbook": ["missing"],
                      "reflection": ["incomplete"], "capstone": ["incomplete"],
                      "agent-boundary-sheet": ["incomplete"]}
    text = "\n".join(pack.problems)
    assert "lab1.ipynb, cell 4: write path 'refund' has no approval" in text
    assert "lab1.ipynb, cell 6: only 4 words; an auditor needs at least 25" in text
    assert "lab3.ipynb, cell 4: the cell raised KnobError: bad owner" in text
    assert "lab3.ipynb, cell 5: has no output: run it, then save the notebook." in text
    assert "lab3.ipynb, cell 6: its output holds no labkit evidence record" in text
    assert "'evidence:capstone' is not one of the evidence names" in text
    assert "lab3.ipynb, cell 8: budget_usd is not set" in text
    assert arts["load-failure-design"][0].markdown == "```\nnotes\n```"


def test_empty_pack_lists_everything_as_missing(empty: list[Path]) -> None:
    pack = collect(empty)
    assert {a.status for a in pack.artifacts} == {"missing"}
    assert len(pack.problems) == len(EXPECTED)
    text = "\n".join(pack.problems)
    assert "lab1.ipynb, cell 4: not answered yet." in text
    assert "lab1.ipynb, cell 6: not answered yet; write your answer in it." in text
    assert ("Risk register entry: not in the notebooks given (lab 3: risks mapped to NIST AI "
            "RMF subcategories, with owners and evidence); add that lab's saved notebook."
            in text)


def test_html_is_self_contained_and_escapes_learner_text(complete: list[Path],
                                                         tmp_path: Path) -> None:
    out = write_pack(collect(complete), tmp_path / "pack.html")
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page and "&lt;script&gt;" in page
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)   # nothing fetched
    for heading in ("What I studied", "What I practised", "What changed in my practice",
                    "Evidence artefact", "Timing", "Status"):
        assert heading in page
    assert "route every refund approval" in page            # the learner's own words
    assert page.count('class="complete"') == 9              # 5 artifacts + 4 reflections
    assert "3h 44m" in page                 # 4 x 31 min of guided time + 5 x 20 min of evidence


def test_markdown_pack(partial: list[Path], tmp_path: Path) -> None:
    out = write_pack(collect(partial), tmp_path / "pack.md")
    text = out.read_text()
    assert text.startswith("# CPD evidence pack")
    assert "### Still to do" in text and "has no approval" in text
    assert "| Claimed for the level | | | | | | | | 12h 00m |" in text   # reading + 6 kinds
    html_too = write_pack(collect(partial), tmp_path / "pack.txt", markdown=True).read_text()
    assert html_too == text


def test_learner_markdown_cannot_break_the_document(tmp_path: Path) -> None:
    answer = ANSWER + "\n\n# My big heading\n\n```\nunclosed fence"
    nb = notebook(tmp_path / "lab2.ipynb", "Lab 2", [md(answer, "evidence:load-failure-design")])
    text = collect([nb]).to_markdown()
    assert "\n#### My big heading" in text                    # pushed below the pack's ###
    assert text.count("```") % 2 == 0


def test_errors_name_the_file(tmp_path: Path, complete: list[Path]) -> None:
    with pytest.raises(PackError, match=r"nope\.ipynb: no such notebook"):
        collect([tmp_path / "nope.ipynb"])
    with pytest.raises(PackError, match="no notebooks given"):
        collect([])
    with pytest.raises(PackError, match=r"missing-dir/p\.html: cannot write the evidence pack"):
        write_pack(collect(complete), tmp_path / "missing-dir" / "p.html")


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from labkit.commands import evidence as command

    parser = argparse.ArgumentParser(prog="labkit")
    command.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    code_ = args.func(args)
    out, err = capsys.readouterr()
    return code_, out, err


def test_cli(partial: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "pack.html"
    code_, out, err = run_cli(["evidence", *map(str, partial), "-o", str(target)], capsys)
    assert code_ == 0 and err == "" and target.exists()
    assert out.startswith(f"Wrote {target}: 0 of 7 artifacts complete.")
    assert "  - lab3.ipynb, cell 5: has no output" in out
    code_, out, err = run_cli(["evidence", *map(str, partial), "-o", str(target), "--strict"],
                              capsys)
    assert code_ == 1
    code_, out, err = run_cli(["evidence", str(tmp_path / "x.ipynb"), "-o", str(target)], capsys)
    assert code_ == 2 and out == ""
    assert err.strip() == f"labkit evidence: {tmp_path / 'x.ipynb'}: no such notebook"


def _in_thread(fn):
    """Run a Playwright sync session in a thread of its own (a finished session can leave its
    event loop marked as running in its thread, which would stop the next one starting)."""
    box = {}

    def target():
        try:
            box["result"] = fn()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["result"]


@pytest.mark.browser
def test_pack_opens_in_chromium_without_errors(complete: list[Path], partial: list[Path],
                                               tmp_path: Path) -> None:
    pages = [write_pack(collect(complete), tmp_path / "complete.html"),
             write_pack(collect(partial), tmp_path / "partial.html")]

    def browse() -> dict:
        from playwright.sync_api import sync_playwright

        seen: dict = {"errors": [], "requests": [], "sections": [], "bars": []}
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                         args=["--no-sandbox", "--disable-gpu",
                                               "--disable-background-networking",
                                               "--disable-component-update", "--disable-sync",
                                               "--no-first-run"])
            try:
                page = browser.new_page()
                page.on("console", lambda m: seen["errors"].append(m.text)
                        if m.type == "error" else None)
                page.on("pageerror", lambda e: seen["errors"].append(str(e)))
                page.on("request", lambda r: seen["requests"].append(r.url))
                for path in pages:
                    page.goto(path.as_uri())
                    assert page.title().startswith("CPD evidence pack")
                    assert page.locator("h1").inner_text().startswith("CPD evidence pack")
                    seen["sections"].append(page.locator(
                        "section.complete, section.incomplete, section.missing").count())
                    seen["bars"].append(page.locator(".bars .row").count())
                # The status table links to each artifact on the page.
                page.goto(pages[0].as_uri())
                target = page.locator("section.status a").first.get_attribute("href")
                seen["link_target"] = page.locator(target).count() if target else 0
            finally:
                browser.close()
        return seen

    seen = _in_thread(browse)
    assert seen["errors"] == []
    assert all(url.startswith("file://") for url in seen["requests"])
    assert seen["sections"] == [9, 7]
    assert seen["bars"] == [4 + 2, 2 + 2]                  # labs, total, claim
    assert seen["link_target"] == 1


# --- with the real evidence helpers (labkit.evidence) ------------------------------------

def sketch(**kw):
    from labkit.evidence import Boundary, Component, DataPath, SystemSketch

    base = dict(
        title="Refund assistant", owner="Payments product lead",
        components=[Component(name="customer", kind="client"),
                    Component(name="api", kind="api", purpose="auth, routing"),
                    Component(name="llm", kind="model", purpose="drafts answers"),
                    Component(name="refunds", kind="data", purpose="refund ledger"),
                    Component(name="agent", kind="human", purpose="approves refunds"),
                    Component(name="monitoring", kind="monitor", logs=["latency"])],
        paths=[DataPath(source="customer", target="api", action="call", data="question"),
               DataPath(source="api", target="llm", action="call", timeout_ms=2000,
                        fallback="canned answer"),
               DataPath(source="agent", target="refunds", action="write", permission="approver",
                        approval="human agent", logged=True),
               DataPath(source="api", target="agent", action="call", data="refund request")],
        boundaries=[Boundary(name="assistant", statement="The assistant can explain the policy "
                             "but cannot approve a refund.", inside=["api", "llm"])],
        logged=["request id", "model version", "who approved a refund"])
    base.update(kw)
    return SystemSketch(**base)


def helper_output(artifact) -> dict:
    """What JupyterLab stores for a cell whose last expression is the helper object."""
    bundle = artifact._repr_mimebundle_()
    return v4.new_output("execute_result", data=bundle, execution_count=1)


def test_real_sketch_helper_output_is_collected(tmp_path: Path) -> None:
    good = sketch()
    assert good.check() == []
    nb = notebook(tmp_path / "lab1.ipynb", "Lab 1", [
        code("sketch", "evidence:system-sketch", outputs=[helper_output(good)])])
    art = by_name(collect([nb]))["system-sketch"][0]
    assert art.status == "complete", art.messages
    assert art.data == good.to_dict()
    assert "Refund assistant" in art.markdown and "cannot approve a refund" in art.markdown
    assert art.markdown.count("Refund assistant") == good.to_markdown().count("Refund assistant")


def test_checks_are_rerun_not_trusted_from_the_notebook(tmp_path: Path) -> None:
    from labkit.evidence import DataPath

    bad = sketch(paths=list(sketch().paths) + [
        DataPath(source="llm", target="refunds", action="write", permission="service account")])
    problems = bad.check()
    assert problems                                  # an unapproved, unlogged write
    output = helper_output(bad)
    output["data"][EVIDENCE_MIME]["problems"] = []  # a notebook edited to look complete
    nb = notebook(tmp_path / "lab1.ipynb", "Lab 1", [
        code("sketch", "evidence:system-sketch", outputs=[output])])
    art = by_name(collect([nb]))["system-sketch"][0]
    assert art.status == "incomplete"
    assert list(art.messages) == [f"lab1.ipynb, cell 4: {p}" for p in problems]


def test_a_record_of_the_wrong_kind_is_flagged(tmp_path: Path) -> None:
    nb = notebook(tmp_path / "lab3.ipynb", "Lab 3", [
        code("sketch", "evidence:risk-register", outputs=[helper_output(sketch())])])
    art = by_name(collect([nb]))["risk-register"][0]
    assert art.status == "incomplete"
    assert art.messages[0] == ("lab3.ipynb, cell 4: holds a system-sketch record, not a "
                               "risk-register; declare the risk register entry here.")


def test_a_passed_timed_assessment_counts_its_time_once(complete: list[Path], tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    exam = notebook(tmp_path / "assessment-advanced.ipynb", "Timed assessment", [])
    nb = json.loads(exam.read_text())
    nb["metadata"]["labkit"] = {"assessment": {"time_limit_min": 45}}
    exam.write_text(json.dumps(nb))
    grades = tmp_path / "grades.csv"
    grades.write_text("assignment,student_id,score,standard,minutes_late\n"
                      "assessment-advanced,ada,18.0,pass,0\n"
                      "assessment-advanced,bob,9.0,fail,0\n"
                      "lab1-system-shapes,ada,20.0,,\n")
    assert passed_assessments(grades, "ada") == ("assessment-advanced",)
    assert passed_assessments(grades, "bob") == ()
    guided = collect(complete).timing.total_min                       # 4 x 31 + 5 x 20
    pack = collect([*complete, exam], passed=passed_assessments(grades, "ada"))
    assert pack.timing.total_min == guided == 224                     # pending, not guided
    assert pack.assessment_min == 45
    assert f"45 min counted once; with it, {format_minutes(224 + 45)} in all" \
        in pack.to_markdown()
    failed = collect([*complete, exam], passed=passed_assessments(grades, "bob"))
    assert failed.assessment_min == 0 and "**Timed assessment:** not counted" \
        in failed.to_markdown()
    target = tmp_path / "pack.md"
    code_, out, err = run_cli(["evidence", *map(str, complete), str(exam), "-o", str(target),
                               "--grades", str(grades), "--student", "ada"], capsys)
    assert code_ == 0 and "45 min counted once" in target.read_text()
    code_, out, err = run_cli(["evidence", *map(str, complete), "-o", str(target),
                               "--grades", str(grades)], capsys)
    assert code_ == 2 and "--grades and --student go together" in err
    code_, out, err = run_cli(["evidence", *map(str, complete), "-o", str(target),
                               "--grades", str(grades), "--student", "zed"], capsys)
    assert code_ == 2 and err.strip() == f"labkit evidence: {grades}: no rows for student 'zed'"
    grades.write_text("assignment,student_id,score\nx,ada,1\n")
    with pytest.raises(PackError, match="not a grades export with a 'standard' column"):
        passed_assessments(grades, "ada")


def test_predictions_are_listed_as_written_and_not_marked(tmp_path: Path) -> None:
    """A prediction is a code cell assigning a string to prediction_<n>; its comments are the
    question.  The pack lists every one in notebook order, empty ones included, and its
    status (what is missing) does not depend on them."""
    asked = ("# Predict before you run (not marked; it is shown next to the result).\n"
             "# What happens to p95 when the model replicas double?\n")
    path = notebook(tmp_path / "lab1.ipynb", "Lab 1 - System shapes", [
        code(asked + 'prediction_1 = "p95 halves <b>at least</b>"'),
        code("prediction_2 = ''\nx = 1"),
        code("prediction_3 = some_function()"),        # not a string: not a prediction
        code("prediction_4 = 'broken"),                  # a syntax error: skipped
        code("# prediction_5 = 'a comment'"),
        *reflection(ANSWER)])
    pack = collect([path])
    assert [(p.name, p.text) for p in pack.predictions] == [
        ("prediction_1", "p95 halves <b>at least</b>"), ("prediction_2", "")]
    assert pack.predictions[0].question == "What happens to p95 when the model replicas double?"
    text = pack.to_markdown()
    assert "## Predictions" in text and "What happens to p95 when the model replicas double?" in text
    assert "(no prediction written)" in text
    page = pack.to_html()
    assert "&lt;b&gt;at least&lt;/b&gt;" in page and "<b>at least" not in page
    assert pack.problems == collect([notebook(tmp_path / "bare.ipynb", "Lab 1",
                                              reflection(ANSWER))]).problems


def test_the_released_labs_predictions_reach_the_pack() -> None:
    release = Path(__file__).resolve().parents[2] / "release"
    pack = collect(sorted(release.glob("lab1-*/*.ipynb")))
    names = [p.name for p in pack.predictions]
    assert names == [f"prediction_{n}" for n in range(1, 6)]
    assert all(p.question and not p.text for p in pack.predictions)
