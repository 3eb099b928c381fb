"""Knobs: declared on config fields, collected into catalogues, and every error message.

The knob names of issues 2 and 3 are a public contract (CLI, widgets, notebooks and grading
use them), so they are listed here verbatim; every message of Knob.check, Knob construction,
Catalogue and parse_assignment is matched whole (it names the knob, the rule and the value).
The second half declares small configs of its own to test knob(), Off, Config and ConfigSet.
"""
from __future__ import annotations

import dataclasses
import math
import pickle
import re
from dataclasses import dataclass, field

import numpy as np
import pytest

from labkit.errors import LabkitError
from labkit.knobs import Catalogue, Config, ConfigSet, Knob, KnobError, Off, knob, parse_assignment
from labkit.sim import Scenario
from labkit.sim.scenario import CATALOGUE

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


def test_knob_error_is_a_labkit_error_and_a_value_error():
    assert issubclass(KnobError, LabkitError) and issubclass(KnobError, ValueError)


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
    assert parse_assignment(text, CATALOGUE) == expected


@pytest.mark.parametrize("text, message", [
    ("model.replicas", "--set takes KNOB=VALUE, got 'model.replicas'"),
    ("model.replica=4", "unknown knob 'model.replica'; did you mean 'model.replicas'?"),
    ("model.replicas=0", "model.replicas must be >= 1, got 0"),
    ("model.replicas=lots", "model.replicas must be a whole number, got 'lots'"),
])
def test_parse_assignment_errors(text, message):
    with pytest.raises(KnobError, match=msg(message)):
        parse_assignment(text, CATALOGUE)


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
                 "unit": "req/s", "help": rate.help, "min": 0.1, "max": 5000.0, "live": False}
    chain = CATALOGUE["fallback.chain"].as_dict()
    assert chain["default"] == [] and chain["choices"] == list(CONTRACT_CHOICES["fallback.chain"])
    assert CATALOGUE["gateway.max_queue"].as_dict()["off"] == "0 = unbounded"
    # Every value a knob formats parses back to itself.
    for k in CATALOGUE.values():
        assert k.check(k.format(k.default)) == k.default, k.name


# -- off: None in the config, the catalogue's number as a knob value --------------------
OFF_KNOBS = {
    "gateway.rate_limit_rps": "0 = off", "gateway.max_queue": "0 = unbounded",
    "gateway.deadline_ms": "0 = none", "world.change_at_s": "-1 = never",
    "cache.ttl_s": "0 = never expires", "cache.content_change_s": "0 = content never changes",
    "model.upstream_limit_rps": "0 = none", "retry.timeout_ms": "0 = none",
    "retry.budget_ratio": "0 = unlimited", "kill.at_s": "-1 = never",
    "fault.replica_lost_at_s": "-1 = never",
    "budget.p95_ms": "0 = not judged", "budget.p99_ms": "0 = not judged",
    "budget.cost_per_1k": "0 = not judged", "budget.success_rate": "0 = not judged",
    "budget.quality": "0 = not judged",
    "model.upstream_tpm": "0 = none", "llm.prefill_ms_per_1k": "0 = derive",
    "llm.decode_step_ms": "0 = derive", "llm.kv_capacity_tokens": "0 = derive",
    "budget.ttft_p95_ms": "0 = not judged", "budget.tpot_p95_ms": "0 = not judged",
    "agent.budget_usd": "0 = no budget", "agent.budget_s": "0 = no budget",
    "embed.servers": "0 = unlimited", "retrieval.servers": "0 = unlimited",
    "rerank.servers": "0 = unlimited",
}


def test_the_knobs_that_can_be_off_hold_none_in_their_config():
    assert {k.name: k.off for k in CATALOGUE.values() if k.off_value is not None} == OFF_KNOBS
    sc = Scenario()
    for name in OFF_KNOBS:
        group, field_name = name.split(".")
        value = getattr(getattr(sc, group), field_name)
        knob_ = CATALOGUE[name]
        assert (value is None) == (knob_.default == knob_.off_value), name
        assert sc.to_knobs()[name] == knob_.default, name


@pytest.mark.parametrize("text", ["off", "OFF", " none ", "never", None, "0", 0, 0.0])
def test_off_is_spelled_as_the_catalogue_shows_it_or_as_a_word(text):
    deadline = CATALOGUE["gateway.deadline_ms"]
    assert deadline.check(text) == 0.0
    assert deadline.to_config(text) is None
    assert Scenario.from_knobs({"gateway.deadline_ms": text}).gateway.deadline_ms is None


