"""Lock reasons and expiries over the running stack (issue 16): the reason in the person's
words, and a short expiry that lifts the lock by itself and says so once where it was set
(REST conversation and Slack thread)."""
import re
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from deploybot.domain.profiles import load_profiles

from tests.slack_chat import THERESA, mention, posts
from tests.support import ADMIN, new_user_id

# Lock times are read and said in the bot's time zone (the profiles' time_zone: Europe/Berlin).
ZONE = ZoneInfo(load_profiles()["marvin"].time_zone)
ZONE_NAME = datetime.now(ZONE).tzname()
LOCKED_UNTIL = re.compile(rf"Locked (?P<what>.+) until (?P<until>\d{{4}}-\d\d-\d\d \d\d:\d\d) {ZONE_NAME} \(in (?P<in>[^)]+)\): no deployments until"
                          r" then, when I lift the lock and say so here, or until it is unlocked\. Reason: (?P<reason>.+)\.")


def test_lock_reasons_in_the_persons_words(marvin, bender, user):
    assert marvin.texts(user, "lock staging for the load test") == [
        "Locked staging: no deployments until it is unlocked. Reason: the load test."]
    assert marvin.texts(user, "unlock staging") == ["Unlocked staging: deployments are allowed again."]
    assert bender.texts(ADMIN, "lock prod: incident 4711") == [
        "Locked production: no deployments until it is unlocked. Reason: incident 4711."]
    assert bender.texts(ADMIN, "unlock production") == ["Unlocked production: deployments are allowed again."]


def test_a_lock_that_expires_stops_deployments_until_then_lifts_itself_and_says_so_once(marvin, user):
    [locked] = marvin.texts(user, "lock intranet on staging for 0.1 min because of the smoke test")
    match = LOCKED_UNTIL.fullmatch(locked)
    assert match and match["what"] == "intranet on staging" and match["reason"] == "the smoke test", locked
    other = new_user_id()
    refusal = marvin.texts(other, "deploy intranet 9.9.1")[0]
    assert refusal.startswith(f"No: intranet on staging is locked by {user} since ") and f" {ZONE_NAME}: the smoke test." in refusal
    [said] = marvin.wait_for(user, "The lock on intranet on staging ", timeout=30)
    assert re.fullmatch(rf"The lock on intranet on staging \(set by {user}: the smoke test\) expired at \d{{4}}-\d\d-\d\d"
                        rf" \d\d:\d\d {ZONE_NAME}, so I lifted it: deployments to intranet on staging are allowed again\.", said), said
    assert marvin.texts(other, "deploy intranet 9.9.1") == ["Deploy Intranet Portal 9.9.1 to staging? (yes/no)"]
    assert marvin.texts(user, "unlock intranet on staging") == ["intranet on staging is not locked."]
    time.sleep(3)  # a few more announcer rounds
    assert len([t for t in marvin.said(user) if t.startswith("The lock on intranet on staging")]) == 1
    assert not [t for t in marvin.said(other) if t.startswith("The lock on")]  # only where it was set


def test_until_6pm_is_6pm_in_the_bots_time_zone(marvin, user):
    [locked] = marvin.texts(user, "lock billing on staging until 6pm: release checks")
    until = datetime.strptime(LOCKED_UNTIL.fullmatch(locked)["until"], "%Y-%m-%d %H:%M").replace(tzinfo=ZONE)
    assert (until.hour, until.minute) == (18, 0), locked
    assert timedelta(0) < until - datetime.now(ZONE) <= timedelta(days=1)
    assert marvin.texts(user, "unlock billing on staging") == ["Unlocked billing on staging: deployments are allowed again."]


def test_an_expiry_too_far_away_is_refused_and_nothing_is_locked(marvin, user):
    assert marvin.texts(user, "lock staging for 90 days")[0].startswith("A lock can expire between now and 31 days from now")
    assert marvin.texts(user, "unlock staging") == ["staging is not locked."]


def test_in_slack_the_lifted_lock_is_said_in_the_thread_where_it_was_set(stack):
    ts = mention(stack, "marvin", THERESA, "lock crm on staging for 0.1 min - schema change")
    [locked] = posts(stack, ts, "Locked crm on staging until ")
    assert locked["args"]["text"].endswith("Reason: schema change.")
    # Slack shows people by name, not by user id.
    posts(stack, ts, "The lock on crm on staging (set by Theresa: schema change) expired at ", timeout=30)
