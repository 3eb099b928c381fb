"""Every knob of the serving simulator, declared once on the config class that uses it.

One frozen, keyword-only dataclass per component, in request-path order
(the order of ``labkit knobs`` and of the widget panels).  Each field is a
knob: :func:`labkit.knobs.knob` keeps its default, unit, range or choices,
help and what "off" means beside it, and :data:`CATALOGUE` is read from these
classes.  A setting that can be off holds ``None`` (``GatewayConfig.deadline_ms
is None``: no deadline); as a knob value it is spelled as the catalogue shows
it (``gateway.deadline_ms = 0``).  :class:`labkit.sim.Scenario` composes the
classes and adds the rules that span several of them.

Adding a knob: add a field here, read it in the component; the CLI, the
widgets, sweeps and validation pick it up.  Keep the field's unit in its name.
A knob declared ``live=True`` may be set in the middle of a run by a scheduled
:class:`labkit.sim.Change`; its component then reads the new value from that moment
on (the engine tells it, see ``Engine._apply``).  Mark a knob live only together
with that code.

>>> CacheConfig(enabled=True, capacity_items=50).ttl_s is None
True
>>> KillConfig(at_s=-0.5)
Traceback (most recent call last):
...
labkit.knobs.KnobError: kill.at_s must be -1 (never) or >= 0, got -0.5
"""

from __future__ import annotations

from dataclasses import dataclass

from labkit.knobs import Config, KnobError, Off, knob

__all__ = ["LoadConfig", "GatewayConfig", "ServingConfig",
           "WorldConfig", "CacheConfig", "EmbedConfig", "RetrievalConfig", "RerankConfig",
           "StepsConfig", "BatchConfig", "ModelConfig", "LLMConfig", "RouterConfig",
           "AutoscaleConfig",
           "FaultConfig",
           "RetryConfig", "BreakerConfig", "FallbackConfig", "KillConfig", "BoundaryConfig",
           "GuardrailConfig", "AuditConfig", "BudgetConfig", "AgentConfig"]


def _time_or_never(name: str, value: float | None) -> None:
    if value is not None and value < 0:
        raise KnobError(f"{name} must be -1 (never) or >= 0, got {value:g}")


@dataclass(frozen=True, kw_only=True)
class LoadConfig(Config, group="load"):
    """Load: how fast requests arrive, in which pattern, and what they ask for."""

    rate_rps: float = knob(40.0, unit="req/s", min=0.1, max=5000.0, step=1.0,
        help="Mean arrival rate of user requests.")
    duration_s: float = knob(60.0, unit="s", min=1.0, max=86_400.0, step=10.0,
        help="Simulated time.")
    pattern: str = knob("poisson", choices=("poisson", "bursty", "spike", "diurnal"),
        help="Arrival pattern: steady Poisson, bursty on/off, a spike (step up and back) or "
             "a diurnal (sinusoidal) day.")
    spike_multiplier: float = knob(3.0, unit="x", min=1.0, max=100.0, step=0.5,
        help="Arrival rate during the spike, as a multiple of load.rate_rps.")
    spike_start_s: float = knob(20.0, unit="s", min=0.0, help="When the spike starts.")
    spike_duration_s: float = knob(10.0, unit="s", min=0.0, help="How long the spike lasts.")
    burst_on_s: float = knob(5.0, unit="s", min=0.1,
        help="Bursty pattern: length of a busy (on) period.")
    burst_off_s: float = knob(5.0, unit="s", min=0.0,
        help="Bursty pattern: length of a quiet (off) period.")
    burst_off_ratio: float = knob(0.2, min=0.0, max=1.0, step=0.05,
        help="Bursty pattern: rate in a quiet period as a share of the rate in a busy one "
             "(the mean stays load.rate_rps).")
    diurnal_period_s: float = knob(60.0, unit="s", min=1.0,
        help="Diurnal pattern: length of one simulated day.")
    diurnal_amplitude: float = knob(0.8, min=0.0, max=1.0, step=0.05,
        help="Diurnal pattern: peak-to-mean swing as a share of the mean rate.")
    catalog_size: int = knob(10_000, unit="prompts", min=1, max=10_000_000,
        help="How many distinct prompts exist.")
    zipf_alpha: float = knob(1.0, min=0.0, max=3.0, step=0.05,
        help="Skew of prompt popularity (Zipf exponent; 0 = all prompts equally popular).")
    invalid_fraction: float = knob(0.0, min=0.0, max=1.0, step=0.01,
        help="Share of requests that are malformed or unauthenticated and are rejected by "
             "the API layer.")
    write_fraction: float = knob(0.0, min=0.0, max=1.0, step=0.01,
        help="Share of requests that ask the assistant to act (a write, such as approving a "
             "refund) rather than to read.")
    prompt_tokens: int = knob(500, live=True, unit="tokens", min=1, max=1_000_000, step=50,
        help="Token mode (llm.enabled): mean prompt length of a request.")
    output_tokens: int = knob(200, unit="tokens", min=1, max=1_000_000, step=50,
        help="Token mode: mean number of output tokens a request generates.")
    prompt_tokens_cv: float = knob(0.5, min=0.0, max=5.0, step=0.1, off="0 = every prompt "
        "exactly the mean",
        help="Token mode: coefficient of variation of prompt lengths (lognormal).")
    output_tokens_cv: float = knob(0.8, min=0.0, max=5.0, step=0.1, off="0 = every answer "
        "exactly the mean",
        help="Token mode: coefficient of variation of output lengths (lognormal).")
    shared_prefix_tokens: int = knob(0, unit="tokens", min=0, max=1_000_000, step=50,
        off="0 = no shared prefix",
        help="Token mode: leading prompt tokens every request shares (a system prompt); with "
             "llm.prefix_cache on, their prefill is skipped once a replica holds them.")


