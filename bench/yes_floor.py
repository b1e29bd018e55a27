"""Chooses the confirmation confidence floor (confirmations.yml) by 5-fold cross-validation
on data/nlu only, with config.yml's pipeline: how sure the NLU is of `affirm` when a
held-back message is a yes, and when it is not. tests/nlu is never read here.

    PYTHONPATH=. nice -n 10 .venv/bin/python -m bench.yes_floor
    PYTHONPATH=. .venv/bin/python -m bench.yes_floor --heldout   (a check, after the choice)

Writes results/yes_floor.json and prints, for candidate floors, how many held-back yeses
would be asked again and how many other messages read as affirm would still count. With
--heldout it only checks the chosen rule (confirmations.yml) with the trained model
(models/deploybot.tar.gz) on tests/nlu: how many real yeses count, how many others would.
"""
from __future__ import annotations

import asyncio
import glob
import json
import logging
import os
import sys
import tempfile
from pathlib import Path

import yaml

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ["RASA_MAX_CACHE_SIZE"] = "0"

from bench.crossval import OUT, ROOT, TRAINING_DATA, folds  # noqa: E402

FLOORS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def cross_validated(k: int = 5) -> list:
    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData

    examples = load_data(str(TRAINING_DATA)).training_examples
    pipeline = yaml.safe_load((ROOT / "config.yml").read_text())["pipeline"]
    found = []
    with tempfile.TemporaryDirectory(prefix="yes-floor-") as work:
        config = Path(work) / "config.yml"
        config.write_text(yaml.safe_dump({"recipe": "default.v1", "assistant_id": "yes-floor", "language": "en",
                                          "pipeline": pipeline, "policies": []}, sort_keys=False))
        for number, (train_index, test_index) in enumerate(folds(examples, k)):
            data = Path(work) / f"fold{number}.yml"
            RasaYAMLWriter().dump(data, TrainingData([examples[i] for i in train_index]))
            agent = Agent.load(train_nlu(str(config), str(data), str(Path(work) / "models"), fixed_model_name=f"fold{number}"))
            loop = asyncio.new_event_loop()
            for i in test_index:
                parse = loop.run_until_complete(agent.parse_message(examples[i].get("text")))
                affirm = next((r["confidence"] for r in parse.get("intent_ranking") or [] if r["name"] == "affirm"), 0.0)
                found.append({"text": examples[i].get("text"), "gold": examples[i].get("intent"),
                              "predicted": parse["intent"]["name"], "affirm": affirm, "fold": number})
            loop.close()
            print(f"fold {number} done", flush=True)
    return found


def heldout_check() -> None:
    from rasa.core.agent import Agent
    from rasa.shared.nlu.training_data.loading import load_data

    from deploybot.policy.confirmations import is_yes_emoji, load_yes_rule, why_not_a_clear_yes

    rule, agent = load_yes_rule(), Agent.load(str(ROOT / "models" / "deploybot.tar.gz"))
    loop = asyncio.new_event_loop()
    for path in sorted(glob.glob(str(ROOT / "tests" / "nlu" / "heldout*.yml"))):
        counted = {"yes": [0, 0], "other": [0, 0]}
        for message in load_data(path).training_examples:
            text = message.get("text")
            parse = loop.run_until_complete(agent.parse_message(text))
            intent = "affirm" if is_yes_emoji(text, rule) else parse["intent"]["name"]
            why = why_not_a_clear_yes(text, intent, parse["intent"]["confidence"], rule) if intent == "affirm" else "no"
            kind = "yes" if message.get("intent") == "affirm" else "other"
            counted[kind][0] += why is None
            counted[kind][1] += 1
            if (kind == "yes") != (why is None):
                print(f"  {kind}: {text!r}: {why or 'counts as a yes'}")
        print(f"{Path(path).name}: {counted['yes'][0]}/{counted['yes'][1]} yeses count, "
              f"{counted['other'][0]}/{counted['other'][1]} other messages would")


def main() -> None:
    from rasa.utils.log_utils import configure_structlog

    logging.getLogger().setLevel(logging.WARNING)
    configure_structlog(logging.WARNING)
    if "--heldout" in sys.argv[1:]:
        heldout_check()
        return
    found = cross_validated()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    (OUT.parent / "yes_floor.json").write_text(json.dumps(found, indent=2, ensure_ascii=False))
    yeses = [f for f in found if f["gold"] == "affirm"]
    others = [f for f in found if f["gold"] != "affirm" and f["predicted"] == "affirm"]
    print(f"{len(yeses)} held-back yeses; {len(others)} other messages read as affirm")
    print("| floor | yeses asked again | other messages still a yes |\n|---|---|---|")
    for floor in FLOORS:
        print(f"| {floor} | {sum(f['predicted'] != 'affirm' or f['affirm'] < floor for f in yeses)} | "
              f"{sum(f['affirm'] >= floor for f in others)} |")
    for f in sorted(yeses, key=lambda f: f["affirm"])[:15]:
        print(f"  yes {f['affirm']:.2f} {f['predicted']}: {f['text']}")
    for f in sorted(others, key=lambda f: -f["affirm"]):
        print(f"  not a yes {f['affirm']:.2f} ({f['gold']}): {f['text']}")


if __name__ == "__main__":
    main()
