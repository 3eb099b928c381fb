"""The engine is composed, not mixed in; components keep to their own state; codes have names.

Issue 13 item 3: components (gateway, cache, data path, batcher, replicas, retry, breaker,
fallback, actions) are objects with explicit inputs; a recorder owns what gets recorded;
nothing reads another object's private attributes; outcome and path codes come from
labkit.sim.codes, never as bare numbers.  The source is read with ``ast``, so the rules
hold for every line, not just the lines a test happens to run.
"""
from __future__ import annotations

import ast
from pathlib import Path

import labkit.monitor
import labkit.sim
from labkit.sim import Scenario, simulate
from labkit.sim.engine import Engine
from labkit.sim.load import draw_workload
from labkit.sim.run import STREAMS
from labkit.streams import Streams

TESTS = Path(__file__).resolve().parent.parent
PACKAGES = [Path(labkit.sim.__file__).parent, Path(labkit.monitor.__file__).parent,
            TESTS / "sim", TESTS / "monitor"]
SOURCES = sorted(p for pkg in PACKAGES for p in pkg.rglob("*.py"))
CODE_COLUMNS = {"outcome", "cache", "reason", "result", "path", "decision"}


def _tree(path: Path) -> ast.AST:
    return ast.parse(path.read_text(), filename=str(path))


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.parent.name}/{path.name}:{node.lineno}"


def test_no_object_reads_another_objects_private_attributes():
    """``x._y`` only where x is self or cls (a class may use its own private state).

    IPython's display hooks (``_repr_html_``) are public protocol, not private state."""
    bad = []
    for path in SOURCES:
        for node in ast.walk(_tree(path)):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                    and not node.attr.startswith(("__", "_repr_"))
                    and not (isinstance(node.value, ast.Name)
                             and node.value.id in ("self", "cls"))):
                bad.append(f"{_where(path, node)} .{node.attr}")
    assert len(SOURCES) > 60 and bad == []


def _is_int_code(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return type(node.value) is int
    if isinstance(node, (ast.Tuple, ast.List)):
        return any(_is_int_code(e) for e in node.elts)
    return False


def _code_column(node: ast.AST) -> bool:
    return (isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant)
            and node.slice.value in CODE_COLUMNS)


def test_code_columns_are_compared_with_named_codes_only():
    """No ``r["outcome"] <= 1`` or ``np.isin(r["cache"], (2, 3))``: codes have names."""
    bad = []
    for path in SOURCES:
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.Compare):
                sides = [node.left, *node.comparators]
                if any(_code_column(s) for s in sides) and any(_is_int_code(s) for s in sides):
                    bad.append(_where(path, node))
            if (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "isin"
                    and node.args and _code_column(node.args[0])
                    and any(_is_int_code(a) for a in node.args[1:])):
                bad.append(_where(path, node))
    assert bad == []


def test_the_code_check_can_fail():
    bad = ast.parse('r[r["outcome"] <= 1]; np.isin(r["cache"], (2, 3))')
    compares = [n for n in ast.walk(bad) if isinstance(n, ast.Compare)]
    calls = [n for n in ast.walk(bad) if isinstance(n, ast.Call)]
    assert _code_column(compares[0].left) and _is_int_code(compares[0].comparators[0])
    assert _code_column(calls[0].args[0]) and _is_int_code(calls[0].args[1])


def test_the_engine_is_composed_not_mixed_in():
    assert Engine.__bases__ == (object,)
    sc = Scenario.from_knobs({"load.duration_s": 2.0})
    streams = Streams(1, STREAMS)
    engine = Engine(sc, draw_workload(sc.load, streams), streams)
    parts = {"gateway", "cache", "datapath", "pool", "retry", "breaker", "throttle", "faults",
             "fallback", "kill", "guardrail", "boundary", "autoscalers", "recorder"}
    assert parts <= set(vars(engine))
    assert engine.pool.batcher is not None and engine.cache is None


def test_a_run_through_the_engine_is_the_run_simulate_gives():
    sc = Scenario.from_knobs({"load.duration_s": 10.0, "retry.max_attempts": 3,
                              "model.error_rate": 0.2, "cache.enabled": True})
    streams = Streams(4, STREAMS)
    engine = Engine(sc, draw_workload(sc.load, streams), streams)
    engine.run()
    by_hand = engine.collect(4)
    assert by_hand.summary == simulate(sc, seed=4).summary
    assert by_hand.records.tobytes() == simulate(sc, seed=4).records.tobytes()
