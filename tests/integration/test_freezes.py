"""Freeze windows against the running stack (issue 24, item 1): a freeze from freezes.yml
(DEPLOYBOT_FREEZES) and one an admin sets in chat refuse a deploy with the reason and when
the freeze ends; a chat freeze that ends (its stored end moved a few seconds ahead, no test
waits minutes) lets deploys through again; "any freezes?" says them; a YAML freeze cannot
be lifted in chat; an admin's break glass passes a freeze, starts the build and is posted to
the management channel saying it broke through the freeze. Bender asks for codes here, as
in production (break glass always needs one)."""
import re
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import requests
from sqlalchemy import update

from deploybot.domain.profiles import load_profiles
from deploybot.storage.database import Database
from deploybot.storage.models import ChatFreeze
from tests.safeguards import SAFEGUARD_SETTINGS, enrol, next_code
from tests.integration.test_terminal_chat import Chat
from tests.security.evidence import builds_with, last_audit_id, nothing_deployed
from tests.support import ADMIN, audit_entries, deployments, grant, new_user_id, running_stack, start_ledger_web

ZONE = ZoneInfo(load_profiles()["bender"].time_zone)
WHEN = r"[A-Z][a-z]{2} \d{4}-\d\d-\d\d \d\d:\d\d [A-Z]{3,4}"   # gate.when: "Mon 2026-12-14 08:00 CET"
BILLING_ENDS = (datetime.now(ZONE) + timedelta(days=2)).replace(second=0, microsecond=0)


def freezes_file(directory):
    """billing on production is frozen from yesterday until two days from now (month-end)."""
    start = datetime.now(ZONE) - timedelta(days=1)
    path = directory / "freezes.yml"
    path.write_text(f"""freezes:
  - environment: production
    apps: [billing]
    from: "{start:%Y-%m-%d %H:%M}"
    until: "{BILLING_ENDS:%Y-%m-%d %H:%M}"
    reason: month-end closing
  - environment: staging
    days: [monday]
    at: "03:00"
    for: 1h
    reason: nightly backup
""")
    return path


@pytest.fixture(scope="module")
def frozen(tmp_path_factory):
    var = tmp_path_factory.mktemp("freezes")
    with running_stack(var, {**SAFEGUARD_SETTINGS, "DEPLOYBOT_FREEZES": str(freezes_file(var))}) as running:
        yield running


@pytest.fixture
def bender(frozen):
    return frozen.bots["bender"]


def chat_freeze_ends_in(stack, seconds: float) -> None:
    """Moves the end of every standing chat freeze a few seconds ahead (no test waits minutes)."""
    with Database(stack.database_url()).transaction() as session:
        session.execute(update(ChatFreeze).where(ChatFreeze.lifted_at.is_(None))
                        .values(ends_at=datetime.now(timezone.utc) + timedelta(seconds=seconds)))


def test_a_freeze_from_the_file_refuses_with_its_reason_and_end_and_cannot_be_lifted_in_chat(frozen, bender):
    user = new_user_id()
    grant(bender, user, "billing")
    grant(bender, user, "cms")
    [refusal] = bender.texts(user, "deploy billing 7.7.1")
    assert refusal == ("I can't deploy Billing Service to production now. freeze: month-end closing (billing on production is frozen, "
                       f"freezes.yml #1) (until {BILLING_ENDS:%a %Y-%m-%d %H:%M} {BILLING_ENDS.tzname()}). Nothing was deployed."), refusal
    nothing_deployed(frozen, requested_by=user)
    assert bender.texts(user, "deploy cms 7.7.1") == ["Deploy Content Management System 7.7.1 to production? (yes/no)"]  # only billing
    bender.texts(user, "no")
    [said] = bender.texts(user, "any freezes?")
    assert said.startswith("Frozen now: billing on production from ") and "month-end closing (freezes.yml #1)" in said, said
    assert "nightly backup" not in said  # staging is Marvin's
    since = last_audit_id(frozen)
    [lifted] = bender.texts(ADMIN, "lift the freeze on billing in production")
    assert lifted.startswith("A freeze from freezes.yml cannot be lifted in chat"), lifted
    assert re.search(rf"production is still frozen until {WHEN}\.$", lifted), lifted
    assert [e.outcome for e in audit_entries(frozen, ADMIN, "lift_freeze", since)] == ["refused"]
    assert bender.texts(user, "deploy billing 7.7.1")[0].startswith("I can't deploy Billing Service to production now. freeze:")


