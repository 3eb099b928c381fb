"""The timed assessment's item bank: choice items in pools, numeric items with parameter lists.

Every item belongs to one **block** of the course: ``architecture`` (system architecture
and inference patterns, lab 1), ``scaling`` (scaling, cost and reliability, lab 2),
``governance`` (evaluation, monitoring and governance, lab 3) and ``llm`` (serving language
models and running agents safely, lab 4).  A *slot* of the paper is filled,
per learner and sitting, by one item of its pool; choice options are shown in a per-learner
order, so a letter copied from a neighbour is right only by chance.

Choice items are written to the item-writing rules the labs follow: one clearly best answer,
options parallel in form and close in length (the longest at most twice the shortest; the key
not systematically the longest), distractors drawn from real misconceptions (jitter or a retry
budget mistaken for a breaker, recall mistaken for precision, data drift for concept drift, a
system prompt mistaken for a permission, a lower similarity threshold for a free win).
``tests/labs/test_assessment.py`` checks the length rules over the whole bank.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["BLOCKS", "ChoiceItem", "NumericItem", "CHOICE_POOLS", "NUMERIC_ITEMS"]

#: block -> what it covers (the course page's three blocks, then lab 4's)
BLOCKS = {
    "architecture": "System architecture and inference patterns",
    "scaling": "Scaling, cost and reliability",
    "governance": "Evaluation, monitoring and governance",
    "llm": "Serving language models and running agents safely",
}


@dataclass(frozen=True, kw_only=True)
class ChoiceItem:
    """One multiple-choice item: a stem, the key and three distractors (texts, unlettered)."""

    item_id: str
    block: str
    stem: str
    key: str
    distractors: tuple[str, str, str]
    why: str          # the explanation shown only with --reveal feedback

    def __post_init__(self) -> None:
        if self.block not in BLOCKS:
            raise ValueError(f"item {self.item_id}: block must be one of {sorted(BLOCKS)}, "
                             f"got {self.block!r}")
        texts = (self.key, *self.distractors)
        if len(set(texts)) != 4:
            raise ValueError(f"item {self.item_id}: the four options must differ")


@dataclass(frozen=True, kw_only=True)
class NumericItem:
    """One numeric item: a stem with ``{placeholders}`` filled from the learner's parameters."""

    item_id: str
    block: str
    stem: str
    unit: str
    params: Mapping[str, Sequence[Any]]
    answer: Callable[[Mapping[str, Any]], float]
    tolerance: Callable[[float], float]
    minimum: float = 0.0
    maximum: float | None = None
    why: str = ""
    derived: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None

    def numbers(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters and the values derived from them, as the stem shows them."""
        return {**params, **(self.derived(params) if self.derived else {})}

    def text(self, params: Mapping[str, Any]) -> str:
        return self.stem.format(**self.numbers(params))


CHOICE_POOLS: dict[str, tuple[ChoiceItem, ...]] = {
    "m1": (
        ChoiceItem(
            item_id="m1a", block="architecture",
            stem="A churn score is needed for every customer each morning, for a report read at "
                 "nine. Which inference pattern fits best?",
            key="A scheduled batch job that scores the whole customer table overnight.",
            distractors=("An online API scoring each customer when their page is first opened.",
                         "A streaming job scoring every click event the moment it arrives.",
                         "An agent deciding per customer whether a new score is worth computing."),
            why="The questions are known in advance and an answer some hours old is acceptable, "
                "so precomputing in batch is cheapest and simplest."),
        ChoiceItem(
            item_id="m1b", block="architecture",
            stem="A team adds retrieval over its policy documents to an assistant. Which part of "
                 "the system now needs its own freshness check?",
            key="The document index, whose content ages between two rebuilds.",
            distractors=("The model weights, which retrieval updates on every query.",
                         "The load balancer, since retrieval doubles the request rate.",
                         "The tokenizer, whose vocabulary grows with each new document."),
            why="Retrieval answers from an index built at some point in time; a policy changed "
                "after the last rebuild is served stale until the next one."),
    ),
    "m2": (
        ChoiceItem(
            item_id="m2a", block="architecture",
            stem="Why does an AI feature in production usually sit inside an orchestration "
                 "layer rather than call the model directly?",
            key="To run retrieval, model calls, checks and fallbacks in order.",
            distractors=("To retrain the model on every request so that its answers stay fresh.",
                         "To hold the model weights in faster memory than the server would.",
                         "To replace monitoring, since an orchestrated model cannot fail silently."),
            why="Orchestration is the control flow around the model: what runs in which order, "
                "what is checked, and what happens when a step fails."),
        ChoiceItem(
            item_id="m2b", block="architecture",
            stem="An assistant may explain the refund policy but must never issue a refund on "
                 "its own. Where is that rule enforced reliably?",
            key="In an approval step that holds each write until a person signs it.",
            distractors=("In the system prompt, which tells the model never to issue refunds.",
                         "In the response cache, which never stores answers about refunds.",
                         "In the load balancer, which sends refund questions to fewer replicas."),
            why="A prompt is a request to the model, not a control; an approval boundary in "
                "front of write actions holds whatever the model generates."),
    ),
    "m3": (
        ChoiceItem(
            item_id="m3a", block="scaling",
            stem="What does a circuit breaker add to a retry policy?",
            key="It stops calls to a failing dependency for a while, then probes it.",
            distractors=("It spreads the retries over time with random waits between each of them.",
                         "It caps the share of calls that may be retries in any window.",
                         "It retries each failed call at once so no user sees an error."),
            why="Jitter spreads retries and a retry budget caps them; only the breaker stops "
                "calling a dependency that is down and tests it again later."),
        ChoiceItem(
            item_id="m3b", block="scaling",
            stem="Which of these is graceful degradation?",
            key="Serving a planned, simpler answer when one part of the system fails.",
            distractors=("Returning an error at once so that the caller can quickly try elsewhere.",
                         "Letting the model's accuracy decline slowly as the data ages.",
                         "Removing replicas one at a time as traffic falls in the night."),
            why="Degradation is designed in advance: a cheaper model, a cached answer or a safe "
                "message instead of nothing."),
    ),
    "m4": (
        ChoiceItem(
            item_id="m4a", block="scaling",
            stem="Replicas of a model server keep no per-user state. What does that allow?",
            key="Adding replicas and sending any request to any one of them.",
            distractors=("Moving each user's session to a bigger machine as it grows.",
                         "Skipping the queue, since a stateless request never waits.",
                         "Dropping the cache, since every replica holds every answer."),
            why="Without per-user state, capacity grows by adding identical replicas behind a "
                "load balancer (scaling out)."),
        ChoiceItem(
            item_id="m4b", block="scaling",
            stem="Which change usually lowers cost per request before any compute is added?",
            key="Caching repeated requests and batching the remaining ones.",
            distractors=("Raising the timeout so that fewer requests end in failure.",
                         "Adding retries so that fewer answers are lost to errors.",
                         "Moving to one larger machine that answers more quickly."),
            why="A cache hit skips the model call and a batch shares one pass among several "
                "requests; both cut the work per request."),
    ),
    "m5": (
        ChoiceItem(
            item_id="m5a", block="governance",
            stem="A fraud model's alert fired 40 times last month. What does the alert's "
                 "precision measure?",
            key="Of the alerts that fired, the share that were real fraud.",
            distractors=("Of the real fraud cases, the share that raised an alert.",
                         "How soon after fraud begins the first of the alerts is raised.",
                         "How many alerts fire each week when nothing is wrong."),
            why="Precision looks at what was flagged; recall looks at what there was to catch."),
        ChoiceItem(
            item_id="m5b", block="governance",
            stem="Which of these describes concept drift rather than data drift?",
            key="The link between the inputs and the right answer has changed.",
            distractors=("The inputs have moved away from those the model was trained on.",
                         "The model's code changed when a new version was deployed.",
                         "The labels now arrive weeks after the predictions they grade."),
            why="Data drift is about the inputs; concept drift is about what the inputs mean for "
                "the target, which input monitors alone cannot see."),
    ),
    "m6": (
        ChoiceItem(
            item_id="m6a", block="governance",
            stem="A deployed model starts giving harmful answers to some users. What comes "
                 "first?",
            key="Contain it with a fallback or the kill switch, then investigate.",
            distractors=("Retrain it on fresh data before anything else in production is changed.",
                         "Gather a month of logs so the root cause can be proven.",
                         "Raise the alert threshold so that on-call is not paged again."),
            why="Triage and containment come first; diagnosis and fixes follow once users are "
                "protected."),
        ChoiceItem(
            item_id="m6b", block="governance",
            stem="Why keep an audit trail of an AI system's decisions and actions?",
            key="To reconstruct what decided, with which version, when and for whom.",
            distractors=("To make the model faster by reusing the answers it gave before.",
                         "To retrain the next version on every past decision automatically.",
                         "To hide the model's reasoning from users who might game it."),
            why="Accountability and incident review need a record of who or what acted, with "
                "which model and prompt version, and on what."),
    ),
    "m7": (
        ChoiceItem(
            item_id="m7a", block="llm",
            stem="A chat assistant streams its answers. Users say answers are slow to start, "
                 "though once started they flow quickly. Which number should the team budget?",
            key="Time to first token, set by queueing and the prompt's prefill.",
            distractors=("Time per output token, set by how fast each decode step runs.",
                         "Tokens per minute, set by the quota agreed with the provider.",
                         "Mean latency of whole answers, averaged over all requests."),
            why="The wait before the first token is queueing plus prefill; time per output "
                "token describes the flow after it, which users already find fast."),
        ChoiceItem(
            item_id="m7b", block="llm",
            stem="Answer lengths vary a lot. Why does continuous batching get more tokens per "
                 "second out of a replica than static batching?",
            key="New sequences join as others finish, so no slot sits idle.",
            distractors=("It runs each prompt twice and keeps the answer that ends first.",
                         "It cuts every answer to the length of the batch's shortest one.",
                         "It moves the KV cache to the CPU so that more prompts fit in."),
            why="A static batch waits for its longest answer while finished slots idle; "
                "continuous batching admits waiting sequences at every iteration."),
        ChoiceItem(
            item_id="m7c", block="llm",
            stem="A semantic cache reuses a stored answer when a new question is similar "
                 "enough to an old one. What does lowering its similarity threshold trade?",
            key="More hits, but more users get the answer to another question.",
            distractors=("Fewer hits, but every answer it returns is exactly right.",
                         "A shorter prompt per request, since the prefix is reused.",
                         "A lower time per output token, since cached answers decode faster."),
            why="A looser match serves more requests from the cache, and some of the matched "
                "questions were different enough that the stored answer is wrong for them."),
        ChoiceItem(
            item_id="m7d", block="llm",
            stem="A cascade sends each question to a small model first and escalates to a "
                 "large model when a judge rates the answer weak. When does it save money?",
            key="When most questions are easy enough for the small model to pass.",
            distractors=("When the judge escalates almost every answer to the large model.",
                         "When the large model costs less per token than the small one.",
                         "When each question is sent to both models and the best one wins."),
            why="Every escalated question pays for both models; the cascade is cheaper only "
                "when escalations are rare enough."),
        ChoiceItem(
            item_id="m7e", block="llm",
            stem="The provider allows 600,000 tokens per minute and refuses calls beyond it. "
                 "Which change lets more requests through the same quota?",
            key="Shorter prompts, such as fewer retrieved passages per request.",
            distractors=("More replicas on the team's own side of the provider's quota.",
                         "Retrying each refused call at once, before the window moves on.",
                         "A higher price per token, paid to the provider for the same plan."),
            why="The quota counts tokens, so fewer tokens per request means more requests per "
                "minute; replicas and instant retries do not change what is counted."),
        ChoiceItem(
            item_id="m7f", block="llm",
            stem="Every request to an assistant starts with the same 400-token system "
                 "prompt. What does prefix caching on the replicas save?",
            key="The prefill of the shared tokens, so the first token comes sooner.",
            distractors=("The decode of each answer, since stored answers stream at once.",
                         "The output tokens, since the model reuses its earlier answers.",
                         "The provider's bill for every answer given in the last hour."),
            why="The shared prefix's keys and values are computed once and kept, so each "
                "prefill skips those tokens; the answer is still decoded token by token."),
    ),
    "m8": (
        ChoiceItem(
            item_id="m8a", block="llm",
            stem="An agent loops over model calls and tool calls until it decides its task is "
                 "done. Why give every task a step cap and a cost budget?",
            key="So a task that never converges stops at a bounded cost.",
            distractors=("So the model writes a shorter answer at each of its steps.",
                         "So tasks that need many steps always finish sooner.",
                         "So later steps may skip the tools' permission checks."),
            why="An agent can loop without making progress; the cap and the budget bound the "
                "worst case, and the task gives up instead of running on."),
        ChoiceItem(
            item_id="m8b", block="llm",
            stem="A support agent can look orders up (a read tool) and issue refunds (a write "
                 "tool). Where does a person's approval belong?",
            key="Before each refund; look-ups change nothing and can run alone.",
            distractors=("Before each look-up, since reading an order is the risky step.",
                         "After the task, on a sample of the agent's final answers.",
                         "Nowhere, if the system prompt caps the size of any refund."),
            why="A write changes the world and cannot always be undone, so it waits for a "
                "person; gating reads only slows the agent, and a prompt is not a control."),
        ChoiceItem(
            item_id="m8c", block="llm",
            stem="A web page the agent reads hides text telling it to refund every order, and "
                 "the injection guard misses it. What still stops the refunds?",
            key="A permission policy that gives this task's tools no write access.",
            distractors=("A longer system prompt asking the model to ignore such text.",
                         "The step cap, since the refunds come only after it is reached.",
                         "The response cache, which returns the answer from before it."),
            why="A guard catches only some injections; a policy that grants no writes holds "
                "whatever the model was told, so a hijacked step cannot act."),
    ),
}


def _relative(share: float) -> Callable[[float], float]:
    return lambda expected: abs(expected) * share


def _absolute(amount: float) -> Callable[[float], float]:
    return lambda expected: amount


NUMERIC_ITEMS: dict[str, NumericItem] = {
    "n1": NumericItem(
        item_id="n1", block="architecture",
        stem="A retrieval step holds one of {connections} pooled database connections for "
             "{hold_ms} ms per request, and requests wait for a free connection. What is the "
             "highest request rate the step can sustain?",
        unit="requests per second",
        params={"connections": (8, 12, 16, 20, 24), "hold_ms": (40, 50, 80, 100)},
        answer=lambda p: p["connections"] * 1000.0 / p["hold_ms"],
        tolerance=_relative(0.01),           # rounding to a whole request per second or better
        why="Little's law: in-flight = rate x time, so the rate at which every connection is "
            "busy is connections / hold time."),
    "n2": NumericItem(
        item_id="n2", block="scaling",
        stem="Clients send {rate_rps} requests per second to a dependency that is down. Each "
             "request is tried once and then retried up to {retries} times, with no retry "
             "budget and no breaker. How many attempts per second reach the dependency?",
        unit="attempts per second",
        params={"rate_rps": (20, 30, 50, 80), "retries": (2, 3, 4)},
        answer=lambda p: p["rate_rps"] * (p["retries"] + 1.0),
        tolerance=_absolute(0.5),            # a whole number: half an attempt either way
        why="Every request fails, so each one makes 1 + retries attempts."),
    "n3": NumericItem(
        item_id="n3", block="scaling",
        stem="{replicas} replicas costing ${price_per_hour} per hour each serve a steady "
             "{rate_rps} requests per second. Counting only the replicas, what does serving "
             "1,000 requests cost, in dollars?",
        unit="dollars per 1,000 requests",
        params={"replicas": (4, 6, 8), "price_per_hour": (1.5, 2.5, 4.0),
                "rate_rps": (20, 40, 50)},
        answer=lambda p: p["replicas"] * p["price_per_hour"] / (p["rate_rps"] * 3.6),
        tolerance=lambda expected: max(0.005, 0.01 * expected),   # a cent or 1%
        why="An hour costs replicas x price and serves rate x 3,600 requests; divide and "
            "multiply by 1,000."),
    "n4": NumericItem(
        item_id="n4", block="governance",
        stem="Last quarter a drift alert fired {fired} times; {caught} of those were real "
             "incidents, and {missed} further real incidents raised no alert at all. What is "
             "the alert's recall, as a share between 0 and 1?",
        unit="share", maximum=1.0,
        params={"caught": (12, 18, 24, 30), "false_alarms": (6, 10, 20),
                "missed": (4, 6, 10)},
        answer=lambda p: p["caught"] / (p["caught"] + p["missed"]),
        derived=lambda p: {"fired": p["caught"] + p["false_alarms"]},
        tolerance=_absolute(0.01),
        why="Recall = real incidents alerted / all real incidents; the false alarms only "
            "affect precision."),
    "n5": NumericItem(
        item_id="n5", block="llm",
        stem="After its weights, a replica has {kv_gb} GB of GPU memory for the KV cache, and "
             "every token of context takes {kv_kb} KB of it (1 GB = 1,000,000 KB). Each "
             "request reserves room for its prompt of {prompt} tokens and its answer of up to "
             "{output} tokens when it is admitted. How many requests can run at once?",
        unit="requests",
        params={"kv_gb": (12, 20, 32), "kv_kb": (128, 160, 320),
                "prompt": (1000, 1500, 2000), "output": (400, 800)},
        answer=lambda p: float(math.floor(p["kv_gb"] * 1e6 / p["kv_kb"]
                                          / (p["prompt"] + p["output"]))),
        tolerance=_absolute(0.5),            # a whole number of requests
        why="The cache holds memory / bytes per token tokens; each request reserves prompt + "
            "output of them, so the whole requests that fit are the floor of the quotient."),
}
