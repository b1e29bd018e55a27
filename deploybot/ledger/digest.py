"""The weekly digest to a bot's management channel: last week's deployments, people, median
time from request to deployed, failures and rollbacks of each of its environments, against
the week before, with a link to the dashboard's metrics of the week.

Sent once per week and destination, also with several action servers (replicas) running:
each (bot, week, destination) is one row of digest_posts, created once (its unique key; a
second creator finds it there), leased by one sender at a time with a conditional UPDATE
and marked done when delivered, as the report outbox does (deploybot.domain.outbox). A post that
could not be delivered is released and tried again next round. At least once rather than
exactly once in one case only: a sender that dies after the destination took the post and
before marking it done; its lease expires and the post goes out again (Slack's
chat.postMessage has no idempotency key to close that).

The watcher calls tick() every round with the time; tests pass the time they want.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import List, Optional

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from deploybot.ledger import dora
from deploybot.ledger.chat_stats import metrics_for, metrics_link
from deploybot.ledger.metrics import Metrics, duration_text
from deploybot.ledger.periods import Period
from deploybot.delivery.notifier import Notifier, destinations
from deploybot.domain.outbox import sender_id
from deploybot.domain.profiles import AssistantProfile
from deploybot.storage.database import Database
from deploybot.storage.models import Deployment, DigestPost

log = logging.getLogger(__name__)
LEASE_SECONDS = 90.0


@dataclass(frozen=True)
class WeekNumbers:
    metrics: Metrics
    people: int
    rollbacks: int


def week_numbers(session: Session, period: Period, environment: str) -> WeekNumbers:
    requested_in = (Deployment.environment == environment, Deployment.requested_at >= period.start,
                    Deployment.requested_at < period.end)
    people = session.scalar(select(func.count(func.distinct(Deployment.requested_by))).where(*requested_in))
    rollbacks = session.scalar(select(func.count()).select_from(Deployment).where(*requested_in,
                                                                                 Deployment.kind == "rollback"))
    return WeekNumbers(metrics_for(session, period, environment, None), people or 0, rollbacks or 0)


def compose(session: Session, profile: AssistantProfile, week_start: date, base_url: str) -> str:
    """The digest of the week from week_start (a local Monday) in the profile's digest time zone."""
    tz = profile.digest.tz if profile.digest else None
    week = Period(week_start, week_start + timedelta(days=6), tz)
    before = week.previous()
    parts = []
    apps = sorted({app for (app,) in session.execute(select(Deployment.app).distinct())})
    for environment in profile.environments:
        now, then = week_numbers(session, week, environment), week_numbers(session, before, environment)
        parts.append("\n".join([
            f"Weekly digest, {environment}: {week.since:%a %d %b} – {week.until:%a %d %b %Y} ({tz.key}),"
            f" with the week before in brackets",
            f"• deployments: {now.metrics.successes} successful of {now.metrics.finished}"
            f" ({then.metrics.successes} of {then.metrics.finished})",
            f"• people who deployed: {now.people} ({then.people})",
            f"• request to deployed, median: {duration_text(now.metrics.deploy_time_median)}"
            f" ({duration_text(then.metrics.deploy_time_median)})",
            f"• failures (failed, timed out or rolled back): {now.metrics.failures} ({then.metrics.failures})",
            f"• rollbacks: {now.rollbacks} ({then.rollbacks})",
            *dora_lines(dora.compare(session, environment, week, apps)),
            f"Dashboard: {metrics_link(base_url, week, environment, None)}",
        ]))
    return "\n\n".join(parts)


