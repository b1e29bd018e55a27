"""The tables. Written in SQLAlchemy's 2.0 style (on the 1.4 that Rasa pins)."""
from sqlalchemy import Boolean, Column, Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
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
    __table_args__ = (Index("ix_audit_log_action_at", "action", "at"),)  # the ledger's audit filter (0006)

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


class Deployment(Base):
    """One deployment from the yes to its reported outcome. States, in order:
    confirmed → queued (queue_id) → running (build_number, build_url) →
    succeeded | failed | aborted | timed_out | failed_to_start."""

    __tablename__ = "deployments"

    __table_args__ = (
        UniqueConstraint("active_key", name="uq_deployments_active_key"),
        Index("ix_deployments_app_environment", "app", "environment"),
        # The ledger's periods, person filter and "what runs where" (migration 0006).
        Index("ix_deployments_requested_at", "requested_at"),
        Index("ix_deployments_requested_by", "requested_by"),
        Index("ix_deployments_app_environment_state_id", "app", "environment", "state", "id"),
    )

    id = Column(Integer, primary_key=True)
    assistant = Column(String(32), nullable=False)
    app = Column(String(APP_ID), nullable=False)
    environment = Column(String(32), nullable=False)
    version = Column(String(64), nullable=False)
    kind = Column(String(16), nullable=False)          # deploy, rollback, promotion
    requested_by = Column(String(USER_ID), nullable=False)
    state = Column(String(16), nullable=False, index=True)
    # "app/environment" while the deployment is active, NULL afterwards. Unique, so the
    # database itself refuses a second active deployment, whichever replica asks.
    active_key = Column(String(APP_ID + 33))
    jenkins_job = Column(String(255), nullable=False)
    queue_id = Column(Integer)
    build_number = Column(Integer)
    build_url = Column(String(1024))
    estimated_duration_ms = Column(Integer)
    jenkins_result = Column(String(16))               # SUCCESS, FAILURE, ABORTED, ...
    error = Column(Text)                               # why it failed to start or was lost
    console_tail = Column(Text)
    cancelled_by = Column(String(USER_ID))
    # Where the reports go: the conversation and the channel it came in on.
    conversation_id = Column(String(255), nullable=False)
    output_channel = Column(String(32), nullable=False)
    reply_to = Column(Text)                            # JSON: where in the channel (Slack channel and thread)
    requested_at = Column(DateTime(timezone=True), nullable=False)
    confirmed_at = Column(DateTime(timezone=True), nullable=False)
    queued_at = Column(DateTime(timezone=True))
    started_at = Column(DateTime(timezone=True))
    finished_at = Column(DateTime(timezone=True))
    # When each report was delivered (set when its outbox row is marked done: deploybot.domain.outbox).
    start_reported_at = Column(DateTime(timezone=True))
    outcome_reported_at = Column(DateTime(timezone=True))
    # Production safeguards (0008): who approved it (comma-separated ids), whether the
    # requester gave a second factor, and an admin's reason for skipping approvals.
    approved_by = Column(Text)
    second_factor = Column(Boolean)
    break_glass_reason = Column(Text)
    # Several apps in one request (0011): the batch this deployment is one app of.
    batch_id = Column(String(64), ForeignKey("deployment_batches.id"), index=True)
    # DORA's lead time for changes (0017): the oldest commit of the build's change sets (from
    # Jenkins), NULL when Jenkins listed none (a job without SCM, a rebuild): unknown, not guessed.
    commit_id = Column(String(64))
    commit_at = Column(DateTime(timezone=True))


class DeploymentBatch(Base):
    """Several apps confirmed with one yes (deploybot.domain.batch_store). Each app is its own
    deployment; the batch remembers what was confirmed, which apps never became a deployment
    and why, and is summed up once all have ended."""

    __tablename__ = "deployment_batches"

    id = Column(String(64), primary_key=True)          # the request id of the question that was confirmed
    assistant = Column(String(32), nullable=False)
    requested_by = Column(String(USER_ID), nullable=False)
    environment = Column(String(32), nullable=False)
    items = Column(Text, nullable=False)               # JSON: [{app, version, kind}] in the order of the request
    not_started = Column(Text, nullable=False, default="{}")  # JSON: {app: why it never became a deployment}
    conversation_id = Column(String(255), nullable=False)
    output_channel = Column(String(32), nullable=False)
    reply_to = Column(Text)
    created_at = Column(DateTime(timezone=True), nullable=False)
    summarized_at = Column(DateTime(timezone=True))    # when the summary was said without a deployment to carry it


