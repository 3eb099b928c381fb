"""Knobs: every setting declared once, on the config class that uses it.

A *knob* is one setting a learner can turn: ``cache.capacity_items`` or
``retry.max_attempts``.  Each component's knobs are the fields of one frozen,
keyword-only dataclass, declared with :func:`knob`, which keeps the default,
unit, range or choices, help and what "off" means beside the field::

    @dataclass(frozen=True, kw_only=True)
    class CacheConfig(Config, group="cache"):
        capacity_items: int = knob(1000, unit="items", min=1, help="How many answers ...")
        ttl_s: float | None = knob(None, unit="s", min=0.0, off=Off(0.0, "never expires"),
                                   help="How long an answer stays valid ...")

Everything else is built from these declarations: the :class:`Catalogue`
(``labkit knobs``, the widgets in :mod:`labkit.ui`, docs, validation), the
checks a config runs when it is built, and the whole-scenario classes
(:class:`ConfigSet`: :class:`labkit.sim.Scenario`,
:class:`labkit.monitor.MonitorConfig`) with ``from_knobs``, ``with_knobs``,
``to_knobs`` and ``diff``.  The simulator's catalogue is
:data:`labkit.sim.CATALOGUE`, built from its config classes (this module imports
nothing from the simulator).

**Off.** A setting that can be switched off holds ``None`` in its config
(``scenario.kill.at_s is None``).  Where it is typed or shown as a knob value
(command line, widgets, sweeps, ``to_knobs``) "off" is spelled as the number
the catalogue has always shown (``kill.at_s = -1``, "-1 = never"); the words
``off``, ``none`` and ``never`` are accepted too.  ``Off(value, meaning)``
declares that mapping; a plain string (``off="1 = no batching"``) only
documents a value that needs no special case.

Validation errors say the knob, the rule and the value, and unknown names
are refused with the closest known name::

    >>> from labkit.sim import CATALOGUE
    >>> CATALOGUE["cache.capacity_items"].check(0)
    Traceback (most recent call last):
    ...
    labkit.knobs.KnobError: cache.capacity_items must be >= 1, got 0
    >>> CATALOGUE.get_knob("cache.capacity")
    Traceback (most recent call last):
    ...
    labkit.knobs.KnobError: unknown knob 'cache.capacity'; did you mean 'cache.capacity_items'?
    >>> CATALOGUE["kill.at_s"].check("never"), CATALOGUE["kill.at_s"].to_config(-1)
    (-1.0, None)
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple, TypeVar

from labkit.errors import LabkitError

__all__ = ["Knob", "KnobError", "Catalogue", "parse_assignment", "knob", "Off",
           "Config", "ConfigSet"]


class KnobError(LabkitError, ValueError):
    """A knob name or value broke a rule; the message names knob, rule and value."""


_KINDS = ("int", "float", "bool", "choice", "multi")
#: Words that mean "off" for a knob declared with ``off=Off(...)``.
OFF_WORDS = frozenset({"off", "none", "never"})


class Off(NamedTuple):
    """The knob value that means "off" (the config then holds ``None``) and what off means.

    >>> str(Off(-1.0, "never"))
    '-1 = never'
    """

    value: int | float
    meaning: str

    def __str__(self) -> str:
        return f"{_fmt(self.value)} = {self.meaning}"


@dataclass(frozen=True, kw_only=True)
class Knob:
    """One setting: name, type, default, unit, range or choices, help.

    ``kind`` is one of ``int``, ``float``, ``bool``, ``choice`` (one of
    ``choices``) or ``multi`` (an ordered tuple drawn from ``choices``, for
    example ``fallback.chain``).  ``off`` documents a special value such as
    ``0 = off``; when ``off_value`` is set, that value stands for ``None`` in
    the config (:meth:`to_config`).  ``step`` is a hint for sliders.
    ``default`` and the range are knob values, as typed and shown.
    ``live`` marks a knob a scheduled change may set in the middle of a run
    (``labkit.sim.Change``); every other knob holds from a run's start to its end.
    """

    name: str
    kind: str
    default: Any
    help: str
    unit: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()
    off: str = ""
    off_value: int | float | None = None
    step: float | None = None
    allow_repeats: bool = False
    live: bool = False

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise KnobError(f"knob {self.name}: kind must be one of {_KINDS}, got {self.kind!r}")
        if "." not in self.name:
            raise KnobError(f"knob name must look like 'group.name', got {self.name!r}")
        if self.kind in ("choice", "multi") and not self.choices:
            raise KnobError(f"knob {self.name}: a {self.kind} knob needs choices")
        if self.off_value is not None:
            if self.kind not in ("int", "float"):
                raise KnobError(f"knob {self.name}: only a number can have an off value, "
                                f"got a {self.kind} knob")
            object.__setattr__(self, "off_value", self._number(self.off_value))
        object.__setattr__(self, "default", self.check(self.default))

    @property
    def group(self) -> str:
        """The component this knob belongs to (the part before the dot)."""
        return self.name.split(".", 1)[0]

    @property
    def field(self) -> str:
        """The config field name (the part after the dot)."""
        return self.name.split(".", 1)[1]

    def describe_range(self) -> str:
        """The allowed values in words, for help text and errors."""
        if self.kind == "bool":
            return "true or false"
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.kind == "multi":
            return "a comma-separated list from " + ", ".join(self.choices)
        lo = "-inf" if self.min is None else _fmt(self.min)
        hi = "inf" if self.max is None else _fmt(self.max)
        return f"{lo} .. {hi}"

    def check(self, value: Any) -> Any:
        """Coerce ``value`` to this knob's type and check its range.

        Strings are parsed (as typed on a command line); a value of the wrong
        type or outside the range raises :class:`KnobError`.  For a knob with
        an off value, ``None`` and the words ``off``, ``none``, ``never`` give
        the off value.

        >>> from labkit.sim import CATALOGUE
        >>> CATALOGUE["retry.on"].check("timeout,error")
        ('timeout', 'error')
        >>> CATALOGUE["load.rate_rps"].check("12.5")
        12.5
        >>> CATALOGUE["gateway.deadline_ms"].check("off")
        0.0
        """
        name = self.name
        if self.off_value is not None and (
                value is None or isinstance(value, str) and value.strip().lower() in OFF_WORDS):
            return self.off_value
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in _BOOL_WORDS:
                return _BOOL_WORDS[value.strip().lower()]
            if isinstance(value, (int, float)) and value in (0, 1):
                return bool(value)
            raise KnobError(f"{name} must be true or false, got {value!r}")
        if self.kind in ("int", "float"):
            number = self._number(value)
            if self.min is not None and number < self.min:
                raise KnobError(f"{name} must be >= {_fmt(self.min)}, got {_fmt(number)}")
            if self.max is not None and number > self.max:
                raise KnobError(f"{name} must be <= {_fmt(self.max)}, got {_fmt(number)}")
            return number
        if self.kind == "choice":
            if isinstance(value, str) and value.strip() in self.choices:
                return value.strip()
            raise KnobError(f"{name} must be one of {', '.join(self.choices)}, got {value!r}")
        # multi
        if isinstance(value, str):
            items = [v.strip() for v in value.split(",") if v.strip()]
        elif isinstance(value, Iterable):
            items = list(value)
        else:
            raise KnobError(f"{name} must be a list from {', '.join(self.choices)}, got {value!r}")
        for item in items:
            if item not in self.choices:
                raise KnobError(
                    f"{name} items must be from {', '.join(self.choices)}, got {item!r}"
                )
        if not self.allow_repeats and len(set(items)) != len(items):
            raise KnobError(f"{name} must not repeat an item, got {','.join(items)!r}")
        return tuple(items)

    def to_config(self, value: Any) -> Any:
        """The config field's value for knob value ``value``: checked, and off as ``None``."""
        value = self.check(value)
        return None if self.off_value is not None and value == self.off_value else value

    def from_config(self, value: Any) -> Any:
        """The knob value of a config field's value (``None`` as the off value)."""
        return self.off_value if value is None else value

    def _number(self, value: Any) -> int | float:
        name = self.name
        if isinstance(value, bool):
            raise KnobError(f"{name} must be a number, got {value!r}")
        if isinstance(value, str):
            text = value.strip()
            try:
                value = int(text) if self.kind == "int" else float(text)
            except ValueError:
                kind = "a whole number" if self.kind == "int" else "a number"
                raise KnobError(f"{name} must be {kind}, got {text!r}") from None
        if self.kind == "int":
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if not isinstance(value, (int,)) and not _is_np_int(value):
                raise KnobError(f"{name} must be a whole number, got {value!r}")
            return int(value)
        if not isinstance(value, (int, float)) and not _is_np_number(value):
            raise KnobError(f"{name} must be a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise KnobError(f"{name} must be a finite number, got {value!r}")
        return value

    def format(self, value: Any) -> str:
        """``value`` (a knob value) as one would type it on the command line."""
        if self.kind == "bool":
            return "true" if value else "false"
        if self.kind == "multi":
            return ",".join(value)
        if self.kind == "float":
            return _fmt(value)
        return str(value)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready description (used by ``labkit knobs --json``)."""
        out: dict[str, Any] = {
            "name": self.name,
            "group": self.group,
            "type": self.kind,
            "default": list(self.default) if self.kind == "multi" else self.default,
            "unit": self.unit,
            "help": self.help,
        }
        if self.kind in ("int", "float"):
            out["min"], out["max"] = self.min, self.max
        if self.choices:
            out["choices"] = list(self.choices)
        if self.off:
            out["off"] = self.off
        out["live"] = self.live
        return out


_BOOL_WORDS = {"true": True, "false": False, "yes": True, "no": False, "on": True,
               "off": False, "1": True, "0": False}


def _is_np_int(value: Any) -> bool:
    return type(value).__module__ == "numpy" and "int" in type(value).__name__


def _is_np_number(value: Any) -> bool:
    return type(value).__module__ == "numpy" and (
        "int" in type(value).__name__ or "float" in type(value).__name__
    )


def _fmt(x: float) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


# --- declaring knobs on config fields ---------------------------------------------------
_META = "labkit.knob"


@dataclass(frozen=True)
class _Declared:
    """What :func:`knob` records on a field; becomes a :class:`Knob` once the name is known."""

    default: Any
    help: str
    unit: str
    min: float | None
    max: float | None
    choices: tuple[str, ...]
    off: Off | str
    step: float | None
    allow_repeats: bool
    live: bool

    def make(self, name: str, annotation: Any) -> Knob:
        kind, optional = _kind_of(annotation, bool(self.choices))
        off = self.off
        if optional != isinstance(off, Off):
            rule = ("is typed '... | None', so it needs off=Off(value, meaning)" if optional
                    else "has off=Off(...), so it must be typed '... | None'")
            raise TypeError(f"knob {name} {rule}")
        if isinstance(off, Off):
            default = off.value if self.default is None else self.default
            return Knob(name=name, kind=kind, default=default, help=self.help, unit=self.unit,
                        min=self.min, max=self.max, choices=self.choices, off=str(off),
                        off_value=off.value, step=self.step, allow_repeats=self.allow_repeats,
                        live=self.live)
        return Knob(name=name, kind=kind, default=self.default, help=self.help, unit=self.unit,
                    min=self.min, max=self.max, choices=self.choices, off=off, step=self.step,
                    allow_repeats=self.allow_repeats, live=self.live)


def knob(default: Any, *, help: str, unit: str = "", min: float | None = None,
         max: float | None = None, choices: Sequence[str] = (), off: Off | str = "",
         step: float | None = None, allow_repeats: bool = False, live: bool = False) -> Any:
    """Declare a config field as a knob (use inside a :class:`Config` dataclass).

    ``default`` is the field's default (``None`` for a setting that is off by
    default); ``min``/``max`` bound the knob values, ``choices`` list the words
    of a ``str`` (one of) or ``tuple[str, ...]`` (several of) field;
    ``off=Off(value, meaning)`` makes ``value`` mean "off" (``None`` in the
    config; the field must be typed ``... | None``), while ``off="1 = no
    batching"`` only documents a value.  ``step`` is a slider hint.  ``live=True``
    lets a scheduled change set the knob mid-run (the component that uses it must then
    read the new value from that moment on).  The kind (int, float, bool, choice, multi)
    comes from the field's type.
    """
    declared = _Declared(default=default, help=help, unit=unit, min=min, max=max,
                         choices=tuple(choices), off=off, step=step, allow_repeats=allow_repeats,
                         live=live)
    return dataclasses.field(default=default, metadata={_META: declared})


def _kind_of(annotation: Any, has_choices: bool) -> tuple[str, bool]:
    """(kind, optional) of a field type such as ``float | None`` or ``tuple[str, ...]``."""
    optional = False
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) < len(typing.get_args(annotation))
        if len(args) != 1:
            raise TypeError(f"a knob field must have one type (or that type | None), "
                            f"got {annotation!r}")
        annotation = args[0]
    if annotation is bool:
        return "bool", optional
    if annotation is int:
        return "int", optional
    if annotation is float:
        return "float", optional
    if annotation is str and has_choices:
        return "choice", optional
    if typing.get_origin(annotation) is tuple and has_choices:
        return "multi", optional
    raise TypeError(f"a knob field must be bool, int, float, str with choices or "
                    f"tuple[str, ...] with choices, got {annotation!r}")


class Config:
    """Base of one knob group's config: a frozen, keyword-only dataclass of knobs.

    Subclass it with the group's name, decorate with
    ``@dataclass(frozen=True, kw_only=True)`` and declare each field with
    :func:`knob`.  Building one checks every field against its knob (strings
    are parsed, the off value becomes ``None``), then runs :meth:`_check`, the
    hook for rules between fields of the same group.
    """

    GROUP: ClassVar[str] = ""

    def __init_subclass__(cls, *, group: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if group:
            cls.GROUP = group

    def __post_init__(self) -> None:
        for k in type(self).knobs():
            object.__setattr__(self, k.field, k.to_config(getattr(self, k.field)))
        self._check()

    def _check(self) -> None:
        """Rules between this group's own fields; raise :class:`KnobError` to refuse."""

    @classmethod
    def knobs(cls) -> tuple[Knob, ...]:
        """The group's knobs, in field order."""
        cached = cls.__dict__.get("_knobs")
        if cached is None:
            if not cls.GROUP:
                raise TypeError(f"{cls.__name__} needs a group: class {cls.__name__}(Config, "
                                f"group='name')")
            hints = typing.get_type_hints(cls)
            made = []
            for f in dataclasses.fields(cls):  # type: ignore[arg-type]
                declared = f.metadata.get(_META)
                if declared is None:
                    raise TypeError(f"{cls.__name__}.{f.name} is not declared with knob(...)")
                made.append(declared.make(f"{cls.GROUP}.{f.name}", hints[f.name]))
            cached = tuple(made)
            cls._knobs = cached  # type: ignore[attr-defined]
        return cached

    def knob_values(self) -> dict[str, Any]:
        """Every field as a knob value (off spelled as the catalogue shows it), by full name."""
        return {k.name: k.from_config(getattr(self, k.field)) for k in type(self).knobs()}


