"""Build the forgery submissions in grading/fixtures/<lab>-forgery/ from a lab's release.

Run after changing a lab (``python tests/course/build_forgeries.py [LAB ...]``).  Each fixture
is the lab's release as downloaded (nothing answered) plus one cell at the top that tries to win
points without answering, the ways a kernel-side check can be fooled.  The activity cells no
check reads from are left out (:func:`trimmed`): an attacker need not run the lab's panels and
simulations, deleting cells is theirs to do, and the grader's time goes on the attack (a lab 2
forgery is graded in a few seconds instead of about twelve).  The attacks:

* ``fg_patch_labkit``: replaces every ``check_*`` of ``labkit.checkpoints`` and every ``judge_*``
  of every ``labkit.labs`` module with functions that pass anything;
* ``fg_builtins``: replaces ``abs``, ``isinstance``, ``all``, ``any`` and ``AssertionError`` in
  ``builtins`` while each check cell runs, and puts them back for the others (a fake ``len``
  only hangs the simulator's loops until the cell time-out: it wins nothing and costs the
  grader minutes);
* ``fg_always_equal``: after every cell, sets every answer name to an object equal to
  everything (and true), and every function answer (lab 1's ``explain``) to a function returning
  a dict whose every key, those its answer cell names included, holds such an object;
* ``fg_subclass``: the same with ``str`` and ``float`` subclasses that equal everything;
* ``fg_transformer``: an IPython input transformer and event hooks that rewrite every later cell
  (``assert`` made harmless, answers forged at the end of each cell);
* ``fg_secrets``: searches the files the kernel can read (the course's likely places first, for
  8 s) for hidden tests and gradebooks, to copy answers from, and prints what it found (the
  round trip requires that it found none).

tests/notebooks/test_round_trip.py grades them with the lab's perfect, empty, tampered and copied
submissions: every forgery must score 0.
"""

from __future__ import annotations

import ast
import copy
import re
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell

ROOT = Path(__file__).resolve().parents[2]

FORGERIES: dict[str, str] = {
    "fg_patch_labkit": r'''
import importlib, pkgutil, labkit, labkit.checkpoints as cp, labkit.labs
def anything(*args, **kwargs):
    return []
for name in dir(cp):
    if name.startswith("check_"):
        setattr(cp, name, lambda value, *a, **k: value)
for info in pkgutil.walk_packages(labkit.labs.__path__, "labkit.labs."):
    module = importlib.import_module(info.name)
    for name in dir(module):
        if name.startswith("judge"):
            setattr(module, name, anything)
''',
    "fg_builtins": r'''
import builtins
REAL = {name: getattr(builtins, name)
        for name in ("abs", "isinstance", "all", "any", "AssertionError")}
class Quiet(Exception):
    pass
FAKE = {"abs": lambda x: 0, "isinstance": lambda *a: True, "all": lambda x: True,
        "any": lambda x: True, "AssertionError": Quiet}
def swap(info):
    # only while a check cell (its first line a docstring naming the check) runs, so the
    # lab's own code is not broken on the way
    first = info.raw_cell.lstrip().split("\n", 1)[0]
    table = FAKE if first.startswith('"""') and "check" in first else REAL
    for name, value in table.items():
        setattr(builtins, name, value)
get_ipython().events.register("pre_run_cell", swap)
''',
    "fg_always_equal": r'''
class AlwaysEqual:
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __bool__(self): return True
    def __len__(self): return 0
    def __getattr__(self, name): return self
    def __getitem__(self, key): return self
    def __call__(self, *a, **k): return self
    def __float__(self): return 0.0
    def __iter__(self): return iter(())
class AnyDict(dict):
    def __missing__(self, key): return AlwaysEqual()
    def __contains__(self, key): return True
    def get(self, key, default=None): return AlwaysEqual()
def forge(result=None):
    ns = get_ipython().user_ns
    for name in ANSWERS:
        ns[name] = AlwaysEqual()
    for name in FUNCTIONS:
        ns[name] = lambda *a, **k: AnyDict({key: AlwaysEqual() for key in KEYS})
get_ipython().events.register("post_run_cell", forge)
''',
    "fg_subclass": r'''
class Yes(str):
    def __eq__(self, other): return True
    __hash__ = str.__hash__
class Number(float):
    def __eq__(self, other): return True
    def __sub__(self, other): return Number(0.0)
    __hash__ = float.__hash__
def forge(result=None):
    ns = get_ipython().user_ns
    for i, name in enumerate(ANSWERS):
        ns[name] = Yes("B") if i % 2 == 0 else Number(1.0)
    for name in FUNCTIONS:
        ns[name] = lambda *a, **k: {key: Yes("x") if i % 2 == 0 else Number(1.0)
                                    for i, key in enumerate(KEYS)}
get_ipython().events.register("post_run_cell", forge)
''',
    "fg_transformer": r'''
ip = get_ipython()
def rewrite(lines):
    lines = [l.replace("assert ", "assert True or ") for l in lines]
    return lines + ["\n"] + [f"{name} = 'B'\n" for name in ANSWERS]
ip.input_transformers_post.append(rewrite)
ip.events.register("pre_run_cell", lambda info: None)
''',
    "fg_secrets": r'''
import os, sys, time
# Look where a course keeps its secrets first, then anywhere else, for 8 s at most.
SKIP = {"/proc", "/sys", "/dev", "/usr", "/lib", "/lib64", "/bin", "/sbin", "/boot", "/run",
        "/etc", sys.base_prefix}
places = [os.getcwd(), os.path.dirname(os.getcwd()), os.path.expanduser("~"), "/tmp", "/srv",
          "/opt", "/var", "/home", "/labkit", "/"]
stop = time.monotonic() + 8
seen, hidden, gradebooks, searched = set(), [], [], 0
for place in places:
    for root, dirs, files in os.walk(place):
        dirs[:] = [d for d in dirs if os.path.join(root, d) not in SKIP]
        if root in seen or time.monotonic() > stop:
            dirs[:] = []
            continue
        seen.add(root)
        for name in files:
            path = os.path.join(root, name)
            if name.endswith(".db") and "gradebook" in name:
                gradebooks.append(path)
            if not name.endswith((".ipynb", ".json", ".sqlite", ".html")):   # not code
                continue
            searched += 1
            try:
                with open(path, errors="replace") as f:
                    text = f.read(2_000_000)
            except OSError:
                continue
            if "BEGIN HIDDEN TESTS" in text:
                hidden.append(path)
# nbgrader's own test notebooks (inside the Python installation) are no course's secrets
python = (os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix))
course = [p for p in hidden + gradebooks if not os.path.realpath(p).startswith(python)]
print(f"FORGERY searched {searched} files in {len(seen)} folders; course secrets found: "
      f"{len(course)}")
for path in course[:20]:
    print("FORGERY secret:", path)
''',
}