def test_an_admins_chat_freeze_refuses_deploys_until_it_ends(frozen, bender):
    user = new_user_id()
    grant(bender, user, "shop")
    since = last_audit_id(frozen)
    [frozen_said] = bender.texts(ADMIN, "freeze shop on production from 00:00 today until tomorrow 23:00: release weekend")
    assert re.fullmatch(rf"Frozen shop on production from {WHEN} until {WHEN}: release weekend\. Deploys there are refused in that "
                        r"time; an admin's break glass passes it\. To end it early: “lift the freeze on production”\.", frozen_said), frozen_said
    tomorrow = (datetime.now(ZONE) + timedelta(days=1)).date()
    assert f"until {tomorrow:%a %Y-%m-%d} 23:00" in frozen_said
    [entry] = audit_entries(frozen, ADMIN, "freeze", since)
    assert (entry.outcome, entry.app, entry.environment) == ("done", "shop", "production") and "release weekend" in entry.detail

    [refusal] = bender.texts(user, "deploy shop 3.3.1")
    assert re.fullmatch(rf"I can't deploy Web Shop to production now\. freeze: release weekend \(shop on production is frozen, set in chat\) "
                        rf"\(until {tomorrow:%a %Y-%m-%d} 23:00 [A-Z]{{3,4}}\)\. Nothing was deployed\.", refusal), refusal
    nothing_deployed(frozen, requested_by=user)
    assert "release weekend (set in chat, set by UADMIN0001)" in bender.texts(user, "any freezes?")[0]

    chat_freeze_ends_in(frozen, 2)
    time.sleep(2.5)
    assert bender.texts(user, "deploy shop 3.3.1") == ["Deploy Web Shop 3.3.1 to production? (yes/no)"]
    bender.texts(user, "no")


def test_an_admin_lifts_a_chat_freeze(frozen, bender):
    user = new_user_id()
    grant(bender, user, "crm")
    bender.texts(ADMIN, "freeze crm on production from 00:00 today until tomorrow 22:00: data import")
    assert bender.texts(user, "deploy crm 4.4.1")[0].startswith("I can't deploy")
    since = last_audit_id(frozen)
    assert bender.texts(ADMIN, "lift the freeze on crm in production") == [
        "Lifted the freeze set in chat on crm on production (data import). Deploys to production are allowed again."]
    assert [e.outcome for e in audit_entries(frozen, ADMIN, "lift_freeze", since)] == ["done"]
    assert bender.texts(user, "deploy crm 4.4.1") == ["Deploy Customer Relationship Management 4.4.1 to production? (yes/no)"]
    bender.texts(user, "no")


def test_an_admins_break_glass_passes_the_freeze_and_management_hears_it(frozen, bender):
    admin_app = enrol(bender, ADMIN)
    [asked] = bender.texts(ADMIN, "bender, emergency deploy billing 8.4.0, reason: outage INC-123")
    assert asked.startswith("Deploy Billing Service 8.4.0 to production needs your second factor"), asked
    nothing_deployed(frozen, version="8.4.0")
    [started] = bender.texts(ADMIN, next_code(admin_app))
    assert started.startswith("OK, deploying Billing Service 8.4.0 to production"), started
    [record] = deployments(frozen, version="8.4.0")
    assert (record.requested_by, record.break_glass_reason) == (ADMIN, "outage INC-123")
    assert builds_with(frozen, "VERSION", "8.4.0")
    management = frozen.var_dir / "log" / "management.log"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "Break glass" not in (management.read_text() if management.exists() else ""):
        time.sleep(0.3)
    posted = management.read_text()
    assert ("Reason: outage INC-123. It broke through the freeze on billing on production: month-end closing "
            f"(freezes.yml #1, until {BILLING_ENDS:%a %Y-%m-%d %H:%M} {BILLING_ENDS.tzname()}).") in posted, posted


def test_the_dashboards_now_page_shows_the_freezes(frozen, bender, tmp_path):
    bender.texts(ADMIN, "freeze search on production from 00:00 today until tomorrow 21:00: reindex")
    process, base = start_ledger_web(frozen.database_url(), tmp_path / "web.log",
                                     {"DEPLOYBOT_WEB_SIGNIN_TOKEN": "freeze-token", "DEPLOYBOT_WEB_SECRET": "test-secret",
                                      "DEPLOYBOT_FREEZES": str(frozen.var_dir / "freezes.yml"), "DEPLOYBOT_WEB_TIMEZONE": str(ZONE)})
    try:
        session = requests.Session()
        assert session.get(f"{base}/signin?token=freeze-token", timeout=30, allow_redirects=False).status_code == 302
        page = session.get(f"{base}/", timeout=30).text
    finally:
        process.terminate()
        process.wait(timeout=20)
    section = page[page.index('<section class="freezes"'):]
    assert "Frozen now" in section and "billing on production: " in section and "month-end closing" in section, section
    assert f"until {BILLING_ENDS:%Y-%m-%d %H:%M}:00" in section
    assert "search on production: " in section and "reindex" in section and "set by UADMIN0001" in section
    assert "<h3>Next</h3>" in section and "staging" in section and "nightly backup" in section
    bender.texts(ADMIN, "lift the freeze on search in production")


