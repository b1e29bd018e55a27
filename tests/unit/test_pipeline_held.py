"""What waits for a code is a row (deploybot.pipeline.held), on both databases: one of each
kind per conversation, a newer one replacing the older, none past its lifetime, nothing shared
between bots or conversations."""
import time

from deploybot.pipeline import held as held_module
from deploybot.pipeline.held import APPROVE, DEPLOY, Holds


def deploy(version: str, asked_at: float = None) -> dict:
    return {"purpose": "deploy", "app": "cms", "version": version, "environment": "production",
            "asked_at": time.time() if asked_at is None else asked_at}


def test_a_hold_is_kept_until_dropped(db_on_both):
    holds = Holds(db_on_both, "bender")
    assert holds.get("U1", DEPLOY) is None
    holds.put("U1", DEPLOY, "U1", deploy("1.0.2"))
    assert holds.get("U1", DEPLOY)["version"] == "1.0.2"
    assert holds.get("U1", DEPLOY)["version"] == "1.0.2"  # reading does not use it up
    holds.drop("U1", DEPLOY)
    assert holds.get("U1", DEPLOY) is None


def test_a_newer_hold_replaces_the_older_of_its_kind_only(db_on_both):
    holds = Holds(db_on_both, "bender")
    holds.put("U1", DEPLOY, "U1", deploy("1.0.2"))
    approval = {"purpose": "approve", "approval": "a1", "what": "Deploy crm", "asked_at": time.time()}
    holds.put("U1", APPROVE, "U1", approval)
    holds.put("U1", DEPLOY, "U1", deploy("1.0.3"))
    assert holds.get("U1", DEPLOY)["version"] == "1.0.3"
    assert holds.get("U1", APPROVE) == approval  # an approver's code request never displaces their deploy
    holds.drop("U1", APPROVE)
    assert holds.get("U1", DEPLOY)["version"] == "1.0.3"


def test_holds_are_per_bot_and_conversation(db_on_both):
    bender, marvin = Holds(db_on_both, "bender"), Holds(db_on_both, "marvin")
    bender.put("U1", DEPLOY, "U1", deploy("1.0.2"))
    assert marvin.get("U1", DEPLOY) is None
    assert bender.get("U2", DEPLOY) is None
    marvin.drop("U1", DEPLOY)
    bender.drop("U2", DEPLOY)
    assert bender.get("U1", DEPLOY)["version"] == "1.0.2"


def test_a_hold_past_its_lifetime_is_gone(db_on_both):
    holds = Holds(db_on_both, "bender")
    holds.put("U1", DEPLOY, "U1", deploy("1.0.2", asked_at=time.time() - held_module.LIFETIME_SECONDS - 1))
    assert holds.get("U1", DEPLOY) is None
    holds.put("U1", DEPLOY, "U1", deploy("1.0.3", asked_at=time.time() - held_module.LIFETIME_SECONDS + 60))
    assert holds.get("U1", DEPLOY)["version"] == "1.0.3"
