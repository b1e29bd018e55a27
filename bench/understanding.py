"""Understanding on the held-out messages (every tests/nlu/heldout*.yml, never trained on),
for deploybot's model through a running server's /model/parse, and for Rasa's default
pipeline (the config `rasa init` writes) trained on the same data/nlu in the same run.

Both are scored by deploybot.language.scoring on normalized entity values, each set on its
own and all sets together ("all held-out sets").

Runnable alone (starts the local stack, about a minute, plus 8 minutes with --default):

    PYTHONPATH=. .venv/bin/python -m bench.understanding [--default] [--heldout 'tests/nlu/heldout*.yml']
"""
from __future__ import annotations

import argparse
import asyncio
import glob
import logging
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Sequence, Tuple

from deploybot.language.scoring import Labelled, Scores, format_scores, labelled_from_rasa, predicted_from_parse, score

ROOT = Path(__file__).resolve().parents[1]
# Every held-out set, including ones added later (heldout_<something>.yml).
HELDOUT_GLOB = "tests/nlu/heldout*.yml"
ALL_SETS = "all held-out sets"
TRAINING_DATA = ROOT / "data" / "nlu"
# Misreading these does harm: a deployment or a grant taken for something else.
HARMFUL_IF_MISREAD = ("deploy", "grant_permission")


def heldout_sets(pattern: str = HELDOUT_GLOB) -> Dict[str, List[Labelled]]:
    """{file name relative to the repository: its labelled messages}, sorted by name, and
    ALL_SETS: all of them together."""
    from rasa.shared.nlu.training_data.loading import load_data

    paths = sorted(Path(p) for p in glob.glob(str(ROOT / pattern)))
    if not paths:
        raise FileNotFoundError(f"no held-out set matches {pattern}")
    sets = {str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p): labelled_from_rasa(load_data(str(p)).training_examples)
            for p in paths}
    sets[ALL_SETS] = [m for messages in list(sets.values()) for m in messages]
    return sets


def evaluate(parse: Callable[[str], dict], labelled: List[Labelled]) -> Scores:
    """Scores a parse function (text -> a /model/parse-shaped dict) on the labelled messages."""
    return score(labelled, [predicted_from_parse(parse(m.text)) for m in labelled])


def evaluate_sets(parse: Callable[[str], dict], sets: Dict[str, List[Labelled]]) -> Dict[str, Scores]:
    """Scores per set; each message is parsed once, the union reuses the sets' parses."""
    cache: Dict[str, dict] = {}

    def cached(text: str) -> dict:
        if text not in cache:
            cache[text] = parse(text)
        return cache[text]

    return {name: evaluate(cached, labelled) for name, labelled in sets.items()}


def harmful_misreads(scores: Scores) -> List[Tuple[str, str]]:
    """(gold, predicted) intents of every deploy or grant read as something else."""
    return [(e["intent"], e["predicted_intent"]) for e in scores.errors
            if e["intent"] in HARMFUL_IF_MISREAD and e["predicted_intent"] != e["intent"]]


def confusions(scores: Scores) -> Counter:
    """Counter of (gold, predicted) intents over the messages with a wrong intent."""
    return Counter((e["intent"], e["predicted_intent"]) for e in scores.errors if e["intent"] != e["predicted_intent"])


def entity_misses(scores: Scores) -> Counter:
    """Counter of entity types missed or wrong, over the messages whose intent was right."""
    missed = Counter()
    for e in scores.errors:
        if e["intent"] != e["predicted_intent"]:
            continue
        gold, guess = Counter(map(tuple, e["entities"])), Counter(map(tuple, e["predicted_entities"]))
        for kind, _ in (gold - guess) + (guess - gold):
            missed[kind] += 1
    return missed


@dataclass
class DefaultPipeline:
    config: str             # the config file as `rasa init` writes it
    components: List[str]   # the pipeline Rasa filled in for it
    training_seconds: float
    model: Path


def rasa_init_config() -> str:
    """The config.yml of `rasa init`, from the installed rasa package."""
    import rasa

    return (Path(rasa.__file__).parent / "cli" / "initial_project" / "config.yml").read_text()


def train_default_pipeline(work_dir: Path) -> DefaultPipeline:
    """`rasa train nlu` with the `rasa init` config on data/nlu, into work_dir."""
    config = rasa_init_config()
    config_path = work_dir / "config.yml"
    config_path.write_text(config)
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "rasa", "train", "nlu", "--config", str(config_path), "--nlu", str(TRAINING_DATA),
                    "--out", str(work_dir / "models"), "--fixed-model-name", "default"],
                   cwd=work_dir, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.monotonic() - started
    return DefaultPipeline(config, filled_in_pipeline(config_path), seconds, work_dir / "models" / "default.tar.gz")


def filled_in_pipeline(config_path: Path) -> List[str]:
    """The components Rasa uses for a config without a pipeline (its default suggestion)."""
    from rasa.engine.recipes.default_recipe import DefaultV1Recipe
    from rasa.shared.data import TrainingType
    from rasa.shared.utils.io import read_config_file

    config, _, _ = DefaultV1Recipe.auto_configure(str(config_path), read_config_file(str(config_path)), TrainingType.NLU)
    pipeline = config["pipeline"]
    return [describe(component) for component in pipeline]


def describe(component: dict) -> str:
    options = ", ".join(f"{k}: {v}" for k, v in component.items() if k != "name")
    return f"{component['name']} ({options})" if options else component["name"]


def parse_with_model(model: Path) -> Callable[[str], dict]:
    """An in-process parse function for an NLU model archive (rasa.core.agent)."""
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # no debug line per parsed message
    loop = asyncio.new_event_loop()
    agent = Agent.load(str(model))
    return lambda text: loop.run_until_complete(agent.parse_message(text))


def evaluate_default_pipeline(work_dir: Path, sets: Dict[str, List[Labelled]]):
    """(DefaultPipeline, {set: Scores}): trains Rasa's default pipeline and scores it on every set."""
    trained = train_default_pipeline(work_dir)
    return trained, evaluate_sets(parse_with_model(trained.model), sets)


def describe_scores(name: str, scores: Scores) -> str:
    harmful = harmful_misreads(scores)
    return (f"{name}\n{format_scores(scores)}\ndeploy or grant read as something else: {len(harmful)}"
            + "".join(f"\n  {gold} -> {predicted}" for gold, predicted in harmful))


def main(argv: Sequence[str] = None) -> int:
    """The understanding part of `make bench` alone: the stack's Marvin on every held-out set."""
    from tests.support import start_stack, stop_stack

    parser = argparse.ArgumentParser(description="held-out understanding through a running Marvin")
    parser.add_argument("--heldout", default=HELDOUT_GLOB, help=f"glob of the labelled sets (default: {HELDOUT_GLOB})")
    parser.add_argument("--default", action="store_true", help="also train and score Rasa's default pipeline (8 minutes)")
    args = parser.parse_args(argv)
    sets = heldout_sets(args.heldout)
    with tempfile.TemporaryDirectory(prefix="bench-understanding-") as work:
        stack = start_stack(Path(work) / "var", {})
        try:
            ours = evaluate_sets(stack.bots["marvin"].parse, sets)
        finally:
            stop_stack(stack)
        for name, scores in ours.items():
            print(describe_scores(f"deploybot on {name}", scores) + "\n")
        if args.default:
            (Path(work) / "default").mkdir()
            _, theirs = evaluate_default_pipeline(Path(work) / "default", sets)
            for name, scores in theirs.items():
                print(describe_scores(f"Rasa's default pipeline on {name}", scores) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
