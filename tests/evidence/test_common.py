"""Shared evidence helpers: safe Markdown and HTML, envelopes, light imports."""

from __future__ import annotations

import subprocess
import sys

import pytest

from labkit.evidence.common import (
    EvidenceError,
    check_dict,
    html_page,
    html_table,
    md_table,
    mentions,
    text,
    texts,
)


def test_markdown_tables_escape_pipes_and_newlines() -> None:
    table = md_table(("a", "b"), [("x|y", "two\nlines"), ("", 3)])
    assert table.splitlines() == ["| a | b |", "|---|---|", "| x\\|y | two lines |",
                                  "| - | 3 |"]


def test_html_is_escaped_and_self_contained() -> None:
    page = html_page("<t>", html_table(("h",), [("<img src=x>",)]))
    assert "&lt;img src=x&gt;" in page and "<title>&lt;t&gt;</title>" in page
    assert "<script" not in page and "<link" not in page


def test_text_helpers() -> None:
    assert text("  hi ", "f") == "hi"
    assert texts("one", "f") == ("one",)
    assert mentions(["Switch to the Fallback"], ("fallback",))
    with pytest.raises(EvidenceError, match="^f must be text, got int 1$"):
        text(1, "f")


def test_envelope_checks() -> None:
    assert check_dict({"kind": "k", "version": 1, "a": 1}, "k", ("a",)) == {"a": 1}
    with pytest.raises(EvidenceError, match="^k data has unknown field 'b'; known fields: a$"):
        check_dict({"b": 1}, "k", ("a",))


def test_evidence_imports_neither_plotly_nor_ipython() -> None:
    code = ("import sys, labkit.evidence; bad = [m for m in ('plotly', 'IPython', 'ipywidgets', "
            "'numpy') if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]" and out.stderr == ""