@dataclass(frozen=True, kw_only=True)
class GatewayConfig(Config, group="gateway"):
    """The API layer: validation, rate limit, shedding and the end-to-end deadline."""

    rate_limit_rps: float | None = knob(None, unit="req/s", min=0.0, off=Off(0.0, "off"), step=5.0,
        help="Token-bucket rate limit at the API layer.")
    burst: int = knob(20, unit="req", min=1,
        help="Token-bucket size: how many requests may pass at once above the rate.")
    max_queue: int | None = knob(None, unit="req", min=0, off=Off(0, "unbounded"),
        help="Model queue length beyond which new requests are shed (rejected).")
    deadline_ms: float | None = knob(None, unit="ms", min=0.0, off=Off(0.0, "none"), step=100.0,
        help="End-to-end budget for one request; work past it is abandoned.")
    validate_ms: float = knob(2.0, unit="ms", min=0.0,
        help="Time the API layer spends on auth and validation.")


@dataclass(frozen=True, kw_only=True)
class ServingConfig(Config, group="serving"):
    """The serving shape: realtime calls, a precomputed batch store, or RAG."""

    pattern: str = knob("realtime", choices=("realtime", "batch", "rag"),
        help="How answers are produced: realtime (call the model per request), batch (a "
             "scheduled job precomputes answers into a store) or rag (retrieve documents, "
             "then call the model).")
    batch_interval_s: float = knob(3600.0, unit="s", min=1.0,
        help="Batch pattern: time between scheduled precompute jobs.")
    batch_job_cost: float = knob(5.0, unit="$", min=0.0,
        help="Batch pattern: cost of one precompute job.")
    store_ms: float = knob(5.0, unit="ms", min=0.0,
        help="Batch pattern: time to read a precomputed answer.")


@dataclass(frozen=True, kw_only=True)
class WorldConfig(Config, group="world"):
    """The moment the world changes, after which stored answers are stale."""

    change_at_s: float | None = knob(None, unit="s", min=-1.0, off=Off(-1.0, "never"),
        help="When the world changes (prices, policies, documents): answers computed before "
             "it are stale.")

    def _check(self) -> None:
        _time_or_never("world.change_at_s", self.change_at_s)


@dataclass(frozen=True, kw_only=True)
class CacheConfig(Config, group="cache"):
    """The response cache: LRU, expiry and content changes."""

    enabled: bool = knob(False, help="Serve repeated prompts from an LRU response cache.")
    capacity_items: int = knob(1000, unit="items", min=1, max=10_000_000,
        help="How many answers the cache holds.")
    ttl_s: float | None = knob(None, unit="s", min=0.0, off=Off(0.0, "never expires"),
        help="How long an answer stays valid after it is stored.")
    hit_ms: float = knob(2.0, unit="ms", min=0.0, help="Time to serve a cache hit.")
    content_change_s: float | None = knob(None, unit="s", min=0.0,
        off=Off(0.0, "content never changes"),
        help="Mean time between changes to the true answer of one prompt; a hit on an answer "
             "older than the change is stale.")


@dataclass(frozen=True, kw_only=True)
class EmbedConfig(Config, group="embed"):
    """Embedding the prompt before retrieval."""

    enabled: bool = knob(False, help="Embed the prompt before retrieval.")
    latency_ms: float = knob(15.0, unit="ms", min=0.0, help="Time to embed one prompt.")
    cost_per_call: float = knob(0.0002, unit="$", min=0.0, help="Cost of one embedding call.")
    error_rate: float = knob(0.0, min=0.0, max=1.0, step=0.01,
        help="Probability that embedding fails (retrieval is then skipped and the model "
             "answers without documents).")
    servers: int | None = knob(None, unit="servers", min=0, max=1000, off=Off(0, "unlimited"),
        help="Embedding calls served at once; more wait in a first-come, first-served queue "
             "(capacity: servers / embed.latency_ms).")