_Set = TypeVar("_Set", bound="ConfigSet")


class ConfigSet:
    """Base of a whole configuration composed of :class:`Config` groups.

    A subclass is a frozen keyword-only dataclass with one field per group,
    ``cache: CacheConfig = field(default_factory=CacheConfig)``, in catalogue
    order; it may have other fields too (the monitor's alert rules).  It gets
    its :meth:`catalogue` and the knob API; :meth:`_check` is the hook for
    rules that span groups.
    """

    #: Shown in the message that refuses keyword arguments.
    EXAMPLE: ClassVar[str] = "{'group.name': 1}"

    def __post_init__(self) -> None:
        for name, cls in type(self).group_classes().items():
            value = getattr(self, name)
            if not isinstance(value, cls):
                raise KnobError(f"{type(self).__name__}.{name} must be a {cls.__name__}, "
                                f"got {type(value).__name__}")
        self._check()

    def _check(self) -> None:
        """Rules that span several groups; raise :class:`KnobError` to refuse."""

    @classmethod
    def group_classes(cls) -> dict[str, type[Config]]:
        """Group name -> config class, in catalogue order."""
        cached = cls.__dict__.get("_groups")
        if cached is None:
            cached = {}
            for f in dataclasses.fields(cls):  # type: ignore[arg-type]
                kind = f.default_factory
                if isinstance(kind, type) and issubclass(kind, Config):
                    if kind.GROUP != f.name:
                        raise TypeError(f"{cls.__name__}.{f.name} holds group {kind.GROUP!r}")
                    cached[f.name] = kind
            cls._groups = cached  # type: ignore[attr-defined]
        return cached

    @classmethod
    def catalogue(cls) -> Catalogue:
        """Every knob of every group, in order."""
        cached = cls.__dict__.get("_catalogue")
        if cached is None:
            cached = Catalogue.of(*cls.group_classes().values())
            cls._catalogue = cached  # type: ignore[attr-defined]
        return cached

    @classmethod
    def from_knobs(cls: type[_Set], knobs: Mapping[str, Any] | None = None, /,
                   **keywords: Any) -> _Set:
        """The defaults, overridden by ``knobs`` (dotted names); unknown names are refused."""
        cls._refuse_keywords("from_knobs", keywords)
        return cls(**cls._build_groups(knobs or {}))

    def with_knobs(self: _Set, knobs: Mapping[str, Any] | None = None, /,
                   **keywords: Any) -> _Set:
        """A new configuration with ``knobs`` changed; this one is untouched."""
        type(self)._refuse_keywords("with_knobs", keywords)
        merged = self.to_knobs()
        merged.update(self.catalogue().validate(dict(knobs or {})))
        return dataclasses.replace(self, **type(self)._build_groups(merged))  # type: ignore

    def to_knobs(self) -> dict[str, Any]:
        """Every knob's value, keyed by full dotted name."""
        out: dict[str, Any] = {}
        for name in type(self).group_classes():
            out.update(getattr(self, name).knob_values())
        return out

    def diff(self, other: ConfigSet | None = None) -> dict[str, Any]:
        """Knobs whose value differs from ``other`` (default: the catalogue defaults)."""
        base = self.catalogue().defaults() if other is None else other.to_knobs()
        return {k: v for k, v in self.to_knobs().items() if base[k] != v}

    @classmethod
    def _build_groups(cls, knobs: Mapping[str, Any]) -> dict[str, Config]:
        values = cls.catalogue().validate(dict(knobs))
        by_group: dict[str, dict[str, Any]] = {g: {} for g in cls.group_classes()}
        for name, value in values.items():
            group, field = name.split(".", 1)
            by_group[group][field] = value
        return {g: cls.group_classes()[g](**kw) for g, kw in by_group.items()}

    @classmethod
    def _refuse_keywords(cls, method: str, keywords: Mapping[str, Any]) -> None:
        if not keywords:
            return
        example = cls.EXAMPLE
        first, value = next(iter(keywords.items()))
        dotted = first.replace("__", ".", 1)
        if dotted in cls.catalogue():
            example = "{" + f"{dotted!r}: {value!r}" + "}"
        raise KnobError(f"{cls.__name__}.{method} takes one mapping of dotted knob names, "
                        f"e.g. {example}; got keyword arguments {sorted(keywords)}")


