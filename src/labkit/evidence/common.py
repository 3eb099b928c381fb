"""What every CPD evidence artifact shares: checking, rendering, serialising.

An artifact (a system sketch, a risk register entry, an incident runbook)
is a frozen declaration.  Building one checks only *types* (a field that
must be text is text); whether it is *complete* is a separate question,
answered by ``check()`` as a list of plain-English problems, so a half
written artifact still renders, with what is left to fix listed under it.

Every artifact renders to Markdown (``to_markdown()``) and to a
self-contained HTML string (``to_html()``: inline CSS, no scripts, nothing
fetched), round-trips through JSON-ready dicts (``to_dict()`` /
``from_dict()``, each carrying ``"kind"`` and ``"version"``), and shows itself
in a notebook with the evidence MIME bundle the evidence pack collects
(:func:`labkit.evidence.pack.evidence_bundle`).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from labkit.errors import LabkitError

__all__ = ["EvidenceError", "Artifact", "text", "texts", "items", "md_cell", "md_table", "html_table",
           "html_list", "html_page", "VAGUE_OWNERS", "mentions", "check_dict"]


class EvidenceError(LabkitError, ValueError):
    """An artifact was declared with the wrong type of value; the message names the field."""


#: Owners that name nobody in particular ("shared responsibility is nobody's").
VAGUE_OWNERS = frozenset({"", "everyone", "all", "team", "the team", "nobody", "tbd", "tba",
                          "n/a", "na", "shared", "?", "someone", "us", "we"})


def text(value: Any, field: str) -> str:
    """``value`` as stripped text; anything but a string is an :class:`EvidenceError`."""
    if not isinstance(value, str):
        raise EvidenceError(f"{field} must be text, got {type(value).__name__} {value!r}")
    return value.strip()


def texts(value: Any, field: str) -> tuple[str, ...]:
    """A list of text items (a single string counts as one item)."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Iterable) or isinstance(value, Mapping):
        raise EvidenceError(f"{field} must be a list of text, got {type(value).__name__}")
    return tuple(text(v, f"{field}[{i}]") for i, v in enumerate(value))


def items(values: Any, cls: type, field: str) -> tuple[Any, ...]:
    """``values`` as a tuple of ``cls``: instances kept, dicts built into ``cls``.

    A lone instance or dict counts as a list of one.  Anything else is an
    :class:`EvidenceError` naming the field and the position.
    """
    if isinstance(values, (cls, Mapping)):
        values = [values]
    out = []
    for i, v in enumerate(values or ()):
        if isinstance(v, cls):
            out.append(v)
        elif isinstance(v, Mapping):
            try:
                out.append(cls(**v))
            except TypeError as exc:
                raise EvidenceError(f"{field}[{i}]: {exc}") from None
        else:
            raise EvidenceError(f"{field}[{i}] must be a {cls.__name__} or a dict, got "
                                f"{type(v).__name__}")
    return tuple(out)


def mentions(items: Iterable[str], words: Iterable[str]) -> bool:
    """Whether any item mentions any of ``words`` (case-insensitive)."""
    lowered = [i.lower() for i in items]
    return any(w in item for item in lowered for w in words)


def check_dict(data: Any, kind: str, keys: Sequence[str]) -> dict[str, Any]:
    """Validate the envelope of a serialised artifact."""
    if not isinstance(data, Mapping):
        raise EvidenceError(f"{kind} data must be a dict, got {type(data).__name__}")
    if data.get("kind", kind) != kind:
        raise EvidenceError(f"data is a {data.get('kind')!r} artifact, not a {kind!r} one")
    unknown = sorted(set(data) - set(keys) - {"kind", "version"})
    if unknown:
        raise EvidenceError(f"{kind} data has unknown field {unknown[0]!r}; known fields: "
                            f"{', '.join(keys)}")
    return {k: v for k, v in data.items() if k in keys}


def md_cell(value: Any) -> str:
    """Text safe inside a Markdown table cell."""
    s = str(value).replace("|", "\\|").replace("\n", " ").strip()
    return s or "-"


def md_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def html_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c)) or '-'}</td>" for c in row)
                   + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_list(items: Iterable[str], ordered: bool = False) -> str:
    tag = "ol" if ordered else "ul"
    inner = "".join(f"<li>{html.escape(i)}</li>" for i in items) or "<li>-</li>"
    return f"<{tag}>{inner}</{tag}>"


_CSS = ("body{font-family:system-ui,sans-serif;max-width:58rem;margin:2rem auto;padding:0 1rem;"
        "color:#1b1b1b;line-height:1.45}table{border-collapse:collapse;margin:.6rem 0;"
        "width:100%}th,td{border:1px solid #c8c8c8;padding:.3rem .5rem;text-align:left;"
        "vertical-align:top}th{background:#f0f0f0}h1{font-size:1.5rem}h2{font-size:1.15rem;"
        "margin-top:1.4rem}.problems{border-left:4px solid #c0392b;background:#fdf0ee;"
        "padding:.4rem .9rem}.ok{border-left:4px solid #1e8449;background:#eef8f1;"
        "padding:.4rem .9rem}")


def html_page(title: str, body: str) -> str:
    """A complete, self-contained HTML document."""
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>"
            f"<body><main>{body}</main></body></html>\n")


class Artifact:
    """Mixin for evidence artifacts: subclasses define ``KIND``, ``TITLE`` and the parts."""

    KIND: ClassVar[str] = ""
    TITLE: ClassVar[str] = ""

    # --- to be provided by subclasses ------------------------------------------
    def check(self) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _markdown_body(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def _html_body(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def _name(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    # --- shared ------------------------------------------------------------------
    @property
    def complete(self) -> bool:
        """True when :meth:`check` finds nothing to fix."""
        return not self.check()

    def assert_complete(self) -> None:
        """Raise :class:`EvidenceError` listing every problem (for graded checks)."""
        problems = self.check()
        if problems:
            raise EvidenceError(f"{self.TITLE} is not complete:\n- " + "\n- ".join(problems))

    def heading(self) -> str:
        return f"{self.TITLE}: {self._name()}" if self._name() else self.TITLE

    def to_markdown(self, *, with_problems: bool = True) -> str:
        md = f"## {self.heading()}\n\n{self._markdown_body()}"
        problems = self.check() if with_problems else []
        if problems:
            md += "\n\n**Still to fix:**\n" + "\n".join(f"- {p}" for p in problems)
        return md + "\n"

    def to_html(self, *, full_page: bool = True) -> str:
        """This artifact as HTML: a whole page, or a fragment to embed."""
        problems = self.check()
        status = (f'<div class="problems"><strong>Still to fix</strong>{html_list(problems)}'
                  "</div>" if problems else '<div class="ok">Complete: every check passes.'
                  "</div>")
        fragment = (f"<section><h2>{html.escape(self.heading())}</h2>{self._html_body()}"
                    f"{status}</section>")
        return html_page(self.heading(), fragment) if full_page else fragment

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        from labkit.evidence.pack import evidence_bundle

        return evidence_bundle(kind=self.KIND, data=self.to_dict(), title=self.heading(),
                               markdown=self.to_markdown(with_problems=False),
                               problems=self.check())