def test_off_round_trips_between_config_and_knob_values():
    kill = CATALOGUE["kill.at_s"]
    assert kill.to_config(-1) is None and kill.to_config("never") is None
    assert kill.to_config(30) == 30.0 and kill.from_config(None) == -1.0
    assert kill.from_config(30.0) == 30.0
    assert parse_assignment("kill.at_s=never", CATALOGUE) == ("kill.at_s", -1.0)
    sc = Scenario.from_knobs({"kill.at_s": 20.0})
    assert sc.kill.at_s == 20.0
    assert sc.with_knobs({"kill.at_s": "off"}).kill.at_s is None
    assert sc.with_knobs({"kill.at_s": "off"}).diff() == {}


def test_a_bool_knob_still_reads_off_as_false():
    assert CATALOGUE["cache.enabled"].check("off") is False


# -- declaring knobs on config fields --------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class PumpConfig(Config, group="pump"):
    """A small config declared the way the simulators declare theirs."""

    rate_lps: float = knob(2.0, unit="l/s", min=0.0, max=10.0, step=0.5, help="Flow rate.")
    spares: int = knob(1, min=0, help="Spare pumps.")
    on: bool = knob(True, help="Running.")
    mode: str = knob("auto", choices=("auto", "manual"), help="Control mode.")
    alarms: tuple[str, ...] = knob(("low",), choices=("low", "high"), help="Alarms raised.")
    stop_at_s: float | None = knob(None, unit="s", min=-1.0, off=Off(-1.0, "never"),
                                   help="When it stops.")
    limit_l: float | None = knob(500.0, unit="l", min=0.0, off=Off(0.0, "no limit"),
                                 help="Most water pumped.")

    def _check(self) -> None:
        if self.spares > 3 and not self.on:
            raise KnobError(f"pump.spares must be <= 3 while stopped, got {self.spares}")


@dataclass(frozen=True, kw_only=True)
class TankConfig(Config, group="tank"):
    """A second group."""

    size_l: float = knob(1000.0, unit="l", min=1.0, help="Tank size.")


@dataclass(frozen=True, kw_only=True)
class Plant(ConfigSet):
    """A whole configuration of two groups."""

    EXAMPLE = "{'pump.spares': 2}"

    pump: PumpConfig = field(default_factory=PumpConfig)
    tank: TankConfig = field(default_factory=TankConfig)

    def _check(self) -> None:
        if self.pump.limit_l is not None and self.pump.limit_l > self.tank.size_l:
            raise KnobError(f"pump.limit_l must be <= tank.size_l ({self.tank.size_l:g}), "
                            f"got {self.pump.limit_l:g}")


def test_knobs_are_read_from_the_field_declarations():
    names = [k.name for k in PumpConfig.knobs()]
    assert names == ["pump.rate_lps", "pump.spares", "pump.on", "pump.mode", "pump.alarms",
                     "pump.stop_at_s", "pump.limit_l"]
    kinds = [k.kind for k in PumpConfig.knobs()]
    assert kinds == ["float", "int", "bool", "choice", "multi", "float", "float"]
    rate, _, _, _, _, stop, limit = PumpConfig.knobs()
    assert (rate.default, rate.unit, rate.min, rate.max, rate.step, rate.help) == (
        2.0, "l/s", 0.0, 10.0, 0.5, "Flow rate.")
    assert (stop.default, stop.off, stop.off_value) == (-1.0, "-1 = never", -1.0)
    assert (limit.default, limit.off, limit.off_value) == (500.0, "0 = no limit", 0.0)
    assert PumpConfig.knobs() is PumpConfig.knobs()          # built once


def test_a_config_checks_and_coerces_every_field_when_built():
    pump = PumpConfig(rate_lps="3.5", spares=2.0, alarms="high,low", stop_at_s=-1, limit_l=0)
    assert pump.rate_lps == 3.5 and pump.spares == 2 and type(pump.spares) is int
    assert pump.alarms == ("high", "low") and pump.stop_at_s is None and pump.limit_l is None
    assert pump.knob_values() == {"pump.rate_lps": 3.5, "pump.spares": 2, "pump.on": True,
                                  "pump.mode": "auto", "pump.alarms": ("high", "low"),
                                  "pump.stop_at_s": -1.0, "pump.limit_l": 0.0}
    with pytest.raises(KnobError, match=r"^pump\.rate_lps must be <= 10, got 11$"):
        PumpConfig(rate_lps=11)
    with pytest.raises(KnobError, match=r"^pump\.spares must be <= 3 while stopped, got 4$"):
        PumpConfig(spares=4, on=False)
    with pytest.raises(KnobError, match=r"^pump\.rate_lps must be <= 10, got 12$"):
        dataclasses.replace(pump, rate_lps=12)
    with pytest.raises(TypeError):
        PumpConfig(2.0)  # type: ignore[misc]  # keyword-only
    with pytest.raises(dataclasses.FrozenInstanceError):
        pump.spares = 3  # type: ignore[misc]


