"""Two replicas never hold one conversation at once (issue 27), on the production topology:
PostgreSQL tracker stores, Redis locks, two Rasa replicas per bot.

One sender's two messages go to the two replicas at the same instant: both HTTP requests
are written up to their last byte, then both last bytes are sent, so both replicas read the
request and ask for the conversation's lock within microseconds. Then the stored
conversation (the tracker, as any replica reads it from PostgreSQL) is checked against
what each request was answered:

- lost message: a message sent is not stored once as a user event;
- missing reply: a turn's stored bot messages are not what that request was answered;
- stale answer: two "yes" to one question were both answered against that question
  (under the lock, the second finds nothing pending);
- disorder: events out of time order, or a turn's replies stored after its end (action_listen).

With deploybot's lock store (deploybot.rasa_glue.rasa_lock_store) none may occur. The same harness
against Rasa's own RedisLockStore (DEPLOYBOT_REDIS_LOCKS=rasa) is why that store exists:
on main it let both replicas in for about 70 of 100 senders (issue 27).
"""
from __future__ import annotations

import os
import signal
import threading
import time
import urllib.parse
from collections import Counter
from typing import List

import pytest
import redis as redis_client

from deploybot.domain import messages
from deploybot.delivery.reports import REPORT_INTENT
from deploybot.cli.stack import is_ready
from tests.simultaneous import Sent, race, said
from tests.support import Bot, new_user_id, rasa_pid, replicated_stack

pytestmark = pytest.mark.stack  # real Rasa replicas: not in `make test-unit`

# Senders per experiment: 100 for the two of the issue. Rasa's store fails so often that
# fewer show it, and the test's wall time stays within minutes.
SENDERS = {"status+deploy": 100, "yes+yes": 100, "report+yes": 30}
STOCK_SENDERS = {"status+deploy": 50, "yes+yes": 30, "report+yes": 0}
LIFETIME = 5       # seconds: the lease of a lock whose replica died (DEPLOYBOT_LOCK_LIFETIME_SECONDS)
APPS = ("cms", "shop", "crm", "billing", "search", "intranet")


@pytest.fixture(scope="module")
def replicas(request, tmp_path_factory):
    """Marvin's two replicas on PostgreSQL and Redis, with the lock store named by the param."""
    locks = request.param
    settings = {"DEPLOYBOT_REDIS_LOCKS": locks, "DEPLOYBOT_LOCK_LIFETIME_SECONDS": str(LIFETIME),
                "DEPLOYBOT_EMULATOR_BUILD_SECONDS": "1", "DEPLOYBOT_POLL_SECONDS": "1"}
    with replicated_stack(tmp_path_factory.mktemp(f"locks-{locks}") / "var", settings) as running:
        yield running


# -- the requests raced (tests/simultaneous.py releases them) ------------------------


def report(bot: Bot, sender: str) -> Sent:
    """What the watcher posts for a report (deploybot.delivery.reports.RasaReporter), to the first replica.
    It names no deployment of this conversation, so the bot says nothing, but the report is a
    turn of the conversation like any other."""
    path = f"/conversations/{urllib.parse.quote(sender)}/trigger_intent?token={bot.token}"
    return Sent(bot, path, {"name": REPORT_INTENT, "entities": {"deployment": NO_DEPLOYMENT, "report": "start"}},
                lambda event: NO_DEPLOYMENT in [e.get("value") for e in (event.get("parse_data") or {}).get("entities", [])])


NO_DEPLOYMENT = "999999"  # the watcher's real reports of the deployments a "yes" starts are other turns


# -- what the stored conversation must show --------------------------------------------


def turns_of(events: List[dict]) -> List[List[dict]]:
    """The tracker's events cut at each user event (each part starts with one)."""
    turns: List[List[dict]] = []
    for event in events:
        if event["event"] == "user":
            turns.append([event])
        elif turns:
            turns[-1].append(event)
    return turns


def bot_texts(turn: List[dict]) -> List[str]:
    return [e.get("text") or "" for e in turn if e["event"] == "bot"]


