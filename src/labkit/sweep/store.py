"""Sweep results on disk: one CSV row per run, appended and flushed as each run finishes.

The file is the experiment's lab notebook: a sweep interrupted by Ctrl-C, a
crash or a closed laptop keeps every row it finished, and ``--resume`` reads
them back (keyed by the grid knobs' values and the seed, :func:`run_key`) so
only the missing runs are done.  A row cut off mid-write is dropped and run
again.  The sidecar ``<file>.meta.json`` records the base scenario (preset
and fixed knobs); a resume with a different base is refused rather than
mixing two experiments.  Knob values are written as typed on a command line
(``Knob.format``) and floats with ``repr``, so a row read back is exactly the
row written.

The store knows the grid knobs' names and the experiment's metadata, nothing
else of the sweep: it imports only :class:`~labkit.sweep.spec.SweepError`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from labkit.sim.scenario import CATALOGUE
from labkit.sweep.spec import SweepError

__all__ = ["CsvSink", "csv_row", "parse_row", "run_key", "write_csv"]


def run_key(row: Mapping[str, Any], knobs: Sequence[str]) -> tuple[str, ...]:
    """A run's identity as written in the CSV: its formatted grid values and its seed.

    >>> run_key({"model.replicas": 4, "cache.enabled": True, "seed": 2},
    ...         ["model.replicas", "cache.enabled"])
    ('4', 'true', '2')
    """
    return tuple(CATALOGUE[k].format(CATALOGUE[k].check(row[k])) for k in knobs) + (
        str(int(row["seed"])),)


def csv_row(row: Mapping[str, Any], knobs: Sequence[str]) -> dict[str, Any]:
    """A row as written: knob values as typed on a command line, floats by ``repr``."""
    out = {k: CATALOGUE[k].format(row[k]) for k in knobs}
    out.update({k: repr(v) if isinstance(v, float) else v for k, v in row.items()
                if k not in knobs})
    return out


def parse_row(raw: Mapping[str, str], knobs: Sequence[str]) -> dict[str, Any]:
    """A row as read back: the inverse of :func:`csv_row`."""
    row: dict[str, Any] = {k: CATALOGUE[k].check(raw[k]) for k in knobs}
    row["seed"] = int(raw["seed"])
    for name, text in raw.items():
        if name in row or name is None or text in ("", None):
            continue
        row[name] = int(text) if text.lstrip("-").isdigit() else float(text)
    return row


def write_csv(path: Path, columns: Sequence[str], rows: Sequence[Mapping[str, Any]],
              knobs: Sequence[str]) -> Path:
    """A whole table at once, in the same format as :class:`CsvSink` writes row by row."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(csv_row(row, knobs) for row in rows)
    return path


class CsvSink:
    """Appends each finished row to the CSV and flushes it; on resume, reads what is there.

    ``knobs`` are the grid knobs (the first columns, before ``seed``) and ``meta``
    the experiment's identity (``preset`` and ``fixed`` are compared on resume).
    After construction, ``existing`` maps :func:`run_key` to every complete row
    already in the file.
    """

    def __init__(self, path: Path, *, knobs: Sequence[str], meta: Mapping[str, Any],
                 resume: bool):
        self.path, self.knobs, self.meta = path, tuple(knobs), dict(meta)
        self.header: list[str] | None = None
        self.existing: dict[tuple[str, ...], dict[str, Any]] = {}
        meta_path = path.with_name(path.name + ".meta.json")
        if path.exists() and path.stat().st_size > 0:
            if not resume:
                raise SweepError(f"{path} already exists; add --resume to continue that sweep, "
                                 "or choose another -o")
            self._read(meta_path)
        try:
            if not meta_path.exists():
                meta_path.write_text(json.dumps(self.meta, indent=2) + "\n", encoding="utf-8")
            self.fh = path.open("a", newline="", encoding="utf-8")
        except OSError as exc:
            raise SweepError(f"{path}: cannot write the results ({exc.strerror})") from None

    def _read(self, meta_path: Path) -> None:
        path = self.path
        text = path.read_text(encoding="utf-8")
        if not text.endswith("\n"):               # a row cut off mid-write by an interruption
            text = text[: text.rfind("\n") + 1]
            path.write_text(text, encoding="utf-8")
        reader = csv.DictReader(text.splitlines())
        header = list(reader.fieldnames or [])
        wanted = [*self.knobs, "seed"]
        if header[: len(wanted)] != wanted:
            had = header[: header.index("seed")] if "seed" in header else header
            raise SweepError(f"{path} holds a sweep over {', '.join(had) or 'nothing'}, not "
                             f"{', '.join(self.knobs)}; use another -o")
        if meta_path.exists():
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if {k: meta.get(k) for k in ("preset", "fixed")} != {
                    k: self.meta.get(k) for k in ("preset", "fixed")}:
                raise SweepError(f"{path} was made with preset {meta.get('preset')!r} and "
                                 f"fixed knobs {meta.get('fixed')}; resume with the same "
                                 "--preset and --set, or use another -o")
        self.header = header
        for raw in reader:
            if None in raw or None in raw.values():
                continue                          # a malformed row: it will be run again
            row = parse_row(raw, self.knobs)
            self.existing[run_key(row, self.knobs)] = row

    def write(self, row: Mapping[str, Any]) -> None:
        if self.header is None:
            self.header = [*self.knobs, "seed",
                           *(k for k in row if k not in self.knobs and k != "seed")]
            csv.writer(self.fh).writerow(self.header)
        writer = csv.DictWriter(self.fh, fieldnames=self.header, extrasaction="ignore",
                                restval="")
        writer.writerow(csv_row(row, self.knobs))
        self.fh.flush()

    def close(self) -> None:
        self.fh.close()
