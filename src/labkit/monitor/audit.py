"""The audit trail: one record for every decision about the model.

Deploying a version, training a candidate, the evaluation gate's verdict, a
canary, a rollout or rollback, a threshold change, a shutdown and a
restore each write a record with what an auditor (or a regulator) asks
first: when, what was done and why, which data snapshot, which features,
which model version, which threshold, and who owns the decision.  With it,
any single transaction's decision can be traced back to the record that put
its model and threshold in place (:meth:`MonitorResult.trace`).

>>> log = AuditLog()
>>> rec = log.add(at_h=0, action="deploy", model_version="v1", data_snapshot="offline-v1",
...               features=("amount",), threshold=0.2, owner="ml-platform", reason="go-live")
>>> rec.seq, rec.action
(0, 'deploy')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from labkit.errors import MonitorError

__all__ = ["AuditRecord", "AuditLog", "AUDIT_ACTIONS"]

AUDIT_ACTIONS = ("deploy", "retrain_skipped", "candidate_trained", "gate_passed", "gate_failed",
                 "canary_started", "rolled_out", "rolled_back", "threshold_changed",
                 "shutdown", "restored")


@dataclass(frozen=True, kw_only=True)
class AuditRecord:
    """One decision: when, what, why, on which data, model and threshold, and who owns it."""

    seq: int
    at_h: int
    action: str
    model_version: str
    data_snapshot: str
    features: tuple[str, ...]
    threshold: float
    owner: str
    reason: str
    detail: tuple[tuple[str, Any], ...] = field(default=())

    def __post_init__(self) -> None:
        if self.action not in AUDIT_ACTIONS:
            raise MonitorError(f"audit action must be one of {', '.join(AUDIT_ACTIONS)}, got "
                             f"{self.action!r}")
        for name in ("model_version", "data_snapshot", "owner", "reason"):
            if not str(getattr(self, name)).strip():
                raise MonitorError(f"audit record {self.action!r} at hour {self.at_h}: {name} "
                                 "must not be empty")

    @property
    def day(self) -> float:
        return self.at_h / 24

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "at_h": self.at_h, "day": round(self.day, 3),
                "action": self.action, "model_version": self.model_version,
                "data_snapshot": self.data_snapshot, "features": list(self.features),
                "threshold": self.threshold, "owner": self.owner, "reason": self.reason,
                "detail": dict(self.detail)}


class AuditLog:
    """An append-only list of :class:`AuditRecord`, numbered in order."""

    def __init__(self) -> None:
        self._records: list[AuditRecord] = []

    def add(self, *, at_h: int, action: str, model_version: str, data_snapshot: str,
            features: tuple[str, ...], threshold: float, owner: str, reason: str,
            detail: Mapping[str, Any] | None = None) -> AuditRecord:
        record = AuditRecord(seq=len(self._records), at_h=int(at_h), action=action,
                             model_version=model_version, data_snapshot=data_snapshot,
                             features=tuple(features), threshold=float(threshold), owner=owner,
                             reason=reason, detail=tuple((detail or {}).items()))
        self._records.append(record)
        return record

    def records(self) -> tuple[AuditRecord, ...]:
        return tuple(self._records)

    def __len__(self) -> int:
        return len(self._records)
