"""A lean JupyterLab + Chromium harness for the learner-environment tests.

``LabServer`` starts a given ``jupyter lab`` command line on a free loopback
port (its own settings, workspaces and runtime folders; a random token;
``expose_app_in_browser`` so the page can be asked for its state).
``run_notebook`` opens one notebook in Debian's Chromium through Playwright,
runs every cell, and reports console errors, error outputs and stderr
outputs.  A released lab stops at its first unanswered task, whose stub
raises NotImplementedError: that error, and only that one, is expected.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

CURRENT_PATH_JS = """() => { const w = window.jupyterapp.shell.currentWidget;
  return w && w.context ? w.context.path : null; }"""

_STATE_JS = """(path) => {
  const app = window.jupyterapp; const w = app && app.shell.currentWidget;
  if (!w || !w.context || w.context.path !== path || !w.sessionContext) return null;
  const sc = w.sessionContext; const k = sc.session && sc.session.kernel;
  if (!k || !sc.isReady) return null;
  const cells = w.content.widgets.map(c => ({type: c.model.type,
      source: c.model.sharedModel.getSource(),
      count: c.model.type === 'code' ? c.model.executionCount : null,
      outputs: c.model.type === 'code' ? c.model.outputs.toJSON() : []}));
  return {status: k.status, cells: cells};
}"""


def in_thread(fn: Any, *args: Any) -> Any:
    """Run ``fn(*args)`` in a fresh thread and return its result (or raise its error).

    Each Playwright sync session gets a thread of its own: a session can leave its
    event loop marked as running in the thread it ran in, which would make the next
    session in the same thread (another test, or the browser tests' session fixture)
    refuse to start.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = fn(*args)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box.get("result")


def nbgrader_menu(page: Any) -> list[str]:
    """The visible entries of JupyterLab's Nbgrader menu (then closes it)."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
    page.wait_for_selector(".lm-Menu-content")
    labels = [t for t in page.locator(".lm-Menu-itemLabel").all_inner_texts() if t.strip()]
    page.keyboard.press("Escape")
    return labels


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LabServer:
    """A JupyterLab server started from ``command`` (a list), stopped by :meth:`close`."""

    def __init__(self, command: list[str], *, cwd: Path, base: Path, env: dict[str, str]):
        self.port, self.token = free_port(), secrets.token_hex(12)
        settings = base / "settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True, exist_ok=True)
        (settings / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False}))
        env = {**env, "JUPYTERLAB_SETTINGS_DIR": str(base / "settings"),
               "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"),
               "JUPYTER_RUNTIME_DIR": str(base / "runtime"), "PYTHONWARNINGS": "ignore"}
        command = [*command, "--no-browser", "--ServerApp.ip=127.0.0.1",
                   f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
                   f"--IdentityProvider.token={self.token}",
                   "--LabApp.expose_app_in_browser=True"]
        if os.geteuid() == 0 and "--allow-root" not in command:
            command.append("--allow-root")
        self.log = base / "server.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_ready()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}?token={self.token}"

    def get(self, path: str) -> int:
        try:
            with urllib.request.urlopen(self.url(path), timeout=5) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return 0

    def _wait_ready(self, timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited early:\n{self.log.read_text()}")
            if self.get("api/status") == 200:
                return
            time.sleep(0.3)
        self.close()
        raise RuntimeError(f"JupyterLab not ready after {timeout_s}s:\n{self.log.read_text()}")

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait(timeout=10)


_RUN_FIRST_JS = """(k) => {
  const app = window.jupyterapp; const nb = app.shell.currentWidget.content;
  const code = nb.widgets.map((c, i) => [c, i]).filter(([c]) => c.model.type === 'code');
  if (k >= code.length) return app.commands.execute('notebook:run-all-cells');
  nb.activeCellIndex = code[k][1];        // run everything above the (k+1)-th code cell
  return app.commands.execute('notebook:run-all-above');
}"""


def run_notebook(browser: Any, server: LabServer, path: str, screenshot: Path,
                 timeout_s: float = 180.0, after: Any = None,
                 code_cells: int | None = None) -> dict[str, Any]:
    """Open ``path``, run its cells (all, or the first ``code_cells`` code cells), wait for
    the kernel; return what the page shows.

    ``after(page)``, if given, runs last (its result is returned under ``"after"``).
    """
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    try:
        t0 = time.monotonic()
        page.goto(server.url(f"lab/tree/{path}"))
        page.wait_for_function(_STATE_JS, arg=path, timeout=timeout_s * 1000)
        t1 = time.monotonic()
        page.evaluate(_RUN_FIRST_JS, 10**6 if code_cells is None else code_cells)
        deadline = time.monotonic() + timeout_s
        while True:
            state = page.evaluate(_STATE_JS, path)
            counts = [c["count"] for c in state["cells"] if c["type"] == "code"][:code_cells]
            stopped = any(o.get("output_type") == "error"
                          for c in state["cells"] for o in c["outputs"])
            if state["status"] == "idle" and (all(n is not None for n in counts) or stopped):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{path}: cells still running after {timeout_s}s: {counts}")
            time.sleep(0.5)
        t2 = time.monotonic()
        page.wait_for_timeout(1500)                 # let figures and widgets render
        plugins = page.evaluate("""() => Object.fromEntries(
            ['@jupyter/nbgrader:formgrader', '@jupyter/nbgrader:create-assignment',
             '@jupyter/nbgrader:course-list', '@jupyter/nbgrader:validate-assignment']
            .map(id => [id, window.jupyterapp.hasPlugin(id)]))""")
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot), full_page=False)
        panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
        text = panel.inner_text()
        plotly = panel.locator(".js-plotly-plot").count()
        widgets = panel.locator(".jp-OutputArea .jupyter-widgets").count()
        extra = after(page) if after else None
        return {"cells": state["cells"], "console": console, "plugins": plugins, "after": extra,
                "plotly": plotly, "widgets": widgets,
                "widget_errors": text.count("Error displaying widget"),
                "timing_s": {"open": round(t1 - t0, 1), "run": round(t2 - t1, 1)}}
    finally:
        context.close()


def problems(result: dict[str, Any]) -> list[str]:
    """Everything wrong on the page; the expected stop at an unanswered task is not a problem."""
    found = [f"console: {c}" for c in result["console"]]
    for i, cell in enumerate(result["cells"]):
        for out in cell["outputs"]:
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                found.append(f"cell {i} wrote to stderr: {out.get('text', '')[:200]}")
            if out.get("output_type") == "error":
                stub = "raise NotImplementedError" in cell["source"]
                if not (stub and out.get("ename") == "NotImplementedError"):
                    found.append(f"cell {i} raised {out.get('ename')}: {out.get('evalue')}")
    if result["widget_errors"]:
        found.append(f"{result['widget_errors']} widget(s) failed to display")
    return found


def run_notebooks(server: LabServer, jobs: list[tuple[str, Path, Any, int | None]]
                  ) -> list[dict[str, Any]]:
    """``run_notebook`` for each (path, screenshot, after, code_cells) in one Chromium, in a
    thread of its own."""

    def session() -> list[dict[str, Any]]:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=CHROMIUM_ARGS)
            try:
                return [run_notebook(browser, server, path, shot, after=after, code_cells=n)
                        for path, shot, after, n in jobs]
            finally:
                browser.close()

    return in_thread(session)