def dora_lines(keys: dora.Comparison) -> List[str]:
    """DORA's four keys of the week, the week before in brackets with the change, then app by app."""
    now, before = keys.now[None], keys.before[None]
    change = dora.change_texts(now, before)

    def level(name: Optional[str]) -> str:
        return f", {name}" if name else ""
    lines = [
        "DORA's four keys (levels: DORA's 2024 report, for frequency and lead time only):",
        f"• deployment frequency: {dora.frequency_text(now)}{level(now.frequency_level)}"
        f" ({dora.frequency_text(before)}; {change['frequency']})",
        f"• lead time for changes, median: {dora.lead_text(now)}{level(now.lead_level)}"
        f" ({dora.lead_text(before)}; {change['lead']})",
        f"• change failure rate: {dora.failure_rate_text(now)} ({dora.failure_rate_text(before)}; {change['failure_rate']})",
        f"• time to restore, median: {dora.restore_text(now)} ({dora.restore_text(before)}; {change['restore']})",
        f"• failed builds (never reached users): {now.failed_builds} ({before.failed_builds})",
    ]
    for app, mine in keys.now.items():
        if app is not None:
            lines.append(f"  {app}: {mine.deployments} deployed, lead time {dora.lead_text(mine)},"
                         f" change failure rate {dora.failure_rate_text(mine)}, restore {dora.restore_text(mine)}")
    return lines


@dataclass
class DigestSender:
    db: Database
    profile: AssistantProfile
    notifier: Notifier
    base_url: str
    lease_seconds: float = LEASE_SECONDS
    sender: str = field(default_factory=sender_id)

    def tick(self, moment: datetime) -> List[str]:
        """Sends the digest if it is due at `moment` (aware) and not sent yet; returns the
        destinations this sender delivered it to."""
        schedule, channel = self.profile.digest, self.profile.management_channel
        if schedule is None or not channel:
            return []
        week_start = schedule.due_week(moment)
        if week_start is None:
            return []
        moment = moment.astimezone(timezone.utc)  # SQLite keeps a datetime's clock, not its zone
        delivered = []
        for name, destination in destinations(self.notifier).items():
            row_id = self._row(week_start, name, moment)
            if row_id is None or not self._take(row_id, moment):
                continue
            text = self._text(row_id)
            if destination.post(channel, text):
                self._done(row_id, moment)
                delivered.append(name)
                log.info("weekly digest of the week from %s posted to %s (%s)", week_start, channel, name)
            else:
                self._release(row_id)
        return delivered

    def _row(self, week_start: date, destination: str, moment: datetime) -> Optional[int]:
        """The id of the week's row for the destination, created if missing; None when done."""
        found = self._find(week_start, destination)
        if found is None:
            with self.db.transaction() as session:
                text = compose(session, self.profile, week_start, self.base_url)
            try:
                with self.db.transaction() as session:
                    session.add(DigestPost(assistant=self.profile.id, week_start=week_start, destination=destination,
                                           text=text, created_at=moment, attempts=0))
            except IntegrityError:
                pass  # another replica created it a moment ago: its text is the one sent
            found = self._find(week_start, destination)
        row_id, done_at = found
        return None if done_at is not None else row_id

    def _find(self, week_start: date, destination: str):
        with self.db.transaction() as session:
            return session.execute(select(DigestPost.id, DigestPost.done_at).where(
                DigestPost.assistant == self.profile.id, DigestPost.week_start == week_start,
                DigestPost.destination == destination)).first()

    def _take(self, row_id: int, moment: datetime) -> bool:
        """True for one taker at a time: not done, and nobody holds a live lease."""
        with self.db.transaction() as session:
            result = session.execute(
                update(DigestPost)
                .where(DigestPost.id == row_id, DigestPost.done_at.is_(None),
                       or_(DigestPost.leased_until.is_(None), DigestPost.leased_until < moment))
                .values(leased_until=moment + timedelta(seconds=self.lease_seconds), leased_by=self.sender,
                        attempts=DigestPost.attempts + 1))
            return result.rowcount == 1

    def _text(self, row_id: int) -> str:
        with self.db.transaction() as session:
            return session.scalar(select(DigestPost.text).where(DigestPost.id == row_id))

    def _done(self, row_id: int, moment: datetime) -> None:
        with self.db.transaction() as session:
            session.execute(update(DigestPost).where(DigestPost.id == row_id, DigestPost.leased_by == self.sender)
                            .values(done_at=moment, leased_until=None))

    def _release(self, row_id: int) -> None:
        with self.db.transaction() as session:
            session.execute(update(DigestPost)
                            .where(DigestPost.id == row_id, DigestPost.leased_by == self.sender,
                                   DigestPost.done_at.is_(None))
                            .values(leased_until=None, leased_by=None))
