"""deploybot.adapters.slack.web_api against the Slack fake over HTTP: rate limits waited out,
errors classified and reported instead of raised, messages fitted to Slack's limits."""
from __future__ import annotations

import asyncio
import json

import pytest
from slack_sdk.http_retry import RetryIntervalCalculator

from deploybot.adapters.slack import web_api
from deploybot.adapters.slack.settings import SlackSettings
from deploybot.adapters.slack.web_api import Kind
from devtools.slack_fake import FakeSlack
from tests.support import free_port

MARVIN, BENDER = "xoxb-marvin-test", "xoxb-bender-test"
CHANNEL = "C0DEPLOYS"


class QuickBackoff(RetryIntervalCalculator):
    """Counts the connection retries, and waits little between them."""

    def __init__(self, before_retry=lambda: None):
        self.retries = 0
        self.before_retry = before_retry

    def calculate_sleep_duration(self, current_attempt: int) -> float:
        self.retries += 1
        self.before_retry()
        return 0.01


@pytest.fixture
def fake():
    with FakeSlack() as running:
        yield running


def settings(url: str, token: str = MARVIN) -> SlackSettings:
    return SlackSettings(token, "secret", url)


def marvin(fake: FakeSlack, token: str = MARVIN):
    return web_api.async_web_client(settings(fake.api_url, token), backoff=QuickBackoff())


def run(coroutine):
    return asyncio.run(coroutine)


def buttons(question: str, value: str = "/affirm") -> list:
    return [{"type": "section", "text": {"type": "plain_text", "text": question}},
            {"type": "actions", "block_id": "deploybot-buttons:U0THERESA", "elements": [
                {"type": "button", "action_id": "button-0", "text": {"type": "plain_text", "text": "Yes"}, "value": value},
                {"type": "button", "action_id": "button-1", "text": {"type": "plain_text", "text": "No"}, "value": "/deny"}]}]


def sent_blocks(call) -> list | None:
    blocks = call["args"].get("blocks")
    return json.loads(blocks) if isinstance(blocks, str) else blocks


# -- rate limits and lost connections -------------------------------------------------------


def test_a_429_is_waited_out_and_the_message_delivered(fake):
    fake.rate_limit_next("chat.postMessage", retry_after=1)
    delivery = run(web_api.post_message(marvin(fake), CHANNEL, "Deploying cms 1.0.5", thread_ts="1732620000.000001"))
    assert delivery.delivered and delivery.ts
    first, second = fake.calls("chat.postMessage")
    assert (first["status"], second["status"]) == (429, 200)
    assert second["at"] - first["at"] >= 1.0  # Retry-After was honoured
    assert second["answer"]["message"]["thread_ts"] == "1732620000.000001"


def test_the_sync_client_waits_out_the_channels_post_limit_too(fake):
    fake.limit_posts(per_second=1, burst=1)
    client = web_api.web_client(settings(fake.api_url), backoff=QuickBackoff())
    deliveries = [web_api.post_message_sync(client, CHANNEL, f"report {n}") for n in range(2)]
    assert all(d.delivered for d in deliveries)
    assert [c["status"] for c in fake.calls("chat.postMessage")] == [200, 429, 200]


def test_rate_limits_that_do_not_end_are_reported_with_retry_after(fake):
    fake.rate_limit_next("chat.postMessage", retry_after=0, times=web_api.RATE_LIMIT_RETRIES + 1)
    delivery = run(web_api.post_message(marvin(fake), CHANNEL, "hi"))
    assert (delivery.delivered, delivery.error, delivery.kind, delivery.retry_after) == (False, "ratelimited", Kind.RETRY_LATER, 0)
    assert len(fake.calls("chat.postMessage")) == web_api.RATE_LIMIT_RETRIES + 1


def test_a_refused_connection_is_retried_then_reported():
    backoff = QuickBackoff()
    client = web_api.async_web_client(settings(f"http://127.0.0.1:{free_port()}/api/"), backoff=backoff)
    delivery = run(web_api.post_message(client, CHANNEL, "hi"))
    assert (delivery.delivered, delivery.error, delivery.kind) == (False, "connection_failed", Kind.RETRY_LATER)
    assert backoff.retries == web_api.CONNECTION_RETRIES

    sync_backoff = QuickBackoff()
    client = web_api.web_client(settings(f"http://127.0.0.1:{free_port()}/api/"), backoff=sync_backoff)
    assert web_api.post_message_sync(client, CHANNEL, "hi").error == "connection_failed"
    assert sync_backoff.retries == web_api.CONNECTION_RETRIES


