"""On Slack, the enrolment goes to the user's DM (actions.two_factor_setup.send_enrolment_dm, against
the Slack fake): the QR code as a PNG image with the otpauth:// link; when Slack does not take
the image, the QR code as text; never anywhere but the DM, and never in a log line."""
import logging

import pytest

from actions.context import slack_directory
from actions.two_factor_setup import send_enrolment_dm
from deploybot.adapters.slack.formatting import typed_text
from deploybot.policy.two_factor import enrolment_for
from devtools.slack_fake import FakeSlack
from tests.safeguards import URI, qr_modules, qr_of

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
ENROLMENT = enrolment_for(f"otpauth://totp/deploybot:Bender%3AU0THERESA?secret={SECRET}&issuer=deploybot")


@pytest.fixture
def fake(monkeypatch):
    with FakeSlack() as running:
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-bender-test")
        monkeypatch.setenv("SLACK_SIGNING_SECRET", "secret")
        monkeypatch.setenv("SLACK_API_URL", running.api_url)
        slack_directory.cache_clear()  # the action server keeps one directory (and client) per process
        yield running
        slack_directory.cache_clear()


def test_the_qr_code_is_an_image_in_the_dm_with_the_link(fake):
    assert send_enrolment_dm("U0THERESA", ENROLMENT)
    [shared] = fake.files()
    assert shared["channel"] == "D0THERESA" and shared["content"] == ENROLMENT.qr_png
    comment = typed_text(shared["initial_comment"])  # as Slack shows it: the link's & is sent as &amp;
    assert URI.search(comment).group(0) == ENROLMENT.uri
    assert qr_modules(shared["content"]) == qr_of(URI.search(comment).group(0))
    assert SECRET not in shared["title"] + shared["alt_txt"] + shared["name"]
    assert fake.calls("chat.postMessage") == []


def test_the_qr_reader_tells_codes_apart():
    assert qr_modules(ENROLMENT.qr_png) == qr_of(ENROLMENT.uri)
    assert qr_modules(ENROLMENT.qr_png) != qr_of(ENROLMENT.uri.replace(SECRET, SECRET[::-1]))


@pytest.mark.parametrize("method", ["files.getUploadURLExternal", "files.completeUploadExternal"])
def test_when_slack_refuses_the_image_the_qr_code_comes_as_text_and_the_log_says_so(fake, method, caplog):
    fake.fail_next(method, "file_uploads_disabled")
    with caplog.at_level(logging.INFO):
        assert send_enrolment_dm("U0THERESA", ENROLMENT)
    assert fake.files() == []
    [post] = fake.calls("chat.postMessage")
    shown = typed_text(post["args"]["text"])
    assert post["args"]["channel"] == "D0THERESA" and ENROLMENT.uri in shown
    assert "```" + "\n".join(l for l in ENROLMENT.qr_terminal.splitlines() if l.strip()) + "```" in shown
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "QR code image for U0THERESA could not be sent (file_uploads_disabled)" in logged
    assert SECRET not in logged and "otpauth" not in logged


def test_without_a_dm_nothing_is_sent(fake):
    fake.fail_next("conversations.open", "cannot_dm_bot")
    assert not send_enrolment_dm("U0THERESA", ENROLMENT)
    assert fake.files() == [] and fake.calls("chat.postMessage") == []
    fake.fail_next("files.completeUploadExternal", "internal_error")
    fake.fail_next("chat.postMessage", "messages_tab_disabled")
    assert not send_enrolment_dm("U0THERESA", ENROLMENT)  # neither the image nor the text arrived
