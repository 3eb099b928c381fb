"""``labkit monitor``: readable report, JSON, knob listing, and exit 2 on bad input."""

from __future__ import annotations

import json

import pytest

from labkit.cli import main


def test_report(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["monitor", "--set", "stream.weeks=1", "--set", "incident.null_at_day=4",
                 "--seed", "2", "--audit"])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    assert "event null_feature:device_risk at hour 96: detected after" in out
    assert "offline" in out and "online" in out and "#0 h0" in out


def test_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["monitor", "--set", "stream.weeks=1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["weeks"] == 1 and "audit" not in data


def test_knob_listing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["monitor", "--knobs"]) == 0
    assert "retrain.policy = none" in capsys.readouterr().out
    assert main(["monitor", "--knobs", "--json"]) == 0
    names = [k["name"] for k in json.loads(capsys.readouterr().out)]
    assert "alerts.psi_threshold" in names


@pytest.mark.parametrize("argv, message", [
    (["--set", "stream.weeks=0"], "labkit monitor: stream.weeks must be >= 1, got 0"),
    (["--set", "stream.wekes=2"], "labkit monitor: unknown knob 'stream.wekes'; did you mean "
                                  "'stream.weeks'?"),
    (["--set", "stream.weeks"], "labkit monitor: --set takes KNOB=VALUE, got 'stream.weeks'"),
    (["--seed", "x"], "labkit monitor: --seed must be a whole number >= 0, got 'x'"),
    (["--set", "drift.data_at_day=1"], "labkit monitor: drift.data_at_day must be -1 (never) "
                                       "or >= monitor.reference_days (3), got 1"),
])
def test_bad_input_exits_2_without_a_traceback(capsys: pytest.CaptureFixture[str],
                                               argv: list[str], message: str) -> None:
    assert main(["monitor", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.strip() == message
