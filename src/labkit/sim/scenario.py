"""A scenario: every knob of one simulated service, frozen and validated.

A :class:`Scenario` holds one config per component (:mod:`labkit.sim.config`),
each checked field by field when it is built; the scenario adds the rules
that span several components (for example ``autoscale.min_replicas <=
autoscale.max_replicas``).  Build it from dotted knob names or from configs:

>>> sc = Scenario.from_knobs({"model.replicas": 3})
>>> sc.model.replicas, sc.cache.enabled
(3, False)
>>> sc.with_knobs({"cache.enabled": True}).diff()
{'cache.enabled': True, 'model.replicas': 3}
>>> Scenario(cache=CacheConfig(enabled=True)).diff()
{'cache.enabled': True}
>>> Scenario.from_knobs({"autoscale.min_replicas": 5, "autoscale.max_replicas": 2})
Traceback (most recent call last):
...
labkit.knobs.KnobError: autoscale.min_replicas must be <= autoscale.max_replicas (2), got 5

Nothing is ever mutated: variants come from :meth:`~labkit.knobs.ConfigSet.with_knobs`
or :func:`dataclasses.replace`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from labkit.knobs import Catalogue, Config, ConfigSet, KnobError
from labkit.sim.config import (
    AgentConfig,
    AuditConfig,
    AutoscaleConfig,
    BatchConfig,
    BoundaryConfig,
    BreakerConfig,
    BudgetConfig,
    CacheConfig,
    EmbedConfig,
    FallbackConfig,
    FaultConfig,
    GatewayConfig,
    GuardrailConfig,
    KillConfig,
    LLMConfig,
    LoadConfig,
    ModelConfig,
    RerankConfig,
    RetrievalConfig,
    RetryConfig,
    RouterConfig,
    ServingConfig,
    StepsConfig,
    WorldConfig,
)
from labkit.sim.tokens import check_token_mode

__all__ = ["Scenario", "CONFIG_CLASSES", "CATALOGUE"]


@dataclass(frozen=True, kw_only=True)
class Scenario(ConfigSet):
    """Every component's config; ``Scenario()`` is the catalogue defaults."""

    EXAMPLE: ClassVar[str] = "{'model.replicas': 3}"

    load: LoadConfig = field(default_factory=LoadConfig)
    gateway: GatewayConfig = field(default_factory=GatewayConfig)
    serving: ServingConfig = field(default_factory=ServingConfig)
    world: WorldConfig = field(default_factory=WorldConfig)
    cache: CacheConfig = field(default_factory=CacheConfig)
    embed: EmbedConfig = field(default_factory=EmbedConfig)
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    rerank: RerankConfig = field(default_factory=RerankConfig)
    steps: StepsConfig = field(default_factory=StepsConfig)
    batch: BatchConfig = field(default_factory=BatchConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    llm: LLMConfig = field(default_factory=LLMConfig)
    router: RouterConfig = field(default_factory=RouterConfig)
    autoscale: AutoscaleConfig = field(default_factory=AutoscaleConfig)
    fault: FaultConfig = field(default_factory=FaultConfig)
    retry: RetryConfig = field(default_factory=RetryConfig)
    breaker: BreakerConfig = field(default_factory=BreakerConfig)
    fallback: FallbackConfig = field(default_factory=FallbackConfig)
    kill: KillConfig = field(default_factory=KillConfig)
    boundary: BoundaryConfig = field(default_factory=BoundaryConfig)
    guardrail: GuardrailConfig = field(default_factory=GuardrailConfig)
    audit: AuditConfig = field(default_factory=AuditConfig)
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    agent: AgentConfig = field(default_factory=AgentConfig)

    def __repr__(self) -> str:
        return f"Scenario.from_knobs({self.diff()!r})"

    def _check(self) -> None:
        auto = self.autoscale
        if auto.min_replicas > auto.max_replicas:
            raise KnobError(f"autoscale.min_replicas must be <= autoscale.max_replicas "
                            f"({auto.max_replicas}), got {auto.min_replicas}")
        if auto.enabled and not auto.min_replicas <= self.model.replicas <= auto.max_replicas:
            raise KnobError(f"model.replicas must lie within autoscale.min_replicas.."
                            f"autoscale.max_replicas ({auto.min_replicas}..{auto.max_replicas}) "
                            f"when autoscaling, got {self.model.replicas}")
        small_pool = self.llm.enabled and self.router.policy in ("small", "classifier", "cascade")
        if (auto.enabled and small_pool
                and not auto.min_replicas <= self.router.small_replicas <= auto.max_replicas):
            raise KnobError(f"router.small_replicas must lie within autoscale.min_replicas.."
                            f"autoscale.max_replicas ({auto.min_replicas}..{auto.max_replicas}) "
                            f"when autoscaling (the small model's pool is autoscaled too), got "
                            f"{self.router.small_replicas}")
        if self.retry.cap_ms < self.retry.base_ms:
            raise KnobError(f"retry.cap_ms must be >= retry.base_ms ({self.retry.base_ms:g}), "
                            f"got {self.retry.cap_ms:g}")
        load = self.load
        if load.spike_start_s >= load.duration_s and load.pattern == "spike":
            raise KnobError(f"load.spike_start_s must be < load.duration_s "
                            f"({load.duration_s:g}) for a spike pattern, got "
                            f"{load.spike_start_s:g}")
        if self.llm.enabled:
            check_token_mode(self.llm, load)


#: One frozen config class per component, in catalogue order.
CONFIG_CLASSES: dict[str, type[Config]] = Scenario.group_classes()

#: Every knob of the serving simulator (``labkit knobs``, the widgets, validation).
CATALOGUE: Catalogue = Scenario.catalogue()
