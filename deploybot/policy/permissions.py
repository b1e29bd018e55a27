"""Who may deploy what, and who may change that. Every change and refusal is audited.

- Admins come from the profile plus DEPLOYBOT_ADMINS. Only admins grant or revoke.
- A bot whose profile says who_may_deploy: granted (Bender) lets a user deploy an app only
  with a grant for it. One that says everyone (Marvin) lets everybody, unless its
  allow_list names who may.
- Identity is the sender id the channel gives, never a name written in the message.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import List, Optional

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from deploybot.domain.catalog import Catalog
from deploybot.domain.deploy_request import DeployRequest, RequestRejected
from deploybot.policy.identity import is_plain_id
from deploybot.domain.profiles import AssistantProfile
from deploybot.storage.database import Database
from deploybot.storage.models import AuditEntry, Grant


def now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Permissions:
    db: Database
    profile: AssistantProfile
    catalog: Catalog

    # -- questions -------------------------------------------------------------------

    def is_admin(self, user: str) -> bool:
        return self.profile.is_admin(user)

    def grants_of(self, user: str) -> List[str]:
        with self.db.transaction() as session:
            return sorted(session.scalars(select(Grant.app).where(Grant.user_id == user)))

    def grantees_of(self, app: str) -> List[str]:
        with self.db.transaction() as session:
            return sorted(session.scalars(select(Grant.user_id).where(Grant.app == app)))

    def all_grants(self) -> List[tuple]:
        with self.db.transaction() as session:
            return [(g.user_id, g.app) for g in session.scalars(select(Grant).order_by(Grant.user_id, Grant.app))]

    def may_deploy(self, user: str, app: str) -> bool:
        if self.profile.who_may_deploy == "everyone":
            return not self.profile.allow_list or user in self.profile.allow_list
        return app in self.grants_of(user)

    def check_may_deploy(self, user: str, request: DeployRequest) -> None:
        """RequestRejected when the user may not deploy this through this bot."""
        if self.may_deploy(user, request.app):
            return
        name = self.catalog.app(request.app).name
        if self.profile.who_may_deploy == "everyone":
            reason = f"You are not on my allow list, so you may not deploy {name} to {request.environment}."
        else:
            reason = (f"You may not deploy {name} to {request.environment}: an admin has to grant it to you first"
                      f" ({self._admins_text()}).")
        raise RequestRejected(reason)  # the caller audits every refused request

    def check_may_lock(self, user: str) -> None:
        """Whoever may deploy something through this bot, or an admin, may lock."""
        if self.is_admin(user):
            return
        if self.profile.who_may_deploy == "everyone":
            allowed = not self.profile.allow_list or user in self.profile.allow_list
        else:
            allowed = bool(self.grants_of(user))
        if not allowed:
            raise RequestRejected(f"Only people who may deploy to {self._environments_text()}, or an admin, can lock it.")

    # -- changes ---------------------------------------------------------------------

    def grant(self, actor: str, user: Optional[str], app: Optional[str], shown_as: Optional[str] = None) -> str:
        return self._change("grant", actor, user, app, shown_as)

    def revoke(self, actor: str, user: Optional[str], app: Optional[str], shown_as: Optional[str] = None) -> str:
        return self._change("revoke", actor, user, app, shown_as)

    def _change(self, action: str, actor: str, user: Optional[str], app: Optional[str], shown_as: Optional[str]) -> str:
        """shown_as is how the reply names the user ("Theresa (U0THERESA1)" on Slack); the id counts."""
        example = f"“{'auth' if action == 'grant' else 'revoke'} jbrueder cms”"
        if self.profile.who_may_deploy != "granted":
            self.audit(actor, action, "refused", target_user=user, app=app, detail="bot needs no grants")
            return f"Everyone may deploy to {self._environments_text()} through me, so there is nothing to {action}. Grants are for production: ask the production bot."
        if not self.is_admin(actor):
            self.audit(actor, action, "refused", target_user=user, app=app, detail="not an admin")
            return f"Only admins can {action} deploy permissions, and you are not one ({self._admins_text()})."
        if not user:
            self.audit(actor, action, "refused", app=app, detail="no user named")
            return f"Who should I {action} that for? Say for example {example}."
        if not is_plain_id(user):
            self.audit(actor, action, "refused", target_user=str(user)[:64], app=app, detail="not a plain user id")
            return f"That is not a user id I can {action} anything to (letters, digits and . _ @ + - only). Nothing was changed."
        if not app:
            self.audit(actor, action, "refused", target_user=user, detail="no app named")
            return f"Which app? Say for example {example}."
        found = self.catalog.app(app)
        if found is None:
            self.audit(actor, action, "refused", target_user=user, app=app, detail="unknown app")
            return f"I don't know an app called “{app}”. I know: {self.catalog.describe_apps()}."
        where, who = self._environments_text(), shown_as or user
        if action == "grant":
            changed = self._insert_grant(actor, user, app)
            message = (f"{who} may now deploy {found.name} to {where}." if changed
                       else f"{who} could already deploy {found.name} to {where}; nothing changed.")
        else:
            changed = self._delete_grant(user, app)
            message = (f"{who} may no longer deploy {found.name} to {where}." if changed
                       else f"{who} had no grant for {found.name}; nothing changed.")
        self.audit(actor, action, "done" if changed else "unchanged", target_user=user, app=app)
        return message

    def _insert_grant(self, actor: str, user: str, app: str) -> bool:
        try:
            with self.db.transaction() as session:
                session.add(Grant(user_id=user, app=app, granted_by=actor, granted_at=now()))
            return True
        except IntegrityError:  # the unique constraint: granted already, maybe concurrently
            return False

    def _delete_grant(self, user: str, app: str) -> bool:
        with self.db.transaction() as session:
            result = session.execute(delete(Grant).where(Grant.user_id == user, Grant.app == app))
            return result.rowcount > 0

    def audit(self, actor: str, action: str, outcome: str, **details) -> None:
        with self.db.transaction() as session:
            session.add(AuditEntry(at=now(), assistant=self.profile.id, actor=actor, action=action, outcome=outcome, **details))

    # -- wording ---------------------------------------------------------------------

    def _admins_text(self) -> str:
        admins = self.profile.admins()
        return f"admins: {', '.join(admins)}" if admins else "no admins are configured"

    def _environments_text(self) -> str:
        return " and ".join(self.profile.environments)

    def describe_for_user(self, user: str, asker: str) -> str:
        """What a user may deploy through this bot."""
        who = "You" if user == asker else user
        where = self._environments_text()
        if self.profile.who_may_deploy == "everyone":
            if self.profile.allow_list and user not in self.profile.allow_list:
                return f"{who} may not deploy anything to {where}: only {', '.join(self.profile.allow_list)} may."
            return f"{who} may deploy every app to {where}: {', '.join(self.catalog.apps)}."
        apps = self.grants_of(user)
        if not apps:
            return f"{who} may not deploy anything to {where} yet. An admin can grant an app ({self._admins_text()})."
        return f"{who} may deploy to {where}: {', '.join(apps)}."

    def describe_for_app(self, app: str) -> str:
        found = self.catalog.app(app)
        if found is None:
            return f"I don't know an app called “{app}”. I know: {self.catalog.describe_apps()}."
        where = self._environments_text()
        if self.profile.who_may_deploy == "everyone":
            people = ", ".join(self.profile.allow_list) if self.profile.allow_list else "Everyone"
            return f"{people} may deploy {found.name} to {where}."
        users = self.grantees_of(app)
        if not users:
            return f"Nobody may deploy {found.name} to {where} yet."
        return f"These people may deploy {found.name} to {where}: {', '.join(users)}."

    def describe_all(self) -> str:
        grants = self.all_grants()
        if not grants:
            return "There are no grants yet."
        return "All grants:\n" + "\n".join(f"• {user}: {app}" for user, app in grants)