@dataclass(frozen=True, kw_only=True)
class RetrievalConfig(Config, group="retrieval"):
    """Retrieval: documents, permission checks, index freshness and capacity."""

    enabled: bool = knob(False,
        help="Retrieve documents from a data store and add them to the prompt "
             "(retrieval-augmented generation).")
    latency_ms: float = knob(40.0, live=True, unit="ms", min=0.0,
        help="Time of one retrieval (index lookup and fetch).")
    cost_per_call: float = knob(0.0005, unit="$", min=0.0, help="Cost of one retrieval.")
    error_rate: float = knob(0.0, min=0.0, max=1.0, step=0.01,
        help="Probability that a retrieval fails (the request then goes on without "
             "documents, at lower quality).")
    permission_check: bool = knob(True,
        help="Check that the user may read every retrieved document.")
    permission_ms: float = knob(8.0, unit="ms", min=0.0, help="Time of the permission check.")
    restricted_fraction: float = knob(0.05, min=0.0, max=1.0, step=0.01,
        help="Share of retrievals that would return a document the user may not see (leaked "
             "when the check is off).")
    index_refresh_s: float = knob(300.0, unit="s", min=1.0,
        help="How often the retrieval index is rebuilt; answers after a world change stay "
             "stale until the next rebuild.")
    index_rebuild_cost: float = knob(0.0, unit="$", min=0.0, off="0 = free",
        help="Cost of one rebuild of the retrieval index (paid every "
             "retrieval.index_refresh_s while retrieval is on), so a fresher index costs "
             "more.")
    quality_gain: float = knob(0.15, min=0.0, max=1.0, step=0.01,
        help="Quality the retrieved context adds to an answer.")
    run_fraction: float = knob(1.0, live=True, min=0.0, max=1.0, step=0.05,
        help="Share of requests that run retrieval (gate it to the requests that need it).")
    servers: int | None = knob(None, unit="servers", min=0, max=1000, off=Off(0, "unlimited"),
        help="Retrievals served at once (each holds its server for the lookup and the "
             "permission check); more wait in a first-come, first-served queue.")


@dataclass(frozen=True, kw_only=True)
class RerankConfig(Config, group="rerank"):
    """Reranking the retrieved documents with a second model."""

    enabled: bool = knob(False, help="Rerank retrieved documents with a second model.")
    latency_ms: float = knob(30.0, unit="ms", min=0.0, help="Time of one rerank call.")
    cost_per_call: float = knob(0.001, unit="$", min=0.0, help="Cost of one rerank call.")
    error_rate: float = knob(0.0, min=0.0, max=1.0, step=0.01,
        help="Probability that reranking fails (the documents are used in retrieval order, "
             "without its gain).")
    quality_gain: float = knob(0.01, min=0.0, max=1.0, step=0.01,
        help="Quality reranking adds to an answer.")
    run_fraction: float = knob(1.0, min=0.0, max=1.0, step=0.05,
        help="Share of requests that run reranking.")
    servers: int | None = knob(None, unit="servers", min=0, max=1000, off=Off(0, "unlimited"),
        help="Rerank calls served at once; more wait in a first-come, first-served queue.")


@dataclass(frozen=True, kw_only=True)
class StepsConfig(Config, group="steps"):
    """The data path as a whole: degraded mode and how long each step's call takes."""

    skip_when_degraded: bool = knob(False,
        help="When the primary model is struggling (breaker open or upstream throttling), "
             "skip retrieval and reranking.")
    service_dist: str = knob("deterministic", choices=("deterministic", "exponential"),
        help="Time of one embedding, retrieval or rerank call: deterministic (always its "
             "latency_ms) or exponential with that mean (as Erlang C assumes).")


@dataclass(frozen=True, kw_only=True)
class BatchConfig(Config, group="batch"):
    """The dynamic batcher in front of the model replicas."""

    max_size: int = knob(1, unit="req", min=1, max=512, off="1 = no batching",
        help="Largest batch the dynamic batcher forms.")
    max_wait_ms: float = knob(0.0, unit="ms", min=0.0, off="0 = never wait",
        help="How long an incomplete batch may wait for more requests (Triton's max queue "
             "delay).")


