"""The knob catalogue: names, defaults, ranges, and every error message it can give.

The knob names of issues 2 and 3 are a public contract (CLI, widgets, notebooks and grading
use them), so they are listed here verbatim; every message of Knob.check, Knob construction,
Catalogue and parse_assignment is matched whole (STYLE.md habit 4: knob, rule and value).
"""
from __future__ import annotations

import math
import re

import numpy as np
import pytest

from labkit.knobs import CATALOGUE, Catalogue, Knob, KnobError, parse_assignment

CONTRACT = """
load.rate_rps load.duration_s load.pattern load.spike_multiplier load.spike_start_s
load.spike_duration_s load.catalog_size load.zipf_alpha load.invalid_fraction
gateway.rate_limit_rps gateway.burst gateway.max_queue gateway.deadline_ms
cache.enabled cache.capacity_items cache.ttl_s cache.hit_ms
batch.max_size batch.max_wait_ms model.replicas model.service_ms model.service_dist
model.per_item_fraction model.error_rate model.upstream_limit_rps model.cost_per_call
model.cost_per_replica_hour autoscale.enabled autoscale.min_replicas autoscale.max_replicas
autoscale.target_utilization autoscale.interval_s autoscale.cold_start_s
budget.p95_ms budget.p99_ms budget.cost_per_1k budget.success_rate
fault.outage_start_s fault.outage_duration_s fault.mode fault.slowdown_start_s
fault.slowdown_duration_s fault.slowdown_factor fault.error_rate model.cancel_on_timeout
retry.max_attempts retry.timeout_ms retry.backoff retry.base_ms retry.cap_ms retry.jitter
retry.budget_ratio retry.on breaker.enabled breaker.failure_rate breaker.min_calls
breaker.window_s breaker.open_s breaker.half_open_calls fallback.chain fallback.small_model_ms
fallback.small_model_replicas fallback.small_model_quality fallback.small_model_cost_per_call
kill.at_s budget.quality
""".split()

CONTRACT_CHOICES = {
    "load.pattern": ("poisson", "bursty", "spike", "diurnal"),
    "model.service_dist": ("exponential", "deterministic", "lognormal"),
    "fault.mode": ("hang", "error"),
    "retry.backoff": ("none", "constant", "exponential"),
    "retry.jitter": ("none", "full", "equal", "decorrelated"),
    "retry.on": ("timeout", "error", "throttled"),
    "fallback.chain": ("small_model", "stale_cache", "safe_message"),
}


def msg(text):
    return "^" + re.escape(text) + "$"


# -- the catalogue as a contract -------------------------------------------------------------
def test_every_contract_knob_exists_with_its_choices():
    missing = [name for name in CONTRACT if name not in CATALOGUE]
    assert missing == []
    for name, choices in CONTRACT_CHOICES.items():
        assert set(choices) <= set(CATALOGUE[name].choices), name


def test_contract_off_values_are_documented():
    # issue 2/3: 0 = off / unbounded / none, -1 = never, 1 = no batching / no retries
    for name in ("gateway.rate_limit_rps", "gateway.max_queue", "gateway.deadline_ms",
                 "cache.ttl_s", "model.upstream_limit_rps", "retry.timeout_ms",
                 "retry.budget_ratio", "kill.at_s", "batch.max_size", "retry.max_attempts"):
        assert CATALOGUE[name].off, name


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_every_default_is_valid_and_within_range(name):
    knob = CATALOGUE[name]
    assert knob.check(knob.default) == knob.default
    if knob.kind in ("int", "float"):
        assert knob.min is None or knob.min <= knob.default
        assert knob.max is None or knob.default <= knob.max
        assert isinstance(knob.default, int if knob.kind == "int" else float)
        assert not isinstance(knob.default, bool)
    elif knob.kind == "choice":
        assert knob.default in knob.choices
    elif knob.kind == "multi":
        assert isinstance(knob.default, tuple) and set(knob.default) <= set(knob.choices)
    else:
        assert isinstance(knob.default, bool)


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_every_knob_has_one_line_of_help_and_units_match_its_name(name):
    knob = CATALOGUE[name]
    assert knob.help and "\n" not in knob.help and knob.help.endswith(".")
    field = knob.field
    if field.endswith("_ms"):
        assert knob.unit == "ms"
    elif field.endswith("_s"):
        assert knob.unit == "s"
    elif field.endswith("_rps"):
        assert knob.unit.endswith("/s")
    if knob.kind in ("int", "float") and knob.min is not None and knob.max is not None:
        assert knob.min < knob.max


def test_groups_keep_catalogue_order_and_defaults_cover_every_knob():
    groups = CATALOGUE.groups()
    assert [k.name for g in groups.values() for k in g] == list(CATALOGUE)
    assert list(groups)[:2] == ["load", "gateway"]          # request-path order
    assert set(CATALOGUE.defaults()) == set(CATALOGUE)
    assert len(CATALOGUE) == len(set(CATALOGUE))


