"""Regression net: the same knobs and seed give exactly the numbers they gave before.

``snapshots/sim_summaries.json`` was written from the simulator as it stood before the
knob and engine refactor of issue 13 (main at 866ef15).  For every preset and seeds 1, 2
and 3 it holds the full ``Result.summary``, a SHA-256 digest of the records, the attempt
log and the samples, and the audit trail (``Result.trace``) of a few requests (the first,
middle and last, and the first of every outcome); every value must come back exactly
(floats compared after a JSON round trip, which is exact for Python floats).
``snapshots/knobs.json`` is ``labkit knobs --json`` from the same moment: every knob it
lists must still be listed with the same group, type, default, unit, range, choices,
"off" note and help.  The token-mode knobs of issue 16 (``llm.*``, ``load.*_tokens*``,
``model.upstream_tpm``, ``model.cost_per_1m_*``, ``budget.ttft_p95_ms``,
``budget.tpot_p95_ms``) were added to it on purpose, each old entry left as it was; with
``llm.enabled`` off every preset gives the snapshot's numbers bit for bit.  The agent knobs of
issue 17 (``agent.*``) and the ``agent-support`` preset were added the same way, and so were the
data-path capacity knobs of issue 15 (``embed.servers``, ``retrieval.servers``,
``rerank.servers``, ``steps.service_dist``): unset, the steps are the pure delays they were.

A change that is *meant* to move numbers rewrites the snapshot on purpose::

    .venv/bin/python tests/sim/test_regression_snapshot.py --write

and says so in its commit message.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from labkit.cli import main as cli_main
from labkit.sim import PRESETS, simulate

HERE = Path(__file__).resolve().parent
SUMMARIES = HERE / "snapshots" / "sim_summaries.json"
KNOBS = HERE / "snapshots" / "knobs.json"
SEEDS = (1, 2, 3)


def digest(array: np.ndarray) -> str:
    """SHA-256 of an array's dtype and bytes (structured dtypes here are packed)."""
    h = hashlib.sha256(str(array.dtype).encode())
    h.update(np.ascontiguousarray(array).tobytes())
    return h.hexdigest()


def traced(res: Any) -> list[int]:
    """Requests whose audit trail is kept: first, middle, last, first of each outcome."""
    n = len(res.records)
    ids = {0, n // 2, n - 1}
    for code in range(4):
        hits = np.flatnonzero(res.records["outcome"] == code)
        if len(hits):
            ids.add(int(hits[0]))
    return sorted(ids)


def capture(preset: str, seed: int) -> dict[str, Any]:
    res = simulate(preset=preset, seed=seed)
    return {"summary": json.loads(json.dumps(res.summary)),
            "records": digest(res.records), "attempts": digest(res.attempts),
            "samples": digest(res.samples),
            "traces": json.loads(json.dumps([res.trace(i) for i in traced(res)]))}


def knobs_json() -> list[dict[str, Any]]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli_main(["knobs", "--json"]) == 0
    return json.loads(out.getvalue())


def same(a: Any, b: Any, where: str = "") -> list[str]:
    """Where ``a`` and ``b`` differ (NaN equals NaN; floats must be equal, not close)."""
    if isinstance(a, dict) and isinstance(b, dict):
        diffs = [f"{where}.{k}: missing" for k in a if k not in b]
        diffs += [f"{where}.{k}: new" for k in b if k not in a]
        for k in a:
            if k in b:
                diffs += same(a[k], b[k], f"{where}.{k}")
        return diffs
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in same(x, y, f"{where}[{i}]")]
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return []
    if type(a) is not type(b) or a != b:
        return [f"{where}: {a!r} -> {b!r}"]
    return []


def _load(path: Path) -> Any:
    return json.loads(path.read_text())


CASES = [(p, s) for p in _load(SUMMARIES) for s in SEEDS] if SUMMARIES.exists() else []


@pytest.mark.parametrize("preset, seed", CASES)
def test_every_preset_and_seed_gives_exactly_the_snapshot(preset, seed):
    want = _load(SUMMARIES)[preset][str(seed)]
    got = capture(preset, seed)
    assert same(want["summary"], got["summary"], "summary") == []
    assert same(want["traces"], got["traces"], "traces") == []
    for part in ("records", "attempts", "samples"):
        assert got[part] == want[part], f"{preset} seed {seed}: {part} changed"


def test_the_snapshot_covers_every_preset():
    assert sorted(_load(SUMMARIES)) == sorted(PRESETS)


def test_every_knob_keeps_its_name_default_unit_and_range():
    want = _load(KNOBS)
    got = {k["name"]: k for k in knobs_json()}
    problems = []
    for old in want:
        new = got.get(old["name"])
        if new is None:
            problems.append(f"{old['name']}: gone")
            continue
        problems += same(old, {key: new.get(key) for key in old}, old["name"])
    assert problems == []
    assert [k["name"] for k in want] == list(got)[:len(want)]


def write() -> None:  # pragma: no cover - run by hand, see the module docstring
    SUMMARIES.parent.mkdir(exist_ok=True)
    data = {p: {str(s): capture(p, s) for s in SEEDS} for p in PRESETS}
    SUMMARIES.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    KNOBS.write_text(json.dumps(knobs_json(), indent=1) + "\n")


if __name__ == "__main__":  # pragma: no cover
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/sim/test_regression_snapshot.py --write")
    write()
