"""Abuse: each attempt gets a plain refusal, deploys and changes nothing, and is audited.
(Slack-specific abuse, unsigned or replayed requests, is in test_slack.py.)"""
import json

import pytest
from sqlalchemy import select

from deploybot.storage.database import Database
from deploybot.storage.models import AuditEntry, Deployment, Grant


def audit(stack, actor):
    with Database(stack.database_url()).transaction() as session:
        return [(e.action, e.outcome, e.detail) for e in session.scalars(select(AuditEntry).where(AuditEntry.actor == actor))]


def nothing_done(stack, user):
    with Database(stack.database_url()).transaction() as session:
        assert list(session.scalars(select(Deployment).where(Deployment.requested_by == user))) == []
        assert list(session.scalars(select(Grant).where(Grant.granted_by == user))) == []
    assert not [b for b in stack.jenkins.control("GET", "/builds") if b["parameters"].get("REQUESTED_BY") == user]


def test_claiming_another_identity_in_the_text_changes_nothing(bender, stack, user):
    [reply] = bender.texts(user, "as jbrueder deploy cms 1.0.2 to production")
    assert reply.startswith("You may not deploy Content Management System to production: an admin has to grant it")
    assert bender.texts(user, "yes")[0].startswith("Nothing is waiting")
    nothing_done(stack, user)
    assert [a[:2] for a in audit(stack, user)] == [("deploy", "refused"), ("confirm", "refused")]


def test_a_non_admin_cannot_grant_or_revoke(bender, stack, user):
    assert bender.texts(user, f"auth {user} cms")[0].startswith("Only admins can grant")
    assert bender.texts(user, "revoke jbrueder cms")[0].startswith("Only admins can revoke")
    nothing_done(stack, user)
    assert [a[:2] for a in audit(stack, user)] == [("grant", "refused"), ("revoke", "refused")]


def test_marvin_refuses_production_and_unknown_apps(marvin, stack, user):
    assert marvin.texts(user, "deploy cms 1.0.2 to production") == ["I only deploy to staging. Ask Bender for production."]
    [reply, *_] = marvin.texts(user, "deploy payroll 1.0.2")
    assert reply.startswith("I don't know an app called “payroll”.")
    nothing_done(stack, user)
    details = [a for a in audit(stack, user) if a[0] == "deploy"]
    assert [d[1] for d in details] == ["refused", "refused"]


INJECTION_REFUSED = "That message holds characters that have no place in a deploy request"


NOT_A_VERSION = "isn't a version I can deploy. A version looks like "


@pytest.mark.parametrize("version, refused_as", [("1.0.2; rm -rf /", INJECTION_REFUSED), ("$(reboot)", INJECTION_REFUSED),
                                                 ("../../etc/passwd", INJECTION_REFUSED),
                                                 ("1." + "9" * 298, "“1." + "9" * 298 + "” " + NOT_A_VERSION)])
def test_a_hostile_version_never_reaches_jenkins(marvin, stack, user, version, refused_as):
    assert marvin.texts(user, "deploy cms") == ["Which version of Content Management System?"]
    [refusal, question] = marvin.texts(user, version)
    assert refusal.startswith(refused_as), refusal
    assert question == "Which version of Content Management System?"
    nothing_done(stack, user)
    assert [a[:2] for a in audit(stack, user)] == [("deploy", "refused")]


def test_a_request_with_shell_syntax_is_refused_not_repaired(marvin, stack, user):
    replies = marvin.texts(user, "deploy cms 1.0.2; rm -rf /")
    assert replies[0].startswith(INJECTION_REFUSED), replies
    assert not any(r.endswith("(yes/no)") for r in replies)
    nothing_done(stack, user)


@pytest.mark.parametrize("text", ["deploy cms " + "x" * 20_000, "deploy\x00 cms\x1b[31m 1.0.2\u202e\u200b to staging", "🚀🚀 ℂ𝕄𝕊 ①.⓪.②"])
def test_huge_and_odd_messages_get_an_answer_and_deploy_nothing(marvin, stack, user, text):
    replies = marvin.texts(user, text)
    assert replies and all(replies)
    if replies[-1].endswith("(yes/no)"):
        assert marvin.texts(user, "no") == ["Cancelled, nothing was deployed."]
    nothing_done(stack, user)


def test_json_injection_in_the_rest_channel_gains_nothing(bender, stack, user):
    # The intent syntax is read as plain words (tests/security has more); metadata cannot make a build system.
    body = {"sender": user, "message": '/deploy{"app": "cms", "version": "1.0.2", "environment": "production"}',
            "metadata": {"build_system": "B0JENKINS1", "out_channel": "C0DEPLOYS"}}
    status, replies = bender.post_rest(body)
    assert status == 200 and replies and not [r for r in replies if r.get("text", "").endswith("(yes/no)")]
    status, answer = bender.post_rest({"sender": {"$ne": None}, "message": "yes"})
    assert (status, answer) == (400, {"error": "The sender must be a plain id: letters, digits and . _ @ + - only, at most 64 characters."})
    status, answer = bender.post_rest(json.loads(f'{{"sender": "{user}", "message": {{"text": "yes"}}}}'))
    assert (status, answer) == (400, {"error": "The message must be text."})
    nothing_done(stack, user)
    assert [a[:2] for a in audit(stack, user)][0] == ("typed_intent", "refused")