class Catalogue(Mapping[str, Knob]):
    """An ordered, read-only collection of knobs keyed by full name.

    ``listing`` is the command that lists them, named when a name is unknown.
    """

    def __init__(self, knobs: Iterable[Knob], *, listing: str = "labkit knobs"):
        self.listing = listing
        self._knobs: dict[str, Knob] = {}
        for k in knobs:
            if k.name in self._knobs:
                raise KnobError(f"knob {k.name} is declared twice")
            self._knobs[k.name] = k

    @classmethod
    def of(cls, *configs: type[Config], listing: str = "labkit knobs") -> Catalogue:
        """The catalogue of these config classes' knobs, in order."""
        return cls((k for config in configs for k in config.knobs()), listing=listing)

    def __getitem__(self, name: str) -> Knob:
        return self._knobs[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._knobs)

    def __len__(self) -> int:
        return len(self._knobs)

    def get_knob(self, name: str) -> Knob:
        """The knob called ``name``, or a :class:`KnobError` naming the closest one."""
        try:
            return self._knobs[name]
        except KeyError:
            raise KnobError(self.unknown_message(name)) from None

    def unknown_message(self, name: str) -> str:
        close = difflib.get_close_matches(name, list(self._knobs), n=1, cutoff=0.5)
        if not close:
            field = name.split(".")[-1]
            close = [k for k in self._knobs if k.split(".", 1)[1].startswith(field[:4])][:1]
        hint = (f"; did you mean {close[0]!r}?" if close
                else f"; run '{self.listing}' to list them")
        return f"unknown knob {name!r}{hint}"

    def groups(self) -> dict[str, list[Knob]]:
        """Knobs by component, in catalogue order."""
        out: dict[str, list[Knob]] = {}
        for k in self._knobs.values():
            out.setdefault(k.group, []).append(k)
        return out

    def live(self) -> tuple[str, ...]:
        """The names of the knobs a scheduled change may set mid-run, in catalogue order."""
        return tuple(name for name, k in self._knobs.items() if k.live)

    def defaults(self) -> dict[str, Any]:
        """Every knob's default, keyed by full name."""
        return {name: k.default for name, k in self._knobs.items()}

    def validate(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Check and coerce a mapping of knob values; unknown names are refused."""
        return {name: self.get_knob(name).check(value) for name, value in values.items()}


def parse_assignment(text: str, catalogue: Catalogue) -> tuple[str, Any]:
    """Parse ``KNOB=VALUE`` as typed after ``--set``, checked against ``catalogue``.

    >>> from labkit.sim import CATALOGUE
    >>> parse_assignment("model.replicas=4", CATALOGUE)
    ('model.replicas', 4)
    """
    if "=" not in text:
        raise KnobError(f"--set takes KNOB=VALUE, got {text!r}")
    name, _, value = text.partition("=")
    k = catalogue.get_knob(name.strip())
    return k.name, k.check(value)
