"""A second factor for production deploys: time-based one-time codes (TOTP, RFC 6238) from
any authenticator app, on a phone or a watch.

- Enrolment: a new random secret per user, kept encrypted (Fernet, key from
  DEPLOYBOT_SECRET_KEY; without a key there is no two-factor at all). The user gets an
  otpauth:// URI and a QR code of it, and the enrolment counts only once they have proven it
  with a first code.
- Verification: the code of the current 30-second step or the one before or after (clocks
  drift); each step's code is accepted once (a code seen before is refused, also across
  replicas: the database takes the step with a conditional update).
- Guessing: wrong codes count until a right one (or until a whole day passes without a wrong
  one: a sliding window that every wrong code restarts). After 3 wrong codes each further
  try waits twice as long as the one before (10 s, then 20 s; a try sooner is not checked),
  and the 5th locks two-factor until an admin resets it. So no rate of guessing stays under
  the lock: at most 4 wrong codes in any 24 hours (docs/safeguards.md).
- Nothing here logs or returns a secret or a code; the caller audits every attempt.

This module is the mechanism only: which deploys need a code is deploybot.policy.step_up, the
dialogue that asks for it actions/code_holds.py and actions/codes.py.
"""
from __future__ import annotations

import hmac
import io
import math
import os
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Callable, Mapping, Optional

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import or_, update

from deploybot.storage.database import Database
from deploybot.storage.models import TwoFactorEnrolment

SECRET_KEY_ENV = "DEPLOYBOT_SECRET_KEY"
ISSUER = "deploybot"
STEP_SECONDS = 30
STEPS_OF_DRIFT = 1          # the step before and after count too
MAX_FAILURES = 5                        # the 5th wrong code in a row locks
FAILURE_WINDOW = timedelta(hours=24)    # wrong codes are forgotten only after this long without one
BACKOFF_AFTER = 3                       # after this many wrong codes, each try waits ...
FIRST_BACKOFF_SECONDS = 10              # ... this long, then twice as long each time
CODE_DIGITS = 6


class TwoFactorUnavailable(Exception):
    """No usable DEPLOYBOT_SECRET_KEY: the message says what to do."""


class Verdict(str, Enum):
    ACCEPTED = "accepted"
    WRONG = "wrong"                # not the code of this step (or the one before or after)
    REPLAYED = "replayed"          # the right code, but its step was used already
    LOCKED = "locked"              # too many wrong codes: an admin must reset it
    WAIT = "wait"                  # too soon after wrong codes: not checked, not counted
    NOT_ENROLLED = "not_enrolled"  # no confirmed enrolment (or, to confirm, none started)


@dataclass(frozen=True)
class Enrolment:
    """What the user needs to add deploybot to an authenticator app."""

    uri: str              # otpauth://totp/...: what the QR code holds
    qr_terminal: str      # the QR code as text, for the terminal chat
    qr_png: bytes         # the QR code as an image, for a direct message

    def __repr__(self) -> str:  # the URI holds the secret: never in a log line
        return "Enrolment(<hidden>)"


def enrolment_for(uri: str) -> Enrolment:
    """The URI with its QR code as text and as a PNG image."""
    qr = segno.make(uri, error="m")
    terminal, png = io.StringIO(), io.BytesIO()
    qr.terminal(out=terminal, compact=True)
    qr.save(png, kind="png", scale=6)
    return Enrolment(uri, terminal.getvalue(), png.getvalue())


def cipher_from(environ: Mapping[str, str] = os.environ) -> Fernet:
    key = environ.get(SECRET_KEY_ENV, "")
    if not key:
        raise TwoFactorUnavailable(f"Two-factor is off: {SECRET_KEY_ENV} is not set"
                                   " (python -m deploybot.policy.two_factor --new-key makes one).")
    try:
        return Fernet(key.encode())
    except (ValueError, TypeError):
        raise TwoFactorUnavailable(f"Two-factor is off: {SECRET_KEY_ENV} is not a Fernet key"
                                   " (python -m deploybot.policy.two_factor --new-key makes one).") from None