def anomalies(tracker: dict, pair: List[Sent], both_answer_one_question: bool) -> List[str]:
    events, found = tracker["events"], []
    stamps = [e["timestamp"] for e in events]
    if stamps != sorted(stamps):
        found.append("disorder: events out of time order")
    turns = turns_of(events)
    for turn in turns:
        listens = [i for i, e in enumerate(turn) if e["event"] == "action" and e.get("name") == "action_listen"]
        replies_at = [i for i, e in enumerate(turn) if e["event"] == "bot"]
        if not listens or (replies_at and replies_at[-1] > listens[0]):
            found.append(f"disorder: turn {turn[0].get('text')!r} has replies after its end, or no end")
    for sent in pair:
        mine = [t for t in turns if sent.is_turn(t[0])]
        twins = [other for other in pair if other.is_turn(mine[0][0])] if mine else [sent]
        if len(mine) < len(twins):
            found.append(f"lost message: {sent.body}")
        elif Counter(map(tuple, (bot_texts(t) for t in mine))) != Counter(tuple(t.replies) for t in twins):
            found.append(f"missing reply: answered {[t.replies for t in twins]}, stored {[bot_texts(t) for t in mine]}")
    if both_answer_one_question and not any(messages.NOTHING_PENDING in sent.replies for sent in pair):
        found.append(f"stale answer: both 'yes' answered one question: {[s.replies for s in pair]}")
    return found


def experiment(stack, senders: int, make_pair, at_once: int, ask_first: bool = False,
               both_answer_one_question: bool = False) -> Counter:
    """`senders` senders, `at_once` raced together; the count of each kind of anomaly (and
    'senders affected')."""
    first, second = stack.replicas["marvin"]
    counted: Counter = Counter()
    for start in range(0, senders, at_once):
        batch = [new_user_id() for _ in range(min(at_once, senders - start))]
        if ask_first:  # a question pending in each conversation, asked on the first replica
            for number, sender in enumerate(batch, start):
                asked(first, sender, f"deploy {APPS[number % len(APPS)]} 7.{number}.0")
        pairs = [make_pair(first, second, sender) for sender in batch]
        race(pairs)
        for sender, pair in zip(batch, pairs):
            found = anomalies(first.tracker(sender), pair, both_answer_one_question)
            if found:
                counted.update({kind.split(":")[0] for kind in found} | {"senders affected"})
                if counted["senders affected"] <= 2:  # what it looks like, for the log
                    print(f"\n{sender}: {found}")
    return counted


def asked(bot: Bot, sender: str, request: str, timeout: float = 60) -> None:
    """Asks until the bot puts the question: since issue 24 an app still being deployed (an
    earlier sender's build of it) is refused before the question, as busy."""
    deadline = time.monotonic() + timeout
    while True:
        replies = bot.texts(sender, request)
        if replies and replies[0].endswith("(yes/no)"):
            return
        assert time.monotonic() < deadline and "already being deployed" in replies[0], replies
        time.sleep(0.5)


def status_and_deploy(first, second, sender):
    return [said(first, sender, "status"), said(second, sender, f"deploy cms 1.{sender[-4:]}.0")]


def yes_and_yes(first, second, sender):
    return [said(first, sender, "yes"), said(second, sender, "yes")]


def report_and_yes(first, second, sender):
    return [report(first, sender), said(second, sender, "yes")]


# One sender at a time, as in the issue: each replica is idle when its request arrives, so
# the two ask for the lock closest together (Rasa's store then failed for 44 of 100 senders,
# with five senders at a time for 4 to 8). The report and yes: five senders at a time, ten
# turns in flight.
EXPERIMENTS = {
    "status+deploy": dict(make_pair=status_and_deploy, at_once=1),
    "yes+yes": dict(make_pair=yes_and_yes, at_once=1, ask_first=True, both_answer_one_question=True),
    "report+yes": dict(make_pair=report_and_yes, at_once=5, ask_first=True),
}


