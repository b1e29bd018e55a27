"""Scheduled deploys (issue 24, item 3): a request cleared now, stored, and started at its time
after one last yes. Rows in `scheduled_deploys`, so they survive restarts and are shared by
replicas; every change of state is a conditional UPDATE that succeeds for one caller only,
so a scheduled deploy is asked about once and started once, whoever gets there first.

    scheduled ──(its time: the last yes asked)──► asked ──(yes)──► started
        │                                           ├──(no answer in time)──► expired
        └──► cancelled | refused (a freeze, a revoked grant found at its time)

What the row keeps of the Clearance (how it was confirmed, the code, the approvers) is what
`passed` gives back to the pipeline at the time, so the door (why_not_cleared) applies the
same rules then as for any deploy; the gate is checked at the time, not when it is stored.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import List, Optional

from sqlalchemy import select, update

from deploybot.domain.deploy_request import RequestRejected
from deploybot.domain.deployments import now, utc
from deploybot.pipeline.clearance import Clearance, Confirmed, Rules, why_not_cleared
from deploybot.pipeline.progress import Passed
from deploybot.pipeline.request import Item, Request
from deploybot.pipeline.start import new_deployment
from deploybot.storage.database import Database
from deploybot.storage.models import ScheduledDeploy

WAITING = ("scheduled", "asked")       # still to happen: listed, may be cancelled
RESEND_AFTER = timedelta(seconds=30)   # a trigger that was not acted on (Rasa down) is sent again


def store(db: Database, request: Request, item: Item, clearance: Optional[Clearance], rules: Rules) -> ScheduledDeploy:
    """Stores the cleared request to start at request.start_at; RequestRejected when the
    clearance does not cover it (the door's rules, all but the gate: that is checked at the time)."""
    if request.break_glass_reason:
        raise RequestRejected("Break glass is for now, not for later: I don't schedule it. Nothing was scheduled.")
    why = why_not_cleared(clearance, new_deployment(request, item, clearance), replace(rules, gate=lambda *_: ()))
    if why:
        raise RequestRejected(f"I can't schedule that deployment: {why}. Nothing was scheduled.")
    row = ScheduledDeploy(
        id=uuid.uuid4().hex, assistant=request.assistant, app=item.app, version=item.version,
        environment=request.environment, kind=item.kind or "deploy", requested_by=request.requester,
        conversation_id=request.conversation_id, output_channel=request.output_channel,
        reply_to=json.dumps(dict(request.reply_to)) if request.reply_to else None, run_at=request.start_at,
        created_at=now(), confirmed=clearance.confirmed.name, second_factor=clearance.second_factor,
        approved_by=",".join(clearance.approved_by), state="scheduled")
    with db.transaction() as session:
        session.add(row)
    return row


def passed(row: ScheduledDeploy) -> Passed:
    """What the request passed when it was scheduled: the pipeline clears it again with this."""
    approvers = tuple(user for user in (row.approved_by or "").split(",") if user)
    return Passed(Confirmed[row.confirmed], second_factor=bool(row.second_factor), approved_by=approvers)


def request_of(row: ScheduledDeploy, requested_at: datetime) -> Request:
    """The request to start now (no start_at: the started stage starts it)."""
    return Request(assistant=row.assistant, environment=row.environment, items=(Item(row.app, row.version, row.kind),),
                   requester=row.requested_by, conversation_id=row.conversation_id, output_channel=row.output_channel,
                   reply_to=json.loads(row.reply_to) if row.reply_to else None, requested_at=requested_at)


def get(db: Database, schedule_id: str) -> Optional[ScheduledDeploy]:
    with db.transaction() as session:
        return session.get(ScheduledDeploy, schedule_id) if schedule_id else None


def waiting(db: Database, assistant: str) -> List[ScheduledDeploy]:
    """This bot's scheduled deploys still to happen, soonest first."""
    with db.transaction() as session:
        return list(session.scalars(select(ScheduledDeploy).where(
            ScheduledDeploy.assistant == assistant, ScheduledDeploy.state.in_(WAITING)).order_by(ScheduledDeploy.run_at)))


def move(db: Database, schedule_id: str, states: tuple, to: str, asked_before: Optional[datetime] = None,
         **values) -> bool:
    """`schedule_id` from one of `states` to `to`: True for exactly one caller. With
    asked_before, only when its last yes was asked for before then (an unanswered question
    expires; a trigger sent twice must not expire one just asked)."""
    if to not in WAITING:
        values.setdefault("ended_at", now())
    where = [ScheduledDeploy.id == schedule_id, ScheduledDeploy.state.in_(states)]
    if asked_before is not None:
        where.append(ScheduledDeploy.asked_at <= asked_before)
    with db.transaction() as session:
        result = session.execute(update(ScheduledDeploy).where(*where).values(state=to, **values))
        return result.rowcount == 1


def due(db: Database, assistant: str, moment: datetime, answer_within: timedelta) -> List[ScheduledDeploy]:
    """This bot's rows that need their conversation told now: scheduled ones whose time has come
    (the last yes), asked ones not answered within `answer_within` (not deployed). Each is
    returned at most once per RESEND_AFTER; the action that speaks claims it (move)."""
    with db.transaction() as session:
        rows = list(session.scalars(select(ScheduledDeploy).where(
            ScheduledDeploy.assistant == assistant,
            ((ScheduledDeploy.state == "scheduled") & (ScheduledDeploy.run_at <= moment))
            | ((ScheduledDeploy.state == "asked") & (ScheduledDeploy.asked_at <= moment - answer_within)))
            .order_by(ScheduledDeploy.run_at)))
        found = [row for row in rows if row.sent_at is None or utc(row.sent_at) < moment - RESEND_AFTER]
        for row in found:
            row.sent_at = moment
        return found
