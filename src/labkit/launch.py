"""Open the workbook for a learner: JupyterLab on ``labs/index.ipynb``, instructor tools hidden.

``make lab`` runs ``python -m labkit.launch [--allow-root]``.  nbgrader ships
its instructor tools (the create-assignment cell toolbar, the formgrader and
the course list) as JupyterLab plugins and server extensions that are enabled
for everyone who installs it.  A learner should not see them, but the
instructor using the same virtual environment still needs them, so nothing
in the environment is changed: this launcher writes a small *learner* Jupyter
config folder and puts it first on ``JUPYTER_CONFIG_PATH`` for this one
server only (the folder lives in the user's cache, ``~/.cache/labkit``, and is
rewritten on every launch).  It disables :data:`HIDDEN_LAB_PLUGINS` (page config) and
:data:`HIDDEN_SERVER_EXTENSIONS`; the learner's own nbgrader tools (assignment
list, validate) stay.  Binder does the same for its whole image in
``binder/postBuild``, where everyone is a learner.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["HIDDEN_LAB_PLUGINS", "HIDDEN_SERVER_EXTENSIONS", "write_learner_config",
           "learner_config_dir", "find_workbook", "lab_command", "main"]

HIDDEN_LAB_PLUGINS: tuple[str, ...] = (
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:create-assignment",
    "@jupyter/nbgrader:course-list",
)
HIDDEN_SERVER_EXTENSIONS: tuple[str, ...] = (
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.course_list",
)
INDEX = Path("labs") / "index.ipynb"


def write_learner_config(folder: str | Path) -> Path:
    """Write the learner's Jupyter config into ``folder`` (created if needed); return it."""
    folder = Path(folder)
    (folder / "labconfig").mkdir(parents=True, exist_ok=True)
    page = {"disabledExtensions": dict.fromkeys(HIDDEN_LAB_PLUGINS, True)}
    server = {"ServerApp": {"jpserver_extensions": dict.fromkeys(HIDDEN_SERVER_EXTENSIONS,
                                                                 False)}}
    (folder / "labconfig" / "page_config.json").write_text(json.dumps(page, indent=2) + "\n")
    (folder / "jupyter_server_config.json").write_text(json.dumps(server, indent=2) + "\n")
    return folder


def find_workbook(start: str | Path | None = None) -> Path:
    """The folder holding ``labs/index.ipynb``: at or above ``start``; without ``start``, at
    or above the current folder, else the checkout this package was installed from."""
    here = Path(start or Path.cwd()).resolve()
    places = [here, *here.parents]
    if start is None:
        places.append(Path(__file__).resolve().parents[2])
    for folder in places:
        if (folder / INDEX).is_file():
            return folder
    raise FileNotFoundError(f"{INDEX} not found at or above {here}; run from the labkit "
                            "checkout (or pass --root)")


def learner_config_dir() -> Path:
    """Where the learner config is written: ``$XDG_CACHE_HOME/labkit/learner-jupyter``."""
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "labkit" / "learner-jupyter"


def lab_command(root: Path, *, allow_root: bool = False, port: int | None = None,
                no_browser: bool = False, extra: Sequence[str] = ()) -> list[str]:
    """The ``jupyter lab`` command line that opens the index with ``root`` as its home."""
    cmd = [sys.executable, "-m", "jupyter", "lab", f"--ServerApp.root_dir={root}",
           INDEX.as_posix()]
    if allow_root:
        cmd.append("--allow-root")
    if port is not None:
        cmd.append(f"--ServerApp.port={port}")
    if no_browser:
        cmd.append("--no-browser")
    return cmd + list(extra)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m labkit.launch",
                                description="Open the labkit workbook in JupyterLab; other "
                                "options (e.g. --IdentityProvider.token=...) go to jupyter lab.")
    p.add_argument("--allow-root", action="store_true", help="needed when running as root")
    p.add_argument("--root", default=None, help="the checkout holding labs/index.ipynb")
    p.add_argument("--port", type=int, default=None, help="port for JupyterLab")
    p.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    p.add_argument("--print-command", action="store_true",
                   help="show the command and environment instead of starting JupyterLab")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args, extra = _parser().parse_known_args(argv)
    try:
        root = find_workbook(args.root)
        config = write_learner_config(learner_config_dir())
    except (FileNotFoundError, OSError) as exc:
        print(f"labkit.launch: {exc}", file=sys.stderr)
        return 2
    env = dict(os.environ)
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
        p for p in (str(config), env.get("JUPYTER_CONFIG_PATH", "")) if p)
    cmd = lab_command(root, allow_root=args.allow_root, port=args.port,
                      no_browser=args.no_browser, extra=extra)
    if args.print_command:
        print(f"JUPYTER_CONFIG_PATH={env['JUPYTER_CONFIG_PATH']}")
        print(" ".join(cmd))
        return 0
    os.chdir(root)
    os.execve(cmd[0], cmd, env)          # JupyterLab takes over this process (and Ctrl-C)


if __name__ == "__main__":
    sys.exit(main())
