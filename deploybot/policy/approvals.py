"""Four-eyes approvals of production deploys (issue 14): a confirmed deploy waits in the
database until enough other people approve it, someone rejects it, or it expires.

- How many: `approvals: N` for the app (per environment) or the environment in apps.yml,
  else the bot's profile (<BOT>_APPROVALS overrides); 0 means none.
- Who: the app's `approvers` when listed (people, or Slack user groups by `@handle` or `S...`
  id, whose members Slack gives: deploybot.adapters.slack.usergroups), else anyone granted the app
  (or anyone, where the bot lets everyone deploy) and admins; never the requester. A group
  whose members cannot be known (no Slack here, a Slack error) lets nobody approve through it.
- The approver acts in their own conversation (a click on the card, or a typed "approve"),
  so the request lives in the database, not in a slot. The requester hears the outcome
  through trigger_intent (EXTERNAL_approval_decided), and the deployment starts in the
  requester's conversation, with grants and locks checked again at that moment.
- Every change is a conditional update, so two approvers (or an approver and the expiry)
  cannot both decide, and an outcome is told once.
"""
from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import FrozenSet, List, Mapping, Optional, Protocol

from sqlalchemy import select, update

from deploybot.domain.catalog import Catalog, is_group
from deploybot.storage.row_locks import locked_row
from deploybot.domain.profiles import AssistantProfile
from deploybot.storage.database import Database
from deploybot.storage.models import ApprovalRequest

log = logging.getLogger(__name__)
DECIDED_INTENT = "EXTERNAL_approval_decided"


def now() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(moment: Optional[datetime]) -> Optional[datetime]:
    return moment.replace(tzinfo=timezone.utc) if moment is not None and moment.tzinfo is None else moment


def approvals_needed(profile: AssistantProfile, catalog: Catalog, app_id: str, environment: str) -> int:
    app = catalog.app(app_id)
    from_app = app.approvals_in(environment) if app else None
    place = catalog.environments.get(environment)
    from_environment = place.approvals if place else None
    for setting in (from_app, from_environment):
        if setting is not None:
            return setting
    return profile.approvals


# Ends a refusal because a Slack user group among the approvers could not be resolved.
NOT_COUNTED = "So I can't count your approval."


class GroupUnresolvable(Exception):
    """Who is in a group cannot be known now; the message says why, for the person refused.
    Defined here, beside Groups, so that policy does not import Slack: the Slack adapter raises it."""


class Groups(Protocol):
    def members(self, entry: str) -> FrozenSet[str]:
        """The user ids in a group; GroupUnresolvable when that cannot be known."""


def why_not_approver(user: str, row: ApprovalRequest, catalog: Catalog, permissions,
                     groups: Optional[Groups] = None) -> Optional[str]:
    """None when the user may approve this request; otherwise why not (said and audited).
    groups resolves the Slack user groups among the approvers; None where there is no Slack."""
    if user == row.requested_by:
        return "You asked for this deployment: someone else has to approve it."
    app = catalog.app(row.app)
    listed = app.approvers if app else ()
    if listed:
        if user in (entry for entry in listed if not is_group(entry)):
            return None
        problems = []
        for entry in (entry for entry in listed if is_group(entry)):
            if groups is None:
                problems.append(f"{entry} is a Slack user group, and I am not connected to Slack here,"
                                " so I can't tell who is in it.")
                continue
            try:
                if user in groups.members(entry):
                    return None
            except GroupUnresolvable as unresolved:
                log.warning("approvers of %s: %s", row.app, unresolved)
                problems.append(str(unresolved))
        refusal = f"Only {', '.join(listed)} may approve deployments of {app.name}."
        return " ".join([refusal, *problems] + ([NOT_COUNTED] if problems else []))
    if permissions.is_admin(user) or permissions.may_deploy(user, row.app):
        return None
    return f"Only people granted {app.name if app else row.app}, or an admin, may approve its deployments."


def approved_by(row: ApprovalRequest) -> List[str]:
    return [user for user in (row.approved_by or "").split(",") if user]


@dataclass
class Decision:
    """What became of an approve or reject: outcome is approved (the last one needed),
    counted (more are needed), rejected, or why nothing changed (not_found, expired,
    already_approved, already_rejected, already_started, already_withdrawn, twice)."""
    outcome: str
    row: Optional[ApprovalRequest]


