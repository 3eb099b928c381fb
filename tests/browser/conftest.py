"""Browser test harness: a real JupyterLab server driven by Debian's Chromium.

``lab_server`` starts JupyterLab once per session on a free loopback port,
with a throw-away root directory, its own settings and workspaces folders (so
no news pop-up or restored layout gets in the way), a random token and
``--allow-root`` only when running as root.  ``browser`` launches
``/usr/bin/chromium`` through Python Playwright with the flags the project
requires (never a downloaded browser).  ``open_notebook`` copies a notebook
into the server's root, opens it, runs every cell and hands back a
:class:`LabPage` that collects console errors and checks outputs.

Screenshots go to ``test-artifacts/`` at the repository root (git-ignored).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from .lab import LabPage

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
SERVER_START_TIMEOUT_S = 60.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LabServer:
    """A running JupyterLab: its URL, token and root directory."""

    def __init__(self, root: Path, port: int, token: str, proc: subprocess.Popen, log: Path):
        self.root, self.port, self.token, self.proc, self.log = root, port, token, proc, log

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}?token={self.token}"

    def wait_ready(self, timeout_s: float = SERVER_START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited early; log:\n{self.log.read_text()}")
            try:
                with urllib.request.urlopen(self.url("api/status"), timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.25)
        raise RuntimeError(f"JupyterLab not ready after {timeout_s}s; log:\n{self.log.read_text()}")

    def server_log(self) -> str:
        return self.log.read_text(errors="replace")


def _settings_dir(base: Path) -> Path:
    """User settings that silence JupyterLab's news and update checks."""
    settings = base / "settings"
    notification = settings / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    return settings


@pytest.fixture(scope="session")
def lab_server() -> Iterator[LabServer]:
    base = Path(tempfile.mkdtemp(prefix="labkit-browser-"))
    root = base / "root"
    root.mkdir()
    port = _free_port()
    token = secrets.token_hex(16)
    env = dict(os.environ)
    env.update(
        JUPYTERLAB_SETTINGS_DIR=str(_settings_dir(base)),
        JUPYTERLAB_WORKSPACES_DIR=str(base / "workspaces"),
        JUPYTER_RUNTIME_DIR=str(base / "runtime"),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        PYTHONWARNINGS="ignore",
    )
    cmd = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0", f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={token}",
        "--LabApp.expose_app_in_browser=True",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = base / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = LabServer(root, port, token, proc, log)
    try:
        server.wait_ready()
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def browser(chromium_browser):
    """The session's Chromium (see tests/conftest.py: one Playwright driver per session)."""
    return chromium_browser


@pytest.fixture
def open_notebook(lab_server: LabServer, browser):
    """``open_notebook(path, ...)`` -> a :class:`LabPage` with every cell run.

    ``viewport`` sizes the browser window; ``sidebar=False`` folds JupyterLab's left
    area away, as a learner does to give a panel the whole width.
    """
    contexts = []

    def _open(source: Path, name: str | None = None, run_all: bool = True, *,
              viewport: tuple[int, int] = (1440, 1000), sidebar: bool = True) -> LabPage:
        # A fresh file name per call: JupyterLab gives each path its own kernel session,
        # so a second test never inherits the widgets of the first.
        opened = len(contexts)
        target = lab_server.root / (name or f"{source.stem}-{os.getpid()}-{opened}{source.suffix}")
        while target.exists():
            opened += 1
            target = lab_server.root / f"{source.stem}-{os.getpid()}-{opened}{source.suffix}"
        shutil.copyfile(source, target)
        context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        contexts.append(context)
        page = LabPage(context.new_page(), lab_server, target.name, ARTIFACTS)
        page.open()
        if not sidebar:
            page.page.evaluate("() => window.jupyterapp.commands.execute("
                               "'application:toggle-left-area')")
        if run_all:
            page.run_all()
        return page

    yield _open
    for context in contexts:
        context.close()