class Lock(Base):
    """No deployments to an environment (app NULL) or to one app in it, until unlocked."""

    __tablename__ = "locks"
    __table_args__ = (UniqueConstraint("scope", name="uq_locks_scope"),)

    id = Column(Integer, primary_key=True)
    scope = Column(String(APP_ID + 33), nullable=False)  # "environment" or "environment/app"
    environment = Column(String(32), nullable=False)
    app = Column(String(APP_ID))
    reason = Column(Text, nullable=False)
    locked_by = Column(String(USER_ID), nullable=False)
    locked_at = Column(DateTime(timezone=True), nullable=False)
    # An optional expiry, and where the lock was set, to say there that it was lifted (0009).
    expires_at = Column(DateTime(timezone=True), index=True)
    assistant = Column(String(32))
    conversation_id = Column(String(255))
    output_channel = Column(String(32))
    reply_to = Column(Text)                            # JSON: Slack channel and thread


class LiftedLock(Base):
    """A lock that expired and was lifted: said once in the conversation where it was set
    (said_at, set by the action that says it), sent again until then (deploybot.domain.lock_expiry)."""

    __tablename__ = "lifted_locks"

    id = Column(Integer, primary_key=True)
    lock_id = Column(Integer, nullable=False)          # not unique: SQLite reuses a deleted lock's id
    environment = Column(String(32), nullable=False)
    app = Column(String(APP_ID))
    reason = Column(Text, nullable=False)
    locked_by = Column(String(USER_ID), nullable=False)
    locked_at = Column(DateTime(timezone=True), nullable=False)
    expires_at = Column(DateTime(timezone=True), nullable=False)
    lifted_at = Column(DateTime(timezone=True), nullable=False)
    assistant = Column(String(32))
    conversation_id = Column(String(255))
    output_channel = Column(String(32))
    reply_to = Column(Text)
    sent_at = Column(DateTime(timezone=True))          # the last time it was sent to Rasa
    said_at = Column(DateTime(timezone=True), index=True)


class SlackDelivery(Base):
    """Slack events and messages already handled: Slack retries and redeliveries, and the
    two events one mention can produce, must not be answered twice, even after a restart."""

    __tablename__ = "slack_deliveries"
    __table_args__ = (UniqueConstraint("key", name="uq_slack_deliveries_key"),)

    id = Column(Integer, primary_key=True)
    key = Column(String(255), nullable=False)        # "event:Ev..." or "message:C...:1732...."
    received_at = Column(DateTime(timezone=True), nullable=False, index=True)


class EnvironmentGate(Base):
    """Written first by every lock and every deployment start in an environment, so that
    they take turns (deploybot.storage.gates says why)."""

    __tablename__ = "environment_gates"

    environment = Column(String(32), primary_key=True)
    turns = Column(Integer, nullable=False)


class ReportOutbox(Base):
    """One message a deployment owes someone: its start report, its outcome report, and the
    management post to each destination (kind "management:<destination>"). A watcher leases
    a row, sends and marks it done; a dead sender's lease simply expires (deploybot.domain.outbox)."""

    __tablename__ = "report_outbox"
    __table_args__ = (UniqueConstraint("deployment_id", "kind", name="uq_report_outbox_deployment_kind"),)

    id = Column(Integer, primary_key=True)
    deployment_id = Column(Integer, ForeignKey("deployments.id"), nullable=False)
    kind = Column(String(32), nullable=False)          # start, outcome, management:<destination>
    created_at = Column(DateTime(timezone=True), nullable=False)
    leased_until = Column(DateTime(timezone=True))     # NULL or past: free to take
    leased_by = Column(String(128))
    attempts = Column(Integer, nullable=False, default=0)
    # Set by the report action just before it speaks, once per report across every Rasa
    # session and replica: the idempotency key of a report.
    said_at = Column(DateTime(timezone=True))
    done_at = Column(DateTime(timezone=True), index=True)


