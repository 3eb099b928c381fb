"""Answers as plain data: what a check cell reads from a learner, and how it crosses over.

When a notebook is graded, its check cells (nbgrader's autograder test
cells) are not run in the learner's kernel: code there may have replaced
any function a check would call, or made answers that compare equal to
everything.  Instead, at each check cell's place, the grader asks the
learner's kernel for the *answers that cell reads*, as plain data, and the
check runs later in a kernel that never ran learner code
(:mod:`labkit.course.judge`).

What a check cell reads is declared by its own (trusted, restored) source:

* every name it uses but neither defines nor imports is an **answer name**,
  taken from the learner's namespace as it is when the check cell is
  reached (``q1_answer``, ``q3_knobs``);
* a line ``#| learner: NAME = EXPRESSION`` (in the hidden part) is a
  **probe**: the statement runs in the learner's kernel, on a copy of its
  namespace, and ``NAME`` crosses over.  Probes call a function the learner
  wrote on inputs the grader chooses (``#| learner: explained =
  lab1.collect_explanations(explain, seeds=[11, 12])``), so only the
  function's plain outputs leave the learner's kernel.  A probe block may
  import modules first (``#| learner: from labkit.labs import lab1``).

Plain data means exactly ``str``, ``int``, ``float``, ``bool``, ``None``,
and ``list``, ``tuple`` (sent as a list) and ``dict`` with ``str`` keys
of them; subclasses and other objects are refused with a message naming
the answer and its type.  The whole export is capped in size
(:data:`MAX_EXPORT_CHARS`) and nesting.  The check runs on the answers as
JSON decoded by the grader, so nothing but data can cross.

>>> needs("from labkit.checkpoints import check_choice\\nq = check_choice(q1_answer, 'ABCD')")
Needs(names=('q1_answer',), probe='', probed=())
"""

from __future__ import annotations

import ast
import builtins
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from labkit.course.layout import CourseError

__all__ = ["Needs", "needs", "export_code", "read_export", "plain_problem", "MAX_EXPORT_CHARS",
           "PROBE_PREFIX", "Export", "EXPORT_VARIABLE"]

PROBE_PREFIX = "#| learner:"
MAX_EXPORT_CHARS = 2_000_000
MAX_DEPTH = 12
#: names a notebook has without defining them (Python's and IPython's builtins)
_GIVEN = frozenset(dir(builtins)) | {"display", "get_ipython", "In", "Out", "exit", "quit",
                                     "__name__", "__file__", "__builtins__"}


@dataclass(frozen=True)
class Needs:
    """What one check cell reads from the learner: answer names, and a probe with the names it binds."""

    names: tuple[str, ...]
    probe: str
    probed: tuple[str, ...]


class _Names(ast.NodeVisitor):
    """Free names of a module body: loaded before (or without) being bound in it."""

    def __init__(self) -> None:
        self.bound: set[str] = set()
        self.free: list[str] = []

    def _bind(self, name: str) -> None:
        self.bound.add(name)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            if node.id not in self.bound and node.id not in self.free:
                self.free.append(node.id)
        else:
            self._bind(node.id)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._bind((alias.asname or alias.name).split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            self._bind(alias.asname or alias.name)

    def _scope(self, node: ast.AST, params: list[str]) -> None:
        inner = _Names()
        inner.bound = set(self.bound) | set(params)
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, ast.arguments):
                inner.visit(child)
        for name in inner.free:
            if name not in self.bound and name not in self.free:
                self.free.append(name)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._bind(node.name)
        for default in node.args.defaults + [d for d in node.args.kw_defaults if d is not None]:
            self.visit(default)
        self._scope(node, [a.arg for a in _all_args(node.args)])

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._scope(node, [a.arg for a in _all_args(node.args)])

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._bind(node.name)
        for child in node.bases + node.keywords + node.decorator_list:
            self.visit(child)
        self._scope(node, [])

    def _comprehension(self, node: ast.AST) -> None:
        gens = node.generators  # type: ignore[attr-defined]
        inner = _Names()
        inner.bound = set(self.bound)
        self.visit(gens[0].iter)                 # the first iterable is evaluated outside
        for i, gen in enumerate(gens):
            if i:
                inner.visit(gen.iter)
            inner.visit(gen.target)
            for cond in gen.ifs:
                inner.visit(cond)
        for part in ("elt", "key", "value"):
            if hasattr(node, part):
                inner.visit(getattr(node, part))
        for name in inner.free:
            if name not in self.bound and name not in self.free:
                self.free.append(name)

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _comprehension

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is not None:
            self.visit(node.type)
        if node.name:
            self._bind(node.name)
        for stmt in node.body:
            self.visit(stmt)

    def visit_Global(self, node: ast.Global) -> None:
        for name in node.names:
            self._bind(name)


def _all_args(args: ast.arguments) -> list[ast.arg]:
    out = list(args.posonlyargs) + list(args.args) + list(args.kwonlyargs)
    out += [a for a in (args.vararg, args.kwarg) if a is not None]
    return out


def _free(code: str, where: str) -> list[str]:
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        raise CourseError(f"{where}: not valid Python ({exc.msg}, line {exc.lineno})") from None
    walker = _Names()
    walker.visit(tree)
    return [n for n in walker.free if n not in _GIVEN]


def _bound(code: str) -> list[str]:
    names: list[str] = []
    for node in ast.parse(code).body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        for target in targets:
            for sub in ast.walk(target):
                if isinstance(sub, ast.Name) and sub.id not in names:
                    names.append(sub.id)
    return names