def run_experiments(stack, senders: dict) -> dict:
    results = {}
    for name, options in EXPERIMENTS.items():
        if not senders[name]:
            continue
        started = time.monotonic()
        results[name] = experiment(stack, senders[name], **options)
        print(f"\nlock store {stack.env['DEPLOYBOT_REDIS_LOCKS']}, {name}, {senders[name]} senders:"
              f" {dict(results[name]) or 'no anomaly'} ({time.monotonic() - started:.0f} s)")
    return results


# -- the tests -------------------------------------------------------------------------


@pytest.mark.parametrize("replicas", ["deploybot"], indirect=True)
def test_two_messages_of_one_sender_at_once_on_two_replicas_lose_nothing(replicas):
    results = run_experiments(replicas, SENDERS)
    assert all(not counted for counted in results.values()), results


def builds_done_on(stack, timeout: float = 120) -> None:
    """Waits until every build has ended and the watchers had time to record it."""
    deadline = time.monotonic() + timeout
    while not all(build["finished_at"] for build in stack.jenkins.control("GET", "/builds")):
        assert time.monotonic() < deadline, "builds still running"
        time.sleep(0.5)
    time.sleep(3)


def unanswered_yes(bot: Bot, user: str) -> None:
    try:
        bot.post_rest({"sender": user, "message": "yes"})
    except OSError:  # its replica is killed mid-turn: no answer comes
        pass


@pytest.mark.parametrize("replicas", ["deploybot"], indirect=True)
def test_a_replica_killed_holding_the_lock_holds_up_the_conversation_one_lifetime_at_most(replicas):
    first, second = replicas.replicas["marvin"]
    user = new_user_id()
    builds_done_on(replicas)  # the races' builds: a busy app would answer the "yes" at once
    assert second.texts(user, "deploy search 5.5.0")[0].endswith("(yes/no)")
    # Jenkins answers the build request after 30 s: the "yes" turn holds the lock meanwhile.
    replicas.jenkins.control("POST", "/faults", {"path": "buildWithParameters", "delay": 30, "count": 1})
    threading.Thread(target=unanswered_yes, args=(second, user), daemon=True).start()
    tickets = f"marvin:turns:{{{user}}}:tickets"
    store, deadline = redis_client.Redis(port=replicas.redis.port, db=1), time.monotonic() + 30
    while not store.zcard(tickets):
        assert time.monotonic() < deadline, "the yes turn never took the lock"
        time.sleep(0.05)
    time.sleep(1)  # well inside the turn, which waits for Jenkins
    assert store.zcard(tickets) == 1, "the yes turn ended before the kill"
    os.kill(rasa_pid(second.port), signal.SIGKILL)
    killed = time.monotonic()
    answer = first.texts(user, "status")
    waited = time.monotonic() - killed
    print(f"\nthe next turn, on the other replica, was answered {waited:.1f} s after the kill (lifetime {LIFETIME} s)")
    assert LIFETIME * 0.5 < waited < LIFETIME + 10, waited  # it did wait for the lease, and not much longer
    assert answer and answer[0]
    assert [e.get("text") for e in first.tracker(user)["events"] if e["event"] == "user"][-1] == "status"
    replicas.jenkins.control("POST", "/reset")
    # The stack starts the killed replica again; the fixture's stop expects it running.
    deadline = time.monotonic() + 300
    while not is_ready(f"{second.url}/status?token={second.token}"):
        assert time.monotonic() < deadline, "the killed Rasa server did not come back"
        time.sleep(2)


@pytest.mark.parametrize("replicas", ["rasa"], indirect=True)
def test_rasas_own_redis_lock_store_lets_both_replicas_in(replicas):
    """Why deploybot.rasa_glue.rasa_lock_store exists: the same races on Rasa's RedisLockStore lose
    messages and replies. A failure of this test means the harness no longer races."""
    results = run_experiments(replicas, STOCK_SENDERS)
    assert sum(counted["senders affected"] for counted in results.values()) >= 1, results