# -- Knob.check: coercion ----------------------------------------------------------------------
@pytest.mark.parametrize("name, value, expected", [
    ("load.rate_rps", "12.5", 12.5),
    ("load.rate_rps", 3, 3.0),
    ("load.rate_rps", np.float32(2.5), 2.5),
    ("model.replicas", "7", 7),
    ("model.replicas", 4.0, 4),
    ("model.replicas", np.int64(9), 9),
    ("cache.enabled", "yes", True), ("cache.enabled", "OFF", False),
    ("cache.enabled", " true ", True), ("cache.enabled", 1, True), ("cache.enabled", 0, False),
    ("cache.enabled", "0", False), ("cache.enabled", "on", True),
    ("load.pattern", " spike ", "spike"),
    ("retry.on", "timeout, error", ("timeout", "error")),
    ("retry.on", ["throttled"], ("throttled",)),
    ("retry.on", "", ()),
    ("fallback.chain", ("safe_message", "small_model"), ("safe_message", "small_model")),
])
def test_check_coerces_values_as_typed(name, value, expected):
    got = CATALOGUE[name].check(value)
    assert got == expected and type(got) is type(expected)


# -- Knob.check: every error message ------------------------------------------------------------
@pytest.mark.parametrize("name, value, message", [
    ("cache.capacity_items", 0, "cache.capacity_items must be >= 1, got 0"),
    ("load.rate_rps", 0.05, "load.rate_rps must be >= 0.1, got 0.05"),
    ("load.rate_rps", 6000, "load.rate_rps must be <= 5000, got 6000"),
    ("model.error_rate", "1.5", "model.error_rate must be <= 1, got 1.5"),
    ("cache.enabled", "maybe", "cache.enabled must be true or false, got 'maybe'"),
    ("cache.enabled", 2, "cache.enabled must be true or false, got 2"),
    ("cache.enabled", None, "cache.enabled must be true or false, got None"),
    ("model.replicas", True, "model.replicas must be a number, got True"),
    ("model.replicas", "four", "model.replicas must be a whole number, got 'four'"),
    ("model.replicas", "2.5", "model.replicas must be a whole number, got '2.5'"),
    ("model.replicas", 2.5, "model.replicas must be a whole number, got 2.5"),
    ("load.rate_rps", "fast", "load.rate_rps must be a number, got 'fast'"),
    ("load.rate_rps", [1], "load.rate_rps must be a number, got [1]"),
    ("load.rate_rps", None, "load.rate_rps must be a number, got None"),
    ("load.rate_rps", math.nan, "load.rate_rps must be a finite number, got nan"),
    ("load.rate_rps", "inf", "load.rate_rps must be a finite number, got inf"),
    ("load.pattern", "wave", "load.pattern must be one of poisson, bursty, spike, diurnal, "
                             "got 'wave'"),
    ("load.pattern", 3, "load.pattern must be one of poisson, bursty, spike, diurnal, got 3"),
    ("retry.on", 5, "retry.on must be a list from timeout, error, throttled, got 5"),
    ("retry.on", "timeout,crash", "retry.on items must be from timeout, error, throttled, "
                                  "got 'crash'"),
    ("retry.on", "error,error", "retry.on must not repeat an item, got 'error,error'"),
    ("fallback.chain", ["small_model", "small_model"],
     "fallback.chain must not repeat an item, got 'small_model,small_model'"),
])
def test_check_error_messages(name, value, message):
    with pytest.raises(KnobError, match=msg(message)):
        CATALOGUE[name].check(value)


def test_knob_error_is_a_value_error():
    assert issubclass(KnobError, ValueError)


# -- declaring knobs --------------------------------------------------------------------------------
@pytest.mark.parametrize("kw, message", [
    ({"name": "a.b", "kind": "text", "default": ""},
     "knob a.b: kind must be one of ('int', 'float', 'bool', 'choice', 'multi'), got 'text'"),
    ({"name": "nodot", "kind": "int", "default": 1},
     "knob name must look like 'group.name', got 'nodot'"),
    ({"name": "a.b", "kind": "choice", "default": "x"}, "knob a.b: a choice knob needs choices"),
    ({"name": "a.b", "kind": "multi", "default": ()}, "knob a.b: a multi knob needs choices"),
    ({"name": "a.b", "kind": "int", "default": 0, "min": 1}, "a.b must be >= 1, got 0"),
])
def test_bad_knob_declarations_are_refused(kw, message):
    with pytest.raises(KnobError, match=msg(message)):
        Knob(help="h.", **kw)


def test_allow_repeats_lets_a_multi_knob_repeat_items():
    knob = Knob(name="a.b", kind="multi", default=(), help="h.", choices=("x", "y"),
                allow_repeats=True)
    assert knob.check("x,x,y") == ("x", "x", "y")