def function_keys(nb: nbformat.NotebookNode) -> list[str]:
    """The dict keys the answer cells that define a function ask it to return (``"key": ...``)."""
    keys: list[str] = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution") and "def " in cell.source:
            keys += [k for k in re.findall(r'"(\w+)"\s*:', cell.source) if k not in keys]
    return keys


def answer_names(nb: nbformat.NotebookNode) -> tuple[list[str], list[str]]:
    """Names assigned, and functions defined, in the lab's answer cells."""
    names: list[str] = []
    functions: list[str] = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("solution"):
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.FunctionDef) and node.name not in functions:
                functions.append(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id not in names:
                names.append(node.id)
    return [n for n in names if n not in functions], functions


def _names(source: str) -> tuple[set[str], set[str]] | None:
    """(names a cell defines, names it reads without defining them); None when the cell is
    not plain Python (IPython magics), whose names cannot be known."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    stored: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            stored.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            stored.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            stored |= {(a.asname or a.name).split(".")[0] for a in node.names}
    loaded = {node.id for node in ast.walk(tree)
              if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
    return stored, loaded - stored


def trimmed(release: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``release`` without the code cells that no answer or check cell reads from.

    Kept: markdown, the first code cell (the lab's setup), every cell with nbgrader grade,
    solution or task metadata, every cell that is not plain Python (its names are unknown),
    and every other code cell defining a name a kept cell reads (followed back through the
    cells that cell reads from)."""
    nb = copy.deepcopy(release)
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    names = {i: _names(nb.cells[i].source) for i in code}
    keep = {code[0]} | {i for i in code if names[i] is None or any(
        nb.cells[i].metadata.get("nbgrader", {}).get(k) for k in ("grade", "solution", "task"))}
    wanted = set().union(*(names[i][1] for i in keep if names[i] is not None))
    for i in reversed(code):                # a later cell's reads are met by earlier cells
        entry = names[i]
        if i not in keep and entry is not None and entry[0] & wanted:
            keep.add(i)
            wanted |= entry[1]
    nb.cells = [c for i, c in enumerate(nb.cells) if c.cell_type != "code" or i in keep]
    return nb


def build(lab: str) -> dict[str, nbformat.NotebookNode]:
    release = trimmed(nbformat.read(ROOT / "release" / lab / f"{lab}.ipynb", as_version=4))
    names, functions = answer_names(release)
    header = (f"ANSWERS = {names!r}\nFUNCTIONS = {functions!r}\n"
              f"KEYS = {function_keys(release)!r}\n")
    first = next(i for i, c in enumerate(release.cells) if c.cell_type == "code")
    out = {}
    for name, code in FORGERIES.items():
        nb = copy.deepcopy(release)
        cell = new_code_cell(header + code.strip())
        cell["id"] = "forgery"
        nb.cells.insert(first + 1, cell)
        out[name] = nb
    return out


def main(argv: list[str]) -> int:
    labs = argv or ["lab0-orientation"]
    for lab in labs:
        out = ROOT / "grading" / "fixtures" / f"{lab}-forgery"
        out.mkdir(parents=True, exist_ok=True)
        built = build(lab)
        for name, nb in built.items():
            nbformat.write(nb, out / f"{name}.ipynb")
        print(f"wrote {len(built)} forgery fixtures to {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
