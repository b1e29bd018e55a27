"""Two-factor codes (deploybot.policy.two_factor) with injected time and codes made by pyotp for the
test's clock, on SQLite and PostgreSQL: the steps around now, replay, wrong codes and the
lock, the admin's reset, and a secret that is never in the database in plain text."""
import pyotp
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from deploybot.policy.two_factor import (
    BACKOFF_AFTER, FAILURE_WINDOW, FIRST_BACKOFF_SECONDS, MAX_FAILURES, STEP_SECONDS, TwoFactor, TwoFactorUnavailable, Verdict, cipher_from,
)

START = 1_800_000_000.0  # a fixed moment, at the start of a 30-second step


class Clock:
    def __init__(self):
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def factor(db_on_both, clock):
    return TwoFactor(db_on_both, Fernet(Fernet.generate_key()), clock)


def enrolled(factor, clock, user="U0THERESA1") -> pyotp.TOTP:
    """Enrols the user as an authenticator app would; returns the app's code maker."""
    enrolment = factor.start_enrolment(user, "theresa")
    app = pyotp.parse_uri(enrolment.uri)
    assert factor.confirm_enrolment(user, app.at(clock.now)) is Verdict.ACCEPTED
    clock.now += 2 * STEP_SECONDS  # past the confirming code's step, and the step before now unused
    return app


def test_an_enrolment_counts_only_once_proven_with_a_first_code(factor, clock):
    enrolment = factor.start_enrolment("U0THERESA1", "theresa")
    assert enrolment.uri.startswith("otpauth://totp/deploybot:theresa?secret=") and "issuer=deploybot" in enrolment.uri
    assert enrolment.qr_png.startswith(b"\x89PNG") and "▀" in enrolment.qr_terminal + "▄█"
    assert "secret" not in repr(enrolment)
    assert not factor.is_enrolled("U0THERESA1")
    assert factor.verify("U0THERESA1", pyotp.parse_uri(enrolment.uri).at(clock.now)) is Verdict.NOT_ENROLLED
    wrong = "000000" if pyotp.parse_uri(enrolment.uri).at(clock.now) != "000000" else "000001"
    assert factor.confirm_enrolment("U0THERESA1", wrong) is Verdict.WRONG
    assert factor.confirm_enrolment("U0THERESA1", pyotp.parse_uri(enrolment.uri).at(clock.now)) is Verdict.ACCEPTED
    assert factor.is_enrolled("U0THERESA1")
    assert factor.start_enrolment("U0THERESA1", "theresa") is None  # enrolled: only an admin's reset starts over


@pytest.mark.parametrize("drift", [-STEP_SECONDS, 0, STEP_SECONDS])
def test_the_code_of_this_step_and_of_the_step_before_and_after_are_accepted(factor, clock, drift):
    app = enrolled(factor, clock)
    assert factor.verify("U0THERESA1", app.at(clock.now + drift)) is Verdict.ACCEPTED


@pytest.mark.parametrize("drift", [-2 * STEP_SECONDS, 2 * STEP_SECONDS])
def test_codes_two_steps_away_are_wrong(factor, clock, drift):
    app = enrolled(factor, clock)
    assert factor.verify("U0THERESA1", app.at(clock.now + drift)) is Verdict.WRONG


def test_each_code_is_accepted_once(factor, clock):
    app = enrolled(factor, clock)
    code = app.at(clock.now)
    assert factor.verify("U0THERESA1", code) is Verdict.ACCEPTED
    assert factor.verify("U0THERESA1", code) is Verdict.REPLAYED
    assert factor.verify("U0THERESA1", app.at(clock.now - STEP_SECONDS)) is Verdict.REPLAYED  # an older step too
    clock.now += STEP_SECONDS
    assert factor.verify("U0THERESA1", app.at(clock.now)) is Verdict.ACCEPTED


def wrong(app, clock, other="123456") -> str:
    return other if app.at(clock.now) != other else "654321"


def test_five_wrong_codes_in_a_row_lock_until_an_admin_resets(factor, clock):
    app = enrolled(factor, clock)
    for attempt in range(MAX_FAILURES - 1):
        assert factor.verify("U0THERESA1", wrong(app, clock)) is Verdict.WRONG
        clock.now += 10 * 60  # past any backoff
    assert factor.verify("U0THERESA1", wrong(app, clock, "000001")) is Verdict.LOCKED
    assert factor.verify("U0THERESA1", app.at(clock.now)) is Verdict.LOCKED  # even the right code
    assert factor.is_locked("U0THERESA1") and factor.tries_left("U0THERESA1") == 0
    assert factor.reset("U0THERESA1") and not factor.is_enrolled("U0THERESA1")
    enrolled(factor, clock)
    assert not factor.is_locked("U0THERESA1")


