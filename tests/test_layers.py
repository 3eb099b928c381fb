"""Layers import one way: labkit.sim -> labkit.viz -> labkit.ui, and nothing imports a front end
it does not need.

Two checks, one static and one at run time:

* **Import contracts** (``CONTRACTS``): every ``import`` statement of every module under
  ``src/labkit`` (lazy ones inside functions included) is read from its syntax tree and
  checked against a table of which labkit packages a package must never import, or the only
  ones it may import.  A contract names its reason; a broken one fails with the module, the
  line and the import.
* **Fresh interpreters**: importing the simulator, running it, and importing the monitor,
  the figures, the knob catalogue or the grading tools, each in a new interpreter where
  nothing else has loaded a front end first, must not load plotly, ipywidgets, IPython or
  anywidget beyond what that layer is for.  So the simulator runs in tests, sweeps and
  grading kernels without a front end.
"""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "labkit"

# ----------------------------------------------------------------------- import contracts
FRONT_ENDS = frozenset({"cli", "commands"})          # the `labkit` command, over the library


@dataclass(frozen=True)
class Contract:
    """What the modules of ``package`` may import from labkit: everything but ``never``, or
    (when ``only`` is given) nothing but ``only``."""

    package: str
    why: str
    never: frozenset[str] = frozenset()
    only: frozenset[str] | None = None

    def allows(self, target: str) -> bool:
        if target in ("", self.package):
            return True
        if self.only is not None:
            return target in self.only
        return target not in self.never


CONTRACTS = [
    Contract("knobs", only=frozenset({"errors"}),
             why="the knob catalogue is the base every layer builds on"),
    Contract("tdist", only=frozenset(), why="Student's t is plain arithmetic"),
    Contract("errors", only=frozenset(), why="the error base sits below everything"),
    Contract("streams", only=frozenset({"errors"}),
             why="seeded streams serve both simulators and import neither"),
    Contract("sim", never=frozenset({"viz", "ui", "labs", "course", "checkpoints", "evidence",
                                     "sweep"}) | FRONT_ENDS,
             why="the simulator runs without figures or widgets (sweeps, grading kernels)"),
    Contract("monitor", never=frozenset({"viz", "ui", "labs", "course", "checkpoints",
                                         "evidence", "sweep"}) | FRONT_ENDS,
             why="lab 3's simulator runs without figures or widgets, like the request simulator"),
    Contract("viz", never=frozenset({"ui", "labs", "course"}) | FRONT_ENDS,
             why="figures are functions of results; panels wrap them, not the other way"),
    Contract("course", never=frozenset({"ui", "viz", "labs"}) | FRONT_ENDS,
             why="grading runs headless, in a sandbox, for a whole class"),
    Contract("checkpoints", never=frozenset({"ui", "course"}) | FRONT_ENDS,
             why="notebook checks run in grading kernels"),
    Contract("evidence", never=frozenset({"ui", "labs", "course"}) | FRONT_ENDS,
             why="evidence artifacts are read from saved notebooks, without widgets"),
    Contract("labs", never=frozenset({"course"}) | FRONT_ENDS,
             why="a lab's content runs in a learner's kernel, not in the instructor's tools"),
]
EVERYONE_ELSE = "everything outside cli and commands never imports them: they are front ends"


