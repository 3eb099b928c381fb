"""Argument checks shared by the theory modules.

A closed form is only valid inside its model (a stable queue, a probability in [0, 1], a
whole number of servers), so every public function checks its arguments first and says
which argument broke which rule: "<name> must be <rule>, got <value>".
"""
from __future__ import annotations

import math
import numbers

__all__: list[str] = []


def _check(ok: bool, name: str, rule: str, value: object) -> None:
    if not ok:
        raise ValueError(f"{name} must be {rule}, got {value!r}")


def _real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) \
        and math.isfinite(value)


def _nonneg(name: str, value: float) -> float:
    _check(_real(value) and value >= 0, name, ">= 0", value)
    return float(value)


def _positive(name: str, value: float) -> float:
    _check(_real(value) and value > 0, name, "> 0", value)
    return float(value)


def _count(name: str, value: int, low: int = 1) -> int:
    _check(isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= low,
           name, f"an integer >= {low}", value)
    return int(value)


def _prob(name: str, value: float) -> float:
    _check(_real(value) and 0.0 <= value <= 1.0, name, "in [0, 1]", value)
    return float(value)


def _stable(rate_rps: float, service_ms: float, servers: int) -> tuple[float, float]:
    """Validate a queue and return (lambda, mu) in events per second."""
    lam, mu = _nonneg("rate_rps", rate_rps), 1000.0 / _positive("service_ms", service_ms)
    cap = servers * mu
    if lam >= cap:
        raise ValueError(f"rate_rps must be < servers x service rate ({cap:g} req/s), got {lam:g}")
    return lam, mu