def utc_from(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def as_utc(moment: Optional[datetime]) -> Optional[datetime]:
    """SQLite hands back naive datetimes; they were stored as UTC."""
    return moment.replace(tzinfo=timezone.utc) if moment is not None and moment.tzinfo is None else moment


@dataclass
class TwoFactor:
    db: Database
    cipher: Fernet
    clock: Callable[[], float] = time.time  # injected by tests

    # -- enrolment -------------------------------------------------------------------

    def start_enrolment(self, user: str, account_name: str) -> Optional[Enrolment]:
        """A new secret for a user without a confirmed enrolment (it replaces one not yet
        proven); None when the user is enrolled already (an admin resets first)."""
        secret = pyotp.random_base32()
        with self.db.transaction() as session:
            found = session.get(TwoFactorEnrolment, user)
            if found is not None and found.confirmed_at is not None:
                return None
            if found is None:
                found = TwoFactorEnrolment(user_id=user)
                session.add(found)
            found.secret = self.cipher.encrypt(secret.encode()).decode()
            found.created_at, found.confirmed_at, found.last_step = utc_from(self.clock()), None, None
            found.failures, found.failures_since, found.locked_at = 0, None, None
        return enrolment_for(pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(name=account_name, issuer_name=ISSUER))

    def confirm_enrolment(self, user: str, code: str) -> Verdict:
        """The first code proves the app has the secret; only then does the enrolment count."""
        return self._check(user, code, confirming=True)

    def verify(self, user: str, code: str) -> Verdict:
        return self._check(user, code, confirming=False)

    def is_enrolled(self, user: str) -> bool:
        with self.db.transaction() as session:
            found = session.get(TwoFactorEnrolment, user)
            return found is not None and found.confirmed_at is not None

    def is_locked(self, user: str) -> bool:
        with self.db.transaction() as session:
            found = session.get(TwoFactorEnrolment, user)
            return found is not None and found.locked_at is not None

    def has_enrolment_started(self, user: str) -> bool:
        """Whether an enrolment waits for its first code (it lives here, not in a conversation)."""
        with self.db.transaction() as session:
            found = session.get(TwoFactorEnrolment, user)
            return found is not None and found.confirmed_at is None

    def tries_left(self, user: str) -> int:
        """Wrong codes the user may still give before the lock."""
        with self.db.transaction() as session:
            found = session.get(TwoFactorEnrolment, user)
            if found is None or found.locked_at is not None:
                return 0
            return MAX_FAILURES - counted_failures(found, utc_from(self.clock()))

    def wait_seconds(self, user: str) -> int:
        """How long the user must wait before a code is checked again (0: now)."""
        with self.db.transaction() as session:
            found = session.get(TwoFactorEnrolment, user)
            return 0 if found is None else seconds_to_wait(found, utc_from(self.clock()))

    def reset(self, user: str) -> bool:
        """An admin's reset: the enrolment (and any lock) is gone; the user enrols again."""
        with self.db.transaction() as session:
            found = session.get(TwoFactorEnrolment, user)
            if found is None:
                return False
            session.delete(found)
            return True

    # -- checking a code ---------------------------------------------------------------

    def _check(self, user: str, code: str, confirming: bool) -> Verdict:
        with self.db.transaction() as session:
            found = session.get(TwoFactorEnrolment, user)
            if found is None or (found.confirmed_at is None) != confirming:
                return Verdict.NOT_ENROLLED
            if found.locked_at is not None:
                return Verdict.LOCKED
            if seconds_to_wait(found, utc_from(self.clock())) > 0:
                return Verdict.WAIT  # not checked: a guess that cannot be right is no guess
            secret = self._secret(found)
            last_step = found.last_step
        step = matching_step(secret, code, self.clock())
        if step is None or (last_step is not None and step <= last_step):
            return self._failed(user, Verdict.WRONG if step is None else Verdict.REPLAYED)
        if not self._take_step(user, step, confirming):
            return self._failed(user, Verdict.REPLAYED)  # another replica took this step just now
        return Verdict.ACCEPTED

    def _secret(self, found: TwoFactorEnrolment) -> str:
        try:
            return self.cipher.decrypt(found.secret.encode()).decode()
        except InvalidToken:
            raise TwoFactorUnavailable(f"Two-factor secrets cannot be read with this {SECRET_KEY_ENV}:"
                                       " it changed since they were stored; an admin must reset the enrolments.") from None

    def _take_step(self, user: str, step: int, confirming: bool) -> bool:
        """Uses the step once: a conditional update, so two replicas cannot both accept it."""
        values = {"last_step": step, "failures": 0, "failures_since": None}
        if confirming:
            values["confirmed_at"] = utc_from(self.clock())
        with self.db.transaction() as session:
            result = session.execute(
                update(TwoFactorEnrolment)
                .where(TwoFactorEnrolment.user_id == user, TwoFactorEnrolment.locked_at.is_(None),
                       or_(TwoFactorEnrolment.last_step.is_(None), TwoFactorEnrolment.last_step < step))
                .values(**values))
            return result.rowcount == 1

    def _failed(self, user: str, verdict: Verdict) -> Verdict:
        """Counts a wrong or replayed code; the MAX_FAILURES-th in a row locks two-factor.
        failures_since holds the last wrong code's time: the window slides from there."""
        now = utc_from(self.clock())
        with self.db.transaction() as session:
            # The write comes first: it takes the row (PostgreSQL) or the database (SQLite) until
            # commit, so two replicas counting at once cannot lose a failure.
            counted = session.execute(update(TwoFactorEnrolment).where(TwoFactorEnrolment.user_id == user)
                                      .values(failures=TwoFactorEnrolment.failures + 1))
            if counted.rowcount != 1:
                return verdict
            found = session.get(TwoFactorEnrolment, user)
            last = as_utc(found.failures_since)
            if last is not None and now - last > FAILURE_WINDOW:
                found.failures = 1  # a whole day without a wrong code: the earlier ones are forgotten
            found.failures_since = now
            if found.failures >= MAX_FAILURES:
                found.locked_at = now
                return Verdict.LOCKED
        return verdict


def counted_failures(found: TwoFactorEnrolment, now: datetime) -> int:
    """The wrong codes that still count: all since the last right one, unless the last wrong
    one is older than FAILURE_WINDOW."""
    last = as_utc(found.failures_since)
    if not found.failures or last is None or now - last > FAILURE_WINDOW:
        return 0
    return found.failures


def backoff_seconds(failures: int) -> int:
    """How long after the last wrong code the next try waits: 0 before BACKOFF_AFTER wrong
    codes, then FIRST_BACKOFF_SECONDS, doubling with each further one."""
    return 0 if failures < BACKOFF_AFTER else FIRST_BACKOFF_SECONDS * 2 ** (failures - BACKOFF_AFTER)


def seconds_to_wait(found: TwoFactorEnrolment, now: datetime) -> int:
    failures = counted_failures(found, now)
    if failures < BACKOFF_AFTER:
        return 0
    ready = as_utc(found.failures_since) + timedelta(seconds=backoff_seconds(failures))
    return max(0, math.ceil((ready - now).total_seconds()))


def matching_step(secret: str, code: str, at: float) -> Optional[int]:
    """The time step (at or one step around `at`) whose code this is, compared in constant time."""
    code = "".join(str(code or "").split())
    if len(code) != CODE_DIGITS or not code.isdigit():
        return None
    totp, now_step = pyotp.TOTP(secret, interval=STEP_SECONDS), int(at // STEP_SECONDS)
    for step in range(now_step - STEPS_OF_DRIFT, now_step + STEPS_OF_DRIFT + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def main() -> None:
    import sys

    if sys.argv[1:] == ["--new-key"]:
        print(Fernet.generate_key().decode())
        return
    raise SystemExit("usage: python -m deploybot.policy.two_factor --new-key   (prints a key for DEPLOYBOT_SECRET_KEY)")


if __name__ == "__main__":
    main()