def test_a_catalogue_refuses_a_knob_declared_twice():
    k = Knob(name="a.b", kind="int", default=1, help="h.")
    with pytest.raises(KnobError, match=msg("knob a.b is declared twice")):
        Catalogue([k, k])


def test_a_catalogue_is_read_only():
    with pytest.raises(TypeError):
        CATALOGUE["load.rate_rps"] = None  # type: ignore[index]


# -- unknown names ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, closest", [
    ("cache.capacity", "cache.capacity_items"),
    ("model.replica", "model.replicas"),
    ("retry.max_attempt", "retry.max_attempts"),
    ("load.rate", "load.rate_rps"),
    ("breaker.open", "breaker.open_s"),
])
def test_unknown_knob_names_the_closest_one(name, closest):
    with pytest.raises(KnobError, match=msg(f"unknown knob {name!r}; did you mean {closest!r}?")):
        CATALOGUE.get_knob(name)


def test_unknown_knob_falls_back_to_a_field_prefix_match():
    # Too far from any full name for difflib, but the field's first letters match one.
    with pytest.raises(KnobError, match=r"^unknown knob 'zz\.capacity_whatever_else_entirely'; "
                                        r"did you mean 'cache\.capacity_items'\?$"):
        CATALOGUE.get_knob("zz.capacity_whatever_else_entirely")


def test_unknown_knob_with_nothing_close_points_to_the_listing():
    with pytest.raises(KnobError, match=msg("unknown knob 'qqq'; run 'labkit knobs' to list "
                                            "them")):
        CATALOGUE.get_knob("qqq")


def test_validate_checks_every_value_and_refuses_unknown_names():
    assert CATALOGUE.validate({"model.replicas": "3", "cache.enabled": "no"}) == {
        "model.replicas": 3, "cache.enabled": False}
    with pytest.raises(KnobError, match=r"^unknown knob 'model\.replica'"):
        CATALOGUE.validate({"model.replica": 3})


# -- parse_assignment ---------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("model.replicas=4", ("model.replicas", 4)),
    (" model.replicas = 4 ", ("model.replicas", 4)),
    ("fallback.chain=small_model,safe_message", ("fallback.chain", ("small_model", "safe_message"))),
    ("fallback.chain=", ("fallback.chain", ())),
    ("cache.enabled=true", ("cache.enabled", True)),
    ("load.rate_rps=1e2", ("load.rate_rps", 100.0)),
])
def test_parse_assignment(text, expected):
    assert parse_assignment(text) == expected


@pytest.mark.parametrize("text, message", [
    ("model.replicas", "--set takes KNOB=VALUE, got 'model.replicas'"),
    ("model.replica=4", "unknown knob 'model.replica'; did you mean 'model.replicas'?"),
    ("model.replicas=0", "model.replicas must be >= 1, got 0"),
    ("model.replicas=lots", "model.replicas must be a whole number, got 'lots'"),
])
def test_parse_assignment_errors(text, message):
    with pytest.raises(KnobError, match=msg(message)):
        parse_assignment(text)


def test_parse_assignment_uses_the_catalogue_given():
    cat = Catalogue([Knob(name="x.y", kind="int", default=1, help="h.", min=0)])
    assert parse_assignment("x.y=5", cat) == ("x.y", 5)
    with pytest.raises(KnobError, match=r"^unknown knob 'model\.replicas'"):
        parse_assignment("model.replicas=5", cat)


# -- describing knobs ---------------------------------------------------------------------------------
def test_describe_format_and_as_dict():
    rate = CATALOGUE["load.rate_rps"]
    assert rate.describe_range() == "0.1 .. 5000"
    assert CATALOGUE["gateway.burst"].describe_range() == "1 .. inf"
    assert CATALOGUE["cache.enabled"].describe_range() == "true or false"
    assert CATALOGUE["fault.mode"].describe_range() == "one of hang, error"
    assert CATALOGUE["retry.on"].describe_range() == ("a comma-separated list from timeout, "
                                                      "error, throttled")
    assert CATALOGUE["retry.on"].format(("timeout", "error")) == "timeout,error"
    assert CATALOGUE["cache.enabled"].format(False) == "false"
    assert rate.format(40.0) == "40"
    d = rate.as_dict()
    assert d == {"name": "load.rate_rps", "group": "load", "type": "float", "default": 40.0,
                 "unit": "req/s", "help": rate.help, "min": 0.1, "max": 5000.0}
    chain = CATALOGUE["fallback.chain"].as_dict()
    assert chain["default"] == [] and chain["choices"] == list(CONTRACT_CHOICES["fallback.chain"])
    assert CATALOGUE["gateway.max_queue"].as_dict()["off"] == "0 = unbounded"
    # Every value a knob formats parses back to itself.
    for knob in CATALOGUE.values():
        assert knob.check(knob.format(knob.default)) == knob.default, knob.name