@dataclass
class ApprovalStore:
    db: Database

    def create(self, **values) -> ApprovalRequest:
        created = now()
        row = ApprovalRequest(state="pending", created_at=created, approved_by="", **values)
        with self.db.transaction() as session:
            session.add(row)
        return row

    def get(self, approval_id: str) -> Optional[ApprovalRequest]:
        with self.db.transaction() as session:
            return session.get(ApprovalRequest, approval_id)

    def pending(self, assistant: str) -> List[ApprovalRequest]:
        with self.db.transaction() as session:
            return list(session.scalars(select(ApprovalRequest).where(
                ApprovalRequest.assistant == assistant, ApprovalRequest.state == "pending").order_by(ApprovalRequest.created_at)))

    def pending_of(self, assistant: str, conversation_id: str, requested_by: str) -> List[ApprovalRequest]:
        """The requests a requester made in one conversation that still wait for approvals."""
        with self.db.transaction() as session:
            return list(session.scalars(select(ApprovalRequest).where(
                ApprovalRequest.assistant == assistant, ApprovalRequest.state == "pending",
                ApprovalRequest.conversation_id == conversation_id, ApprovalRequest.requested_by == requested_by)
                .order_by(ApprovalRequest.created_at)))

    def pending_for(self, assistant: str, requested_by: str, app: str, environment: str) -> List[ApprovalRequest]:
        """A requester's requests for one app and environment still waiting for approvals ("why can't I?")."""
        with self.db.transaction() as session:
            return list(session.scalars(select(ApprovalRequest).where(
                ApprovalRequest.assistant == assistant, ApprovalRequest.state == "pending",
                ApprovalRequest.requested_by == requested_by, ApprovalRequest.app == app,
                ApprovalRequest.environment == environment).order_by(ApprovalRequest.created_at)))

    def withdraw(self, approval_id: str, at: Optional[datetime] = None) -> bool:
        """pending → withdrawn (the requester called it off), once; told already: they said it."""
        at = at or now()
        with self.db.transaction() as session:
            return session.execute(update(ApprovalRequest).where(
                ApprovalRequest.id == approval_id, ApprovalRequest.state == "pending")
                .values(state="withdrawn", decided_at=at, told_at=at)).rowcount == 1

    def approve(self, approval_id: str, user: str, at: Optional[datetime] = None) -> Decision:
        at = at or now()
        with self.db.transaction() as session:
            row = locked_row(session, ApprovalRequest, approval_id)
            problem = self._closed(session, row, at)
            if problem:
                return Decision(problem, row)
            users = approved_by(row)
            if user in users:
                return Decision("twice", row)
            users.append(user)
            row.approved_by = ",".join(users)
            if len(users) < row.needed:
                return Decision("counted", row)
            row.state, row.decided_by, row.decided_at = "approved", user, at
            return Decision("approved", row)

    def reject(self, approval_id: str, user: str, reason: str, at: Optional[datetime] = None) -> Decision:
        at = at or now()
        with self.db.transaction() as session:
            row = locked_row(session, ApprovalRequest, approval_id)
            problem = self._closed(session, row, at)
            if problem:
                return Decision(problem, row)
            row.state, row.decided_by, row.decided_at, row.reason = "rejected", user, at, reason[:1000]
            return Decision("rejected", row)

    @staticmethod
    def _closed(session, row: Optional[ApprovalRequest], at: datetime) -> Optional[str]:
        """Why the request can no longer be decided, if so (an overdue one expires now)."""
        if row is None:
            return "not_found"
        if row.state == "pending" and as_utc(row.expires_at) <= at:
            row.state, row.decided_at = "expired", at
            return "expired"
        if row.state != "pending":
            return {"approved": "already_approved", "started": "already_started"}.get(row.state, f"already_{row.state}")
        return None

    def expire_due(self, assistant: str, at: Optional[datetime] = None) -> List[str]:
        """Marks this bot's overdue pending requests expired; their ids (to tell the requesters)."""
        at = at or now()
        with self.db.transaction() as session:
            due = list(session.scalars(select(ApprovalRequest.id).where(
                ApprovalRequest.assistant == assistant, ApprovalRequest.state == "pending", ApprovalRequest.expires_at <= at)))
        expired = []
        for approval_id in due:
            with self.db.transaction() as session:
                moved = session.execute(update(ApprovalRequest).where(
                    ApprovalRequest.id == approval_id, ApprovalRequest.state == "pending").values(state="expired", decided_at=at))
                if moved.rowcount == 1:
                    expired.append(approval_id)
        return expired

    def untold(self, assistant: str) -> List[str]:
        """Decided requests whose requester has not been told yet (a lost trigger is sent again)."""
        with self.db.transaction() as session:
            return list(session.scalars(select(ApprovalRequest.id).where(
                ApprovalRequest.assistant == assistant, ApprovalRequest.told_at.is_(None),
                ApprovalRequest.state.in_(("approved", "rejected", "expired")))))

    def mark_told(self, approval_id: str) -> bool:
        """Once per request: whether this call is the one that tells the requester."""
        with self.db.transaction() as session:
            return session.execute(update(ApprovalRequest).where(
                ApprovalRequest.id == approval_id, ApprovalRequest.told_at.is_(None)).values(told_at=now())).rowcount == 1

    def mark_started(self, approval_id: str) -> bool:
        """approved → started, once: only one deployment comes of an approval."""
        with self.db.transaction() as session:
            return session.execute(update(ApprovalRequest).where(
                ApprovalRequest.id == approval_id, ApprovalRequest.state == "approved").values(state="started")).rowcount == 1


def expires_after(seconds: int) -> datetime:
    return now() + timedelta(seconds=seconds)


@dataclass
class RequesterNotifier:
    """Tells the requester's conversation that their approval request was decided:
    POST /conversations/<id>/trigger_intent on this bot's Rasa (the API token opens it)."""

    rasa_urls: Mapping[str, str]
    token: Optional[str]
    timeout: float = 30.0

    def send(self, row: ApprovalRequest) -> bool:
        conversation = urllib.parse.quote(row.conversation_id, safe="")
        query = {"output_channel": row.output_channel, **({"token": self.token} if self.token else {})}
        url = f"{self.rasa_urls[row.assistant]}/conversations/{conversation}/trigger_intent?{urllib.parse.urlencode(query)}"
        body = {"name": DECIDED_INTENT, "entities": {"approval": row.id}}
        request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            urllib.request.urlopen(request, timeout=self.timeout).close()
        except (urllib.error.URLError, OSError) as error:
            log.warning("could not tell %s about approval request %s: %s", row.requested_by, row.id, error)
            return False
        return True
