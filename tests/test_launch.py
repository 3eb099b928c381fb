"""``python -m labkit.launch``: JupyterLab on the index, nbgrader's instructor tools hidden.

The server test starts the real launcher and asks the running JupyterLab which
plugins its page disables and whether the formgrader answers; then checks that
the virtual environment itself was not changed (the instructor keeps the tools).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from labkit.launch import (
    HIDDEN_LAB_PLUGINS,
    HIDDEN_SERVER_EXTENSIONS,
    find_workbook,
    lab_command,
    main,
    write_learner_config,
)

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


def test_learner_config_disables_the_instructor_tools(tmp_path: Path) -> None:
    folder = write_learner_config(tmp_path / "cfg")
    page = json.loads((folder / "labconfig" / "page_config.json").read_text())
    server = json.loads((folder / "jupyter_server_config.json").read_text())
    assert page == {"disabledExtensions": {
        "@jupyter/nbgrader:formgrader": True, "@jupyter/nbgrader:create-assignment": True,
        "@jupyter/nbgrader:course-list": True}}
    assert server == {"ServerApp": {"jpserver_extensions": {
        "nbgrader.server_extensions.formgrader": False,
        "nbgrader.server_extensions.course_list": False}}}


def test_hidden_names_are_real_nbgrader_plugins() -> None:
    """The plugin ids exist in the installed nbgrader lab extension (so disabling them bites)."""
    static = Path(sys.prefix) / "share/jupyter/labextensions/@jupyter/nbgrader/static"
    code = "".join(p.read_text(errors="replace") for p in static.glob("*.js"))
    for plugin in HIDDEN_LAB_PLUGINS:
        assert f'"{plugin}"' in code, plugin
    import importlib
    for module in HIDDEN_SERVER_EXTENSIONS:
        importlib.import_module(module)
    # The learner's own tools are left alone.
    assert '"@jupyter/nbgrader:validate-assignment"' in code
    assert "@jupyter/nbgrader:validate-assignment" not in HIDDEN_LAB_PLUGINS


def test_find_workbook_and_command(tmp_path: Path) -> None:
    assert find_workbook(REPO / "release") == REPO
    cmd = lab_command(REPO, allow_root=True, port=8899, no_browser=True, extra=["--x=1"])
    assert cmd[:4] == [sys.executable, "-m", "jupyter", "lab"]
    assert cmd[4:] == [f"--ServerApp.root_dir={REPO}", "labs/index.ipynb", "--allow-root",
                       "--ServerApp.port=8899", "--no-browser", "--x=1"]


def test_print_command(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.chdir(REPO / "labs")
    assert main(["--print-command", "--allow-root"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"JUPYTER_CONFIG_PATH={tmp_path / 'labkit' / 'learner-jupyter'}" or \
        out[0].startswith(f"JUPYTER_CONFIG_PATH={tmp_path / 'labkit' / 'learner-jupyter'}:")
    assert out[1].endswith(f"--ServerApp.root_dir={REPO} labs/index.ipynb --allow-root")
    assert (tmp_path / "labkit" / "learner-jupyter" / "labconfig" / "page_config.json").exists()


def test_missing_workbook_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert main(["--root", str(tmp_path), "--print-command"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"labkit.launch: labs/index.ipynb not found at or above {tmp_path.resolve()}; run "
        "from the labkit checkout (or pass --root)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, ""


@pytest.mark.slow
def test_launched_lab_hides_instructor_tools_and_leaves_the_venv_alone(tmp_path: Path) -> None:
    port, token = _free_port(), secrets.token_hex(8)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    cmd = [sys.executable, "-m", "labkit.launch", "--no-browser", "--port", str(port),
           f"--IdentityProvider.token={token}", "--ServerApp.port_retries=0",
           "--ServerApp.ip=127.0.0.1"] + (["--allow-root"] if os.geteuid() == 0 else [])
    log = (tmp_path / "lab.log").open("wb")
    proc = subprocess.Popen(cmd, cwd=REPO / "labs", env=env, stdout=log, stderr=log,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "lab.log").read_text()
            if _get(f"{base}/api/status?token={token}")[0] == 200:
                break
            time.sleep(0.3)
        status, page = _get(f"{base}/lab/tree/labs/index.ipynb?token={token}")
        assert status == 200
        disabled = json.loads(page.split('id="jupyter-config-data"', 1)[1].split(">", 1)[1]
                              .split("</script>", 1)[0])["disabledExtensions"]
        assert set(HIDDEN_LAB_PLUGINS) <= set(disabled)
        assert _get(f"{base}/formgrader?token={token}")[0] == 404
        assert _get(f"{base}/api/contents/labs/index.ipynb?token={token}")[0] == 200
        assert _get(f"{base}/api/contents/release?token={token}")[0] == 200   # root = repo
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()
    # The instructor's environment still has every nbgrader tool.
    listing = subprocess.run([str(VENV_BIN / "jupyter"), "labextension", "list"],
                             capture_output=True, text=True, env={
                                 k: v for k, v in os.environ.items()
                                 if k != "JUPYTER_CONFIG_PATH"}, timeout=120)
    assert "@jupyter/nbgrader" in listing.stdout + listing.stderr
    assert "nbgrader:formgrader" not in listing.stdout + listing.stderr   # nothing disabled
