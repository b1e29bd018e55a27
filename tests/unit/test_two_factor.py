"""Two-factor codes (deploybot.two_factor) with injected time and codes made by pyotp for the
test's clock, on SQLite and PostgreSQL: the steps around now, replay, wrong codes and the
lock, the admin's reset, and a secret that is never in the database in plain text."""
import pyotp
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from deploybot.two_factor import (
    MAX_FAILURES, STEP_SECONDS, TwoFactor, TwoFactorUnavailable, Verdict, cipher_from,
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


def test_five_wrong_codes_in_15_minutes_lock_until_an_admin_resets(factor, clock):
    app = enrolled(factor, clock)
    for attempt in range(MAX_FAILURES - 1):
        assert factor.verify("U0THERESA1", "123456" if app.at(clock.now) != "123456" else "654321") is Verdict.WRONG
        clock.now += 60
    assert factor.verify("U0THERESA1", "000001" if app.at(clock.now) != "000001" else "000002") is Verdict.LOCKED
    assert factor.verify("U0THERESA1", app.at(clock.now)) is Verdict.LOCKED  # even the right code
    assert factor.is_locked("U0THERESA1")
    assert factor.reset("U0THERESA1") and not factor.is_enrolled("U0THERESA1")
    enrolled(factor, clock)
    assert not factor.is_locked("U0THERESA1")


def test_wrong_codes_spread_over_more_than_15_minutes_do_not_lock(factor, clock):
    app = enrolled(factor, clock)
    for attempt in range(2 * MAX_FAILURES):
        assert factor.verify("U0THERESA1", "12345x") is Verdict.WRONG  # not even six digits
        clock.now += 4 * 60
    assert factor.verify("U0THERESA1", app.at(clock.now)) is Verdict.ACCEPTED


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