@dataclass(frozen=True, kw_only=True)
class ModelConfig(Config, group="model"):
    """The primary model: replicas, service time, errors, cost, quality."""

    replicas: int = knob(4, live=True, unit="replicas", min=1, max=1000,
        help="Model instances, each serving one batch at a time.")
    service_ms: float = knob(80.0, unit="ms", min=0.1, step=5.0,
        help="Mean service time of a batch of one.")
    service_dist: str = knob("exponential", choices=("exponential", "deterministic", "lognormal"),
        help="Distribution of service times.")
    service_cv: float = knob(0.5, min=0.0, max=5.0, step=0.1,
        help="Lognormal service: coefficient of variation.")
    per_item_fraction: float = knob(0.1, min=0.0, max=1.0, step=0.01,
        help="Extra time per additional item in a batch, as a share of model.service_ms: a "
             "batch of b takes service_ms x (1 + f x (b - 1)).")
    error_rate: float = knob(0.0, live=True, min=0.0, max=1.0, step=0.01,
        help="Probability that a model call fails.")
    upstream_limit_rps: float | None = knob(None, unit="calls/s", min=0.0, off=Off(0.0, "none"),
        help="An upstream provider's rate limit; calls beyond it are throttled (HTTP 429).")
    upstream_burst: int = knob(10, unit="calls", min=1,
        help="Burst the upstream provider allows above its rate.")
    cost_per_call: float = knob(0.002, unit="$", min=0.0,
        help="Cost of one model call (one request in a batch).")
    cost_per_replica_hour: float = knob(2.5, unit="$/h", min=0.0,
        help="Cost of keeping one replica warm for an hour.")
    quality: float = knob(0.8, min=0.0, max=1.0, step=0.01,
        help="Quality score of a primary-model answer without retrieval.")
    version: str = knob("v2", live=True, choices=("v1", "v2", "v3"),
        help="Which primary model version is deployed (recorded in the audit trail).")
    cancel_on_timeout: bool = knob(False,
        help="Whether a timed-out call is also abandoned by the server (if not, the server "
             "keeps doing work nobody waits for).")
    upstream_tpm: float | None = knob(None, live=True, unit="tokens/min", min=0.0,
        off=Off(0.0, "none"), step=10_000.0,
        help="Token mode: an upstream provider's quota in tokens (prompt + output) per minute, "
             "over any 60 s window; calls beyond it are throttled (HTTP 429).")
    cost_per_1m_input_tokens: float = knob(0.5, unit="$", min=0.0, step=0.05,
        help="Token mode: price of one million prompt tokens (added to model.cost_per_call).")
    cost_per_1m_output_tokens: float = knob(1.5, unit="$", min=0.0, step=0.05,
        help="Token mode: price of one million output tokens (added to model.cost_per_call).")
    # stateful mode (sticky sessions): labkit.sim.sessions
    session_affinity: bool = knob(False,
        help="Stateful mode: every request belongs to a user's session, whose state lives on "
             "one replica, and all of a session's requests go to that replica (sticky "
             "sessions); off, any replica serves any request from one shared queue.")
    session_users: int = knob(100, unit="users", min=1, max=1_000_000,
        help="Stateful mode: users with a session open at any time; each request comes from "
             "one of them at random.")
    session_requests_mean: float = knob(5.0, unit="requests", min=1.0, max=10_000.0, step=1.0,
        help="Stateful mode: mean number of requests in one session (geometric).")
    session_warmup_ms: float = knob(300.0, unit="ms", min=0.0, max=600_000.0, step=50.0,
        help="Stateful mode: work a replica spends rebuilding a moved session's state, added "
             "to that session's next call on its new replica.")
    session_moves: str = knob("rebuild", choices=("rebuild", "lose"),
        help="Stateful mode: what happens to the sessions of a replica that is lost or "
             "retired: rebuild (they move to other replicas and pay model.session_warmup_ms; "
             "new replicas also take a share) or lose (their state is gone and counted; new "
             "replicas take only new sessions).")


