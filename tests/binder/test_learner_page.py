"""`make lab` as a learner sees it: the index in Chromium, and its link to the first lab.

Starts ``python -m labkit.launch`` from the project's environment, opens
``labs/index.ipynb``, runs it, and checks that nothing errs, the CPD chart
renders, nbgrader's instructor plugins are absent while the learner's validate
plugin is present, and the lab list's link opens the orientation lab.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from .jlab import CURRENT_PATH_JS, LabServer, nbgrader_menu, problems, run_notebooks

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "binder"
HIDDEN = {"@jupyter/nbgrader:formgrader": False, "@jupyter/nbgrader:create-assignment": False,
          "@jupyter/nbgrader:course-list": False, "@jupyter/nbgrader:validate-assignment": True}


def menu_then_first_lab_link(page) -> dict:
    """The Nbgrader menu's entries; then click the orientation lab's link in the lab list."""
    menu = nbgrader_menu(page)
    page.locator(".jp-MarkdownCell a[href*='lab0-orientation']").first.click()
    page.wait_for_function(f"() => ({CURRENT_PATH_JS})() !== 'labs/index.ipynb'",
                           timeout=60000)
    return {"menu": menu, "opened": page.evaluate(CURRENT_PATH_JS)}


@pytest.mark.browser
def test_learner_sees_the_index_without_errors_and_its_links_open_the_labs(
        tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    server = LabServer([sys.executable, "-m", "labkit.launch"], cwd=REPO, base=tmp_path, env=env)
    try:
        assert server.get("formgrader") == 404
        [index] = run_notebooks(server, [("labs/index.ipynb", ARTIFACTS / "learner-index.png",
                                          menu_then_first_lab_link, None)])
    finally:
        server.close()
    assert problems(index) == []
    assert index["plotly"] == 1                            # the CPD chart rendered
    assert index["plugins"] == HIDDEN
    lab0 = sorted((REPO / "release" / "lab0-orientation").glob("*.ipynb"))[0]
    assert index["after"]["opened"] == lab0.relative_to(REPO).as_posix()
    assert index["after"]["menu"] == ["Assignment List"]   # no formgrader, course list, create