def needs(source: str, *, where: str = "check cell") -> Needs:
    """The answer names and the probe of one check cell's source."""
    probe_lines = [line.strip()[len(PROBE_PREFIX):].strip() for line in source.splitlines()
                   if line.strip().startswith(PROBE_PREFIX)]
    probe = "\n".join(probe_lines)
    probed: list[str] = []
    if probe:
        try:
            probed = _bound(probe)
        except SyntaxError as exc:
            raise CourseError(f"{where}: its '{PROBE_PREFIX}' lines are not valid Python "
                              f"({exc.msg})") from None
        if not probed:
            raise CourseError(f"{where}: its '{PROBE_PREFIX}' lines assign no name to send over")
    free = [n for n in _free(source, where) if n not in probed]
    return Needs(names=tuple(free), probe=probe, probed=tuple(probed))


def plain_problem(value: Any, *, name: str = "answer", depth: int = 0) -> str:
    """'' when ``value`` is plain data, else a sentence saying what in it is not."""
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return ""
    if kind is float:
        return ""                          # NaN and infinities included: they are numbers
    if depth >= MAX_DEPTH:
        return f"{name} is nested more than {MAX_DEPTH} levels deep"
    if kind in (list, tuple):
        for i, item in enumerate(value):
            problem = plain_problem(item, name=f"{name}[{i}]", depth=depth + 1)
            if problem:
                return problem
        return ""
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                return f"{name} has a key {key!r} that is not a plain string"
            problem = plain_problem(item, name=f"{name}[{key!r}]", depth=depth + 1)
            if problem:
                return problem
        return ""
    return (f"{name} is a {kind.__module__}.{kind.__qualname__}, not plain data (use str, int, "
            f"float, bool, None, or lists and dicts of them)")


#: Runs in the learner's kernel.  Self-contained on purpose: it uses no labkit code there.
_EXPORT = r'''
def __labkit_export(names, probe, probed, limit, depth_limit):
    import json, math
    ns = get_ipython().user_ns
    def problem(value, name, depth=0):
        kind = type(value)
        if value is None or kind in (bool, int, str, float):
            return ""
        if depth >= depth_limit:
            return f"{name} is nested more than {depth_limit} levels deep"
        if kind in (list, tuple):
            for i, item in enumerate(value):
                p = problem(item, f"{name}[{i}]", depth + 1)
                if p:
                    return p
            return ""
        if kind is dict:
            for key, item in value.items():
                if type(key) is not str:
                    return f"{name} has a key {key!r} that is not a plain string"
                p = problem(item, f"{name}[{key!r}]", depth + 1)
                if p:
                    return p
            return ""
        return (f"{name} is a {kind.__module__}.{kind.__qualname__}, not plain data (use str, "
                f"int, float, bool, None, or lists and dicts of them)")
    answers, problems = {}, {}
    for name in names:
        if name not in ns:
            problems[name] = f"{name} is not defined (run its answer cell)"
            continue
        p = problem(ns[name], name)
        if p:
            problems[name] = p
        else:
            answers[name] = ns[name]
    if probe:
        scratch = dict(ns)
        try:
            exec(probe, scratch)
        except Exception as exc:
            for name in probed:
                problems[name] = f"calling your code for {name} failed: {type(exc).__name__}: {exc}"
        else:
            for name in probed:
                p = problem(scratch.get(name), name)
                if p:
                    problems[name] = p
                else:
                    answers[name] = scratch.get(name)
    text = json.dumps({"answers": answers, "problems": problems})
    if len(text) > limit:
        return json.dumps({"answers": {}, "problems": {n: f"the answers of this check are larger "
                                                           f"than {limit} characters" for n in names}})
    return text
__labkit_export_json = __labkit_export(%s, %s, %s, %d, %d)
del __labkit_export
'''


def export_code(needs: Needs) -> str:
    """The code the grader runs in the learner's kernel at a check cell's place."""
    return _EXPORT % (repr(list(needs.names)), repr(needs.probe), repr(list(needs.probed)),
                      MAX_EXPORT_CHARS, MAX_DEPTH)


EXPORT_VARIABLE = "__labkit_export_json"


@dataclass(frozen=True)
class Export:
    """What crossed over for one check cell: answers by name, and a problem per name refused."""

    answers: Mapping[str, Any]
    problems: Mapping[str, str]


def read_export(text: str | None, wanted: Needs) -> Export:
    """Decode what the learner's kernel sent, trusting nothing about it.

    ``text`` is the ``text/plain`` representation of the export string (as
    a Jupyter ``user_expressions`` reply carries it).  Anything that is not
    exactly the expected shape of plain data refuses every answer with a
    reason; answers the cell did not ask for are dropped.
    """
    everything = list(wanted.names) + list(wanted.probed)
    def refuse(why: str) -> Export:
        return Export(answers={}, problems={n: why for n in everything})

    if text is None:
        return refuse("the notebook's kernel gave no answers at this check (it may have stopped)")
    if len(text) > 2 * MAX_EXPORT_CHARS + 16:
        return refuse(f"the answers of this check are larger than {MAX_EXPORT_CHARS} characters")
    try:
        raw = ast.literal_eval(text)
        data = json.loads(raw) if type(raw) is str else None
    except (ValueError, SyntaxError, TypeError, RecursionError, MemoryError):
        data = None
    if type(data) is not dict or type(data.get("answers")) is not dict or \
            type(data.get("problems")) is not dict:
        return refuse("the notebook's kernel sent something other than plain answers at this "
                      "check (was the way IPython shows strings changed?)")
    answers, problems = {}, {}
    for name in everything:
        if name in data["answers"]:
            problem = plain_problem(data["answers"][name], name=name)
            if problem:
                problems[name] = problem
            else:
                answers[name] = data["answers"][name]
        else:
            why = data["problems"].get(name)
            problems[name] = why if type(why) is str and len(why) < 500 else f"{name} was not sent"
    return Export(answers=answers, problems=problems)