@dataclass(frozen=True, kw_only=True)
class LLMConfig(Config, group="llm"):
    """Token-level serving of a language model: prefill, decode, the KV cache, scheduling."""

    enabled: bool = knob(False,
        help="Token mode: the primary model serves tokens (prefill, then one token per decode "
             "iteration, continuous or static batching, a KV-cache limit) instead of one "
             "service time per batch; model.service_* and batch.* are then not used.")
    params_b: float = knob(8.0, unit="billion", min=0.01, max=2000.0, step=1.0,
        help="Model size in billions of parameters.")
    bytes_per_param: float = knob(2.0, unit="bytes", min=0.25, max=4.0, step=0.25,
        help="Bytes per weight (2 = bf16/fp16, 1 = 8-bit, 0.5 = 4-bit).")
    gpu_tflops: float = knob(989.0, unit="TFLOPS", min=1.0, max=100_000.0, step=10.0,
        help="Peak dense compute of one replica (H100 SXM bf16: 989).")
    mfu: float = knob(0.5, min=0.01, max=1.0, step=0.05,
        help="Model FLOPs utilisation reached in prefill (share of peak compute).")
    gpu_mem_bw_gbs: float = knob(3350.0, unit="GB/s", min=1.0, max=100_000.0, step=50.0,
        help="Memory bandwidth of one replica (H100 SXM: 3350); decode reads the weights and "
             "the KV cache through it.")
    gpu_mem_gb: float = knob(80.0, unit="GB", min=1.0, max=100_000.0, step=8.0,
        help="Accelerator memory of one replica; what the weights leave is KV cache.")
    kv_bytes_per_token: int = knob(131_072, unit="bytes", min=1, max=100_000_000,
        help="KV-cache bytes per token: 2 x layers x KV heads x head dim x bytes "
             "(Llama-3-8B bf16: 131072).")
    prefill_ms_per_1k: float | None = knob(None, unit="ms", min=0.0, off=Off(0.0, "derive"),
        step=5.0,
        help="Explicit prefill time per 1,000 prompt tokens (0 = 2 x params x tokens / "
             "(llm.gpu_tflops x llm.mfu)).")
    decode_step_ms: float | None = knob(None, unit="ms", min=0.0, off=Off(0.0, "derive"),
        step=1.0,
        help="Explicit time of one decode iteration before its KV read (0 = weights / "
             "bandwidth); the KV read of the running sequences is added either way.")
    kv_capacity_tokens: int | None = knob(None, unit="tokens", min=0, max=100_000_000,
        off=Off(0, "derive"),
        help="KV-cache capacity of one replica in tokens (0 = (llm.gpu_mem_gb - weights) / "
             "llm.kv_bytes_per_token).")
    max_batch_seqs: int = knob(256, unit="seqs", min=1, max=4096,
        help="Most sequences one replica runs at once.")
    max_prefill_tokens: int = knob(8192, unit="tokens", min=1, max=10_000_000, step=512,
        help="Most tokens one prefill iteration computes (vLLM's max_num_batched_tokens); "
             "a longer prompt is prefilled alone.")
    scheduler: str = knob("continuous", choices=("continuous", "static"),
        help="continuous: new sequences join between iterations (Orca, vLLM); static: a batch "
             "runs until its longest sequence finishes before another starts.")
    kv_admission: str = knob("reserve", choices=("reserve", "paged"),
        help="reserve: a sequence starts only when prompt + output tokens fit in the KV "
             "cache; paged: memory is taken token by token and the newest sequence is "
             "preempted (recomputed later) when it runs out, as vLLM does.")
    prefix_cache: bool = knob(False,
        help="Keep the shared prompt prefix's KV cache on each replica, so its prefill is "
             "skipped after the first time (vLLM automatic prefix caching).")
    chunked_prefill_tokens: int = knob(0, unit="tokens", min=0, max=65_536, off="0 = off",
        step=256,
        help="Chunked prefill (Sarathi-Serve): a replica already decoding prefills new prompts "
             "this many tokens per iteration, mixed into its decode iterations, instead of "
             "stopping them for a whole prefill (0 = off).")
    # -- semantic cache in front of the model (labkit.sim.semcache) --------------------
    semantic_cache: bool = knob(False,
        help="Token mode: a semantic cache in front of the model answers a request from a "
             "stored answer to a similar earlier prompt (similarity >= "
             "llm.semantic_threshold); a false hit serves a wrong answer.")
    semantic_threshold: float = knob(0.9, min=0.5, max=1.0, step=0.01,
        help="Similarity (0.5-1) a stored prompt needs to be served: lower hits more often "
             "and serves more wrong answers.")
    semantic_paraphrase_share: float = knob(0.3, min=0.0, max=1.0, step=0.05,
        help="Share of requests that rephrase an earlier prompt whose answer is stored (the "
             "hits that are right).")
    semantic_lookup_ms: float = knob(5.0, unit="ms", min=0.0, max=1000.0, step=1.0,
        help="Time of one semantic-cache lookup (embed the prompt, search the store); paid "
             "by hits and misses alike.")


@dataclass(frozen=True, kw_only=True)
class RouterConfig(Config, group="router"):
    """Token mode: routing between a small and a large model, or a cascade (labkit.sim.router)."""

    policy: str = knob("off", choices=("off", "large", "small", "classifier", "cascade"),
        help="Token mode: off (one model, as configured), large (every request to the "
             "configured model), small (every request to the small model), classifier (a "
             "classifier sends a share to the small model) or cascade (the small model "
             "answers first; a judge escalates weak answers to the large model).")
    small_params_ratio: float = knob(0.125, min=0.01, max=1.0, step=0.025,
        help="Size of the small model as a share of llm.params_b (0.125: 1B beside 8B); its "
             "prefill and weight reads scale with it, on the same kind of GPU.")
    small_kv_ratio: float = knob(0.25, min=0.01, max=1.0, step=0.05,
        help="KV-cache bytes per token of the small model as a share of "
             "llm.kv_bytes_per_token.")
    small_replicas: int = knob(1, unit="replicas", min=1, max=64,
        help="Replicas of the small model (each costs model.cost_per_replica_hour).")
    small_quality: float = knob(0.6, min=0.0, max=1.0, step=0.01,
        help="Probability that a small-model answer is good (model.quality is the large "
             "model's).")
    small_cost_per_1m_input_tokens: float = knob(0.1, unit="$", min=0.0, max=1000.0, step=0.05,
        help="Price of one million prompt tokens on the small model.")
    small_cost_per_1m_output_tokens: float = knob(0.3, unit="$", min=0.0, max=1000.0,
        step=0.05, help="Price of one million output tokens on the small model.")
    classifier_share: float = knob(0.5, min=0.0, max=1.0, step=0.05,
        help="Classifier policy: share of requests sent to the small model.")
    classifier_accuracy: float = knob(0.8, min=0.0, max=1.0, step=0.05,
        help="Classifier policy: how well it picks the requests the small model answers "
             "well (0 = at random, 1 = exactly the easiest).")
    judge_recall: float = knob(0.8, min=0.0, max=1.0, step=0.05,
        help="Cascade policy: probability that the judge escalates a weak small-model "
             "answer.")
    judge_false_alarm: float = knob(0.1, min=0.0, max=1.0, step=0.05,
        help="Cascade policy: probability that the judge escalates a good small-model "
             "answer anyway.")