def test_freezes_in_the_terminal_chat(frozen, bender):
    user = new_user_id()
    grant(bender, user, "cms")
    chat = Chat(frozen.env, user=ADMIN)
    try:
        chat.type("bender, freeze cms on production from 00:00 today until tomorrow 20:00: editorial launch")
        chat.expect_start("Bender: Frozen cms on production from ")
        chat.type("any freezes?")
        chat.expect_start("Bender: Frozen now: ")
        chat.type(f"/user {user}")
        chat.type("bender, deploy cms 5.5.1")
        chat.expect_start("Bender: I can't deploy Content Management System to production now. freeze: editorial launch")
        chat.type(f"/user {ADMIN}")
        chat.type("lift the freeze on cms in production")
        chat.expect("Bender: Lifted the freeze set in chat on cms on production (editorial launch). "
                    "Deploys to production are allowed again.")
        chat.type("/quit")
        assert chat.process.wait(timeout=10) == 0
    finally:
        chat.process.kill()


def test_a_scheduled_deploy_that_finds_a_freeze_at_its_time_starts_nothing(frozen, bender):
    """Scheduled while production was open (the code given then), frozen since: at its time the
    gate refuses with the freeze, and nothing starts (issue 24's schedules and freezes together)."""
    from tests.integration.test_scheduled_deploys import make_due, rows

    user = new_user_id()
    app = enrol(bender, user)
    grant(bender, user, "intranet")
    assert bender.texts(user, "@bender deploy intranet 5.1.0 tomorrow at 07:00")[0].endswith("(yes/no)")
    bender.texts(user, "yes")
    assert bender.texts(user, next_code(app))[0].startswith("Scheduled: ")
    bender.texts(ADMIN, "freeze intranet on production from 00:00 today until tomorrow 23:00: security audit")
    since = last_audit_id(frozen)
    make_due(frozen.database_url(), user)
    [said] = bender.wait_for(user, "It's time for your scheduled Deploy Intranet Portal 5.1.0 to production, but I can't: ")
    assert "security audit" in said and said.endswith("Nothing was deployed."), said
    nothing_deployed(frozen, requested_by=user)
    [row] = rows(frozen.database_url(), user)
    assert row.state == "refused"
    assert [e.outcome for e in audit_entries(frozen, user, "schedule", since)] == ["refused"]
    bender.texts(ADMIN, "lift the freeze on intranet in production")


def test_why_cant_i_names_the_freeze_the_lock_and_the_queue_with_when_they_open(frozen, bender):
    """"why can't I?" over the gate's own rules: a freeze from freezes.yml on Bender; a lock and
    someone waiting ahead in the queue on Marvin."""
    user = new_user_id()
    grant(bender, user, "billing")
    [answer] = bender.texts(user, "why can't I deploy billing?")
    assert answer.startswith("You can't deploy Billing Service to production now"), answer
    assert re.search(rf"freeze: month-end closing .*\(until {BILLING_ENDS:%a %Y-%m-%d %H:%M} [A-Z]{{3,4}}\)", answer), answer

    marvin, waiting, asking = frozen.bots["marvin"], new_user_id(), new_user_id()
    marvin.texts(ADMIN, "lock search on staging: load test")
    refusal, offer = marvin.texts(waiting, "deploy search 2.0.0")
    assert "locked" in refusal and offer.startswith("You can wait your turn"), (refusal, offer)
    assert marvin.texts(waiting, "queue me")[0].startswith("You're 1st in the queue for search on staging")
    [answer] = marvin.texts(asking, "why can't I deploy search?")
    assert "lock: " in answer and "load test" in answer, answer
    assert f"queue: {waiting} is next for search on staging" in answer, answer
    nothing_deployed(frozen, requested_by=asking)
    marvin.texts(waiting, "leave the queue")
    marvin.texts(ADMIN, "unlock search on staging")
