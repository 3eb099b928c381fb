"""The code rules that tools check: ruff (lint and import order), mypy (types), and no
reference to documents outside the repository.

ruff and mypy read their settings from pyproject.toml (``[tool.ruff]``, ``[tool.mypy]``) and
run here, so ``make test`` and CI enforce them; a failure prints the tool's own report.  To fix
most ruff findings at once: ``.venv/bin/ruff check --fix .``; to see mypy's:
``.venv/bin/mypy``.  The third check ("outside") reads the Python files of ``src/``, ``tests/``
and ``bench/`` for references to files a clone does not have (the developers' own notes such
as STYLE.md or BRIEF.md, folders outside the repository): a test or docstring must say the
rule it checks in its own words.

``PENDING`` lists the places where a rule is not enforced yet, because another branch is
rewriting them (issue 13); nothing else is exempt.  The list can only shrink: an entry that
passes its tool must be removed (``test_every_pending_entry_still_fails``), and the pending
places are still checked, as an expected failure that shows in every run's summary
(``test_pending_places_pass``), until the list is empty.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "labkit"

# tool -> {path prefix (a folder ending in "/" or a file): whose branch is rewriting it}
PENDING: dict[str, dict[str, str]] = {"ruff": {}, "mypy": {}, "outside": {}}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


OUTSIDE = re.compile(r"\b(?:STYLE|BRIEF|REFERENCE|ARCHITECTURE)\.md\b|/work/|\.\./shared\b")


def outside_references() -> tuple[dict[str, list[str]], str]:
    by_file: dict[str, list[str]] = {}
    for folder in ("src", "tests", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if OUTSIDE.search(line) and rel != "tests/test_lint.py":
                    by_file.setdefault(rel, []).append(f"{rel}:{number}: {line.strip()}")
    return by_file, "\n".join(line for lines in by_file.values() for line in lines)


def run_tool(tool: str) -> tuple[dict[str, list[str]], str]:
    """({repository-relative file: its findings}, the whole report) for ``tool`` run over the
    repository with the project's settings."""
    if tool == "outside":
        return outside_references()
    if tool == "ruff":
        proc = run("ruff", "check", "--no-cache", "--output-format", "concise", ".")
        pattern = re.compile(r"^(?P<file>[^:\s]+\.py):\d+:\d+: ")
    else:
        proc = run("mypy")                       # files and settings from [tool.mypy]
        pattern = re.compile(r"^(?P<file>[^:\s]+\.py):\d+: error: ")
    report = proc.stdout + proc.stderr
    assert proc.returncode in (0, 1), f"{tool} did not run:\n{report}"
    by_file: dict[str, list[str]] = {}
    for line in report.splitlines():
        match = pattern.match(line)
        if match:
            by_file.setdefault(match["file"], []).append(line)
    assert (proc.returncode == 0) == (not by_file), f"{tool}'s report was not understood:\n{report}"
    return by_file, report


Findings = dict[str, tuple[dict[str, list[str]], str]]
TOOLS = ("ruff", "mypy", "outside")


@pytest.fixture(scope="module")
def findings() -> Findings:
    """Each tool run once (the tests of this module share one pytest-xdist worker)."""
    return {tool: run_tool(tool) for tool in TOOLS}


def pending_entry(tool: str, path: str) -> str | None:
    for prefix in PENDING[tool]:
        if path == prefix or (prefix.endswith("/") and path.startswith(prefix)):
            return prefix
    return None


@pytest.mark.parametrize("tool", TOOLS)
def test_the_code_passes(tool: str, findings: Findings) -> None:
    by_file, _ = findings[tool]
    failing = {f: lines for f, lines in by_file.items() if pending_entry(tool, f) is None}
    assert failing == {}, "\n".join(line for lines in failing.values() for line in lines)


@pytest.mark.parametrize("tool", [
    pytest.param(tool, marks=pytest.mark.xfail(
        bool(PENDING[tool]), strict=True,
        reason=f"{tool} is not enforced yet on {len(PENDING[tool])} places other branches are "
               "rewriting (PENDING in tests/test_lint.py)"))
    for tool in TOOLS])
def test_pending_places_pass(tool: str, findings: Findings) -> None:
    by_file, _ = findings[tool]
    failing = sorted(f for f in by_file if pending_entry(tool, f) is not None)
    assert failing == [], f"{tool} still fails in: {', '.join(failing)}"


@pytest.mark.parametrize("tool", TOOLS)
def test_every_pending_entry_still_fails(tool: str, findings: Findings) -> None:
    """A pending place that passes comes off the list, so the rule is enforced there again."""
    by_file, _ = findings[tool]
    passing = [p for p in PENDING[tool] if not any(pending_entry(tool, f) == p for f in by_file)]
    assert passing == [], f"remove from PENDING[{tool!r}] in tests/test_lint.py: {passing}"
    for prefix in PENDING[tool]:
        assert (ROOT / prefix).exists(), f"PENDING[{tool!r}] names {prefix}, which is gone"


def test_mypy_checks_every_module_of_the_package(findings: Findings) -> None:
    _, report = findings["mypy"]
    checked = re.search(r"(\d+) source files?", report)
    assert checked, report
    assert int(checked.group(1)) == len(list(SRC.rglob("*.py"))), report


@pytest.mark.parametrize("tool, code, finding", [
    ("ruff", "import os\n", "F401"),                                      # unused import
    ("ruff", "import sys\nimport os\n\nprint(os, sys)\n", "I001"),         # import order
    ("ruff", "def f(x=[]):\n    return x\n", "B006"),                      # mutable default
    ("ruff", "x = 1\n" + "y = '" + "a" * 110 + "'\n", "E501"),             # line length
    ("mypy", "def f(x: int) -> str:\n    return x\n", "Incompatible return value"),
    ("mypy", "def f(x):\n    return x\n", "missing a type annotation"),
])
def test_the_tools_would_notice_a_violation(tool: str, code: str, finding: str,
                                            tmp_path: Path, findings: Findings) -> None:
    """Guard against a check that cannot fail: with the project's settings, each tool reports
    the violation (ruff in a module placed inside the package).  Runs after ``findings``, so
    mypy's cache is warm."""
    if tool == "ruff":
        proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache",
                               "--stdin-filename", "src/labkit/_probe.py", "-"], cwd=ROOT,
                              input=code, capture_output=True, text=True, timeout=120)
    else:
        probe = tmp_path / "probe.py"
        probe.write_text(code)
        proc = run("mypy", str(probe))
    assert proc.returncode == 1 and finding in proc.stdout, proc.stdout + proc.stderr


def test_a_reference_outside_the_repository_is_noticed() -> None:
    for text in ("STYLE.md habit 3", "(BRIEF.md rules)", "/work/shared/notes.txt", "../shared/x"):
        assert OUTSIDE.search(text), text
    for text in ("docs/architecture.md", "README.md", "source/README.md", "the shared fixture"):
        assert not OUTSIDE.search(text), text