@dataclass(frozen=True, kw_only=True)
class AutoscaleConfig(Config, group="autoscale"):
    """The autoscaler (Kubernetes HPA rule) and cold starts."""

    enabled: bool = knob(False,
        help="Add and remove replicas to hold a target utilisation (Kubernetes HPA rule).")
    min_replicas: int = knob(1, unit="replicas", min=1, max=1000,
        help="Fewest replicas the autoscaler keeps.")
    max_replicas: int = knob(20, unit="replicas", min=1, max=1000,
        help="Most replicas the autoscaler may start.")
    target_utilization: float = knob(0.6, min=0.05, max=1.0, step=0.05,
        help="Busy share of replica time the autoscaler aims for.")
    interval_s: float = knob(15.0, unit="s", min=1.0, help="How often the autoscaler decides.")
    cold_start_s: float = knob(30.0, unit="s", min=0.0,
        help="Time from starting a replica to it serving (it costs money from the start).")


@dataclass(frozen=True, kw_only=True)
class FaultConfig(Config, group="fault"):
    """Injected faults of the primary: an outage, a slowdown and a lost replica."""

    mode: str = knob("hang", choices=("hang", "error"),
        help="How the primary fails during an outage: hang (no progress; clients see "
             "timeouts) or error (calls fail fast).")
    outage_start_s: float = knob(0.0, unit="s", min=0.0,
        help="When the primary model's outage starts.")
    outage_duration_s: float = knob(0.0, unit="s", min=0.0, off="0 = no outage",
        help="How long the outage lasts.")
    slowdown_start_s: float = knob(0.0, unit="s", min=0.0,
        help="When the primary starts to slow down.")
    slowdown_duration_s: float = knob(0.0, unit="s", min=0.0, off="0 = no slowdown",
        help="How long the slowdown lasts.")
    slowdown_factor: float = knob(3.0, unit="x", min=1.0, max=100.0, step=0.5,
        help="How many times slower the primary is during the slowdown.")
    error_rate: float = knob(0.0, min=0.0, max=1.0, step=0.01,
        help="Extra failure probability of a model call during the slowdown window.")
    replica_lost_at_s: float | None = knob(None, unit="s", min=-1.0, off=Off(-1.0, "never"),
        help="One primary replica crashes at this time and does not come back (the "
             "autoscaler may start others); its calls start again elsewhere and, in stateful "
             "mode, its sessions move or are lost (model.session_moves).")

    def _check(self) -> None:
        _time_or_never("fault.replica_lost_at_s", self.replica_lost_at_s)


@dataclass(frozen=True, kw_only=True)
class RetryConfig(Config, group="retry"):
    """Timeouts and retries: backoff, jitter, budget, adaptive throttling."""

    max_attempts: int = knob(1, unit="attempts", min=1, max=20, off="1 = no retries",
        help="Most attempts per request at the primary model.")
    timeout_ms: float | None = knob(None, unit="ms", min=0.0, off=Off(0.0, "none"), step=50.0,
        help="Per-attempt timeout.")
    backoff: str = knob("exponential", choices=("none", "constant", "exponential"),
        help="Wait between attempts: none, constant (retry.base_ms) or exponential (base x "
             "2^n, capped).")
    base_ms: float = knob(50.0, unit="ms", min=0.0, help="Backoff base.")
    cap_ms: float = knob(2000.0, unit="ms", min=0.0, help="Longest backoff.")
    jitter: str = knob("full", choices=("none", "full", "equal", "decorrelated"),
        help="Randomisation of the backoff (AWS analysis): none, full, equal or "
             "decorrelated.")
    budget_ratio: float | None = knob(None, min=0.0, max=10.0, off=Off(0.0, "unlimited"),
        step=0.05,
        help="Retries allowed as a share of recent requests (Google SRE retry budget).")
    budget_window_s: float = knob(10.0, unit="s", min=1.0,
        help="Window over which the retry budget counts.")
    on: tuple[str, ...] = knob(("timeout", "error", "throttled"),
        choices=("timeout", "error", "throttled"), help="Which failures are retried.")
    adaptive_throttle: bool = knob(False,
        help="Client-side adaptive throttling (SRE book): reject locally with probability "
             "max(0, (requests - K x accepts) / (requests + 1)).")
    throttle_k: float = knob(2.0, min=1.0, max=10.0, step=0.1,
        help="Adaptive throttling multiplier K.")
    throttle_window_s: float = knob(120.0, unit="s", min=1.0, help="Adaptive throttling window.")


