"""Chooses the NLU pipeline by stratified k-fold cross-validation on data/nlu only.

Each candidate pipeline is trained (`rasa.model_training.train_nlu`, cache off) on k-1
folds and asked in-process about the held-back fold through the whole pipeline,
including the entity step (components/deploy_entities.py); the project's scorer
(deploybot/language/scoring.py) compares normalized entity values. tests/nlu is never
read here.

    PYTHONPATH=. nice -n 10 .venv/bin/python -m bench.crossval lr svm --folds 5

Writes results/crossval/<candidate>.json (figures per fold and every miss) and prints a
table row per candidate: mean (std) over the folds.
"""
from __future__ import annotations

import argparse
import asyncio
import copy
import json
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Dict, List

import yaml

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["RASA_MAX_CACHE_SIZE"] = "0"  # every fold trains from scratch: honest times

ROOT = Path(__file__).resolve().parents[1]
TRAINING_DATA = ROOT / "data" / "nlu"
OUT = ROOT / "results" / "crossval"
SEED = 42
# Misreading these is harmful: a deployment or a grant the person did not ask for, or
# one they asked for taken as something else.
HARMFUL_GOLD = ("deploy", "grant_permission")

SPACY = [{"name": "SpacyNLP", "model": "build/spacy-en", "case_sensitive": False}, {"name": "SpacyTokenizer"}]
WORDS = {"name": "CountVectorsFeaturizer"}
WORD_BIGRAMS = {"name": "CountVectorsFeaturizer", "min_ngram": 1, "max_ngram": 2}
RAW_WORDS = {"name": "CountVectorsFeaturizer", "use_lemma": False}
WORD_TRIGRAMS = {"name": "CountVectorsFeaturizer", "min_ngram": 1, "max_ngram": 3}
RAW_BIGRAMS = {"name": "CountVectorsFeaturizer", "use_lemma": False, "min_ngram": 1, "max_ngram": 2}
CHARS = {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4}
CHARS_25 = {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 2, "max_ngram": 5}
DIET = {"name": "DIETClassifier", "epochs": 60, "number_of_transformer_layers": 1, "transformer_size": 128,
        "random_seed": SEED, "constrain_similarities": True}
LR = {"name": "LogisticRegressionClassifier", "random_state": SEED}
SVM = {"name": "components.linear_svc.LinearSVCIntentClassifier"}
CRF = {"name": "CRFEntityExtractor"}
TAIL = [{"name": "components.deploy_entities.DeployEntityExtractor"},
        {"name": "FallbackClassifier", "threshold": 0.3, "ambiguity_threshold": 0.1}]


def svm(**options) -> dict:
    return {**SVM, **options}


CANDIDATES: Dict[str, List[dict]] = {
    # today's config.yml
    "diet": SPACY + [{"name": "LexicalSyntacticFeaturizer"}, WORDS, CHARS, DIET] + TAIL,
    # the same features, scikit-learn instead of DIET (LexicalSyntacticFeaturizer gives
    # sequence features only, which these classifiers do not read)
    "lr": SPACY + [WORDS, CHARS, LR, CRF] + TAIL,
    "svm": SPACY + [WORDS, CHARS, svm(), CRF] + TAIL,
    # richer features: word bigrams on lemmas (entity-class lemmas included), the words as written
    "lr-rich": SPACY + [WORD_BIGRAMS, RAW_WORDS, CHARS, LR, CRF] + TAIL,
    "svm-rich": SPACY + [WORD_BIGRAMS, RAW_WORDS, CHARS, svm(), CRF] + TAIL,
    "svm-rich-chars25": SPACY + [WORD_BIGRAMS, RAW_WORDS, CHARS_25, svm(), CRF] + TAIL,
    "svm-rich-C3": SPACY + [WORD_BIGRAMS, RAW_WORDS, CHARS, svm(C=3.0), CRF] + TAIL,
    "svm-rich-C0.5": SPACY + [WORD_BIGRAMS, RAW_WORDS, CHARS, svm(C=0.5), CRF] + TAIL,
    "svm-rich-C2": SPACY + [WORD_BIGRAMS, RAW_WORDS, CHARS, svm(C=2.0), CRF] + TAIL,
    # word trigrams on lemmas ("__user__ can deploy", "access to __app__")
    "svm-rich-trigrams": SPACY + [WORD_TRIGRAMS, RAW_WORDS, CHARS, svm(), CRF] + TAIL,
    # the words as written in bigrams too ("un lock" stays apart from "lock")
    "svm-rich-raw-bigrams": SPACY + [WORD_BIGRAMS, RAW_BIGRAMS, CHARS, svm(), CRF] + TAIL,
    "svm-rich-unnormalized": SPACY + [WORD_BIGRAMS, RAW_WORDS, CHARS, svm(normalize="none"), CRF] + TAIL,
    # no statistical entity extractor: only the rules, the typo matcher and the handle guess
    "svm-rich-nocrf": SPACY + [WORD_BIGRAMS, RAW_WORDS, CHARS, svm()] + TAIL,
    # ensemble: DIET's entities with the SVM's intents
    "svm-rich-diet-entities": SPACY + [{"name": "LexicalSyntacticFeaturizer"}, WORD_BIGRAMS, RAW_WORDS, CHARS, svm(),
                                       {**DIET, "intent_classification": False}] + TAIL,
}


def config_text(pipeline: List[dict]) -> str:
    return yaml.safe_dump({"recipe": "default.v1", "assistant_id": "crossval", "language": "en",
                           "pipeline": copy.deepcopy(pipeline), "policies": []}, sort_keys=False)


