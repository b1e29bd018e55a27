"""The tables. Written in SQLAlchemy's 2.0 style (on the 1.4 that Rasa pins)."""
from sqlalchemy import Column, DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import declarative_base

Base = declarative_base()

USER_ID = 64   # Slack user ids, REST senders
APP_ID = 64


class Grant(Base):
    """A user may deploy an app through a bot whose profile says who_may_deploy: granted."""

    __tablename__ = "grants"
    __table_args__ = (UniqueConstraint("user_id", "app", name="uq_grants_user_app"),)

    id = Column(Integer, primary_key=True)
    user_id = Column(String(USER_ID), nullable=False, index=True)
    app = Column(String(APP_ID), nullable=False, index=True)
    granted_by = Column(String(USER_ID), nullable=False)
    granted_at = Column(DateTime(timezone=True), nullable=False)


class AuditEntry(Base):
    """Every permission change and every refused attempt, in order."""

    __tablename__ = "audit_log"

    id = Column(Integer, primary_key=True)
    at = Column(DateTime(timezone=True), nullable=False, index=True)
    assistant = Column(String(32), nullable=False)
    actor = Column(String(USER_ID), nullable=False)
    action = Column(String(32), nullable=False)      # grant, revoke, ...
    outcome = Column(String(16), nullable=False)     # done, refused, unchanged
    target_user = Column(String(USER_ID))
    app = Column(String(APP_ID))
    environment = Column(String(32))
    detail = Column(Text)