@dataclass(frozen=True, kw_only=True)
class BreakerConfig(Config, group="breaker"):
    """The circuit breaker in front of the primary model."""

    enabled: bool = knob(False, help="Circuit breaker in front of the primary model.")
    failure_rate: float = knob(0.5, min=0.01, max=1.0, step=0.05,
        help="Failure share in the window that opens the breaker.")
    min_calls: int = knob(20, unit="calls", min=1,
        help="Fewest calls in the window before the breaker may open.")
    window_s: float = knob(10.0, unit="s", min=0.1,
        help="Window over which failures are counted.")
    open_s: float = knob(5.0, unit="s", min=0.1,
        help="How long the breaker stays open before it probes.")
    half_open_calls: int = knob(5, unit="calls", min=1,
        help="Probe calls allowed while half-open; all must succeed to close.")


@dataclass(frozen=True, kw_only=True)
class FallbackConfig(Config, group="fallback"):
    """The fallback chain tried when the primary cannot answer."""

    chain: tuple[str, ...] = knob((), live=True,
        choices=("small_model", "stale_cache", "safe_message"),
        help="Ordered fallbacks tried when the primary cannot answer; the first that can "
             "answer does (empty = the request fails). stale_cache serves an expired cached "
             "answer, so it answers only when cache.ttl_s is set.")
    small_model_ms: float = knob(25.0, unit="ms", min=0.1,
        help="Mean service time of the small model.")
    small_model_replicas: int = knob(2, unit="replicas", min=1,
        help="Replicas of the small model.")
    small_model_quality: float = knob(0.6, min=0.0, max=1.0, step=0.01,
        help="Quality score of a small-model answer.")
    small_model_cost_per_call: float = knob(0.0004, unit="$", min=0.0,
        help="Cost of one small-model call.")
    stale_quality: float = knob(0.5, min=0.0, max=1.0, step=0.01,
        help="Quality score of an expired cached answer served as a fallback.")


@dataclass(frozen=True, kw_only=True)
class KillConfig(Config, group="kill"):
    """The kill switch that takes the primary model out of service."""

    at_s: float | None = knob(None, unit="s", min=-1.0, off=Off(-1.0, "never"),
        help="The kill switch: from this time the primary gets no calls and traffic takes "
             "the fallback path.")

    def _check(self) -> None:
        _time_or_never("kill.at_s", self.at_s)


@dataclass(frozen=True, kw_only=True)
class BoundaryConfig(Config, group="boundary"):
    """The boundary on write actions: direct or human approval."""

    policy: str = knob("none", choices=("none", "approval"),
        help="What happens to a write the model proposes: none (executed directly) or "
             "approval (a logged human review approves or refuses it).")
    wrong_write_rate: float = knob(0.08, min=0.0, max=1.0, step=0.01,
        help="Share of model-proposed writes that should not happen (wrong or unauthorised).")
    reviewers: int = knob(1, unit="people", min=1, max=1000,
        help="Human reviewers working the approval queue.")
    review_s: float = knob(20.0, unit="s", min=0.1,
        help="Mean time a reviewer needs for one write.")


@dataclass(frozen=True, kw_only=True)
class GuardrailConfig(Config, group="guardrail"):
    """The guardrail that blocks harmful answers."""

    enabled: bool = knob(False,
        help="Score every model answer for harm and replace answers at or above the "
             "threshold with a safe message.")
    threshold: float = knob(0.7, min=0.0, max=1.0, step=0.01,
        help="Harm score at or above which the guardrail blocks an answer (lower blocks "
             "more, including harmless answers).")
    harmful_rate: float = knob(0.01, min=0.0, max=1.0, step=0.005,
        help="Share of raw model answers that are harmful.")


@dataclass(frozen=True, kw_only=True)
class AuditConfig(Config, group="audit"):
    """The audit log written with every answer."""

    enabled: bool = knob(True,
        help="Log the data snapshot, model version and guardrail threshold with every answer "
             "(without it, the audit trail cannot explain a decision).")


