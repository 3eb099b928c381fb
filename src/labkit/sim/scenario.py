"""A scenario: every knob of one simulated service, frozen and validated.

The knob catalogue (:mod:`labkit.knobs`) declares each setting once.  This
module turns each catalogue group into a frozen, keyword-only config
dataclass (``scenario.cache.capacity_items``), so the names, defaults and
ranges cannot drift apart from the catalogue.  Every field is checked when a
config is built, and :class:`Scenario` adds the rules that span several knobs
(for example ``autoscale.min_replicas <= autoscale.max_replicas``).

Build variants with :meth:`Scenario.with_knobs`; nothing is ever mutated.

>>> sc = Scenario.from_knobs({"model.replicas": 3})
>>> sc.model.replicas, sc.cache.enabled
(3, False)
>>> sc.with_knobs({"cache.enabled": True}).diff()
{'cache.enabled': True, 'model.replicas': 3}
>>> Scenario.from_knobs({"autoscale.min_replicas": 5, "autoscale.max_replicas": 2})
Traceback (most recent call last):
...
labkit.knobs.KnobError: autoscale.min_replicas must be <= autoscale.max_replicas (2), got 5
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from labkit.knobs import CATALOGUE, Catalogue, KnobError

__all__ = ["Scenario", "CONFIG_CLASSES"]

_PY_TYPES = {"int": int, "float": float, "bool": bool, "choice": str, "multi": tuple}


def _config_post_init(self: Any) -> None:
    for f in dataclasses.fields(self):
        knob = CATALOGUE[f"{self.GROUP}.{f.name}"]
        object.__setattr__(self, f.name, knob.check(getattr(self, f.name)))


def _make_config(group: str, catalogue: Catalogue) -> type:
    knobs = catalogue.groups()[group]
    fields = [(k.field, _PY_TYPES[k.kind], dataclasses.field(default=k.default)) for k in knobs]
    name = "".join(part.capitalize() for part in group.split("_")) + "Config"
    cls = dataclasses.make_dataclass(
        name, fields, frozen=True, kw_only=True,
        namespace={"GROUP": group, "__post_init__": _config_post_init,
                   "__doc__": f"Settings of the {group} component (knobs {group}.*)."},
    )
    cls.__module__ = __name__
    return cls


#: One frozen config class per catalogue group, in catalogue order.
CONFIG_CLASSES: dict[str, type] = {g: _make_config(g, CATALOGUE) for g in CATALOGUE.groups()}
# Importable by name, so single configs pickle (sweeps send them to other processes).
globals().update({cls.__name__: cls for cls in CONFIG_CLASSES.values()})


@dataclasses.dataclass(frozen=True)
class Scenario:
    """Every component's config; build with :meth:`from_knobs`."""

    configs: tuple[Any, ...]

    def __post_init__(self) -> None:
        # Expose each component's config as a plain attribute (scenario.cache),
        # so the simulator's hot path pays an ordinary attribute lookup.
        for group, config in zip(CONFIG_CLASSES, self.configs):
            object.__setattr__(self, group, config)
        _check_cross_rules(self)

    @classmethod
    def from_knobs(cls, knobs: Mapping[str, Any] | None = None, /, **_: Any) -> Scenario:
        """A scenario with the catalogue defaults, overridden by ``knobs``."""
        if _:
            raise KnobError("Scenario.from_knobs takes one mapping of dotted knob names, "
                            f"e.g. {{'model.replicas': 3}}; got keyword arguments {sorted(_)}")
        values = CATALOGUE.validate(dict(knobs or {}))
        by_group: dict[str, dict[str, Any]] = {g: {} for g in CONFIG_CLASSES}
        for name, value in values.items():
            group, field = name.split(".", 1)
            by_group[group][field] = value
        return cls(tuple(CONFIG_CLASSES[g](**by_group[g]) for g in CONFIG_CLASSES))

    def with_knobs(self, knobs: Mapping[str, Any]) -> Scenario:
        """A new scenario with ``knobs`` changed; this one is untouched."""
        merged = self.to_knobs()
        merged.update(CATALOGUE.validate(dict(knobs)))
        return Scenario.from_knobs(merged)

    def to_knobs(self) -> dict[str, Any]:
        """Every knob's value, keyed by full dotted name."""
        out: dict[str, Any] = {}
        for config in self.configs:
            for f in dataclasses.fields(config):
                out[f"{config.GROUP}.{f.name}"] = getattr(config, f.name)
        return out

    def diff(self, other: Scenario | None = None) -> dict[str, Any]:
        """Knobs whose value differs from ``other`` (default: the catalogue defaults)."""
        base = CATALOGUE.defaults() if other is None else other.to_knobs()
        return {k: v for k, v in self.to_knobs().items() if base[k] != v}

    def __getstate__(self) -> dict[str, Any]:
        return self.to_knobs()

    def __setstate__(self, state: dict[str, Any]) -> None:
        object.__setattr__(self, "configs", Scenario.from_knobs(state).configs)
        self.__post_init__()

    def __repr__(self) -> str:
        return f"Scenario.from_knobs({self.diff()!r})"



def _check_cross_rules(sc: Scenario) -> None:
    auto = sc.autoscale
    if auto.min_replicas > auto.max_replicas:
        raise KnobError(f"autoscale.min_replicas must be <= autoscale.max_replicas "
                        f"({auto.max_replicas}), got {auto.min_replicas}")
    if auto.enabled and not auto.min_replicas <= sc.model.replicas <= auto.max_replicas:
        raise KnobError(f"model.replicas must lie within autoscale.min_replicas.."
                        f"autoscale.max_replicas ({auto.min_replicas}..{auto.max_replicas}) "
                        f"when autoscaling, got {sc.model.replicas}")
    if sc.retry.cap_ms < sc.retry.base_ms:
        raise KnobError(f"retry.cap_ms must be >= retry.base_ms ({sc.retry.base_ms:g}), "
                        f"got {sc.retry.cap_ms:g}")
    if sc.load.spike_start_s >= sc.load.duration_s and sc.load.pattern == "spike":
        raise KnobError(f"load.spike_start_s must be < load.duration_s "
                        f"({sc.load.duration_s:g}) for a spike pattern, got "
                        f"{sc.load.spike_start_s:g}")
