"""The knob catalogue: the single source of truth for every budget knob.

A *knob* is one setting a learner can turn: ``cache.capacity_items`` or
``retry.max_attempts``.  Each knob knows its type, default, unit, allowed
range or choices, the component (group) it belongs to and one line of help.
The CLI (``labkit knobs``), the widgets in :mod:`labkit.ui`, the notebooks,
the docs and the config dataclasses in :mod:`labkit.sim.scenario` all read
this catalogue, so a name, default or range is written down exactly once.

Validation errors say the knob, the rule and the value::

    >>> CATALOGUE["cache.capacity_items"].check(0)
    Traceback (most recent call last):
    ...
    labkit.knobs.KnobError: cache.capacity_items must be >= 1, got 0

Unknown names are refused with the closest known name::

    >>> CATALOGUE.get_knob("cache.capacity")
    Traceback (most recent call last):
    ...
    labkit.knobs.KnobError: unknown knob 'cache.capacity'; did you mean 'cache.capacity_items'?
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Knob", "KnobError", "Catalogue", "CATALOGUE", "parse_assignment"]


class KnobError(ValueError):
    """A knob name or value broke a rule; the message names knob, rule and value."""


_KINDS = ("int", "float", "bool", "choice", "multi")


@dataclass(frozen=True, kw_only=True)
class Knob:
    """One setting: name, type, default, unit, range or choices, help.

    ``kind`` is one of ``int``, ``float``, ``bool``, ``choice`` (one of
    ``choices``) or ``multi`` (an ordered tuple drawn from ``choices``, for
    example ``fallback.chain``).  ``off`` documents a special value such as
    ``0 = off``; ``step`` is a hint for sliders.
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
    step: float | None = None
    allow_repeats: bool = False

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise KnobError(f"knob {self.name}: kind must be one of {_KINDS}, got {self.kind!r}")
        if "." not in self.name:
            raise KnobError(f"knob name must look like 'group.name', got {self.name!r}")
        if self.kind in ("choice", "multi") and not self.choices:
            raise KnobError(f"knob {self.name}: a {self.kind} knob needs choices")
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
        type or outside the range raises :class:`KnobError`.

        >>> CATALOGUE["retry.on"].check("timeout,error")
        ('timeout', 'error')
        >>> CATALOGUE["load.rate_rps"].check("12.5")
        12.5
        """
        name = self.name
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
        """``value`` as one would type it on the command line."""
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


class Catalogue(Mapping[str, Knob]):
    """An ordered, read-only collection of knobs keyed by full name."""

    def __init__(self, knobs: Iterable[Knob]):
        self._knobs: dict[str, Knob] = {}
        for knob in knobs:
            if knob.name in self._knobs:
                raise KnobError(f"knob {knob.name} is declared twice")
            self._knobs[knob.name] = knob

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
        hint = f"; did you mean {close[0]!r}?" if close else "; run 'labkit knobs' to list them"
        return f"unknown knob {name!r}{hint}"

    def groups(self) -> dict[str, list[Knob]]:
        """Knobs by component, in catalogue order."""
        out: dict[str, list[Knob]] = {}
        for knob in self._knobs.values():
            out.setdefault(knob.group, []).append(knob)
        return out

    def defaults(self) -> dict[str, Any]:
        """Every knob's default, keyed by full name."""
        return {name: knob.default for name, knob in self._knobs.items()}

    def validate(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Check and coerce a mapping of knob values; unknown names are refused."""
        return {name: self.get_knob(name).check(value) for name, value in values.items()}


def parse_assignment(text: str, catalogue: Catalogue | None = None) -> tuple[str, Any]:
    """Parse ``KNOB=VALUE`` as typed after ``--set``.

    >>> parse_assignment("model.replicas=4")
    ('model.replicas', 4)
    """
    catalogue = CATALOGUE if catalogue is None else catalogue
    if "=" not in text:
        raise KnobError(f"--set takes KNOB=VALUE, got {text!r}")
    name, _, value = text.partition("=")
    knob = catalogue.get_knob(name.strip())
    return knob.name, knob.check(value)


def _k(name: str, kind: str, default: Any, help: str, **kw: Any) -> Knob:
    return Knob(name=name, kind=kind, default=default, help=help, **kw)


# The serving simulator's catalogue.  Order is the order of the CLI listing and
# of the widget panels: components in request-path order.
CATALOGUE = Catalogue([
    # --- load -------------------------------------------------------------
    _k("load.rate_rps", "float", 40.0, "Mean arrival rate of user requests.", unit="req/s",
       min=0.1, max=5000.0, step=1.0),
    _k("load.duration_s", "float", 60.0, "Simulated time.", unit="s", min=1.0, max=86400.0,
       step=10.0),
    _k("load.pattern", "choice", "poisson", "Arrival pattern: steady Poisson, bursty on/off, a "
       "spike (step up and back) or a diurnal (sinusoidal) day.",
       choices=("poisson", "bursty", "spike", "diurnal")),
    _k("load.spike_multiplier", "float", 3.0, "Arrival rate during the spike, as a multiple of "
       "load.rate_rps.", unit="x", min=1.0, max=100.0, step=0.5),
    _k("load.spike_start_s", "float", 20.0, "When the spike starts.", unit="s", min=0.0),
    _k("load.spike_duration_s", "float", 10.0, "How long the spike lasts.", unit="s", min=0.0),
    _k("load.burst_on_s", "float", 5.0, "Bursty pattern: length of a busy (on) period.",
       unit="s", min=0.1),
    _k("load.burst_off_s", "float", 5.0, "Bursty pattern: length of a quiet (off) period.",
       unit="s", min=0.0),
    _k("load.burst_off_ratio", "float", 0.2, "Bursty pattern: rate in a quiet period as a "
       "share of the rate in a busy one (the mean stays load.rate_rps).", min=0.0, max=1.0,
       step=0.05),
    _k("load.diurnal_period_s", "float", 60.0, "Diurnal pattern: length of one simulated day.",
       unit="s", min=1.0),
    _k("load.diurnal_amplitude", "float", 0.8, "Diurnal pattern: peak-to-mean swing as a share "
       "of the mean rate.", min=0.0, max=1.0, step=0.05),
    _k("load.catalog_size", "int", 10000, "How many distinct prompts exist.", unit="prompts",
       min=1, max=10_000_000),
    _k("load.zipf_alpha", "float", 1.0, "Skew of prompt popularity (Zipf exponent; 0 = all "
       "prompts equally popular).", min=0.0, max=3.0, step=0.05),
    _k("load.invalid_fraction", "float", 0.0, "Share of requests that are malformed or "
       "unauthenticated and are rejected by the API layer.", min=0.0, max=1.0, step=0.01),
    _k("load.write_fraction", "float", 0.0, "Share of requests that ask the assistant to act "
       "(a write, such as approving a refund) rather than to read.", min=0.0, max=1.0,
       step=0.01),
    # --- gateway ------------------------------------------------------------
    _k("gateway.rate_limit_rps", "float", 0.0, "Token-bucket rate limit at the API layer.",
       unit="req/s", min=0.0, off="0 = off", step=5.0),
    _k("gateway.burst", "int", 20, "Token-bucket size: how many requests may pass at once "
       "above the rate.", unit="req", min=1),
    _k("gateway.max_queue", "int", 0, "Model queue length beyond which new requests are shed "
       "(rejected).", unit="req", min=0, off="0 = unbounded"),
    _k("gateway.deadline_ms", "float", 0.0, "End-to-end budget for one request; work past it "
       "is abandoned.", unit="ms", min=0.0, off="0 = none", step=100.0),
    _k("gateway.validate_ms", "float", 2.0, "Time the API layer spends on auth and validation.",
       unit="ms", min=0.0),
    # --- serving shape ------------------------------------------------------
    _k("serving.pattern", "choice", "realtime", "How answers are produced: realtime (call the "
       "model per request), batch (a scheduled job precomputes answers into a store) or rag "
       "(retrieve documents, then call the model).", choices=("realtime", "batch", "rag")),
    _k("serving.batch_interval_s", "float", 3600.0, "Batch pattern: time between scheduled "
       "precompute jobs.", unit="s", min=1.0),
    _k("serving.batch_job_cost", "float", 5.0, "Batch pattern: cost of one precompute job.",
       unit="$", min=0.0),
    _k("serving.store_ms", "float", 5.0, "Batch pattern: time to read a precomputed answer.",
       unit="ms", min=0.0),
    _k("world.change_at_s", "float", -1.0, "When the world changes (prices, policies, "
       "documents): answers computed before it are stale.", unit="s", min=-1.0,
       off="-1 = never"),
    # --- cache --------------------------------------------------------------
    _k("cache.enabled", "bool", False, "Serve repeated prompts from an LRU response cache."),
    _k("cache.capacity_items", "int", 1000, "How many answers the cache holds.", unit="items",
       min=1, max=10_000_000),
    _k("cache.ttl_s", "float", 0.0, "How long an answer stays valid after it is stored.",
       unit="s", min=0.0, off="0 = never expires"),
    _k("cache.hit_ms", "float", 2.0, "Time to serve a cache hit.", unit="ms", min=0.0),
    _k("cache.content_change_s", "float", 0.0, "Mean time between changes to the true answer "
       "of one prompt; a hit on an answer older than the change is stale.", unit="s",
       min=0.0, off="0 = content never changes"),
    # --- pipeline steps -----------------------------------------------------
    _k("embed.enabled", "bool", False, "Embed the prompt before retrieval."),
    _k("embed.latency_ms", "float", 15.0, "Time to embed one prompt.", unit="ms", min=0.0),
    _k("embed.cost_per_call", "float", 0.0002, "Cost of one embedding call.", unit="$",
       min=0.0),
    _k("embed.error_rate", "float", 0.0, "Probability that embedding fails (retrieval is then "
       "skipped and the model answers without documents).", min=0.0, max=1.0, step=0.01),
    _k("retrieval.enabled", "bool", False, "Retrieve documents from a data store and add them "
       "to the prompt (retrieval-augmented generation)."),
    _k("retrieval.latency_ms", "float", 40.0, "Time of one retrieval (index lookup and fetch).",
       unit="ms", min=0.0),
    _k("retrieval.cost_per_call", "float", 0.0005, "Cost of one retrieval.", unit="$", min=0.0),
    _k("retrieval.error_rate", "float", 0.0, "Probability that a retrieval fails (the request "
       "then goes on without documents, at lower quality).", min=0.0, max=1.0, step=0.01),
    _k("retrieval.permission_check", "bool", True, "Check that the user may read every "
       "retrieved document."),
    _k("retrieval.permission_ms", "float", 8.0, "Time of the permission check.", unit="ms",
       min=0.0),
    _k("retrieval.restricted_fraction", "float", 0.05, "Share of retrievals that would return "
       "a document the user may not see (leaked when the check is off).", min=0.0, max=1.0,
       step=0.01),
    _k("retrieval.index_refresh_s", "float", 300.0, "How often the retrieval index is "
       "rebuilt; answers after a world change stay stale until the next rebuild.", unit="s",
       min=1.0),
    _k("retrieval.index_rebuild_cost", "float", 0.0, "Cost of one rebuild of the retrieval "
       "index (paid every retrieval.index_refresh_s while retrieval is on), so a fresher "
       "index costs more.", unit="$", min=0.0, off="0 = free"),
    _k("retrieval.quality_gain", "float", 0.15, "Quality the retrieved context adds to an "
       "answer.", min=0.0, max=1.0, step=0.01),
    _k("retrieval.run_fraction", "float", 1.0, "Share of requests that run retrieval (gate "
       "it to the requests that need it).", min=0.0, max=1.0, step=0.05),
    _k("rerank.enabled", "bool", False, "Rerank retrieved documents with a second model."),
    _k("rerank.latency_ms", "float", 30.0, "Time of one rerank call.", unit="ms", min=0.0),
    _k("rerank.cost_per_call", "float", 0.001, "Cost of one rerank call.", unit="$", min=0.0),
    _k("rerank.error_rate", "float", 0.0, "Probability that reranking fails (the documents "
       "are used in retrieval order, without its gain).", min=0.0, max=1.0, step=0.01),
    _k("rerank.quality_gain", "float", 0.01, "Quality reranking adds to an answer.", min=0.0,
       max=1.0, step=0.01),
    _k("rerank.run_fraction", "float", 1.0, "Share of requests that run reranking.", min=0.0,
       max=1.0, step=0.05),
    _k("steps.skip_when_degraded", "bool", False, "When the primary model is struggling "
       "(breaker open or upstream throttling), skip retrieval and reranking."),
    # --- batcher ------------------------------------------------------------
    _k("batch.max_size", "int", 1, "Largest batch the dynamic batcher forms.", unit="req",
       min=1, max=512, off="1 = no batching"),
    _k("batch.max_wait_ms", "float", 0.0, "How long an incomplete batch may wait for more "
       "requests (Triton's max queue delay).", unit="ms", min=0.0, off="0 = never wait"),
    # --- model --------------------------------------------------------------
    _k("model.replicas", "int", 4, "Model instances, each serving one batch at a time.",
       unit="replicas", min=1, max=1000),
    _k("model.service_ms", "float", 80.0, "Mean service time of a batch of one.", unit="ms",
       min=0.1, step=5.0),
    _k("model.service_dist", "choice", "exponential", "Distribution of service times.",
       choices=("exponential", "deterministic", "lognormal")),
    _k("model.service_cv", "float", 0.5, "Lognormal service: coefficient of variation.",
       min=0.0, max=5.0, step=0.1),
    _k("model.per_item_fraction", "float", 0.1, "Extra time per additional item in a batch, as "
       "a share of model.service_ms: a batch of b takes service_ms x (1 + f x (b - 1)).",
       min=0.0, max=1.0, step=0.01),
    _k("model.error_rate", "float", 0.0, "Probability that a model call fails.", min=0.0,
       max=1.0, step=0.01),
    _k("model.upstream_limit_rps", "float", 0.0, "An upstream provider's rate limit; calls "
       "beyond it are throttled (HTTP 429).", unit="calls/s", min=0.0, off="0 = none"),
    _k("model.upstream_burst", "int", 10, "Burst the upstream provider allows above its rate.",
       unit="calls", min=1),
    _k("model.cost_per_call", "float", 0.002, "Cost of one model call (one request in a batch).",
       unit="$", min=0.0),
    _k("model.cost_per_replica_hour", "float", 2.5, "Cost of keeping one replica warm for an "
       "hour.", unit="$/h", min=0.0),
    _k("model.quality", "float", 0.8, "Quality score of a primary-model answer without "
       "retrieval.", min=0.0, max=1.0, step=0.01),
    _k("model.version", "choice", "v2", "Which primary model version is deployed (recorded "
       "in the audit trail).", choices=("v1", "v2", "v3")),
    _k("model.cancel_on_timeout", "bool", False, "Whether a timed-out call is also abandoned "
       "by the server (if not, the server keeps doing work nobody waits for)."),
    # --- autoscale ----------------------------------------------------------
    _k("autoscale.enabled", "bool", False, "Add and remove replicas to hold a target "
       "utilisation (Kubernetes HPA rule)."),
    _k("autoscale.min_replicas", "int", 1, "Fewest replicas the autoscaler keeps.",
       unit="replicas", min=1, max=1000),
    _k("autoscale.max_replicas", "int", 20, "Most replicas the autoscaler may start.",
       unit="replicas", min=1, max=1000),
    _k("autoscale.target_utilization", "float", 0.6, "Busy share of replica time the "
       "autoscaler aims for.", min=0.05, max=1.0, step=0.05),
    _k("autoscale.interval_s", "float", 15.0, "How often the autoscaler decides.", unit="s",
       min=1.0),
    _k("autoscale.cold_start_s", "float", 30.0, "Time from starting a replica to it serving "
       "(it costs money from the start).", unit="s", min=0.0),
    # --- faults -------------------------------------------------------------
    _k("fault.mode", "choice", "hang", "How the primary fails during an outage: hang (no "
       "progress; clients see timeouts) or error (calls fail fast).",
       choices=("hang", "error")),
    _k("fault.outage_start_s", "float", 0.0, "When the primary model's outage starts.",
       unit="s", min=0.0),
    _k("fault.outage_duration_s", "float", 0.0, "How long the outage lasts.", unit="s",
       min=0.0, off="0 = no outage"),
    _k("fault.slowdown_start_s", "float", 0.0, "When the primary starts to slow down.",
       unit="s", min=0.0),
    _k("fault.slowdown_duration_s", "float", 0.0, "How long the slowdown lasts.", unit="s",
       min=0.0, off="0 = no slowdown"),
    _k("fault.slowdown_factor", "float", 3.0, "How many times slower the primary is during "
       "the slowdown.", unit="x", min=1.0, max=100.0, step=0.5),
    _k("fault.error_rate", "float", 0.0, "Extra failure probability of a model call during "
       "the slowdown window.", min=0.0, max=1.0, step=0.01),
    # --- retry --------------------------------------------------------------
    _k("retry.max_attempts", "int", 1, "Most attempts per request at the primary model.",
       unit="attempts", min=1, max=20, off="1 = no retries"),
    _k("retry.timeout_ms", "float", 0.0, "Per-attempt timeout.", unit="ms", min=0.0,
       off="0 = none", step=50.0),
    _k("retry.backoff", "choice", "exponential", "Wait between attempts: none, constant "
       "(retry.base_ms) or exponential (base x 2^n, capped).",
       choices=("none", "constant", "exponential")),
    _k("retry.base_ms", "float", 50.0, "Backoff base.", unit="ms", min=0.0),
    _k("retry.cap_ms", "float", 2000.0, "Longest backoff.", unit="ms", min=0.0),
    _k("retry.jitter", "choice", "full", "Randomisation of the backoff (AWS analysis): none, "
       "full, equal or decorrelated.", choices=("none", "full", "equal", "decorrelated")),
    _k("retry.budget_ratio", "float", 0.0, "Retries allowed as a share of recent requests "
       "(Google SRE retry budget).", min=0.0, max=10.0, off="0 = unlimited", step=0.05),
    _k("retry.budget_window_s", "float", 10.0, "Window over which the retry budget counts.",
       unit="s", min=1.0),
    _k("retry.on", "multi", ("timeout", "error", "throttled"), "Which failures are retried.",
       choices=("timeout", "error", "throttled")),
    _k("retry.adaptive_throttle", "bool", False, "Client-side adaptive throttling (SRE book): "
       "reject locally with probability max(0, (requests - K x accepts) / (requests + 1))."),
    _k("retry.throttle_k", "float", 2.0, "Adaptive throttling multiplier K.", min=1.0,
       max=10.0, step=0.1),
    _k("retry.throttle_window_s", "float", 120.0, "Adaptive throttling window.", unit="s",
       min=1.0),
    # --- breaker ------------------------------------------------------------
    _k("breaker.enabled", "bool", False, "Circuit breaker in front of the primary model."),
    _k("breaker.failure_rate", "float", 0.5, "Failure share in the window that opens the "
       "breaker.", min=0.01, max=1.0, step=0.05),
    _k("breaker.min_calls", "int", 20, "Fewest calls in the window before the breaker may "
       "open.", unit="calls", min=1),
    _k("breaker.window_s", "float", 10.0, "Window over which failures are counted.", unit="s",
       min=0.1),
    _k("breaker.open_s", "float", 5.0, "How long the breaker stays open before it probes.",
       unit="s", min=0.1),
    _k("breaker.half_open_calls", "int", 5, "Probe calls allowed while half-open; all must "
       "succeed to close.", unit="calls", min=1),
    # --- fallback -----------------------------------------------------------
    _k("fallback.chain", "multi", (), "Ordered fallbacks tried when the primary cannot answer "
       "(empty = the request fails).", choices=("small_model", "stale_cache", "safe_message")),
    _k("fallback.small_model_ms", "float", 25.0, "Mean service time of the small model.",
       unit="ms", min=0.1),
    _k("fallback.small_model_replicas", "int", 2, "Replicas of the small model.",
       unit="replicas", min=1),
    _k("fallback.small_model_quality", "float", 0.6, "Quality score of a small-model answer.",
       min=0.0, max=1.0, step=0.01),
    _k("fallback.small_model_cost_per_call", "float", 0.0004, "Cost of one small-model call.",
       unit="$", min=0.0),
    _k("fallback.stale_quality", "float", 0.5, "Quality score of an expired cached answer "
       "served as a fallback.", min=0.0, max=1.0, step=0.01),
    _k("kill.at_s", "float", -1.0, "The kill switch: from this time the primary gets no calls "
       "and traffic takes the fallback path.", unit="s", min=-1.0, off="-1 = never"),
    # --- boundary (write actions) --------------------------------------------
    _k("boundary.policy", "choice", "none", "What happens to a write the model proposes: none "
       "(executed directly) or approval (a logged human review approves or refuses it).",
       choices=("none", "approval")),
    _k("boundary.wrong_write_rate", "float", 0.08, "Share of model-proposed writes that should "
       "not happen (wrong or unauthorised).", min=0.0, max=1.0, step=0.01),
    _k("boundary.reviewers", "int", 1, "Human reviewers working the approval queue.",
       unit="people", min=1, max=1000),
    _k("boundary.review_s", "float", 20.0, "Mean time a reviewer needs for one write.",
       unit="s", min=0.1),
    # --- guardrail and audit -------------------------------------------------
    _k("guardrail.enabled", "bool", False, "Score every model answer for harm and replace "
       "answers at or above the threshold with a safe message."),
    _k("guardrail.threshold", "float", 0.7, "Harm score at or above which the guardrail "
       "blocks an answer (lower blocks more, including harmless answers).", min=0.0,
       max=1.0, step=0.01),
    _k("guardrail.harmful_rate", "float", 0.01, "Share of raw model answers that are harmful.",
       min=0.0, max=1.0, step=0.005),
    _k("audit.enabled", "bool", True, "Log the data snapshot, model version and guardrail "
       "threshold with every answer (without it, the audit trail cannot explain a decision)."),
    # --- budgets ------------------------------------------------------------
    _k("budget.p95_ms", "float", 1000.0, "Latency budget: 95th percentile of answered "
       "requests.", unit="ms", min=0.0, off="0 = not judged"),
    _k("budget.p99_ms", "float", 2000.0, "Latency budget: 99th percentile.", unit="ms",
       min=0.0, off="0 = not judged"),
    _k("budget.cost_per_1k", "float", 5.0, "Cost budget per 1,000 requests.", unit="$",
       min=0.0, off="0 = not judged"),
    _k("budget.success_rate", "float", 0.99, "Reliability budget: share of requests answered "
       "(ok or degraded).", min=0.0, max=1.0, off="0 = not judged", step=0.005),
    _k("budget.quality", "float", 0.0, "Quality floor: mean quality of answered requests.",
       min=0.0, max=1.0, off="0 = not judged", step=0.01),
])