def folds(examples, k: int):
    from sklearn.model_selection import StratifiedKFold

    intents = [m.get("intent") for m in examples]
    return list(StratifiedKFold(n_splits=k, shuffle=True, random_state=SEED).split(examples, intents))


def run_candidate(name: str, k: int, work: Path, training_data: Path = TRAINING_DATA, extra: Path = None) -> dict:
    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from deploybot.language.scoring import labelled_from_rasa, predicted_from_parse, score

    examples = load_data(str(training_data)).training_examples
    # Extra data joins every training fold and is never tested on: it is judged by how well
    # the folds of the training data are understood with it.
    extra_examples = load_data(str(extra)).training_examples if extra else []
    config = work / f"{name}.yml"
    config.write_text(config_text(CANDIDATES[name]))
    per_fold, misses = [], []
    for number, (train_index, test_index) in enumerate(folds(examples, k)):
        data = work / f"fold{number}.yml"
        RasaYAMLWriter().dump(data, TrainingData([examples[i] for i in train_index] + extra_examples))
        started = time.monotonic()
        model = train_nlu(str(config), str(data), str(work / "models"), fixed_model_name=f"{name}-{number}")
        seconds = time.monotonic() - started
        agent = Agent.load(model)
        loop = asyncio.new_event_loop()
        labelled = labelled_from_rasa([examples[i] for i in test_index])
        parses = [loop.run_until_complete(agent.parse_message(m.text)) for m in labelled]
        loop.close()
        predicted = [predicted_from_parse(parse) for parse in parses]
        scores = score(labelled, predicted)
        # What the classifier ranked first, before FallbackClassifier: tells calibration from classification.
        ranked = [next((r["name"] for r in parse.get("intent_ranking") or [] if r["name"] != "nlu_fallback"), None)
                  for parse in parses]
        fallbacks = sum(p.intent == "nlu_fallback" for p in predicted)
        harmful = sum(1 for g, p in zip(labelled, predicted) if g.intent in HARMFUL_GOLD and p.intent != g.intent)
        harmful += sum(1 for g, p in zip(labelled, predicted) if p.intent in HARMFUL_GOLD and p.intent != g.intent)
        per_fold.append({"fold": number, "train_seconds": seconds, "intent_accuracy": scores.intent_accuracy,
                         "intent_macro_f1": scores.intent_macro_f1, "entity_f1": scores.entity["all"]["f1"],
                         "all_correct": scores.all_correct, "harmful": harmful, "messages": scores.messages,
                         "fallbacks": fallbacks,
                         "accuracy_before_fallback": sum(g.intent == r for g, r in zip(labelled, ranked)) / len(labelled)})
        misses += [dict(error, fold=number) for error in scores.errors]
        print(f"{name} fold {number}: {per_fold[-1]}", flush=True)
    summary = {key: (statistics.mean(f[key] for f in per_fold), statistics.stdev(f[key] for f in per_fold))
               for key in ("intent_accuracy", "intent_macro_f1", "entity_f1", "all_correct", "train_seconds",
                            "accuracy_before_fallback")}
    summary["harmful"] = sum(f["harmful"] for f in per_fold)
    summary["fallbacks"] = sum(f["fallbacks"] for f in per_fold)
    return {"candidate": name, "folds": k, "seed": SEED, "training_data": str(training_data), "examples": len(examples),
            "extra": str(extra) if extra else None, "extra_examples": len(extra_examples), "pipeline": CANDIDATES[name], "summary": summary,
            "per_fold": per_fold, "misses": misses}


def row(result: dict) -> str:
    s = result["summary"]
    cell = lambda key: f"{s[key][0]:.3f} ({s[key][1]:.3f})"  # noqa: E731
    return (f"| {result['candidate']} | {cell('intent_accuracy')} | {cell('intent_macro_f1')} | {cell('entity_f1')} | "
            f"{cell('all_correct')} | {s['harmful']} | {s['fallbacks']} | {cell('accuracy_before_fallback')} | "
            f"{s['train_seconds'][0]:.1f} |")


HEADER = ("| candidate | intent accuracy | macro F1 | entity F1 | intent and every entity right | "
          "harmful misses (sum) | fallbacks (sum) | accuracy before fallback | training s per fold |\n"
          "|---|---|---|---|---|---|---|---|---|")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("candidates", nargs="*", help=f"default: all of {', '.join(CANDIDATES)}")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--data", type=Path, default=TRAINING_DATA, help="NLU training data (default: data/nlu)")
    parser.add_argument("--extra", type=Path, help="more training data for every training fold, never tested on")
    parser.add_argument("--tag", default="", help="appended to the result file names")
    args = parser.parse_args(argv)
    from rasa.utils.log_utils import configure_structlog

    logging.getLogger().setLevel(logging.WARNING)
    configure_structlog(logging.WARNING)  # no debug line per parsed message
    OUT.mkdir(parents=True, exist_ok=True)
    results = []
    for name in args.candidates or list(CANDIDATES):
        with tempfile.TemporaryDirectory(prefix=f"crossval-{name}-") as work:
            result = run_candidate(name, args.folds, Path(work), args.data, args.extra)
        (OUT / f"{name}{args.tag}.json").write_text(json.dumps(result, indent=2))
        results.append(result)
    print(HEADER)
    for result in results:
        print(row(result))


if __name__ == "__main__":
    main()
