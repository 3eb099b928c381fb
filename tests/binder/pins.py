"""The exact pins Binder needs: labkit's runtime dependencies, and everything they pull in,
at the versions installed in the project's tested virtual environment.

Regenerate binder/requirements.txt after a dependency change::

    .venv/bin/python tests/binder/pins.py > binder/requirements.txt
"""

from __future__ import annotations

import importlib.metadata as md
import re
from pathlib import Path

import tomllib
from packaging.markers import default_environment
from packaging.requirements import Requirement

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
HEADER = """\
# Binder (repo2docker) installs this with pip from the repository root.
# Exact versions of labkit's runtime dependencies and everything they pull in, as installed
# and tested in the project's .venv; regenerate with:
#   .venv/bin/python tests/binder/pins.py > binder/requirements.txt
# (tests/binder checks it is current, builds a fresh environment from it and opens the labs.)
"""


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_closure(pyproject: Path = PYPROJECT) -> dict[str, str]:
    """{distribution name: installed version} for every runtime dependency that
    ``pyproject``'s ``[project] dependencies`` pull in (read from the file, so a stale
    editable install's metadata cannot hide a new dependency)."""
    seen: dict[str, set[str]] = {}
    roots = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    stack = [(req.name, frozenset(req.extras)) for req in map(Requirement, roots)
             if req.marker is None or req.marker.evaluate()]
    while stack:
        name, extras = stack.pop()
        key = _canon(name)
        if key in seen and extras <= seen[key]:
            continue
        seen.setdefault(key, set()).update(extras)
        for text in md.distribution(name).requires or []:
            req = Requirement(text)
            for extra in sorted(seen[key]) + [""]:
                env = {**default_environment(), "extra": extra}
                if req.marker is None or req.marker.evaluate(env):
                    stack.append((req.name, frozenset(req.extras)))
                    break
    return {md.distribution(k).metadata["Name"]: md.version(k) for k in sorted(seen)}


def requirements_text() -> str:
    pins = runtime_closure()
    return HEADER + "".join(f"{name}=={version}\n" for name, version in pins.items()) + "-e .\n"


if __name__ == "__main__":
    print(requirements_text(), end="")
