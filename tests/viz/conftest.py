"""Shared runs for the figure tests: simulated once per session, seeds fixed."""

from __future__ import annotations

import pytest

from labkit.sim import simulate


@pytest.fixture(scope="session")
def default_run():
    """The catalogue defaults: 40 req/s for 60 s on 4 replicas (about 2,400 requests)."""
    return simulate(seed=1)


@pytest.fixture(scope="session")
def more_replicas_run():
    """The defaults with 8 replicas instead of 4: same arrivals (same seed), less queueing."""
    return simulate({"model.replicas": 8}, seed=1)


@pytest.fixture(scope="session")
def reference_run():
    """Every mechanism on (spike, cache, steps, retries, breaker, fallbacks, autoscaling)."""
    return simulate(preset="reference", seed=1)


@pytest.fixture(scope="session")
def retry_run():
    """Half of all model calls fail and each request may try twice (no timeouts, no backoff)."""
    return simulate({"model.error_rate": 0.5, "retry.max_attempts": 2, "retry.backoff": "none",
                     "load.duration_s": 60.0}, seed=2)
