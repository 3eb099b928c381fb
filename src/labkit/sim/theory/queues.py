"""Queueing theory for the model replicas: how long a request waits for a free replica.

Requests arrive at ``rate_rps`` and each replica serves one at a time in ``service_ms`` on
average. The models are the textbook ones: M/M/1, M/M/c with Erlang C, M/G/1 with the
Pollaczek-Khinchine formula (M/D/1 is its deterministic case), and the two approximations
for general arrivals, Kingman (G/G/1) and Allen-Cunneen (G/G/c). They hold in steady state
only, so every function refuses an unstable queue (arrivals at or beyond capacity).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ._validate import _check, _count, _nonneg, _positive, _real, _stable

__all__ = [
    "QueueMetrics", "mm1", "erlang_c", "mmc", "mmc_wait_exceeds", "mmc_response_quantile_ms",
    "min_replicas_for_p95", "mg1_pk", "md1", "kingman", "allen_cunneen", "littles_law",
]

MAX_SERVERS = 1000


@dataclass(frozen=True, kw_only=True)
class QueueMetrics:
    """Steady-state figures of a queue: utilisation per server ``rho``, the chance an arrival
    waits ``p_wait``, mean wait in queue ``wq_ms``, mean time in system ``w_ms`` (wait plus
    service), and mean numbers waiting ``lq`` and in the system ``l``."""

    rho: float
    p_wait: float
    wq_ms: float
    w_ms: float
    lq: float
    l: float  # noqa: E741 - the textbook's name for the mean number in the system



def mm1(rate_rps: float, service_ms: float) -> QueueMetrics:
    """One server, Poisson arrivals, exponential service: Wq = rho/(mu - lambda).

    >>> m = mm1(rate_rps=8, service_ms=100)   # rho = 0.8
    >>> round(m.wq_ms, 1), round(m.w_ms, 1), round(m.lq, 2)
    (400.0, 500.0, 3.2)
    """
    lam, mu = _stable(rate_rps, service_ms, 1)
    rho = lam / mu
    return QueueMetrics(rho=rho, p_wait=rho, wq_ms=1000 * rho / (mu - lam),
                        w_ms=1000 / (mu - lam), lq=rho * rho / (1 - rho), l=rho / (1 - rho))


def erlang_c(servers: int, offered_load: float) -> float:
    """Erlang C: the chance an arrival must queue with ``servers`` busy-able servers and
    ``offered_load`` a = lambda/mu erlangs (needs a < servers). Computed through the stable
    Erlang B recursion.

    >>> round(erlang_c(10, 8.0), 3)    # lambda = 8/s, mu = 1/s, c = 10
    0.409
    """
    c = _count("servers", servers)
    a = _nonneg("offered_load", offered_load)
    _check(a < c, "offered_load", f"< servers ({c})", offered_load)
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return float(c * b / (c - a * (1 - b)))


def mmc(rate_rps: float, service_ms: float, servers: int) -> QueueMetrics:
    """M/M/c: ``servers`` identical replicas sharing one queue; Wq = C(c, a)/(c mu - lambda).

    >>> m = mmc(rate_rps=8, service_ms=1000, servers=10)
    >>> round(m.p_wait, 3), round(m.wq_ms / 1000, 3), m.rho
    (0.409, 0.205, 0.8)
    """
    c = _count("servers", servers)
    lam, mu = _stable(rate_rps, service_ms, c)
    p = erlang_c(c, lam / mu)
    wq_s = p / (c * mu - lam)
    return QueueMetrics(rho=lam / (c * mu), p_wait=p, wq_ms=1000 * wq_s,
                        w_ms=1000 * (wq_s + 1 / mu), lq=lam * wq_s, l=lam * (wq_s + 1 / mu))


def mmc_wait_exceeds(rate_rps: float, service_ms: float, servers: int, t_ms: float) -> float:
    """P(wait in queue > t) in M/M/c: C(c, a) * exp(-(c mu - lambda) t).

    >>> round(mmc_wait_exceeds(8, 1000, 10, t_ms=0), 3), round(mmc_wait_exceeds(8, 1000, 10, 1000), 3)
    (0.409, 0.055)
    """
    c = _count("servers", servers)
    lam, mu = _stable(rate_rps, service_ms, c)
    t_s = _nonneg("t_ms", t_ms) / 1000
    return float(erlang_c(c, lam / mu) * math.exp(-(c * mu - lam) * t_s))


def _response_survival(t_s: float, mu: float, theta: float, p_wait: float) -> float:
    """P(wait + service > t) when the wait is 0 w.p. 1-C and Exp(theta) w.p. C."""
    if abs(theta - mu) <= 1e-9 * mu:    # Erlang-2 limit of the hypoexponential
        both = math.exp(-mu * t_s) * (1 + mu * t_s)
    else:
        both = (theta * math.exp(-mu * t_s) - mu * math.exp(-theta * t_s)) / (theta - mu)
    return (1 - p_wait) * math.exp(-mu * t_s) + p_wait * both


def mmc_response_quantile_ms(rate_rps: float, service_ms: float, servers: int,
                             q: float) -> float:
    """The q-quantile of response time (queue wait + service) in M/M/c, by bisection on
    P(T > t) = (1-C) e^{-mu t} + C P(W' + S > t), W' ~ Exp(c mu - lambda), S ~ Exp(mu).

    >>> round(mmc_response_quantile_ms(5, 100, 1, 0.95))    # M/M/1: T ~ Exp(mu - lambda)
    599
    """
    c = _count("servers", servers)
    lam, mu = _stable(rate_rps, service_ms, c)
    _check(_real(q) and 0 < q < 1, "q", "in (0, 1)", q)
    p_wait, theta, tail = erlang_c(c, lam / mu), c * mu - lam, 1 - q
    lo, hi = 0.0, 1.0 / mu
    while _response_survival(hi, mu, theta, p_wait) > tail:
        lo, hi = hi, 2 * hi
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if _response_survival(mid, mu, theta, p_wait) > tail else (lo, mid)
        if hi - lo <= 1e-12 * hi:
            break
    return 1000 * 0.5 * (lo + hi)


def min_replicas_for_p95(rate_rps: float, service_ms: float, p95_ms: float) -> int:
    """Fewest M/M/c replicas whose response-time p95 is within ``p95_ms``.

    >>> min_replicas_for_p95(rate_rps=40, service_ms=80, p95_ms=300)
    5
    """
    lam, _ = _stable(rate_rps, service_ms, MAX_SERVERS)
    budget = _positive("p95_ms", p95_ms)
    for c in range(int(lam * service_ms / 1000) + 1, MAX_SERVERS + 1):
        if mmc_response_quantile_ms(lam, service_ms, c, 0.95) <= budget:
            return c
    raise ValueError(f"p95_ms must be above the service time's own p95 (ln 20 x service_ms = "
                     f"{math.log(20) * service_ms:.1f} ms) to be met with <= {MAX_SERVERS} "
                     f"replicas, got {p95_ms!r}")


def mg1_pk(rate_rps: float, service_ms: float, service_cv: float) -> QueueMetrics:
    """M/G/1 (Pollaczek-Khinchine): Wq = rho (1 + cv^2) / (2 (1 - rho)) E[S].

    >>> round(mg1_pk(8, 100, service_cv=1.0).wq_ms, 1), round(mg1_pk(8, 100, 0.0).wq_ms, 1)
    (400.0, 200.0)
    """
    lam, mu = _stable(rate_rps, service_ms, 1)
    cv = _nonneg("service_cv", service_cv)
    rho = lam / mu
    wq_s = rho * (1 + cv * cv) / (2 * (1 - rho)) / mu
    return QueueMetrics(rho=rho, p_wait=rho, wq_ms=1000 * wq_s, w_ms=1000 * (wq_s + 1 / mu),
                        lq=lam * wq_s, l=lam * wq_s + rho)


def md1(rate_rps: float, service_ms: float) -> QueueMetrics:
    """M/D/1, deterministic service: half of M/M/1's wait.

    >>> round(md1(8, 100).wq_ms, 6), round(mm1(8, 100).wq_ms / 2, 6)
    (200.0, 200.0)
    """
    return mg1_pk(rate_rps, service_ms, 0.0)


def _gg(rate_rps: float, service_ms: float, servers: int, ca2: float, cs2: float) -> QueueMetrics:
    c = _count("servers", servers)
    lam, mu = _stable(rate_rps, service_ms, c)
    factor = (_nonneg("ca2", ca2) + _nonneg("cs2", cs2)) / 2
    p = erlang_c(c, lam / mu)
    wq_s = p / (c * mu - lam) * factor
    return QueueMetrics(rho=lam / (c * mu), p_wait=p, wq_ms=1000 * wq_s,
                        w_ms=1000 * (wq_s + 1 / mu), lq=lam * wq_s, l=lam * (wq_s + 1 / mu))


def kingman(rate_rps: float, service_ms: float, ca2: float, cs2: float) -> QueueMetrics:
    """G/G/1 (Kingman): Wq ~ rho/(1 - rho) (ca^2 + cs^2)/2 E[S], squared coefficients of
    variation of inter-arrival (``ca2``) and service (``cs2``) times; p_wait is taken as rho.

    >>> round(kingman(8, 100, ca2=1, cs2=0).wq_ms, 1)   # exact for M/D/1
    200.0
    """
    return _gg(rate_rps, service_ms, 1, ca2, cs2)


def allen_cunneen(rate_rps: float, service_ms: float, servers: int, ca2: float,
                  cs2: float) -> QueueMetrics:
    """G/G/c (Allen-Cunneen): Erlang C's wait scaled by (ca^2 + cs^2)/2.

    >>> round(allen_cunneen(8, 1000, 10, ca2=1, cs2=1).wq_ms)   # = M/M/c
    205
    """
    return _gg(rate_rps, service_ms, servers, ca2, cs2)


def littles_law(rate_rps: float, time_s: float) -> float:
    """Little's law L = lambda W: mean number in a stable system.

    >>> littles_law(rate_rps=40, time_s=0.25)
    10.0
    """
    return _nonneg("rate_rps", rate_rps) * _nonneg("time_s", time_s)
