"""labkit.streams: one seeded-streams design for both simulators.

One SeedSequence per run, spawned into named streams in a fixed,
append-only order.  Everything here is exact: the same seed gives the same bits, each
name gets its own generator, and both simulators' name lists only ever grow at the end.
"""
from __future__ import annotations

import numpy as np
import pytest

from labkit.errors import LabkitError
from labkit.monitor.run import STREAMS as MONITOR_STREAMS
from labkit.sim.run import STREAMS as SIM_STREAMS
from labkit.streams import SeedError, Streams, check_seed, uniform_pool


@pytest.mark.parametrize("seed", [-1, 1.5, "3", True, None])
def test_bad_seeds_are_refused_with_the_value_named(seed):
    with pytest.raises(SeedError, match=rf"^seed must be a whole number >= 0, got {seed!r}$"):
        Streams(seed, SIM_STREAMS)
    assert issubclass(SeedError, LabkitError) and issubclass(SeedError, ValueError)


def test_numpy_seeds_are_whole_numbers():
    assert check_seed(np.int64(5)) == 5 and type(check_seed(np.int64(5))) is int


def test_unknown_stream_name_lists_the_known_ones():
    with pytest.raises(KeyError, match=r"unknown random stream 'cahce'; known: arrivals, "):
        Streams(1, SIM_STREAMS)["cahce"]


def test_names_must_be_unique():
    with pytest.raises(ValueError, match=r"^stream names must be unique"):
        Streams(1, ("a", "b", "a"))


@pytest.mark.parametrize("names, first", [
    (SIM_STREAMS, ("arrivals", "prompts", "validity", "service", "errors", "cache", "retry",
                   "fallback", "faults", "steps", "boundary", "autoscale", "review",
                   "guardrail", "throttle")),
    (MONITOR_STREAMS, ("traffic", "features", "labels", "nulls", "blips", "health",
                       "offline", "canary", "fallback")),
])
def test_stream_order_is_append_only(names, first):
    """Existing names keep their place (a new purpose appends), so old seeds still give the
    same draws; these prefixes are the orders the simulators shipped with."""
    assert names[:len(first)] == first
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("names", [SIM_STREAMS, MONITOR_STREAMS])
def test_streams_are_independent_and_reproducible(names):
    a, b = Streams(7, names), Streams(7, names)
    assert list(a) == list(names) and len(a) == len(names)
    draws = {name: a[name].random(4).tolist() for name in names}
    assert draws == {name: b[name].random(4).tolist() for name in names}
    assert len({tuple(v) for v in draws.values()}) == len(names)
    assert Streams(8, names)[names[0]].random() != Streams(7, names)[names[0]].random()


def test_a_stream_is_the_seed_sequence_child_at_its_position():
    """The draws are exactly numpy's spawned children, in name order: the design both
    simulators used before they shared this module (their snapshots stay exact)."""
    children = np.random.SeedSequence(11).spawn(3)
    s = Streams(11, ("x", "y", "z"))
    for name, child in zip("xyz", children):
        assert s[name].random(3).tolist() == np.random.default_rng(child).random(3).tolist()


def test_uniform_pool_hands_out_the_generators_draws_in_order():
    rng = np.random.Generator(np.random.PCG64(3))
    expected = np.random.Generator(np.random.PCG64(3)).random(10).tolist()
    pool = uniform_pool(rng, block=4)
    assert [pool() for _ in range(10)] == expected
    pool = Streams(2, ("u",)).pool("u", block=3)
    assert [pool() for _ in range(7)] == Streams(2, ("u",))["u"].random(7).tolist()
