"""The weekly digest (deploybot/ledger/digest.py, deploybot/domain/digest_schedule.py) with injected time: its
schedule across time zones and DST, its content on a fixed ledger, and its once-per-week
claim with two senders (replicas) on one database, SQLite and PostgreSQL."""
import json
from datetime import date, datetime, time, timedelta, timezone
from threading import Barrier, Thread
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select

from deploybot.domain.digest_schedule import DigestSchedule
from deploybot.ledger.digest import DigestSender, compose
from deploybot.ledger.periods import Period
from deploybot.delivery.notifier import AllOf, LogFileNotifier
from deploybot.domain.profiles import ProfileError, load_profile
from deploybot.storage.models import Deployment, DigestPost

BERLIN, UTC = ZoneInfo("Europe/Berlin"), ZoneInfo("UTC")
MONDAY_9 = DigestSchedule(0, time(9, 0), BERLIN)


def at(text: str, tz=BERLIN) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=tz)


# -- the schedule ---------------------------------------------------------------------------

@pytest.mark.parametrize("moment, week", [
    ("2026-11-30 08:59", None),                     # not before 09:00
    ("2026-11-30 09:00", date(2026, 11, 23)),       # due: last week, Monday to Sunday
    ("2026-11-30 20:59", date(2026, 11, 23)),       # caught up within 12 hours
    ("2026-11-30 21:00", None),                     # too late: not sent out of the blue
    ("2026-12-03 10:00", None),                     # Thursday
    ("2026-11-29 23:59", None),                     # Sunday night, the week is not over
])
def test_the_digest_is_due_at_the_local_time_and_for_the_week_before(moment, week):
    assert MONDAY_9.due_week(at(moment)) == week


def test_due_at_0900_local_across_dst_and_time_zones():
    # Berlin: 08:00 UTC in winter, 07:00 UTC on the Monday after clocks went forward (29 March 2026).
    assert MONDAY_9.due_week(at("2026-03-23 07:59", UTC)) is None
    assert MONDAY_9.due_week(at("2026-03-23 08:00", UTC)) == date(2026, 3, 16)
    assert MONDAY_9.due_week(at("2026-03-30 06:59", UTC)) is None
    assert MONDAY_9.due_week(at("2026-03-30 07:00", UTC)) == date(2026, 3, 23)
    # Tokyo's Monday 09:00 is Sunday 00:00 UTC; New York's is 14:00 UTC in winter.
    assert DigestSchedule(0, time(9), ZoneInfo("Asia/Tokyo")).due_week(at("2026-11-30 00:00", UTC)) == date(2026, 11, 23)
    new_york = DigestSchedule(0, time(9), ZoneInfo("America/New_York"))
    assert new_york.due_week(at("2026-11-30 13:59", UTC)) is None
    assert new_york.due_week(at("2026-11-30 14:00", UTC)) == date(2026, 11, 23)


def test_a_sunday_evening_digest_reports_the_week_ending_that_day_until_monday_morning():
    sunday = DigestSchedule(6, time(20, 0), BERLIN)
    assert sunday.due_week(at("2026-11-29 19:59")) is None
    assert sunday.due_week(at("2026-11-29 20:00")) == date(2026, 11, 16)   # the last whole week before
    assert sunday.due_week(at("2026-11-30 07:59")) == date(2026, 11, 16)   # caught up across midnight


def test_the_week_of_the_dst_change_is_23_hours_shorter_in_utc():
    week = Period(date(2026, 3, 23), date(2026, 3, 29), BERLIN)
    assert week.start == datetime(2026, 3, 22, 23, 0, tzinfo=timezone.utc)
    assert week.end == datetime(2026, 3, 29, 22, 0, tzinfo=timezone.utc)


def profile_file(tmp_path, extra: str = "", name="bender"):
    path = tmp_path / f"{name}.yml"
    path.write_text(f"name: Bender\nenvironments: [production]\nports: {{rasa: 5006, actions: 5056}}\n"
                    f"management_channel: '#management'\n{extra}")
    return path


def test_the_profile_schedule_defaults_to_monday_0900_in_its_time_zone_and_can_be_switched_off(tmp_path):
    assert load_profile(profile_file(tmp_path, "time_zone: Asia/Tokyo\n"), {}).digest == \
        DigestSchedule(0, time(9), ZoneInfo("Asia/Tokyo"))
    assert load_profile(profile_file(tmp_path, 'digest: {weekday: friday, time: "16:30"}\n'), {}).digest == \
        DigestSchedule(4, time(16, 30), UTC)
    assert load_profile(profile_file(tmp_path, "digest: false\n"), {}).digest is None
    assert load_profile(profile_file(tmp_path), {"DEPLOYBOT_DIGEST": "off"}).digest is None
    assert load_profile(profile_file(tmp_path), {"DEPLOYBOT_DIGEST_WEEKDAY": "tuesday",
                                                 "DEPLOYBOT_DIGEST_TIME": "7:05"}).digest == DigestSchedule(1, time(7, 5), UTC)


