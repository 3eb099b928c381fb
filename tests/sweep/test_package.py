"""The sweep package: imports flow one way, and the public names stay where the README says."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import labkit.sweep

PACKAGE = Path(labkit.sweep.__file__).parent
ORDER = ["spec", "cores", "store", "table", "executors", "runner"]   # each imports only left


def sweep_imports(source: str) -> set[tuple[str, str]]:
    """(module, name) for every import of ``labkit.sweep.<module>`` in the source."""
    found: set[tuple[str, str]] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module == "labkit.sweep":
            found |= {(alias.name, "*") for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("labkit.sweep."):
            found |= {(node.module.split(".")[2], alias.name) for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {(a.name.split(".")[2], "*") for a in node.names
                      if a.name.startswith("labkit.sweep.")}
    return found


def backward_imports(name: str, source: str) -> list[str]:
    return sorted(module for module, _ in sweep_imports(source)
                  if module not in ORDER[: ORDER.index(name)])


def test_every_module_is_in_the_order() -> None:
    assert sorted(p.stem for p in PACKAGE.glob("*.py")) == sorted([*ORDER, "__init__"])


@pytest.mark.parametrize("name", ORDER)
def test_imports_flow_one_way(name: str) -> None:
    assert backward_imports(name, (PACKAGE / f"{name}.py").read_text()) == []


def test_the_check_sees_an_import_that_flows_back() -> None:
    source = "from labkit.sweep.runner import run_sweep\nfrom labkit.sweep import table\n"
    assert backward_imports("store", source) == ["runner", "table"]


def test_the_store_gets_only_the_error_from_the_spec() -> None:
    assert sweep_imports((PACKAGE / "store.py").read_text()) == {("spec", "SweepError")}


def test_public_names() -> None:
    from labkit.sweep import (
        DaskClusterError,
        SweepError,
        SweepSpec,
        SweepTable,
        dask_client,
        flatten_summary,
        parse_grid,
        run_sweep,
        usable_cores,
    )

    assert set(labkit.sweep.__all__) == {
        "DaskClusterError", "SweepError", "SweepSpec", "SweepTable", "dask_client",
        "flatten_summary", "parse_grid", "run_sweep", "usable_cores"}
    assert issubclass(DaskClusterError, SweepError)
    assert all(callable(f) for f in (SweepSpec, SweepTable, dask_client, flatten_summary,
                                     parse_grid, run_sweep, usable_cores))