def test_a_slack_that_comes_back_gets_the_message():
    port, started = free_port(), []
    backoff = QuickBackoff(before_retry=lambda: started or started.append(FakeSlack(port=port).start()))
    client = web_api.async_web_client(settings(f"http://127.0.0.1:{port}/api/"), backoff=backoff)
    try:
        delivery = run(web_api.post_message(client, CHANNEL, "hi"))
        assert delivery.delivered and backoff.retries == 1
        assert [c["method"] for c in started[0].calls()] == ["chat.postMessage"]
    finally:
        for fake in started:
            fake.stop()


# -- errors are classified and reported, never raised ----------------------------------------


@pytest.mark.parametrize("error, kind", [
    ("internal_error", Kind.RETRY_LATER), ("fatal_error", Kind.RETRY_LATER), ("service_unavailable", Kind.RETRY_LATER),
    ("request_timeout", Kind.RETRY_LATER), ("invalid_auth", Kind.GIVE_UP), ("account_inactive", Kind.GIVE_UP),
    ("token_revoked", Kind.GIVE_UP), ("missing_scope", Kind.GIVE_UP), ("something_new", Kind.GIVE_UP),
    ("not_in_channel", Kind.TELL_USER), ("is_archived", Kind.TELL_USER),
])
def test_errors_are_reported_by_kind(fake, error, kind, caplog):
    fake.fail_next("chat.postMessage", error)
    delivery = run(web_api.post_message(marvin(fake), CHANNEL, "Deploy cms 1.0.5 to staging? secret-ish text"))
    assert (delivery.delivered, delivery.error, delivery.kind, delivery.timestamps) == (False, error, kind, ())
    [line] = [r.getMessage() for r in caplog.records if r.name == "deploybot.adapters.slack.web_api"]
    assert error in line and CHANNEL in line and "xoxb" not in line and "secret-ish" not in line


def test_a_wrong_token_is_given_up_on(fake):
    delivery = run(web_api.post_message(marvin(fake, "xoxb-wrong"), CHANNEL, "hi"))
    assert (delivery.error, delivery.kind, delivery.advice) == ("invalid_auth", Kind.GIVE_UP, None)


@pytest.mark.parametrize("setup, error, advice", [
    (lambda fake: fake.add_channel("#ops", members=["U0THERESA", "UBENDER01"]), "not_in_channel", "invite me"),
    (lambda fake: fake.add_channel("#ops", archived=True), "is_archived", "archived"),
    (lambda fake: fake.add_channel("#ops", private=True, members=["U0THERESA"]), "channel_not_found", "private"),
    (lambda fake: None, "channel_not_found", "check its name"),
])
def test_what_only_people_can_fix_is_told_to_the_user(fake, setup, error, advice):
    setup(fake)
    client = marvin(fake)
    delivery = run(web_api.post_message(client, "#ops", "Web Shop 2.0.0 is on production"))
    assert (delivery.error, delivery.kind) == (error, Kind.TELL_USER)
    assert advice in delivery.advice and "#ops" in delivery.advice

    told = run(web_api.tell_user(client, "U0THERESA", delivery.advice))
    assert told.delivered and told.channel == "D0THERESA"
    assert fake.calls("chat.postMessage")[-1]["args"]["text"] == delivery.advice


def test_the_user_is_told_in_their_thread_when_the_bot_can_post_there(fake):
    told = run(web_api.tell_user(marvin(fake), "U0THERESA", "Please invite me to #ops.", CHANNEL, "1732620000.000001"))
    assert (told.channel, told.answer["message"]["thread_ts"]) == (CHANNEL, "1732620000.000001")
    assert [c["method"] for c in fake.calls()] == ["chat.postMessage"]


# -- messages fitted to Slack's limits ------------------------------------------------------


def test_a_text_over_40000_characters_becomes_several_messages(fake):
    lines = [f"line {n}: " + "x" * 90 for n in range(450)]  # 45,000 characters and more
    text = "\n".join(lines)
    delivery = run(web_api.post_message(marvin(fake), CHANNEL, text, thread_ts="1732620000.000001"))
    posts = fake.calls("chat.postMessage")
    assert delivery.delivered and len(delivery.timestamps) == len(posts) == 2
    assert all(len(p["args"]["text"]) <= 40_000 and p["args"]["thread_ts"] == "1732620000.000001" for p in posts)
    assert "\n".join(p["args"]["text"] for p in posts) == text  # cut between lines, nothing lost