def test_after_three_wrong_codes_each_try_waits_twice_as_long_and_is_not_checked_sooner(factor, clock):
    app = enrolled(factor, clock)
    for attempt in range(BACKOFF_AFTER):
        assert factor.verify("U0THERESA1", wrong(app, clock)) is Verdict.WRONG
    assert factor.wait_seconds("U0THERESA1") == FIRST_BACKOFF_SECONDS
    assert factor.verify("U0THERESA1", app.at(clock.now)) is Verdict.WAIT  # even the right code waits: nothing is checked
    clock.now += FIRST_BACKOFF_SECONDS
    assert factor.verify("U0THERESA1", wrong(app, clock)) is Verdict.WRONG
    assert factor.wait_seconds("U0THERESA1") == 2 * FIRST_BACKOFF_SECONDS
    assert factor.tries_left("U0THERESA1") == 1
    clock.now += 2 * FIRST_BACKOFF_SECONDS
    assert factor.verify("U0THERESA1", app.at(clock.now)) is Verdict.ACCEPTED  # a right code clears the count
    assert factor.tries_left("U0THERESA1") == MAX_FAILURES and factor.wait_seconds("U0THERESA1") == 0


def test_a_steady_four_guesses_every_15_minutes_lock(factor, clock):
    """The old fixed 15-minute window let this rate guess about 384 times a day."""
    app = enrolled(factor, clock)
    verdicts = []
    for quarter in range(4):
        for guess in range(4):
            verdicts.append(factor.verify("U0THERESA1", wrong(app, clock)))
            clock.now += 60
        clock.now += 11 * 60 + 1  # the next four start just past the old 15-minute window
    assert Verdict.LOCKED in verdicts and verdicts.count(Verdict.WRONG) == MAX_FAILURES - 1
    assert factor.is_locked("U0THERESA1")


def test_no_rate_of_guessing_checks_more_than_four_codes_in_any_24_hours(factor, clock):
    """The bound docs/safeguards.md states: a patient guesser who never trips the lock (tries only
    when a code would be checked and one wrong code is still allowed) gets at most
    MAX_FAILURES - 1 codes checked in any 24 hours, over a simulated week."""
    app = enrolled(factor, clock)
    start, checked = clock.now, []
    while clock.now < start + 7 * 24 * 3600:
        if factor.wait_seconds("U0THERESA1") == 0 and factor.tries_left("U0THERESA1") > 1:
            assert factor.verify("U0THERESA1", wrong(app, clock)) is Verdict.WRONG
            checked.append(clock.now)
        clock.now += 15
        if len(checked) % (MAX_FAILURES - 1) == 0 and checked and clock.now - checked[-1] < 23 * 3600:
            clock.now += 3600  # waiting out the day in big steps (the guesser can do no better)
    assert not factor.is_locked("U0THERESA1")
    most = max(sum(1 for t in checked if first <= t < first + 24 * 3600) for first in checked)
    assert most == MAX_FAILURES - 1 == 4
    assert 6 * 4 <= len(checked) <= 7 * 4  # a week: about 4 a day, never more


def test_a_day_without_a_wrong_code_forgets_the_earlier_ones(factor, clock):
    app = enrolled(factor, clock)
    for attempt in range(MAX_FAILURES - 1):
        assert factor.verify("U0THERESA1", wrong(app, clock)) is Verdict.WRONG
        clock.now += 10 * 60
    assert factor.tries_left("U0THERESA1") == 1
    clock.now += FAILURE_WINDOW.total_seconds() + 1
    assert factor.tries_left("U0THERESA1") == MAX_FAILURES
    assert factor.verify("U0THERESA1", wrong(app, clock)) is Verdict.WRONG
    assert factor.tries_left("U0THERESA1") == MAX_FAILURES - 1


def test_the_secret_is_stored_encrypted(factor, clock, db_on_both):
    enrolment = factor.start_enrolment("U0THERESA1", "theresa")
    secret = pyotp.parse_uri(enrolment.uri).secret
    with db_on_both.transaction() as session:
        stored = session.execute(text("SELECT * FROM two_factor_enrolments")).fetchall()
    assert stored and secret not in repr(stored)


def test_no_key_or_a_bad_key_means_no_two_factor():
    with pytest.raises(TwoFactorUnavailable, match="DEPLOYBOT_SECRET_KEY is not set"):
        cipher_from({})
    with pytest.raises(TwoFactorUnavailable, match="is not a Fernet key"):
        cipher_from({"DEPLOYBOT_SECRET_KEY": "hunter2"})
    assert cipher_from({"DEPLOYBOT_SECRET_KEY": Fernet.generate_key().decode()})