@dataclass(frozen=True, kw_only=True)
class BudgetConfig(Config, group="budget"):
    """The budgets a run is judged against."""

    p95_ms: float | None = knob(1000.0, unit="ms", min=0.0, off=Off(0.0, "not judged"),
        help="Latency budget: 95th percentile of answered requests.")
    p99_ms: float | None = knob(2000.0, unit="ms", min=0.0, off=Off(0.0, "not judged"),
        help="Latency budget: 99th percentile.")
    cost_per_1k: float | None = knob(5.0, unit="$", min=0.0, off=Off(0.0, "not judged"),
        help="Cost budget per 1,000 requests.")
    success_rate: float | None = knob(0.99, min=0.0, max=1.0, off=Off(0.0, "not judged"),
        step=0.005, help="Reliability budget: share of requests answered (ok or degraded).")
    quality: float | None = knob(None, min=0.0, max=1.0, off=Off(0.0, "not judged"), step=0.01,
        help="Quality floor: mean quality of answered requests.")
    ttft_p95_ms: float | None = knob(None, unit="ms", min=0.0, off=Off(0.0, "not judged"),
        step=50.0, help="Token mode: 95th percentile of time to first token.")
    tpot_p95_ms: float | None = knob(None, unit="ms", min=0.0, off=Off(0.0, "not judged"),
        step=5.0, help="Token mode: 95th percentile of time per output token.")



# ------------------------------------------------------------------ agent mode (issue 17)
@dataclass(frozen=True, kw_only=True)
class AgentConfig(Config, group="agent"):
    """Agent workflows: each arrival is a task that runs a loop of model and tool calls."""

    enabled: bool = knob(False,
        help="Agent mode: each arrival is a task (a user goal) that loops over steps, each one "
             "model call through the serving path and usually one tool call, until it is done, "
             "stopped by a cap or budget, blocked or failed.")
    steps_dist: str = knob("geometric", choices=("geometric", "fixed"),
        help="How many productive steps a task needs: geometric with mean agent.steps_mean, or "
             "exactly agent.steps_mean (rounded).")
    steps_mean: float = knob(4.0, unit="steps", min=1.0, max=50.0, step=0.5,
        help="Mean number of productive steps a task needs to reach its goal.")
    max_steps: int = knob(10, unit="steps", min=1, max=100,
        help="Step cap: a task that has not finished after this many steps gives up.")
    loop_rate: float = knob(0.1, min=0.0, max=0.95, step=0.05,
        help="Probability that a step makes no progress (the agent loops or repeats itself).")
    tool_call_rate: float = knob(0.9, min=0.0, max=1.0, step=0.05,
        help="Probability that a step calls a tool after its model call.")
    write_share: float = knob(0.1, min=0.0, max=1.0, step=0.05,
        help="Share of tool calls that are writes (act on the world, such as issuing a refund) "
             "rather than reads (look up a policy or an order).")
    read_tool_s: float = knob(0.2, unit="s", min=0.0, max=60.0, step=0.05,
        help="Latency of one read tool call.")
    read_tool_error_rate: float = knob(0.02, min=0.0, max=1.0, step=0.01,
        help="Probability that a read tool call fails (the step then makes no progress).")
    read_tool_cost: float = knob(0.0005, unit="$", min=0.0, max=10.0,
        help="Cost of one read tool call.")
    write_tool_s: float = knob(0.5, unit="s", min=0.0, max=60.0, step=0.05,
        help="Latency of one write tool call (after any approval).")
    write_tool_error_rate: float = knob(0.01, min=0.0, max=1.0, step=0.01,
        help="Probability that a write fails; a write is atomic, so a failed one changes "
             "nothing and the step makes no progress.")
    write_tool_cost: float = knob(0.001, unit="$", min=0.0, max=10.0,
        help="Cost of one write tool call.")
    write_policy: str = knob("approve", choices=("allow", "approve", "deny"),
        help="What happens to the agent's write tools: allow (run at once), approve (each "
             "write waits for a human on the boundary.* review queue, who refuses a share "
             "boundary.wrong_write_rate) or deny (refused: the task is blocked).")
    permission_policy: bool = knob(True,
        help="Enforce the agent's permissions outside the model: an action outside them (one "
             "an injected instruction asks for) is blocked; off, it is executed (unsafe).")
    injection_rate: float = knob(0.0, min=0.0, max=1.0, step=0.01,
        help="Share of read tool results (retrieved or tool text) that carry injected "
             "instructions.")
    guard_recall: float = knob(0.0, min=0.0, max=1.0, step=0.05, off="0 = no guard",
        help="Share of injected instructions a prompt-injection guard catches and strips "
             "before the model sees them.")
    budget_usd: float | None = knob(None, unit="$", min=0.0, max=100.0,
        off=Off(0.0, "no budget"), step=0.01,
        help="Cost budget per task (model and tool calls): the task gives up at the next step "
             "once it has spent this much.")
    budget_s: float | None = knob(None, unit="s", min=0.0, max=1000.0,
        off=Off(0.0, "no budget"), step=5.0,
        help="Time budget per task: the task gives up at the next step (or before a write) "
             "once this long has passed since it started.")
    prompt_version: str = knob("p1", choices=("p1", "p2", "p3"),
        help="Version of the agent's system prompt (recorded in the audit trail of every "
             "step).")