def test_a_long_question_with_buttons_is_shortened_to_the_sections_limit(fake):
    question = "Deploy these? " + "cms 1.0.5, " * 400  # 4,000 characters and more
    delivery = run(web_api.post_message(marvin(fake), CHANNEL, question, blocks=buttons(question)))
    assert delivery.delivered
    [post] = fake.calls("chat.postMessage")
    section = sent_blocks(post)[0]["text"]["text"]
    assert len(section) == 3000 and section.endswith("…") and post["args"]["text"] == question


def test_blocks_slack_refuses_are_dropped_and_the_text_sent_alone(fake):
    question = "Deploy cms 1.0.5 to staging? (yes/no)"
    delivery = run(web_api.post_message(marvin(fake), CHANNEL, question, blocks=buttons(question, value="v" * 2001)))
    assert delivery.delivered
    refused, plain = fake.calls("chat.postMessage")
    assert refused["answer"]["error"] == "invalid_blocks"
    assert "/blocks/1/elements/0/value" in refused["answer"]["response_metadata"]["messages"][0]
    assert (plain["args"]["text"], sent_blocks(plain)) == (question, None)


def test_a_message_slack_finds_too_long_is_sent_again_in_shorter_parts(fake):
    fake.fail_next("chat.postMessage", "msg_too_long")
    text = "\n".join(["a line of a long report " * 10] * 30)  # about 7,000 characters
    delivery = run(web_api.post_message(marvin(fake), CHANNEL, text))
    refused, *parts = fake.calls("chat.postMessage")
    assert refused["answer"]["error"] == "msg_too_long" and delivery.delivered and len(parts) == 2
    assert all(len(p["args"]["text"]) <= web_api.SAFE_TEXT for p in parts)


def test_a_message_refused_twice_is_reported_not_retried_forever(fake):
    fake.fail_next("chat.postMessage", "invalid_blocks", times=2)
    delivery = run(web_api.post_message(marvin(fake), CHANNEL, "Deploy?", blocks=buttons("Deploy?")))
    assert (delivery.error, delivery.kind) == ("invalid_blocks", Kind.FIX_MESSAGE)
    assert len(fake.calls("chat.postMessage")) == 2


def test_splitting_and_fitting_keep_within_every_limit():
    assert web_api.split_text("abc def", 3) == ["abc", "def"]
    assert web_api.split_text("abcdefg", 3) == ["abc", "def", "g"]
    assert web_api.split_text("short", 40_000) == ["short"]
    many = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 4000}}] * 60
    fitted = web_api.fit_blocks(many + [{"type": "actions", "elements": [
        {"type": "button", "text": {"type": "plain_text", "text": "y" * 80}, "value": "v"}] * 30}])
    assert len(fitted) == 50 and {len(b["text"]["text"]) for b in fitted} == {3000}
    assert len(many[0]["text"]["text"]) == 4000  # the caller's blocks are left alone
    actions = web_api.fit_blocks([{"type": "actions", "elements": [
        {"type": "button", "text": {"type": "plain_text", "text": "y" * 80}, "value": "v"}] * 30}])[0]
    assert len(actions["elements"]) == 25 and len(actions["elements"][0]["text"]["text"]) == 75


# -- updates, ephemerals, DMs, modals ---------------------------------------------------------


def test_an_update_with_refused_blocks_removes_them_and_updates_the_text(fake):
    client = marvin(fake)
    question = run(web_api.post_message(client, CHANNEL, "Deploy?", blocks=buttons("Deploy?")))
    decision = [{"type": "section", "text": {"type": "mrkdwn", "text": "Deploy?\n→ Yes"}}, {"type": "carousel"}]
    updated = run(web_api.update_message(client, CHANNEL, question.ts, "", blocks=decision))
    assert updated.delivered and updated.ts == question.ts
    assert updated.answer["message"]["text"] == "Deploy?\n→ Yes" and "blocks" not in updated.answer["message"]


