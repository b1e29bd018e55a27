"""Understanding on the held-out messages in tests/nlu/, which the model never trains on,
scored through the running server's /model/parse (the whole pipeline, including the
spaCy-based entity step that `rasa test nlu` would skip)."""
import json
from pathlib import Path

from rasa.shared.nlu.training_data.loading import load_data

from deploybot.language.scoring import format_scores, labelled_from_rasa, predicted_from_parse, score

HELDOUT = Path("tests/nlu/heldout.yml")
REPORT = Path("reports/nlu-heldout.json")
MIN_INTENT_ACCURACY = 0.95
MIN_ENTITY_F1 = 0.95


def normalized(text: str) -> str:
    return " ".join(text.lower().split())


def test_heldout_messages_are_not_in_the_training_data():
    training = {normalized(m.get("text")) for m in load_data("data/nlu").training_examples}
    heldout = [m.get("text") for m in load_data(str(HELDOUT)).training_examples]
    assert len(heldout) >= 150
    assert [t for t in heldout if normalized(t) in training] == []


def test_heldout_understanding(marvin):
    labelled = labelled_from_rasa(load_data(str(HELDOUT)).training_examples)
    predicted = [predicted_from_parse(marvin.parse(m.text)) for m in labelled]
    scores = score(labelled, predicted)
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps(scores.__dict__, indent=2))
    print("\nHeld-out NLU (tests/nlu/heldout.yml)\n" + format_scores(scores) + f"\n(errors in {REPORT})")
    assert scores.intent_accuracy >= MIN_INTENT_ACCURACY, format_scores(scores)
    assert scores.entity["all"]["f1"] >= MIN_ENTITY_F1, format_scores(scores)
