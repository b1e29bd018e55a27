"""Scores NLU predictions against labelled messages, on normalized entity values.

Entities are compared as (type, value) pairs per message, not as character spans: what
counts is what the actions receive. Used by the held-out test and the benchmarks.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Sequence, Tuple

ENTITY_TYPES = ("app", "environment", "version", "user")

EntityPairs = Sequence[Tuple[str, str]]


@dataclass(frozen=True)
class Labelled:
    text: str
    intent: str
    entities: EntityPairs


@dataclass(frozen=True)
class Predicted:
    intent: str
    entities: EntityPairs


@dataclass
class Scores:
    messages: int
    intent_accuracy: float
    intent_macro_f1: float
    entity: Dict[str, Dict[str, float]]  # per type and "all": precision, recall, f1, support
    all_correct: float
    errors: List[dict] = field(default_factory=list)


def f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _prf(true_positive: int, predicted: int, gold: int) -> Dict[str, float]:
    precision = true_positive / predicted if predicted else (1.0 if not gold else 0.0)
    recall = true_positive / gold if gold else (1.0 if not predicted else 0.0)
    return {"precision": precision, "recall": recall, "f1": f1(precision, recall), "support": gold}


def score(labelled: Sequence[Labelled], predicted: Sequence[Predicted]) -> Scores:
    if len(labelled) != len(predicted) or not labelled:
        raise ValueError("need one prediction per labelled message, and at least one message")
    intents = sorted({m.intent for m in labelled})
    per_intent = []
    for intent in intents:
        tp = sum(1 for g, p in zip(labelled, predicted) if g.intent == intent and p.intent == intent)
        per_intent.append(_prf(tp, sum(p.intent == intent for p in predicted), sum(g.intent == intent for g in labelled))["f1"])

    counts = {t: Counter() for t in ENTITY_TYPES + ("all",)}
    errors, all_correct = [], 0
    for g, p in zip(labelled, predicted):
        gold, guess = Counter(g.entities), Counter(p.entities)
        hits = gold & guess
        for kind in ENTITY_TYPES:
            counts[kind]["tp"] += sum(n for (t, _), n in hits.items() if t == kind)
            counts[kind]["predicted"] += sum(n for (t, _), n in guess.items() if t == kind)
            counts[kind]["gold"] += sum(n for (t, _), n in gold.items() if t == kind)
        right = g.intent == p.intent and gold == guess
        all_correct += right
        if not right:
            errors.append({"text": g.text, "intent": g.intent, "predicted_intent": p.intent,
                           "entities": sorted(g.entities), "predicted_entities": sorted(p.entities)})
    for kind in ENTITY_TYPES:
        for key in ("tp", "predicted", "gold"):
            counts["all"][key] += counts[kind][key]

    return Scores(
        messages=len(labelled),
        intent_accuracy=sum(g.intent == p.intent for g, p in zip(labelled, predicted)) / len(labelled),
        intent_macro_f1=sum(per_intent) / len(per_intent),
        entity={k: _prf(c["tp"], c["predicted"], c["gold"]) for k, c in counts.items()},
        all_correct=all_correct / len(labelled),
        errors=errors,
    )


def format_scores(scores: Scores) -> str:
    lines = [
        f"messages: {scores.messages}",
        f"intent accuracy: {scores.intent_accuracy:.3f}   macro F1: {scores.intent_macro_f1:.3f}",
        "entity         precision  recall  F1     support",
    ]
    for kind in ENTITY_TYPES + ("all",):
        e = scores.entity[kind]
        lines.append(f"{kind:<14} {e['precision']:.3f}      {e['recall']:.3f}   {e['f1']:.3f}  {e['support']}")
    lines.append(f"intent and every entity right: {scores.all_correct:.3f}")
    return "\n".join(lines)


def labelled_from_rasa(training_examples: Iterable) -> List[Labelled]:
    """Reads Rasa Message objects (from rasa's load_data) into Labelled messages."""
    return [
        Labelled(
            text=m.get("text"),
            intent=m.get("intent"),
            entities=tuple((e["entity"], str(e.get("value", ""))) for e in m.get("entities") or []),
        )
        for m in training_examples
    ]


def predicted_from_parse(parse: dict) -> Predicted:
    """Reads a /model/parse response."""
    return Predicted(
        intent=(parse.get("intent") or {}).get("name"),
        entities=tuple((e["entity"], str(e.get("value", ""))) for e in parse.get("entities") or []),
    )