def package_of(module: str) -> str:
    """``labkit.sim.engine`` -> ``sim``; ``labkit.knobs`` -> ``knobs``; ``labkit`` -> ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts[:-1]) if rel.name == "__init__" else list(rel.parts)
    return ".".join(parts)


def imported_labkit_modules(source: str, module: str, *, is_package: bool = False
                            ) -> list[tuple[int, str]]:
    """(line, labkit module) for every import in ``source``, relative ones resolved.

    ``from labkit import viz`` counts as importing ``labkit.viz``.
    """
    here = module.split(".") if is_package else module.split(".")[:-1]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[:len(here) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "labkit":
                found += [(node.lineno, f"labkit.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, target))
    return [(line, name) for line, name in found
            if name == "labkit" or name.startswith("labkit.")]


def violations(source: str, module: str, *, is_package: bool = False) -> list[str]:
    """Every import in ``source`` (the text of ``module``) that breaks a contract."""
    mine = package_of(module)
    contract = next((c for c in CONTRACTS if c.package == mine), None)
    out = []
    for line, target in imported_labkit_modules(source, module, is_package=is_package):
        theirs = package_of(target)
        if contract is not None and not contract.allows(theirs):
            out.append(f"{module}:{line} imports {target}: {contract.package} must not import "
                       f"{theirs} ({contract.why})")
        elif theirs in FRONT_ENDS and mine not in FRONT_ENDS:
            out.append(f"{module}:{line} imports {target}: {EVERYONE_ELSE}")
    return out


def library_modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_every_module_keeps_the_import_contracts():
    problems = [v for path in library_modules()
                for v in violations(path.read_text(encoding="utf-8"), module_name(path),
                                    is_package=path.name == "__init__.py")]
    assert problems == [], "\n".join(problems)


def test_every_contract_names_a_package_that_exists():
    packages = {package_of(module_name(p)) for p in library_modules()}
    assert "sim" in packages and "ui" in packages            # the walk found the package
    missing = [c.package for c in CONTRACTS if c.package not in packages]
    assert missing == [], f"contracts for packages that do not exist (renamed?): {missing}"


@pytest.mark.parametrize("module, source, is_package, broken", [
    ("labkit.sim.engine", "from labkit.ui import Panel", False, "sim must not import ui"),
    ("labkit.sim.engine", "def f():\n    import labkit.viz.latency", False,
     "sim must not import viz"),                                         # lazy, in a function
    ("labkit.sim.theory.queues", "from ...viz import colors", False, "sim must not import viz"),
    ("labkit.sim", "from labkit import ui", True, "sim must not import ui"),
    ("labkit.viz.cost", "from labkit.ui.panel import Panel", False, "viz must not import ui"),
    ("labkit.course.release", "from labkit.ui import Panel", False,
     "course must not import ui"),
    ("labkit.knobs", "from labkit.sim import simulate", False, "knobs must not import sim"),
    ("labkit.ui.panel", "from labkit.commands import simulate", False, "front ends"),
])
def test_a_broken_contract_is_reported(module, source, is_package, broken):
    """The checker can fail: each of these imports is named as a violation."""
    found = violations(source, module, is_package=is_package)
    assert len(found) == 1 and broken in found[0], found


@pytest.mark.parametrize("module, source", [
    ("labkit.ui.panel", "from labkit.sim import simulate\nfrom labkit.viz import latency"),
    ("labkit.knobs", "from labkit.errors import LabkitError"),
    ("labkit.sim.run", "from labkit.sim.engine import Engine\nfrom .streams import Streams"),
    ("labkit.commands.simulate", "from labkit.sim import simulate"),
])
def test_allowed_imports_are_not_reported(module, source):
    assert violations(source, module) == []


# ----------------------------------------------------------------------- fresh interpreters
FRONT_END_LIBRARIES = ("plotly", "ipywidgets", "IPython", "anywidget")

# layer -> (code run in a fresh interpreter, libraries it must not load, libraries it must load)
PROBES = {
    "sim": ("import labkit.sim\n"
            "from labkit.sim import simulate\n"
            "simulate({'load.duration_s': 2.0}, seed=1)\n"
            "import labkit.knobs, labkit.sim.theory\n", FRONT_END_LIBRARIES, ("simpy", "numpy")),
    "knobs": ("import labkit.knobs\n", FRONT_END_LIBRARIES + ("simpy",), ()),
    "monitor": ("import labkit.monitor\n", FRONT_END_LIBRARIES, ("numpy",)),
    "viz": ("import labkit.viz\n", ("ipywidgets", "IPython", "anywidget"), ("plotly",)),
    "course": ("import labkit.course.autograde, labkit.course.release, labkit.course.feedback\n",
               FRONT_END_LIBRARIES, ("nbgrader",)),
}


def loaded_after(code: str) -> set[str]:
    """Top-level names in sys.modules after running ``code`` in a fresh interpreter."""
    probe = code + "import json, sys\nprint(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""                   # nothing on stderr in normal use
    return set(json.loads(proc.stdout))


@pytest.mark.parametrize("layer", PROBES)
def test_importing_a_layer_loads_no_front_end_it_does_not_need(layer):
    code, forbidden, required = PROBES[layer]
    loaded = loaded_after(code)
    assert {"labkit", *required} <= loaded, sorted(set(required) - loaded)
    assert loaded.isdisjoint(forbidden), sorted(loaded & set(forbidden))


def test_the_probe_would_notice_a_front_end_import():
    """Guard against a probe that cannot fail: the same check sees plotly when it is loaded."""
    assert "plotly" in loaded_after("import plotly\n")
