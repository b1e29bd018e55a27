"""Understanding on the held-out messages (tests/nlu/heldout.yml, never trained on), for
deploybot's model through a running server's /model/parse, and for Rasa's default
pipeline (the config `rasa init` writes) trained on the same data/nlu in the same run.

Both are scored by deploybot.language.scoring on normalized entity values."""
from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List

from deploybot.language.scoring import Labelled, Scores, labelled_from_rasa, predicted_from_parse, score

ROOT = Path(__file__).resolve().parents[1]
HELDOUT = ROOT / "tests" / "nlu" / "heldout.yml"
TRAINING_DATA = ROOT / "data" / "nlu"


def heldout() -> List[Labelled]:
    from rasa.shared.nlu.training_data.loading import load_data

    return labelled_from_rasa(load_data(str(HELDOUT)).training_examples)


def evaluate(parse: Callable[[str], dict], labelled: List[Labelled]) -> Scores:
    """Scores a parse function (text -> a /model/parse-shaped dict) on the labelled messages."""
    return score(labelled, [predicted_from_parse(parse(m.text)) for m in labelled])


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


def evaluate_default_pipeline(work_dir: Path, labelled: List[Labelled]):
    """(DefaultPipeline, Scores): trains Rasa's default pipeline and scores it."""
    trained = train_default_pipeline(work_dir)
    return trained, evaluate(parse_with_model(trained.model), labelled)
