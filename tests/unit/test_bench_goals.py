"""make bench's goals (bench/goals.py) and its held-out sets (bench/understanding.py): every
tests/nlu/heldout*.yml is scored on its own and together, and a miss says by how much and why."""
import json

import pytest

from bench import goals, make_test_time
from bench.understanding import ALL_SETS, ROOT, evaluate_sets, harmful_misreads, heldout_sets
from deploybot.language.scoring import Labelled, Predicted, score

SET_A = """version: "3.1"
nlu:
- intent: deploy
  examples: |
    - deploy [cms](app) [1.0.2](version)
    - ship [shop](app)
- intent: lock_environment
  examples: |
    - lock [production](environment)
"""
SET_B = """version: "3.1"
nlu:
- intent: grant_permission
  examples: |
    - auth [@kim]{"entity": "user", "value": "kim"} [crm](app)
"""


def test_every_heldout_file_is_a_set_of_its_own_and_all_together(tmp_path):
    (tmp_path / "heldout.yml").write_text(SET_A)
    (tmp_path / "heldout_more.yml").write_text(SET_B)
    (tmp_path / "other.yml").write_text(SET_B)  # not a held-out set: not matched
    sets = heldout_sets(str(tmp_path / "heldout*.yml"))
    assert [name.rsplit("/", 1)[-1] for name in sets] == ["heldout.yml", "heldout_more.yml", ALL_SETS]
    assert [len(messages) for messages in sets.values()] == [3, 1, 4]
    assert sets[ALL_SETS][3] == Labelled("auth @kim crm", "grant_permission", (("user", "kim"), ("app", "crm")))


def test_no_heldout_set_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        heldout_sets(str(tmp_path / "heldout*.yml"))


def test_each_message_is_parsed_once_even_when_sets_share_it():
    message = Labelled("lock prod", "lock_environment", (("environment", "production"),))
    parsed = []

    def parse(text):
        parsed.append(text)
        return {"intent": {"name": "lock_environment"}, "entities": [{"entity": "environment", "value": "production"}]}

    scores = evaluate_sets(parse, {"a": [message], "b": [message], ALL_SETS: [message, message]})
    assert parsed == ["lock prod"]
    assert scores["a"].intent_accuracy == 1.0 and scores[ALL_SETS].messages == 2


def scores_with_misreads():
    labelled = [Labelled("deploy cms", "deploy", (("app", "cms"),)),
                Labelled("ship shop", "deploy", (("app", "shop"),)),
                Labelled("auth kim crm", "grant_permission", (("user", "kim"), ("app", "crm"))),
                Labelled("lock prod", "lock_environment", (("environment", "production"),))]
    predicted = [Predicted("deploy", (("app", "cms"),)),
                 Predicted("lock_environment", (("app", "shop"),)),      # harmful
                 Predicted("grant_permission", (("app", "crm"),)),       # the user missed
                 Predicted("lock_environment", (("environment", "production"),))]
    return score(labelled, predicted)


def test_understanding_goals_say_by_how_much_and_why():
    found = {g.goal: g for g in goals.understanding_goals({"heldout.yml": scores_with_misreads()})}
    accuracy = found["intent accuracy, heldout.yml (4)"]
    assert (accuracy.measured, accuracy.met, accuracy.gap) == ("0.750", False, "0.2300 short (1 more message right would meet it)")
    assert "deploy → lock_environment 1" in accuracy.why
    right = found["intent and every entity right, heldout.yml"]
    assert (right.measured, right.met) == ("0.500", False)
    assert right.why == ("2 messages not all right: 1 with a wrong intent, 1 with the right intent "
                         "but entities wrong or missing (user 1)")
    harmful = found["deploy or grant read as something else, heldout.yml"]
    assert (harmful.measured, harmful.met, harmful.gap, harmful.why) == ("1", False, "1 too many", "read as: deploy → lock_environment 1")
    assert harmful_misreads(scores_with_misreads()) == [("deploy", "lock_environment")]


def test_all_right_meets_the_goals():
    labelled = [Labelled("deploy cms", "deploy", (("app", "cms"),))]
    perfect = score(labelled, [Predicted("deploy", (("app", "cms"),))])
    assert all(g.met and not g.gap and not g.why for g in goals.understanding_goals({"x": perfect}))


def test_make_test_time_comes_from_a_record_and_says_which(tmp_path, monkeypatch):
    assert goals.make_test_goal(None).met is None
    monkeypatch.setattr(make_test_time, "CI_RECORD", tmp_path / "results" / "make-test-time.json")
    monkeypatch.setattr(make_test_time, "KEPT_RECORD", tmp_path / "docs" / "make-test-time.json")
    monkeypatch.setattr(make_test_time, "ROOT", tmp_path)
    (tmp_path / "docs").mkdir()
    make_test_time.KEPT_RECORD.write_text(json.dumps({"seconds": 518, "exit_code": 0, "commit": "abc1234",
                                                      "date": "2026-11-30 16:30 UTC"}))
    make_test_time.main(["--seconds", "470.4", "--exit-code", "0", "--clean-clone"])  # what .ci/run does afterwards
    record = make_test_time.latest()
    assert (record["seconds"], record["file"], record["clean_clone"]) == (470.4, "results/make-test-time.json", True)
    goal = goals.make_test_goal(record)
    assert goal.met and "results/make-test-time.json" in goal.measured
    failed = goals.make_test_goal({**record, "exit_code": 2})
    assert failed.met is False and "exit code 2" in failed.measured
    slow = goals.make_test_goal({"seconds": 518, "commit": "abc1234", "date": "x", "file": "docs/make-test-time.json"})
    assert (slow.met, slow.gap) == (False, "38 s over")