@pytest.mark.parametrize("setting, says", [
    ('digest: {weekday: someday}', "digest.weekday"), ('digest: {time: "25:00"}', "digest.time"),
    ("digest: [monday]", "digest is false or a mapping"), ("time_zone: Mars/Olympus", "time_zone"),
])
def test_a_bad_schedule_names_the_setting(tmp_path, setting, says):
    with pytest.raises(ProfileError, match=says):
        load_profile(profile_file(tmp_path, setting + "\n"), {})


# -- the content ------------------------------------------------------------------------------

def deployment(app, state, requested: datetime, minutes: float, person: str, kind="deploy", environment="production",
               commit_at: datetime = None):
    requested = requested.astimezone(timezone.utc)
    finished = requested + timedelta(minutes=minutes)
    return dict(assistant="bender", app=app, environment=environment, version="1.0.0", kind=kind, requested_by=person,
                state=state, active_key=None, jenkins_job=f"deploy-{app}", conversation_id=person, output_channel="rest",
                requested_at=requested, confirmed_at=requested, finished_at=finished,
                start_reported_at=finished, outcome_reported_at=finished,
                commit_at=commit_at.astimezone(timezone.utc) if commit_at else None)


# Last week (Mon 23 – Sun 29 Nov 2026, Berlin) and the week before; the edges in local time.
LEDGER = [
    deployment("cms", "succeeded", at("2026-11-16 10:00"), 4, "amelia"),
    deployment("cms", "failed", at("2026-11-22 23:30"), 3, "kofi",                 # Sunday night: the week before
               commit_at=at("2026-11-22 20:00")),                                  # its commit went live with the next
    deployment("cms", "succeeded", at("2026-11-23 00:10"), 6, "kofi"),              # Monday 00:10 Berlin (Sunday in UTC)
    deployment("shop", "succeeded", at("2026-11-24 11:00"), 10, "amelia", commit_at=at("2026-11-24 09:00")),
    deployment("shop", "succeeded", at("2026-11-25 11:00"), 8, "ines", kind="rollback"),  # rolls back the one before
    deployment("crm", "timed_out", at("2026-11-26 15:00"), 30, "ravi"),
    deployment("crm", "succeeded", at("2026-11-29 23:50"), 2, "ravi"),              # Sunday 23:50: still last week
    deployment("crm", "succeeded", at("2026-11-30 00:05"), 2, "tom"),               # this week: not in it
    deployment("crm", "failed", at("2026-11-24 12:00"), 2, "oskar", environment="staging"),  # another environment
]


@pytest.fixture
def ledger(db_on_both):
    with db_on_both.transaction() as session:
        session.execute(insert(Deployment), LEDGER)
    return db_on_both


@pytest.fixture
def bender(tmp_path):
    return load_profile(profile_file(tmp_path, "time_zone: Europe/Berlin\n"), {})


def test_the_digest_says_last_weeks_numbers_against_the_week_before(ledger, bender):
    with ledger.transaction() as session:
        text = compose(session, bender, date(2026, 11, 23), "https://deploys.example.com")
    assert text.splitlines() == [
        "Weekly digest, production: Mon 23 Nov – Sun 29 Nov 2026 (Europe/Berlin), with the week before in brackets",
        "• deployments: 4 successful of 5 (1 of 2)",
        "• people who deployed: 4 (2)",
        "• request to deployed, median: 7 min 0 s (4 min 0 s)",
        "• failures (failed, timed out or rolled back): 2 (1)",
        "• rollbacks: 1 (0)",
        # DORA's keys, worked out by hand: 4 deployments (the rollback is one) in 7 days; lead
        # times 4 h 16 min (cms: the failed build's commit, 20:00, live at 00:16) and 2 h 10 min
        # (shop), crm's unknown; shop's change was rolled back 23 h 58 min after it went live.
        "DORA's four keys (levels: DORA's 2024 report, for frequency and lead time only):",
        "• deployment frequency: 0.57 a day, 4.0 a week (4), high (0.14 a day, 1.0 a week (1); +3.0 a week)",
        "• lead time for changes, median: 3 h 13 min (2 known; unknown for 1 of 3), elite"
        " (unknown (1 without a commit time); –)",
        "• change failure rate: 33% (1 of 3) (0% (0 of 1); +33 points)",
        "• time to restore, median: 23 h 58 min (–; –)",
        "• failed builds (never reached users): 1 (1)",
        "  cms: 1 deployed, lead time 4 h 16 min (1 known), change failure rate 0% (0 of 1), restore –",
        "  crm: 1 deployed, lead time unknown (1 without a commit time), change failure rate 0% (0 of 1), restore –",
        "  shop: 2 deployed, lead time 2 h 10 min (1 known), change failure rate 100% (1 of 1), restore 23 h 58 min",
        "Dashboard: https://deploys.example.com/metrics?since=2026-11-23&until=2026-11-29&environment=production"
        "&tz=Europe%2FBerlin",
    ]


