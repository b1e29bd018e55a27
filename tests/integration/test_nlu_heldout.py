"""Understanding on the held-out messages in tests/nlu/, which the model never trains on,
scored through the running server's /model/parse (the whole pipeline, including the
spaCy-based entity step that `rasa test nlu` would skip).

The sets: heldout.yml, written alongside the project; heldout_independent.yml, written
by someone who saw only a description of the bots, never data/ or tests/nlu/ (copied from
the main worktree's tests/nlu/, commit a2c1bfc); heldout_stats.yml, stats questions
(issue 17) written before their training examples in data/nlu/delivery_stats.yml;
heldout_corrections.yml, corrections to a pending request and requests naming several apps
(issue 16), written before data/nlu/corrections.yml and never copied between the two;
heldout_batches.yml, requests naming two or three apps (issue 16); and heldout_fresh.yml
(issue 22), written and committed before any model was run on it, in place of the copies of
training messages and the sentences rules were written for, which left the other sets.

Each set is held to the goals of `make bench` (bench/goals.py): intent accuracy >= 0.98,
intent and every entity right >= 0.96, no deploy or grant read as something else. A set that
misses a goal is held to a floor instead (bench/goals.py, FLOORS): its figure when last
measured, which it may not fall below; the failure message says which of the two it is."""
import json
import re
import unicodedata
from pathlib import Path

import pytest
from rapidfuzz import fuzz, process
from rasa.shared.nlu.training_data.loading import load_data

from bench.goals import GOALS, gate
from bench.understanding import HARMFUL_IF_MISREAD
from deploybot.language.scoring import format_scores, labelled_from_rasa, predicted_from_parse, score

# Every held-out set, as make bench scores them (bench/understanding.py): heldout.yml,
# heldout_independent.yml and any heldout_<name>.yml added later.
HELDOUT_SETS = {path.stem: path for path in sorted(Path("tests/nlu").glob("heldout*.yml"))}
# The general sets are large; a set for one topic (heldout_stats.yml, issue 17) is smaller.
# heldout_independent.yml lost 19 copies and tuned-for sentences in issue 22 and gained
# nothing (only its writer adds to it).
MIN_MESSAGES = {"heldout": 150, "heldout_independent": 130}
MIN_TOPIC_MESSAGES = 30


def test_both_heldout_sets_are_there():
    assert {"heldout", "heldout_independent"} <= set(HELDOUT_SETS)


# What a copy may differ in and still be a copy: Slack references (<@U024BE7LH>, <#C1|ops>,
# <!here>) and versions become placeholders; emoji (":rocket:" and pictographs), "@" and other
# punctuation go, so do case and extra spaces. The model sees a version or a name as its class
# (__version__, __user__), so a message with other numbers in it is no new message to it.
SLACK_REFERENCE = re.compile(r"<[@#!][^>]*>")
EMOJI_CODE = re.compile(r":[a-z0-9_+'-]+:")
VERSION = re.compile(r"(?<![\w.])v?\d+(?:\.\d+)+(?:[-+][0-9a-z]+(?:\.[0-9a-z]+)*)?(?![\w.])")
NOT_TEXT = {"So", "Sk", "Mn", "Cf", "Cs", "Co"}  # symbols (emoji), their modifiers and joiners
# Near copies: rapidfuzz's ratio (normalised Indel similarity) of the normalised texts.
NEAR_COPY = 0.9


def normalized(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = SLACK_REFERENCE.sub(" someone ", text)
    text = EMOJI_CODE.sub(" ", text)
    text = VERSION.sub(" 0.0.0 ", text)
    text = "".join(c for c in text if unicodedata.category(c) not in NOT_TEXT)
    words = re.findall(r"0\.0\.0|[^\W_]+", text)  # punctuation, "@" and "_" are spaces
    return " ".join(words)


def similarity(a: str, b: str) -> float:
    return fuzz.ratio(normalized(a), normalized(b)) / 100


def copies_in_training(messages, training_messages):
    """[(held-out message, the training message it copies, similarity)] for every held-out
    message whose normalised text is that of a training message or a near copy of one."""
    training = {}
    for text in training_messages:
        training.setdefault(normalized(text), text)
    found = []
    for text in messages:
        best = process.extractOne(normalized(text), list(training), scorer=fuzz.ratio, score_cutoff=NEAR_COPY * 100)
        if best:
            found.append((text, training[best[0]], round(best[1] / 100, 3)))
    return found


@pytest.mark.parametrize(
    "heldout, training",
    [
        ("@bender who can deploy cms?", "bender, who can deploy cms?"),  # mention and punctuation
        ("Bender lock production", "@bender lock production"),
        ("thanks", "🙏 thanks"),  # emoji
        ("thanks :pray:", "THANKS!!"),
        ("deploy 2.0.0-rc3 to stg", "deploy 12.0.3 to stg"),  # versions
        ("change the version to 2.0.7", "change the version to v1.9.2"),
        ("<@U024BE7LH> can deploy crm", "<@W9PLM3XK2C|kim> can deploy crm"),  # Slack mentions
    ],
)
def test_copies_are_copies_whatever_they_are_dressed_in(heldout, training):
    assert normalized(heldout) == normalized(training)


@pytest.mark.parametrize(
    "heldout, training",
    [
        ("code freeze on prd starting now", "code freeze on prod starting now"),
        ("no deploys to prd until further notice pls", "no deploys to prod until further notice"),
        ("upgrade crm on prod to 6.1.2", "upgrade crm on production to 10.4.12"),
    ],
)
def test_near_copies_are_found(heldout, training):
    assert similarity(heldout, training) >= NEAR_COPY
    assert [(h, t) for h, t, _ in copies_in_training([heldout], [training, "list apps"])] == [(heldout, training)]


def test_new_words_are_no_copy():
    assert copies_in_training(["nobody deploys to live from now on, we're in a freeze", "let maria deploy billing"],
                              ["nobody deploys to prod this weekend", "@marvin deploy billing"]) == []


@pytest.mark.parametrize("name", HELDOUT_SETS)
def test_heldout_messages_are_not_in_the_training_data(name):
    """Not even as a near copy: a held-out message that differs from a training message only
    in case, punctuation, mentions, emoji, versions or a letter or two tests nothing new."""
    training = [m.get("text") for m in load_data("data/nlu").training_examples]
    heldout = [m.get("text") for m in load_data(str(HELDOUT_SETS[name])).training_examples]
    assert len(heldout) >= MIN_MESSAGES.get(name, MIN_TOPIC_MESSAGES)
    assert copies_in_training(heldout, training) == []


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
    # The goals of `make bench` (bench/goals.py), or a set's floor where it misses one: its
    # figure when last measured, so that it gets no worse. A floor is not the goal; the
    # bench report says how far the set is from it.
    held_to = gate(str(HELDOUT_SETS[name]))
    kind = {figure: "the goal" if getattr(held_to, figure) == getattr(GOALS, figure) else
            f"this set's floor (the goal is {getattr(GOALS, figure)})" for figure in vars(GOALS)}
    assert scores.intent_accuracy >= held_to.intent_accuracy, \
        f"intent accuracy below {held_to.intent_accuracy}, {kind['intent_accuracy']}\n" + format_scores(scores)
    assert scores.all_correct >= held_to.all_right, \
        f"intent and every entity right below {held_to.all_right}, {kind['all_right']}\n" + format_scores(scores)
    assert len(misread) <= held_to.harmful_misreads, \
        f"more than {held_to.harmful_misreads} deploy or grant read as something else, {kind['harmful_misreads']}: {misread}"
