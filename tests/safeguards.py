"""Helpers of the production-safeguards tests (issue 14): a person's authenticator app
(pyotp, from the otpauth:// URI the bot handed out), codes around now, and the checks that no
code was ever said, audited or posted. The stack with two-factor required is the session
fixture `safeguarded` (tests/conftest.py)."""
import io
import re
import time
import urllib.request

import pyotp
import segno
from PIL import Image

from deploybot.policy import safeguard_messages as say
from tests import slack_requests as slack
from tests.slack_chat import send_event
from tests.support import audit_entries, chat_posts

SAFEGUARD_SETTINGS = {"JENKINS_TIMEOUT": "5", "DEPLOYBOT_EMULATOR_BUILD_SECONDS": "1", "DEPLOYBOT_POLL_SECONDS": "1",
                      "BENDER_TWO_FACTOR": "required"}
URI = re.compile(r"otpauth://totp/\S+")
ASKED = "needs your second factor: send me the 6-digit code your authenticator app shows now within 10 min. Nothing has been deployed yet."


def enrol(bender, user) -> pyotp.TOTP:
    """Sets up two-factor over REST as a person would; returns their authenticator app. The
    QR code and link come past the conversation, as the terminal chat gets them."""
    instructions = shown_privately(bender, user, "bender, set up two-factor")
    assert instructions.startswith("Add me to your authenticator app"), instructions
    app = pyotp.parse_uri(URI.search(instructions).group(0))
    assert bender.texts(user, app.now()) == ["Two-factor is set up: production deploys will ask you for a code from your authenticator app."]
    return app


def enrol_in_chat(chat) -> pyotp.TOTP:
    """Sets up two-factor in a running terminal chat (tests.integration.test_terminal_chat.Chat)
    as a person would: the QR code and link show in the chat, past the conversation."""
    chat.type("bender, set up two-factor")
    chat.expect_start("Bender: Add me to your authenticator app")
    deadline, uri = time.monotonic() + 30, None
    while uri is None and time.monotonic() < deadline:
        found = URI.search(chat.lines.get(timeout=30))
        uri = found.group(0) if found else None
    chat.expect_start("Bender: I showed you the QR code and the link in your terminal chat, and nowhere else")
    app = pyotp.parse_uri(uri)
    chat.type(app.now())
    chat.expect("Bender: Two-factor is set up: production deploys will ask you for a code from your authenticator app.")
    return app


def shown_privately(bender, user, text) -> str:
    """What the bot showed the user in the terminal chat (not in the conversation) after text."""
    with chat_posts(bender.chat_port) as posts:
        assert bender.texts(user, text) == [say.ENROL_SHOWN_IN_CHAT]
    [shown] = [message["text"] for path, message in posts if path == bender.id and message.get("recipient_id") == user]
    return shown


def next_code(app: pyotp.TOTP) -> str:
    """The code of the next 30-second step: accepted (one step of drift) after the current one was used."""
    return app.at(time.time() + 30)


def wrong_code(app: pyotp.TOTP) -> str:
    near = {app.at(time.time() + shift) for shift in (-60, -30, 0, 30, 60)}
    return next(code for code in (f"{n:06d}" for n in range(100000, 999999, 7919)) if code not in near)


def ask_and_confirm(bender, user, app_id, version, name):
    assert bender.texts(user, f"@bender deploy {app_id} {version}") == [f"Deploy {name} {version} to production? (yes/no)"]
    return bender.texts(user, "yes")


def assert_never_said(stack, bender, user, *codes):
    """No reply, no audit entry and no Slack post holds a code."""
    for code in codes:
        assert not any(code in text for text in bender.said(user)), code
        assert not any(code in (entry.detail or "") for entry in audit_entries(stack)), code
        if stack.slack:
            assert not any(code in str(call["args"].get("text", "")) for call in stack.slack.calls("chat.postMessage")), code


def dm_posts(stack, user, prefix=""):
    channel = "D" + user[1:]
    return [c for c in stack.slack.calls("chat.postMessage")
            if c["args"].get("channel") == channel and str(c["args"].get("text", "")).startswith(prefix)]


def direct_message(stack, user, text):
    assert send_event(stack, "bender", slack.direct_message(user, text, channel="D" + user[1:])) == 200


def wait(condition, timeout=60):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)


def submit_code(stack, user, view, code):
    """(status, body) of a signed view_submission of the code modal."""
    body, headers = slack.view_submission(stack.slack_secret("bender"), user, view, {"code": {"code": code}},
                                          api_app_id=stack.slack_app("bender"))
    request = urllib.request.Request(f"{stack.bots['bender'].url}/webhooks/slack/webhook", data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read().decode()


def qr_modules(png: bytes) -> list:
    """The dark (True) and light modules of a QR code image, read from its pixels: the
    quiet zone is skipped, and a module's size is the top-left finder pattern's width / 7."""
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG", image.format
    image = image.convert("L")
    width, height = image.size
    dark = lambda x, y: image.getpixel((x, y)) < 128
    start = next(n for n in range(min(width, height)) if dark(n, n))
    run = next(n for n in range(start, width) if not dark(n, start)) - start
    size, rest = divmod(run, 7)
    assert size > 0 and rest == 0, "no finder pattern in the top-left corner"
    count = (width - 2 * start) // size
    return [[dark(start + col * size + size // 2, start + row * size + size // 2) for col in range(count)]
            for row in range(count)]


def qr_of(uri: str) -> list:
    """The modules of the QR code segno makes for a URI, as deploybot makes it."""
    return [[bool(module) for module in row] for row in segno.make(uri, error="m").matrix]
