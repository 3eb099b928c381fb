"""Binder, proven without Binder: a fresh environment built from exactly the binder/ files.

repo2docker installs ``binder/requirements.txt`` with pip from the repository
root, runs ``binder/postBuild`` and starts JupyterLab on the URL of the badge
(``lab/tree/labs/index.ipynb``).  The slow test does the same in a new
virtual environment made from the same Python (installed by ``uv pip install -r`` with uv's
download cache, which installs the same pinned versions in seconds and skips install-time
byte-compiling: the only departures from repo2docker's ``pip install --no-cache-dir -r``,
none changes what is installed), on a copy of the repository's files, with empty Jupyter
user folders like a fresh Binder home, then opens the index (run in full) and the
orientation lab (run up to its first panel) in Debian's Chromium.
The fast tests keep the Binder files in step with the tested environment.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labkit.launch import HIDDEN_LAB_PLUGINS, HIDDEN_SERVER_EXTENSIONS

from .jlab import LabServer, nbgrader_menu, problems, run_notebooks
from .pins import requirements_text

REPO = Path(__file__).resolve().parents[2]
BINDER = REPO / "binder"
ARTIFACTS = REPO / "test-artifacts" / "binder"
UV = str(Path(sys.executable).parent / "uv")      # a test dependency (pyproject.toml)
LAB0_CODE_CELLS = 4        # show the learner, simulate, read the budgets, open a panel
HIDDEN = {"@jupyter/nbgrader:formgrader": False, "@jupyter/nbgrader:create-assignment": False,
          "@jupyter/nbgrader:course-list": False, "@jupyter/nbgrader:validate-assignment": True}


def test_requirements_pin_exactly_the_tested_environment() -> None:
    text = (BINDER / "requirements.txt").read_text()
    assert text == requirements_text(), (
        "binder/requirements.txt differs from the .venv: run "
        ".venv/bin/python tests/binder/pins.py > binder/requirements.txt")
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    assert lines[-1] == "-e ."
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[0-9A-Za-z.+!\-]+", ln) for ln in lines[:-1])
    names = {ln.split("==")[0].lower() for ln in lines[:-1]}
    assert {"simpy", "numpy", "plotly", "jupyterlab", "nbgrader", "ipykernel", "distributed",
            "anywidget", "ipywidgets", "mistune"} <= names
    assert not {"pytest", "playwright", "hypothesis"} & names      # test tools stay out


def test_runtime_is_the_tested_python() -> None:
    assert (BINDER / "runtime.txt").read_text().strip() == \
        f"python-{sys.version_info.major}.{sys.version_info.minor}"


def test_postbuild_hides_what_the_launcher_hides() -> None:
    script = BINDER / "postBuild"
    assert os.access(script, os.X_OK)
    text = script.read_text()
    plugins = re.findall(r"^jupyter labextension disable --level=sys_prefix (\S+)$", text, re.M)
    servers = re.findall(r"^jupyter server extension disable --sys-prefix (\S+)$", text, re.M)
    assert plugins == list(HIDDEN_LAB_PLUGINS)
    assert servers == list(HIDDEN_SERVER_EXTENSIONS)


def _copy_repo(target: Path) -> None:
    """The repository's files as a clone would have them (tracked and new, not ignored)."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=REPO, capture_output=True, check=True).stdout.split(b"\0")
    for name in filter(None, (f.decode() for f in files)):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def _run(cmd: list[str], **kw) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


@pytest.mark.slow
@pytest.mark.browser
def test_fresh_binder_environment_serves_the_labs(tmp_path: Path) -> None:
    repo, venv, home = tmp_path / "repo", tmp_path / "venv", tmp_path / "home"
    _copy_repo(repo)
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("JUPYTER", "VIRTUAL_ENV", "PYTHON", "IPYTHON"))}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
               JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
               JUPYTER_DATA_DIR=str(home / ".local/share/jupyter"),
               IPYTHONDIR=str(home / ".ipython"), PIP_DISABLE_PIP_VERSION_CHECK="1")
    timings = {}
    start = time.monotonic()
    _run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", str(venv)], env=env)
    # uv installs the same pinned versions pip would, from its cache, in seconds instead of
    # minutes (like --no-compile, it leaves .pyc files to the first import): what gets installed
    # is exactly what repo2docker installs.
    _run([UV, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), "-r",
          "binder/requirements.txt"], cwd=repo, env={**env, "UV_NATIVE_TLS": "1",
                                                     "UV_LINK_MODE": "copy"}, timeout=1500)
    _run(["bash", "binder/postBuild"], cwd=repo, env=env, timeout=300)
    timings["build_s"] = round(time.monotonic() - start, 1)
    # Everything the labs import comes from the fresh environment, not the project's .venv.
    where = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import labkit, jupyterlab; print(labkit.__file__)"],
                           cwd=tmp_path, env=env, capture_output=True, text=True)
    assert where.stdout.strip() == str(repo / "src" / "labkit" / "__init__.py"), where.stderr

    server = LabServer([str(venv / "bin" / "python"), "-m", "jupyter", "lab"], cwd=repo,
                       base=tmp_path / "lab", env=env)
    try:
        assert server.get("formgrader") == 404
        lab0 = sorted((repo / "release" / "lab0-orientation").glob("*.ipynb"))[0]
        # The index in full; the orientation lab up to and including its first panel (its
        # own tests run it to the end): enough to show kernel, simulator, widgets and plotly.
        index, lab = run_notebooks(server, [
            ("labs/index.ipynb", ARTIFACTS / "binder-index.png", nbgrader_menu, None),
            (lab0.relative_to(repo).as_posix(), ARTIFACTS / "binder-lab0.png", None,
             LAB0_CODE_CELLS)])
    finally:
        server.close()
    timings["total_s"] = round(time.monotonic() - start, 1)
    print("binder test timings", timings, index["timing_s"], lab["timing_s"])
    assert problems(index) == [] and problems(lab) == []
    assert index["plotly"] == 1 and index["plugins"] == HIDDEN and lab["plugins"] == HIDDEN
    assert index["after"] == ["Assignment List"]
    ran = [c for c in lab["cells"] if c["type"] == "code" and c["count"] is not None]
    assert len(ran) == LAB0_CODE_CELLS
    assert any("Panel(" in c["source"] for c in ran), "no panel among the cells run"
    assert lab["widgets"] >= 1                    # the panel's widgets rendered