def test_updating_another_bots_message_is_reported(fake):
    posted = run(web_api.post_message(marvin(fake), CHANNEL, "Deploy?"))
    delivery = run(web_api.update_message(marvin(fake, BENDER), CHANNEL, posted.ts, "hijacked"))
    assert (delivery.error, delivery.kind) == ("cant_update_message", Kind.GIVE_UP)
    missing = web_api.update_message_sync(web_api.web_client(settings(fake.api_url)), CHANNEL, "1.000001", "x")
    assert missing.error == "message_not_found"


def test_ephemerals_dms_user_info_and_modals(fake):
    client = marvin(fake)
    assert run(web_api.post_ephemeral(client, CHANNEL, "U0WALTER", "Only <@U0THERESA> can confirm this.")).delivered
    assert run(web_api.open_dm(client, "U0THERESA")).channel == "D0THERESA"
    assert run(web_api.open_dm(client, "U0NOBODY01")).error == "user_not_found"
    assert run(web_api.user_info(client, "U0THERESA"))["profile"]["display_name"] == "Theresa"
    assert run(web_api.user_info(client, "U0NOBODY01")) is None
    view = {"type": "modal", "title": {"type": "plain_text", "text": "Deploy"}, "blocks": []}
    opened = run(web_api.open_view(client, fake.new_trigger_id(), view))
    assert opened.delivered and opened.answer["view"]["id"].startswith("V")
    assert run(web_api.open_view(client, "not-a-trigger", view)).error == "invalid_trigger_id"


# -- escaping: typed text repeated by the bot never becomes markup -----------------------------

HOSTILE = "Reason: <!channel> see <https://evil.example|the runbook> & <@U0THERESA>"
ESCAPED = "Reason: &lt;!channel&gt; see &lt;https://evil.example|the runbook&gt; &amp; <@U0THERESA>"


def test_every_text_sent_is_escaped_and_mentions_of_people_stay(fake):
    client = marvin(fake)
    posted = run(web_api.post_message(client, CHANNEL, HOSTILE))
    question = run(web_api.post_message(client, CHANNEL, HOSTILE, blocks=buttons(HOSTILE)))
    decision = [{"type": "section", "text": {"type": "mrkdwn", "text": HOSTILE + "\n→ Yes"}}]
    run(web_api.update_message(client, CHANNEL, question.ts, HOSTILE, blocks=decision))
    run(web_api.post_ephemeral(client, CHANNEL, "U0WALTER", HOSTILE))
    web_api.upload_file_sync(web_api.web_client(settings(fake.api_url)), "D0THERESA", "qr.png", PNG, "QR", HOSTILE)
    assert posted.delivered
    assert [c["args"]["text"] for c in fake.calls("chat.postMessage")] == [ESCAPED, ESCAPED]
    assert sent_blocks(fake.calls("chat.postMessage")[1])[0]["text"]["text"] == HOSTILE  # plain_text is never markup
    [update] = fake.calls("chat.update")
    assert update["args"]["text"] == ESCAPED and sent_blocks(update)[0]["text"]["text"] == ESCAPED + "\n→ Yes"
    assert fake.calls("chat.postEphemeral")[0]["args"]["text"] == ESCAPED
    assert fake.files()[0]["initial_comment"] == ESCAPED


# -- file uploads -----------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 2
COMMENT = "Scan this code to add me: otpauth://totp/deploybot:U0THERESA?secret=JBSWY3DPEHPK3PXP"


def test_a_file_goes_in_three_steps_into_a_dm_sync_and_async(fake):
    sync = web_api.upload_file_sync(web_api.web_client(settings(fake.api_url, BENDER)), "D0THERESA", "qr.png", PNG,
                                    "QR code", COMMENT, alt_txt="QR code")
    done = run(web_api.upload_file(marvin(fake), "D0THERESA", "qr.png", PNG, "QR code"))
    assert sync.delivered and done.delivered
    assert [c["method"] for c in fake.calls()] == ["files.getUploadURLExternal", "files.completeUploadExternal"] * 2
    first, second = fake.files()
    assert (first["content"], first["channel"], first["initial_comment"], first["title"], first["user"]) == \
        (PNG, "D0THERESA", COMMENT, "QR code", "UBENDER01")
    assert (second["content"], second["channel"], second["initial_comment"], second["user"]) == (PNG, "D0THERESA", "", "UMARVIN01")
    assert sync.answer["files"][0]["id"] == first["id"]