def test_a_config_set_builds_from_knobs_and_diffs_against_the_defaults():
    assert Plant() == Plant.from_knobs()
    assert [k for k in Plant.catalogue()] == [k.name for k in PumpConfig.knobs()] + ["tank.size_l"]
    plant = Plant.from_knobs({"pump.spares": "2", "pump.stop_at_s": 30})
    assert plant.pump.spares == 2 and plant.pump.stop_at_s == 30.0
    assert plant.diff() == {"pump.spares": 2, "pump.stop_at_s": 30.0}
    later = plant.with_knobs({"pump.stop_at_s": "never", "tank.size_l": 600})
    assert later.diff() == {"pump.spares": 2, "tank.size_l": 600.0}
    assert later.diff(plant) == {"pump.stop_at_s": -1.0, "tank.size_l": 600.0}
    assert plant.pump.stop_at_s == 30.0                       # untouched
    assert pickle.loads(pickle.dumps(later)) == later
    assert hash(later) == hash(Plant.from_knobs(later.to_knobs()))


@pytest.mark.parametrize("call, message", [
    (lambda: Plant.from_knobs({"tank.size_l": 100}),
     "pump.limit_l must be <= tank.size_l (100), got 500"),
    (lambda: Plant.from_knobs({"pump.spare": 1}),
     "unknown knob 'pump.spare'; did you mean 'pump.spares'?"),
    (lambda: Plant(pump={"spares": 1}),  # type: ignore[arg-type]
     "Plant.pump must be a PumpConfig, got dict"),
    (lambda: Plant.from_knobs(pump__spares=2),
     "Plant.from_knobs takes one mapping of dotted knob names, e.g. {'pump.spares': 2}; "
     "got keyword arguments ['pump__spares']"),
    (lambda: Plant().with_knobs(spares=2),
     "Plant.with_knobs takes one mapping of dotted knob names, e.g. {'pump.spares': 2}; "
     "got keyword arguments ['spares']"),
])
def test_config_set_errors(call, message):
    with pytest.raises(KnobError, match="^" + re.escape(message) + "$"):
        call()


def test_declaration_mistakes_are_caught_when_the_knobs_are_read():
    @dataclass(frozen=True, kw_only=True)
    class NoOff(Config, group="x"):
        a_s: float | None = knob(None, help="h.")

    @dataclass(frozen=True, kw_only=True)
    class NotOptional(Config, group="x"):
        a_s: float = knob(1.0, off=Off(0.0, "off"), help="h.")

    @dataclass(frozen=True, kw_only=True)
    class Plain(Config, group="x"):
        a: int = 1

    @dataclass(frozen=True, kw_only=True)
    class Words(Config, group="x"):
        a: str = knob("x", help="h.")

    @dataclass(frozen=True, kw_only=True)
    class NoGroup(Config):
        a: int = knob(1, help="h.")

    for cls, message in [
        (NoOff, "knob x.a_s is typed '... | None', so it needs off=Off(value, meaning)"),
        (NotOptional, "knob x.a_s has off=Off(...), so it must be typed '... | None'"),
        (Plain, "Plain.a is not declared with knob(...)"),
        (Words, "a knob field must be bool, int, float, str with choices or tuple[str, ...] "
                "with choices, got <class 'str'>"),
        (NoGroup, "NoGroup needs a group: class NoGroup(Config, group='name')"),
    ]:
        with pytest.raises(TypeError, match="^" + re.escape(message) + "$"):
            cls.knobs()


def test_only_numbers_have_an_off_value():
    with pytest.raises(KnobError, match=r"^knob a\.b: only a number can have an off value, "
                                        r"got a bool knob$"):
        Knob(name="a.b", kind="bool", default=False, help="h.", off_value=0)


def test_catalogue_of_config_classes_names_its_listing():
    cat = Catalogue.of(PumpConfig, TankConfig, listing="plant knobs")
    assert list(cat.groups()) == ["pump", "tank"]
    with pytest.raises(KnobError, match=r"^unknown knob 'zzz'; run 'plant knobs' to list them$"):
        cat.get_knob("zzz")
