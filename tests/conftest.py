"""Set-up shared by the whole test suite.

The interpreter's ``bin/`` folder goes first on ``PATH``, so the suite passes when pytest is
started by its full path (``.venv/bin/python -m pytest``) without the virtual environment
activated: nbgrader runs the ``alembic`` executable from there when it creates a gradebook,
and the notebook tests start ``jupyter`` kernels.

Under pytest-xdist (``make test`` runs ``--dist loadgroup``), every test that uses a
module-scoped fixture is put in one group per module, so that fixture (a graded course, an
executed notebook with its kernel) is built once, on one worker, instead of once per worker
that happens to receive one of its tests.  Each worker has a temporary folder of its own, and
collects the longest modules first (``start_order``; ``make test`` passes
``--no-loadscope-reorder`` so xdist keeps that order instead of putting the modules with most
tests first).  Tests that start Jupyter kernels or run nbgrader (``KERNEL_TESTS``) are marked
``kernel``, and every variant but one of a per-variant sweep (``SWEEPS``) is marked ``slow``:
``make check`` leaves them out.

Hypothesis runs derandomized under CI (``CI`` set), so the property tests
explore the same examples on every CI run.

``chromium_browser``: one headless Debian Chromium for the session, driven by
Python Playwright's sync API.  Playwright allows one sync driver per thread,
so every browser test (JupyterLab pages, the evidence pack, Binder) takes its
pages from this fixture instead of starting a driver of its own.  The
browser is never downloaded: a missing ``/usr/bin/chromium`` fails the test
with the command that installs it.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# Not resolved: a virtual environment's python is a symlink to the base interpreter, and the
# folder that holds the link is the one with the environment's scripts.
BIN = str(Path(sys.executable).parent)
if BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = BIN + os.pathsep + os.environ.get("PATH", "")

# Each pytest-xdist worker gets a temporary folder of its own (inherited by the kernels,
# servers and nbgrader runs it starts), so a test that checks what was left behind in the
# temporary folder (tests/course/test_kernel.py: no labkit-kernel-* scratch folder) does not
# see the folders of kernels another worker is running at the same time.
# (In pytest_configure, not at import: tests/test_suite_setup.py imports this module again.)
WORKER_TMP = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        folder = tempfile.mkdtemp(prefix=f"labkit-tests-{worker}-")
        for name in ("TMPDIR", "TEMP", "TMP"):
            os.environ[name] = folder
        tempfile.tempdir = folder
        config.stash[WORKER_TMP] = folder


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = config.stash.get(WORKER_TMP, None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


# CI explores the same examples on every run (a red CI must be reproducible);
# local runs explore new ones each time and keep failures in .hypothesis/.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


# Tests that start Jupyter kernels or run nbgrader (seconds to minutes each), by file or by
# node id: marked `kernel`, so `make check` (the edit-test loop) leaves them out while
# `make test` runs them.  tests/test_suite_setup.py checks that every entry still exists.
KERNEL_TESTS = (
    "tests/notebooks/",
    "tests/course/test_pipeline.py",
    "tests/course/test_validate.py",
    "tests/course/test_kernel.py",
    "tests/course/test_sandbox.py",
    "tests/course/test_autograde.py",
    "tests/course/test_release.py::test_committed_release_matches_a_fresh_release",
    "tests/course/test_cli.py::test_feedback_needs_the_lab_in_the_gradebook",
    "tests/test_entry.py::test_index_runs_top_to_bottom_without_errors_or_stderr",
)


def is_kernel_test(nodeid: str) -> bool:
    return any(nodeid.startswith(entry) if entry.endswith("/") else
               nodeid == entry or nodeid.startswith((entry + "::", entry + "["))
               for entry in KERNEL_TESTS)


# Per-variant sweeps: parametrised tests that run a judge, a task or a simulation over every
# variant of one task (every traffic level, world, fault shift...).  `make test` runs every
# variant; `make check` keeps one, so a broken judge or task still fails in the edit-test loop,
# and marks the others `slow`.  By function node id -> the variant kept (its id in brackets),
# or None for the first one collected; a cheap variant is named where the first costs much
# more CPU than another.  tests/test_suite_setup.py checks that every entry still exists.
SWEEPS: dict[str, str | None] = {
    "tests/labs/test_lab0.py::test_each_traffic_level_has_its_own_smallest_fleet": None,
    "tests/labs/test_lab0.py::test_no_q3_message_names_the_passing_fleet": None,
    "tests/labs/test_lab0.py::test_a_bigger_fleet_passes_the_visible_seed_but_not_the_judge": None,
    "tests/labs/test_judges.py::test_lab1_replicas_never_names_the_right_count": None,
    "tests/labs/test_judges.py::test_lab1_boundary_never_names_the_right_team": None,
    "tests/labs/test_judges.py::test_lab1_shape_never_names_a_passing_shape": None,
    "tests/labs/test_judges.py::test_lab1_hops_never_names_the_right_servers": None,
    "tests/labs/test_judges.py::test_lab1_explain_never_names_what_the_trail_records": None,
    "tests/labs/test_judges.py::test_lab2_scaling_never_names_the_cheapest_fleet": "case3",
    "tests/labs/test_judges.py::test_lab2_autoscale_and_q7_never_name_the_numbers": None,
    "tests/labs/test_judges.py::test_lab2_sessions_never_name_the_numbers": None,
    "tests/labs/test_judges.py::test_lab2_knob_tasks_never_name_a_passing_setting": None,
    "tests/labs/test_judges.py::test_lab2_drill_never_names_a_passing_setting": None,
    "tests/labs/test_judges.py::test_lab2_resilience_tasks_never_name_a_passing_policy": None,
    "tests/labs/test_judges.py::test_lab2_audit_answers_never_name_what_the_trail_records": None,
    "tests/labs/test_judges.py::test_lab3_rules_never_name_a_passing_rule": None,
    "tests/labs/test_judges.py::test_lab3_retraining_never_names_a_passing_policy": None,
    "tests/labs/test_lab1.py::test_every_task1_variant_has_one_right_fleet": None,
    "tests/labs/test_lab1.py::test_every_task2_variant_is_confirmed_by_simulation": None,
    "tests/labs/test_lab1.py::test_every_task3_variant_has_one_right_team": None,
    "tests/labs/test_lab1.py::test_every_task5_deployment_has_one_right_number_of_servers": None,
    "tests/labs/test_lab1.py::test_every_incident_variant_has_complaints_to_explain": None,
    "tests/labs/test_lab2.py::test_scaling_every_row_has_its_own_fleet": "3",
    "tests/labs/test_lab2.py::test_autoscale_every_row_has_its_own_answers": None,
    "tests/labs/test_lab2.py::test_cache_batch_every_row_has_its_own_ttl_window": None,
    "tests/labs/test_lab2.py::test_sessions_every_row_has_its_own_answers": None,
    "tests/labs/test_lab2.py::test_every_world_is_solvable_on_the_hidden_seeds": None,
    "tests/labs/test_lab2.py::test_each_omission_fails_its_case_on_the_hidden_seeds": None,
    "tests/labs/test_lab3.py::test_t2_and_t5_every_world_is_solvable_and_other_worlds_answers_fail":
        "deep incident, deep blips",
    "tests/labs/test_lab3.py::test_t3_every_drift_world_is_solvable": None,
    "tests/labs/test_lab3.py::test_t3_plausible_wrong_policies_fail": "every 7 days",
    "tests/labs/test_lab3.py::test_t6_every_service_is_solvable_and_other_services_answers_fail": None,
    "tests/labs/test_lab4.py::test_every_agent_world_has_its_own_window": None,
    "tests/labs/test_lab4.py::test_every_workload_has_its_own_cheapest_fleet": "internal tool",
    "tests/labs/test_lab4.py::test_agent_messages_never_name_a_passing_cap_or_policy":
        "refund helper",
    "tests/labs/test_lab4.py::test_fleet_messages_never_name_a_passing_fleet": "long answers",
    "tests/labs/test_capstone.py::test_another_incidents_containment_fails_here": None,
    "tests/labs/test_capstone.py::test_the_right_containment_restores_the_service_level_in_time":
        "lost-replicas",
    "tests/labs/test_capstone.py::test_the_fault_starts_at_its_minute_and_holds_until_someone_acts":
        None,
    "tests/labs/test_capstone.py::test_on_call_sees_the_alerts_and_audit_records_but_no_knob": None,
    "tests/labs/test_capstone.py::test_plausible_but_wrong_containments_fail": None,
    "tests/labs/test_capstone.py::test_refunds_without_approval_lose_only_the_refund_point": None,
}


def mark_sweeps(items: list[pytest.Item]) -> None:
    """Mark ``slow`` every variant of a ``SWEEPS`` test but the one it keeps."""
    kept: set[str] = set()
    for item in items:
        function, bracket, rest = item.nodeid.partition("[")
        if not bracket or function not in SWEEPS:
            continue
        variant = rest[:-1] if rest.endswith("]") else rest.split("]@", 1)[0]
        wanted = SWEEPS[function]
        if (variant != wanted) if wanted is not None else (function in kept):
            item.add_marker(pytest.mark.slow)
        kept.add(function)


def shared_fixture_group(item: pytest.Item) -> str | None:
    """The module's name if ``item`` uses a module-scoped fixture, else None.

    A parametrised module-scoped fixture (one graded course per lab) is built once per
    parameter, so each parameter is a group of its own (``module::param``): two workers can
    build two labs' courses at the same time.
    """
    info = getattr(item, "_fixtureinfo", None)
    if info is None:                     # not a Python test function (e.g. a doctest item)
        return None
    module = item.nodeid.split("::", 1)[0]
    shared = [name for name, defs in info.name2fixturedefs.items()
              if any(d.scope == "module" for d in defs)]
    if not shared:
        return None
    callspec = getattr(item, "callspec", None)
    params = [str(callspec.params[name]) for name in shared
              if callspec is not None and name in callspec.params]
    # not "module[param]": pytest-xdist reads a node id ending in "]" as having no group
    return f"{module}::{','.join(params)}" if params else module


# The longest units of work (measured with --durations), started first under pytest-xdist so
# that none of them is left running alone at the end of the run.
LONGEST_FIRST = (
    "tests/course/test_redteam.py",
    "tests/course/test_pipeline.py",
    "tests/binder/test_binder_env.py",
    "tests/notebooks/test_round_trip.py",
)
HEAVY_MARKS = ("slow", "kernel", "browser")


def start_order(items: list[pytest.Item]) -> list[pytest.Item]:
    """``items`` with the longest modules first, then modules with slow, kernel or browser
    tests, then the rest; each module's tests stay together and in order (so a module-scoped
    fixture is still built once in a serial run)."""
    modules: dict[str, list[pytest.Item]] = {}
    for item in items:
        modules.setdefault(item.nodeid.split("::", 1)[0], []).append(item)

    def rank(path: str) -> tuple[int, int]:
        if path in LONGEST_FIRST:
            return (0, LONGEST_FIRST.index(path))
        heavy = any(item.get_closest_marker(m) for item in modules[path] for m in HEAVY_MARKS)
        return (1 if heavy else 2, 0)

    return [item for path in sorted(modules, key=rank) for item in modules[path]]


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mark_sweeps(items)
    for item in items:
        if is_kernel_test(item.nodeid):
            item.add_marker(pytest.mark.kernel)
        group = shared_fixture_group(item)
        if group is not None and item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(group))
    if hasattr(config, "workerinput"):         # a pytest-xdist worker: schedule longest first
        items[:] = start_order(items)


@pytest.fixture(autouse=True)
def panels_run_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Panels built in tests run every simulation inline, however loaded the machine is.

    A panel sends a run it estimates at over ``INLINE_LIMIT_S`` (0.75 s, learned from the
    runs before) to a worker process and waits for a click; on a busy machine a short run can
    cross that line, and a test that checks what one knob change did would see a stale panel.
    The background path is tested on purpose with ``Runner(inline_limit_s=0.0)``.
    """
    runner = sys.modules.get("labkit.ui.runner")   # imported by every test that builds a panel
    if runner is not None:
        monkeypatch.setattr(runner, "INLINE_LIMIT_S", 600.0)


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make browser-deps, or "
                    "apt-get install -y chromium); the tests never download a browser")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
