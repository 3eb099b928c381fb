"""The audit trail: numbered, complete records; empty fields refused."""

from __future__ import annotations

import pytest

from labkit.monitor.audit import AUDIT_ACTIONS, AuditLog, AuditRecord


def _add(log: AuditLog, **kw: object) -> AuditRecord:
    base = dict(at_h=5, action="deploy", model_version="v1", data_snapshot="snap",
                features=("amount",), threshold=0.2, owner="ml-platform", reason="go-live")
    return log.add(**{**base, **kw})  # type: ignore[arg-type]


def test_records_are_numbered_in_order_and_serialisable() -> None:
    log = AuditLog()
    first = _add(log)
    second = _add(log, action="shutdown", at_h=48, detail={"fallback": "rules_review"})
    assert (first.seq, second.seq, len(log)) == (0, 1, 2)
    assert log.records() == (first, second)
    d = second.as_dict()
    assert d["day"] == 2.0 and d["detail"] == {"fallback": "rules_review"}
    assert d["features"] == ["amount"]


def test_every_action_is_known() -> None:
    assert "rolled_back" in AUDIT_ACTIONS
    with pytest.raises(ValueError, match="^audit action must be one of deploy, "):
        _add(AuditLog(), action="oops")


@pytest.mark.parametrize("field", ["model_version", "data_snapshot", "owner", "reason"])
def test_empty_fields_are_refused(field: str) -> None:
    with pytest.raises(ValueError) as exc:
        _add(AuditLog(), **{field: " "})
    assert str(exc.value) == f"audit record 'deploy' at hour 5: {field} must not be empty"
