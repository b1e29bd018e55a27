"""Attack (issue 22, item 4): reading a two-factor secret where it was never meant to be. The
enrolment link and QR code reach the person out of band: on Slack the DM (Slack's servers
only), in the terminal chat printed by the chat process itself, past the conversation. So
after both kinds of enrolment the base32 secret is in no tracker store, no answer of
`GET /conversations/<id>/tracker`, no log and no other database column: only, encrypted, in
two_factor_enrolments.secret."""
import uuid

import pyotp
from cryptography.fernet import Fernet
from sqlalchemy import select

from deploybot.adapters.slack.formatting import typed_text
from deploybot.storage.database import Database
from deploybot.storage.models import TwoFactorEnrolment
from tests.integration.test_terminal_chat import Chat
from tests.safeguards import URI, direct_message, dm_posts, enrol_in_chat, wait
from tests.security.evidence import holds
from tests.support import TWO_FACTOR_KEY, new_user_id


def enrol_in_the_terminal_chat(stack, user) -> str:
    chat = Chat(stack.env, user=user)
    try:
        chat.expect_start("You are ")
        app = enrol_in_chat(chat)
        chat.type("/quit")
        assert chat.process.wait(timeout=10) == 0
    finally:
        chat.process.kill()
    return app.secret


def enrol_on_slack(stack, user) -> str:
    stack.slack.add_user(user, "u" + user[1:].lower(), user, user)
    direct_message(stack, user, "set up two-factor")
    wait(lambda: stack.slack.files("D" + user[1:]))
    [image] = stack.slack.files("D" + user[1:])
    uri = URI.search(typed_text(image["initial_comment"])).group(0)
    direct_message(stack, user, pyotp.parse_uri(uri).now())
    wait(lambda: dm_posts(stack, user, "Two-factor is set up"))
    return pyotp.parse_uri(uri).secret


def test_an_enrolments_secret_is_only_in_the_encrypted_column(safeguarded):
    stack = safeguarded
    local, slack_user = f"lena-{uuid.uuid4().hex[:8]}", new_user_id()
    secrets = {local: enrol_in_the_terminal_chat(stack, local), slack_user: enrol_on_slack(stack, slack_user)}

    # Every file of the stack: both tracker stores, deploybot's database (with SQLite's
    # journals) and every process's log.
    files = [path for path in stack.var_dir.rglob("*") if path.is_file()]
    assert {"bender-tracker.db", "deploybot.db", "bender-actions.log", "bender-rasa.log"} <= {p.name for p in files}
    for user, secret in secrets.items():
        assert [path for path in files if holds(path, secret)] == [], f"{user}'s secret is in these files"
        for bot in stack.bots.values():
            assert secret not in str(bot.tracker(user)), f"{user}'s secret is in {bot.id}'s tracker answer"
    # Where it is: encrypted, in its column.
    with Database(stack.database_url()).transaction() as session:
        stored = {row.user_id: row.secret for row in session.scalars(select(TwoFactorEnrolment).where(
            TwoFactorEnrolment.user_id.in_(list(secrets))))}
    assert {user: Fernet(TWO_FACTOR_KEY.encode()).decrypt(token.encode()).decode() for user, token in stored.items()} == secrets