def test_a_week_in_another_time_zone_has_other_edges(ledger, tmp_path):
    # In UTC, Monday 00:10 Berlin (Sunday 23:10 UTC) belongs to the week before, and the
    # next Monday's 00:05 Berlin (Sunday 23:05 UTC) to the week.
    utc_bender = load_profile(profile_file(tmp_path, "time_zone: UTC\n"), {})
    with ledger.transaction() as session:
        lines = compose(session, utc_bender, date(2026, 11, 23), "http://x").splitlines()
    assert lines[1] == "• deployments: 4 successful of 5 (2 of 3)"


# -- once per week, across replicas -----------------------------------------------------------

def posts(path) -> list:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def senders(ledger, bender, path, count=2):
    """Replicas: each its own sender id, all on one database, posting to the same log."""
    return [DigestSender(ledger, bender, LogFileNotifier(path), "http://dash") for _ in range(count)]


def test_two_replicas_post_once_at_the_due_time_and_never_again(ledger, bender, tmp_path):
    path = tmp_path / "management.log"
    replicas = senders(ledger, bender, path, count=4)
    assert [r.tick(at("2026-11-30 08:59")) for r in replicas] == [[], [], [], []]
    assert posts(path) == [] and _rows(ledger) == []
    barrier, delivered = Barrier(len(replicas)), []

    def tick(replica):
        barrier.wait()
        delivered.extend(replica.tick(at("2026-11-30 09:00")))

    threads = [Thread(target=tick, args=(r,)) for r in replicas]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert delivered == ["log"]
    [post] = posts(path)
    assert post["channel"] == "#management" and post["text"].startswith("Weekly digest, production: Mon 23 Nov")
    for moment in ("2026-11-30 09:00", "2026-11-30 12:00", "2026-11-30 20:59", "2026-12-01 09:00"):
        assert [r.tick(at(moment)) for r in replicas] == [[], [], [], []]
    assert len(posts(path)) == 1
    # The next week's is its own.
    assert replicas[1].tick(at("2026-12-07 09:01")) == ["log"]
    assert [p["text"].splitlines()[0][:44] for p in posts(path)] == [
        "Weekly digest, production: Mon 23 Nov – Sun ", "Weekly digest, production: Mon 30 Nov – Sun "]


def test_a_failed_post_is_retried_next_round_and_each_destination_is_sent_once(ledger, bender, tmp_path):
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    failing, working = LogFileNotifier(blocked / "management.log", name="log"), LogFileNotifier(tmp_path / "chat.log", name="chat")
    replica = DigestSender(ledger, bender, AllOf([failing, working]), "http://dash")
    assert replica.tick(at("2026-11-30 09:00")) == ["chat"]
    assert replica.tick(at("2026-11-30 09:00:05")) == []       # the log still fails; chat is done
    failing.path = tmp_path / "management.log"
    assert replica.tick(at("2026-11-30 09:00:10")) == ["log"]
    assert posts(tmp_path / "management.log")[0]["text"] == posts(tmp_path / "chat.log")[0]["text"]
    assert replica.tick(at("2026-11-30 09:00:15")) == []


def test_a_dead_senders_lease_holds_the_post_until_it_expires(ledger, bender, tmp_path):
    path = tmp_path / "management.log"
    dead, alive = senders(ledger, bender, path)
    row_id = dead._row(date(2026, 11, 23), "log", at("2026-11-30 09:00").astimezone(timezone.utc))
    assert dead._take(row_id, at("2026-11-30 09:00").astimezone(timezone.utc))   # ... and then it died
    assert alive.tick(at("2026-11-30 09:01")) == []
    assert alive.tick(at("2026-11-30 09:02")) == ["log"]          # the 90 s lease has expired
    assert len(posts(path)) == 1


def test_no_management_channel_or_no_schedule_no_digest(ledger, tmp_path):
    path = tmp_path / "management.log"
    marvin = tmp_path / "marvin.yml"
    marvin.write_text("name: Marvin\nenvironments: [staging]\nports: {rasa: 5005, actions: 5055}\n")
    off = load_profile(profile_file(tmp_path, "digest: false\n"), {})
    for profile in (load_profile(marvin, {}), off):
        assert DigestSender(ledger, profile, LogFileNotifier(path), "http://dash").tick(at("2026-11-30 09:00")) == []
    assert posts(path) == [] and _rows(ledger) == []


def _rows(ledger):
    with ledger.transaction() as session:
        return list(session.scalars(select(DigestPost)))