def test_a_rate_limited_upload_is_waited_out(fake):
    fake.rate_limit_next("files.completeUploadExternal", retry_after=1)
    fake.rate_limit_next("files.getUploadURLExternal", retry_after=1)
    delivery = web_api.upload_file_sync(web_api.web_client(settings(fake.api_url, BENDER)), "D0THERESA", "qr.png", PNG, "QR")
    assert delivery.delivered and [f["content"] for f in fake.files("D0THERESA")] == [PNG]
    assert [c["status"] for c in fake.calls()] == [429, 200, 429, 200]


@pytest.mark.parametrize("method, error, kind", [
    ("files.getUploadURLExternal", "file_uploads_disabled", Kind.GIVE_UP),
    ("files.getUploadURLExternal", "missing_scope", Kind.GIVE_UP),
    ("files.completeUploadExternal", "file_not_found", Kind.GIVE_UP),
    ("files.completeUploadExternal", "internal_error", Kind.RETRY_LATER),
])
def test_a_refused_upload_is_reported_not_raised_and_nothing_is_shared(fake, method, error, kind, caplog):
    fake.fail_next(method, error)
    delivery = web_api.upload_file_sync(web_api.web_client(settings(fake.api_url, BENDER)), "D0THERESA", "qr.png", PNG,
                                        "QR", COMMENT)
    assert (delivery.delivered, delivery.error, delivery.kind) == (False, error, kind)
    assert fake.files() == []
    logged = " ".join(r.getMessage() for r in caplog.records if r.name.startswith("deploybot"))
    assert error in logged and "otpauth" not in logged and "JBSWY3DPEHPK3PXP" not in logged


@pytest.mark.parametrize("setup, error", [
    (lambda fake: fake.add_channel("C0OPS00001", members=["U0THERESA"]), "not_in_channel"),
    (lambda fake: fake.add_channel("C0OPS00001", archived=True), "is_archived"),
    (lambda fake: None, "invalid_channel"),
])
def test_a_channel_the_bot_cannot_share_into_is_for_people_to_fix(fake, setup, error):
    setup(fake)
    delivery = run(web_api.upload_file(marvin(fake), "C0OPS00001", "qr.png", PNG, "QR"))
    assert (delivery.error, delivery.kind) == (error, Kind.TELL_USER) and "<#C0OPS00001>" in delivery.advice


def test_the_bytes_go_only_to_slacks_own_upload_url():
    assert web_api.trusted_upload_url("https://files.slack.com/upload/v1/abc", "https://slack.com/api/")
    assert web_api.trusted_upload_url("https://files.slack-gov.com/upload/v1/abc", "https://slack-gov.com/api/")
    assert web_api.trusted_upload_url("http://127.0.0.1:8090/upload/v1/abc", "http://127.0.0.1:8090/api/")
    for url in ("http://files.slack.com/upload/v1/abc", "https://files.slack.com.evil.example/upload",
                "https://evilslack.com/upload", "http://127.0.0.1:9999/upload/v1/abc", "file:///etc/passwd", ""):
        assert not web_api.trusted_upload_url(url, "http://127.0.0.1:8090/api/"), url

    steps = web_api.uploading("https://slack.com/api/", "D0THERESA", "qr.png", PNG, "QR", COMMENT, "")
    assert next(steps) == ("files.getUploadURLExternal", {"filename": "qr.png", "length": len(PNG)})
    with pytest.raises(StopIteration) as done:
        steps.send(web_api.Reply({"ok": True, "upload_url": "https://attacker.example/upload", "file_id": "F0ABCDEF12"}))
    assert (done.value.value.error, done.value.value.kind) == (web_api.UPLOAD_FAILED, Kind.GIVE_UP)


def test_an_upload_url_that_refuses_or_does_not_answer_is_reported(fake):
    ticket = web_api.web_client(settings(fake.api_url, BENDER)).files_getUploadURLExternal(filename="a.png", length=3)
    assert web_api.post_upload(ticket["upload_url"], b"abcd", 5).error == web_api.UPLOAD_FAILED  # not the length announced
    assert web_api.post_upload(ticket["upload_url"], b"abc", 5) == web_api.Reply({"status": 200})
    assert web_api.post_upload(ticket["upload_url"], b"abc", 5).error == web_api.UPLOAD_FAILED  # used twice
    assert web_api.post_upload(f"http://127.0.0.1:{free_port()}/upload/v1/x", b"abc", 5).error == web_api.CONNECTION_FAILED
