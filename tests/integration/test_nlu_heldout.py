"""Understanding on the held-out messages in tests/nlu/, which the model never trains on,
scored through the running server's /model/parse (the whole pipeline, including the
spaCy-based entity step that `rasa test nlu` would skip).

Four sets: heldout.yml, written alongside the project; heldout_independent.yml, written
by someone who saw only a description of the bots, never data/ or tests/nlu/ (copied from
the main worktree's tests/nlu/, commit a2c1bfc); heldout_stats.yml, stats questions
(issue 17) written before their training examples in data/nlu/delivery_stats.yml; and
heldout_corrections.yml, corrections to a pending request and requests naming several apps
(issue 16), written before data/nlu/corrections.yml and never copied between the two."""
import json
from pathlib import Path

import pytest
from rasa.shared.nlu.training_data.loading import load_data

from deploybot.language.scoring import format_scores, labelled_from_rasa, predicted_from_parse, score

# Every held-out set, as make bench scores them (bench/understanding.py): heldout.yml,
# heldout_independent.yml and any heldout_<name>.yml added later.
HELDOUT_SETS = {path.stem: path for path in sorted(Path("tests/nlu").glob("heldout*.yml"))}
# The general sets are large; a set for one topic (heldout_stats.yml, issue 17) is smaller.
MIN_MESSAGES = {"heldout": 150, "heldout_independent": 150}
MIN_TOPIC_MESSAGES = 30
MIN_INTENT_ACCURACY = 0.95
MIN_ENTITY_F1 = 0.95
# Misreading these does harm: a deployment or a grant taken for something else. Issue 15's
# goal is none; they are reported (and counted in the report) but not yet a failure: 1 on
# heldout.yml and 1 on heldout_independent.yml at the last measurement (README).
HARMFUL_IF_MISREAD = ("deploy", "grant_permission")


def test_both_heldout_sets_are_there():
    assert {"heldout", "heldout_independent"} <= set(HELDOUT_SETS)


def normalized(text: str) -> str:
    return " ".join(text.lower().split())


@pytest.mark.parametrize("name", HELDOUT_SETS)
def test_heldout_messages_are_not_in_the_training_data(name):
    training = {normalized(m.get("text")) for m in load_data("data/nlu").training_examples}
    heldout = [m.get("text") for m in load_data(str(HELDOUT_SETS[name])).training_examples]
    assert len(heldout) >= MIN_MESSAGES.get(name, MIN_TOPIC_MESSAGES)
    assert [t for t in heldout if normalized(t) in training] == []


@pytest.mark.parametrize("name", HELDOUT_SETS)
def test_heldout_understanding(marvin, name):
    labelled = labelled_from_rasa(load_data(str(HELDOUT_SETS[name])).training_examples)
    predicted = [predicted_from_parse(marvin.parse(m.text)) for m in labelled]
    scores = score(labelled, predicted)
    misread = [{"text": g.text, "intent": g.intent, "predicted_intent": p.intent} for g, p in zip(labelled, predicted)
               if g.intent in HARMFUL_IF_MISREAD and p.intent != g.intent]
    report = Path(f"reports/nlu-{name.replace('_', '-')}.json")
    report.parent.mkdir(exist_ok=True)
    report.write_text(json.dumps({**scores.__dict__, "harmful_misreads": misread}, indent=2))
    print(f"\nHeld-out NLU ({HELDOUT_SETS[name]})\n" + format_scores(scores)
          + f"\ndeploy or grant read as something else: {len(misread)}\n(errors in {report})")
    assert scores.intent_accuracy >= MIN_INTENT_ACCURACY, format_scores(scores)
    assert scores.entity["all"]["f1"] >= MIN_ENTITY_F1, format_scores(scores)