class TwoFactorEnrolment(Base):
    """A user's authenticator secret (encrypted) and the state of its codes (deploybot.policy.two_factor)."""

    __tablename__ = "two_factor_enrolments"

    user_id = Column(String(USER_ID), primary_key=True)
    secret = Column(Text, nullable=False)              # Fernet token of the base32 secret
    created_at = Column(DateTime(timezone=True), nullable=False)
    confirmed_at = Column(DateTime(timezone=True))     # set by the first good code; until then it does not count
    last_step = Column(Integer)                        # the last 30-second step whose code was accepted
    failures = Column(Integer, nullable=False, default=0)
    failures_since = Column(DateTime(timezone=True))
    locked_at = Column(DateTime(timezone=True))        # too many wrong codes: until an admin resets


class DigestPost(Base):
    """The weekly digest of one bot's week to one management destination: created once (the
    unique key), leased by one sender at a time and marked done when delivered, like the
    report outbox (deploybot.ledger.digest). Its text is written when the row is created, so
    a retry and every destination say the same numbers."""

    __tablename__ = "digest_posts"
    __table_args__ = (UniqueConstraint("assistant", "week_start", "destination", name="uq_digest_posts_week"),)

    id = Column(Integer, primary_key=True)
    assistant = Column(String(32), nullable=False)
    week_start = Column(Date, nullable=False)         # the local Monday of the week reported
    destination = Column(String(32), nullable=False)  # a notifier's name: log, chat, slack
    text = Column(Text, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False)
    leased_until = Column(DateTime(timezone=True))
    leased_by = Column(String(128))
    attempts = Column(Integer, nullable=False, default=0)
    done_at = Column(DateTime(timezone=True))


class ApprovalRequest(Base):
    """A confirmed production deploy waiting for a second pair of eyes (deploybot.policy.approvals).
    States: pending → approved → started, or pending → rejected | expired."""

    __tablename__ = "approval_requests"
    __table_args__ = (Index("ix_approval_requests_state_expires_at", "state", "expires_at"),)

    id = Column(String(64), primary_key=True)          # what the card's buttons carry
    assistant = Column(String(32), nullable=False)
    app = Column(String(APP_ID), nullable=False)
    environment = Column(String(32), nullable=False)
    version = Column(String(64), nullable=False)
    kind = Column(String(16), nullable=False)
    requested_by = Column(String(USER_ID), nullable=False)
    conversation_id = Column(String(255), nullable=False)  # the requester's: the outcome goes there
    output_channel = Column(String(32), nullable=False)
    reply_to = Column(Text)                            # JSON: Slack channel and thread of the request
    second_factor = Column(Boolean, nullable=False, default=False)
    requested_at = Column(DateTime(timezone=True), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False)
    expires_at = Column(DateTime(timezone=True), nullable=False)
    needed = Column(Integer, nullable=False)           # how many approvals
    approved_by = Column(Text, nullable=False, default="")  # comma-separated ids, in order
    state = Column(String(16), nullable=False)
    decided_by = Column(String(USER_ID))
    reason = Column(Text)                              # a rejection's reason
    decided_at = Column(DateTime(timezone=True))
    told_at = Column(DateTime(timezone=True))          # when the requester was told the outcome
    batch_id = Column(String(64))                      # one app of a batch (0011): it starts into that batch
    start_at = Column(DateTime(timezone=True))         # a scheduled deploy (0016): once approved, it is stored to start then


class SpentSignInToken(Base):
    """A dashboard sign-in token that was used (deploybot.ledger.auth): kept here, not in the
    dashboard's memory, so that a restarted dashboard, started with the same link, refuses it.
    Only the token's SHA-256 is stored: this table opens nothing to whoever reads it."""

    __tablename__ = "spent_signin_tokens"

    digest = Column(String(64), primary_key=True)     # hex SHA-256 of the token
    spent_at = Column(DateTime(timezone=True), nullable=False)


class HeldForCode(Base):
    """What waits for a two-factor code after the yes (deploybot.pipeline.held): a requester's
    confirmed deploy or batch, or an approver's approval; one of each per conversation (0013)."""

    __tablename__ = "held_for_code"

    assistant = Column(String(32), primary_key=True)
    conversation_id = Column(String(255), primary_key=True)
    purpose = Column(String(16), primary_key=True)    # deploy, approve
    requested_by = Column(String(USER_ID), nullable=False)
    held = Column(Text, nullable=False)               # JSON: the request, where it was asked, when
    held_at = Column(DateTime(timezone=True), nullable=False)