def test_the_page_shows_every_goal_and_every_set(monkeypatch):
    from bench import document
    monkeypatch.setattr(goals, "FLOORS", {})  # the held-out test's floors have a test of their own
    from bench.footprint import Resident
    from bench.speed import TurnRun, spread
    from bench.understanding import DefaultPipeline

    ours = scores_with_misreads()
    turns = [TurnRun(c, 4, 0, spread([0.05, 0.2]), 1.0, {"deploy": spread([0.2]), "no": spread([0.05])}) for c in (1, 10, 50)]
    memory = [Resident("marvin Rasa server", 11, 950.0), Resident("marvin action server", 12, 80.0),
              Resident("bender Rasa server", 13, 530.0), Resident("bender action server", 14, 77.0)]
    results = {
        "started": 0, "total_seconds": 600, "load": {"start": 3.5, "parse": 0.4, "training": 1.0},
        "heldout": {"tests/nlu/heldout.yml": ours, ALL_SETS: ours},
        "default_scores": {"tests/nlu/heldout.yml": ours, ALL_SETS: ours},
        "default": DefaultPipeline("", ["WhitespaceTokenizer"], 400.0, None),
        "parse": spread([0.003, 0.004]), "turns": turns, "growth": [spread([0.05])], "yes_to_jenkins": spread([0.02]),
        "report_push": [0.05, 0.04], "report_polling": [1.0, 2.0], "memory": memory, "tensorflow": {11: True, 13: False},
        "training_seconds": 75.0, "model_mb": 0.6, "trained_model_mb": 0.6, "ready_seconds": 16.2,
        "make_test": {"seconds": 470, "exit_code": 0, "commit": "abc1234", "date": "2026-11-30 18:00 UTC",
                      "file": "results/make-test-time.json"},
    }
    page = document.render(results)
    rows = {line.split(" | ")[0].lstrip("| "): line for line in page.splitlines() if line.startswith("| ")}
    assert "| ≤ 60 s | 75 s | **missed** | 15 s over | load average 1.0 on" in rows["training (`rasa train --force`, NLU and rules)"]
    assert "16.2 s | **missed** | 1.2 s over | load average 3.5" in rows["both bots ready after `deploybot.cli.stack` (`make serve`) starts them together"]
    assert "950 MB (marvin Rasa server) | **missed** | 50 MB over | TensorFlow is loaded in it |" in \
        rows["resident memory of each Rasa server (the larger)"]
    assert "3.5 ms | **met** |" in rows["`/model/parse` p50, one request at a time"]
    assert "470 s (results/make-test-time.json" in rows["`make test` on a clean clone (recorded, not measured by this run)"]
    assert "**missed** | 1 too many | read as: deploy → lock_environment 1 |" in \
        rows["deploy or grant read as something else, tests/nlu/heldout.yml"]
    assert "deployers" not in page and "ship shop" not in page  # messages are never quoted, only their intents


def test_a_share_that_rounds_to_its_target_is_still_short_and_says_by_how_many_messages():
    assert goals.shortfall(0.98, 243 / 248, 248) == "0.0002 short (1 more message right would meet it)"
    assert goals.shortfall(0.96, 138 / 152, 152) == "0.0521 short (8 more messages right would meet it)"


def test_a_set_below_a_goal_is_held_to_its_floor_and_the_report_says_it_is_not_the_goal(monkeypatch):
    monkeypatch.setattr(goals, "FLOORS", {"heldout.yml": goals.Gate(0.75, goals.ALL_RIGHT, 1)})
    assert goals.gate("heldout.yml") == goals.Gate(0.75, 0.96, 1)
    assert goals.gate("heldout_other.yml") == goals.GOALS == goals.Gate(0.98, 0.96, 0)
    found = {g.goal: g for g in goals.understanding_goals({"heldout.yml": scores_with_misreads()})}
    assert found["intent accuracy, heldout.yml (4)"].why.endswith(
        "; until then the held-out test holds this set to a floor, ≥ 0.75, not to the goal")
    assert found["deploy or grant read as something else, heldout.yml"].why.endswith(
        "; until then the held-out test holds this set to a floor, ≤ 1, not to the goal")
    assert "floor" not in found["intent and every entity right, heldout.yml"].why  # held to the goal


def test_floors_are_below_the_goals_and_name_sets_that_exist():
    for name, floor in goals.FLOORS.items():
        assert (ROOT / name).is_file(), name
        assert floor.intent_accuracy <= goals.INTENT_ACCURACY and floor.all_right <= goals.ALL_RIGHT
        assert floor.harmful_misreads >= goals.HARMFUL_MISREADS