class ChatFreeze(Base):
    """A freeze an admin set in chat (issue 24, 0014): no deployments to the environment (or to
    its app, when app is set) from starts_at until ends_at. Lifting it sets lifted_at; the row
    stays, for the record. Freezes from freezes.yml are not rows (deploybot.domain.freeze_file)."""

    __tablename__ = "chat_freezes"

    id = Column(Integer, primary_key=True)
    environment = Column(String(32), nullable=False, index=True)
    app = Column(String(APP_ID))                       # NULL: every app in the environment
    reason = Column(Text, nullable=False)
    starts_at = Column(DateTime(timezone=True), nullable=False)
    ends_at = Column(DateTime(timezone=True), nullable=False, index=True)
    set_by = Column(String(USER_ID), nullable=False)
    set_at = Column(DateTime(timezone=True), nullable=False)
    lifted_by = Column(String(USER_ID))
    lifted_at = Column(DateTime(timezone=True))


class QueueEntry(Base):
    """Someone waiting to deploy an app to an environment that was busy or locked (issue 24,
    deploybot.domain.deploy_queue). In order of id; the first waiting person is offered the
    turn when the app and environment are free, and is asked there; nothing deploys by itself."""

    __tablename__ = "deploy_queue"

    id = Column(Integer, primary_key=True)
    assistant = Column(String(32), nullable=False)
    app = Column(String(APP_ID), nullable=False)
    environment = Column(String(32), nullable=False)
    version = Column(String(64), nullable=False)
    requested_by = Column(String(USER_ID), nullable=False)
    # waiting, offered (the turn), deployed, declined, expired (no answer), left, dropped (may no longer deploy it)
    state = Column(String(16), nullable=False, index=True)
    queued_at = Column(DateTime(timezone=True), nullable=False)
    conversation_id = Column(String(255), nullable=False)   # where the turn is asked
    output_channel = Column(String(32), nullable=False)
    reply_to = Column(Text)                                 # JSON: Slack channel and thread
    asked_in = Column(Text)                                 # JSON: where a typed answer counts
    offered_at = Column(DateTime(timezone=True))
    turn_expires_at = Column(DateTime(timezone=True))
    sent_at = Column(DateTime(timezone=True))               # last trigger_intent for it
    asked_at = Column(DateTime(timezone=True))              # the turn's question was asked (once)
    ended_at = Column(DateTime(timezone=True))
    told_at = Column(DateTime(timezone=True))               # a skipped person was told (once)
    deployment_id = Column(Integer, ForeignKey("deployments.id"))  # the turn's yes started it


class ScheduledDeploy(Base):
    """A deploy confirmed now to start later (deploybot.pipeline.schedules, 0016): the request,
    the safeguards it passed when it was confirmed (the code, the approvals), and its state.
    States: scheduled → asked (the last yes asked for) → started, or cancelled | expired | refused."""

    __tablename__ = "scheduled_deploys"
    __table_args__ = (Index("ix_scheduled_deploys_state_run_at", "state", "run_at"),)

    id = Column(String(64), primary_key=True)
    assistant = Column(String(32), nullable=False)
    app = Column(String(APP_ID), nullable=False)
    version = Column(String(64), nullable=False)
    environment = Column(String(32), nullable=False)
    kind = Column(String(16), nullable=False)
    requested_by = Column(String(USER_ID), nullable=False)
    conversation_id = Column(String(255), nullable=False)   # the requester's: the last yes is asked there
    output_channel = Column(String(32), nullable=False)
    reply_to = Column(Text)                                 # JSON: Slack channel and thread of the request
    run_at = Column(DateTime(timezone=True), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False)
    confirmed = Column(String(64), nullable=False)          # how it was confirmed (Confirmed's name)
    second_factor = Column(Boolean, nullable=False, default=False)
    approved_by = Column(Text, nullable=False, default="")  # comma-separated ids
    state = Column(String(16), nullable=False)
    sent_at = Column(DateTime(timezone=True))               # the last trigger sent for it (resent after a while)
    asked_at = Column(DateTime(timezone=True))              # when the last yes was asked for
    ended_at = Column(DateTime(timezone=True))
    ended_by = Column(String(USER_ID))                      # who cancelled it
    outcome = Column(Text)                                  # why it ended as it did
    deployment_id = Column(Integer)                         # the deployment it started
