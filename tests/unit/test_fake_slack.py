"""The Slack Web API fake (devtools.slack_fake) as slack-sdk's clients see it, and the
signed requests of tests/slack_requests.py as slack-sdk's SignatureVerifier sees them."""
from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import parse_qs

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from devtools.slack_fake import FakeSlack
from tests import slack_requests

MARVIN, BENDER = "xoxb-marvin-test", "xoxb-bender-test"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BUTTONS = [{"type": "section", "text": {"type": "plain_text", "text": "Deploy cms 1.0.2 to staging?"}},
           {"type": "actions", "block_id": "deploybot-buttons:U0THERESA", "elements": [
               {"type": "button", "action_id": "button-0", "text": {"type": "plain_text", "text": "Yes"}, "value": "/affirm"},
               {"type": "button", "action_id": "button-1", "text": {"type": "plain_text", "text": "No"}, "value": "/deny"}]}]


@pytest.fixture
def fake():
    with FakeSlack() as running:
        yield running


def client(fake: FakeSlack, token: str | None = MARVIN) -> WebClient:
    return WebClient(token, base_url=fake.api_url)


def error_of(call) -> str:
    with pytest.raises(SlackApiError) as raised:
        call()
    return raised.value.response["error"]


# -- the Web API through slack-sdk ----------------------------------------------------------


def test_a_threaded_message_with_blocks_is_posted_updated_and_recorded(fake):
    marvin = client(fake)
    posted = marvin.chat_postMessage(channel="C0DEPLOYS", text="Deploy?", blocks=BUTTONS, thread_ts="1732620000.000001")
    message = posted["message"]
    assert (posted["channel"], message["user"], message["bot_id"], message["thread_ts"]) == \
        ("C0DEPLOYS", "UMARVIN01", "BMARVIN01", "1732620000.000001")
    assert message["blocks"] == BUTTONS and message["ts"] == posted["ts"]
    second = marvin.chat_postMessage(channel="C0DEPLOYS", text="again")
    assert float(second["ts"]) > float(posted["ts"])

    updated = marvin.chat_update(channel="C0DEPLOYS", ts=posted["ts"], text="Deploy? → Yes", blocks=[])
    assert (updated["channel"], updated["ts"], updated["text"]) == ("C0DEPLOYS", posted["ts"], "Deploy? → Yes")
    assert "blocks" not in updated["message"]
    fake.add_channel("C0OTHER01")
    assert error_of(lambda: marvin.chat_update(channel="C0OTHER01", ts=posted["ts"], text="x")) == "message_not_found"
    assert error_of(lambda: client(fake, BENDER).chat_update(channel="C0DEPLOYS", ts=posted["ts"], text="x")) == "cant_update_message"

    [call] = fake.calls("chat.postMessage")[:1]
    assert (call["token_owner"], call["args"]["blocks"], call["args"]["thread_ts"]) == ("marvin", BUTTONS, "1732620000.000001")
    assert call["answer"]["ts"] == posted["ts"] and fake.calls("chat.update")[1]["answer"]["error"] == "message_not_found"
    assert [c["method"] for c in fake.calls()] == ["chat.postMessage", "chat.postMessage", "chat.update", "chat.update", "chat.update"]


def test_ephemerals_direct_messages_and_channel_names(fake):
    marvin = client(fake)
    ephemeral = marvin.chat_postEphemeral(channel="C0DEPLOYS", user="U0JBRUEDER", text="Only Theresa can confirm this.")
    assert ephemeral["message_ts"]
    assert error_of(lambda: marvin.chat_postEphemeral(channel="C0DEPLOYS", user="U0NOBODY01", text="x")) == "user_not_found"
    assert marvin.chat_postMessage(channel="U0THERESA", text="hi")["channel"] == "D0THERESA"
    assert error_of(lambda: marvin.chat_postMessage(channel="U0NOBODY01", text="hi")) == "channel_not_found"
    assert marvin.chat_postMessage(channel="#deployments-management", text="hi")["channel"].startswith("C")


def test_users_are_found_and_listed_page_by_page(fake):
    marvin = client(fake)
    user = marvin.users_info(user="U0JBRUEDER")["user"]
    assert (user["name"], user["profile"]["display_name"], user["is_bot"], user["deleted"]) == ("jbrueder", "Jan Brueder", False, False)
    assert marvin.users_info(user="U0MLOPEZ01")["user"]["profile"]["display_name_normalized"] == "Maria"
    assert marvin.users_info(user="UMARVIN01")["user"]["is_bot"] is True
    assert error_of(lambda: marvin.users_info(user="U0NOBODY01")) == "user_not_found"

    pages = [page["members"] for page in marvin.users_list(limit=2)]  # slack-sdk follows next_cursor
    assert [len(page) for page in pages] == [2, 2, 2, 1]  # five people, then the two bots
    assert [m["id"] for page in pages for m in page][:5] == ["U0JBRUEDER", "U0THERESA", "UADMIN0001", "U0WALTER", "U0MLOPEZ01"]
    assert len(marvin.users_list()["members"]) == 7
    fake.add_user("U0NEWUSER1", "newbie", "Newbie")
    assert marvin.users_info(user="U0NEWUSER1")["user"]["real_name"] == "Newbie"


def test_slacks_errors(fake):
    assert error_of(lambda: client(fake, "xoxb-wrong").auth_test()) == "invalid_auth"
    assert error_of(lambda: client(fake, None).auth_test()) == "not_authed"
    assert error_of(lambda: client(fake).chat_postMessage(channel="", text="hi")) == "channel_not_found"
    with pytest.warns(UserWarning):  # slack-sdk warns, Slack refuses
        assert error_of(lambda: client(fake).chat_postMessage(channel="C0DEPLOYS")) == "no_text"
    assert error_of(lambda: client(fake).api_call("chat.teleport")) == "unknown_method"
    assert [c["token_owner"] for c in fake.calls()] == [None, None, "marvin", "marvin", "marvin"]


def test_auth_test_answers_for_the_tokens_bot(fake):
    answer = client(fake, BENDER).auth_test()
    assert {k: answer[k] for k in ("team", "user", "team_id", "user_id", "bot_id")} == \
        {"team": "Test Team", "user": "bender", "team_id": "T0001", "user_id": "UBENDER01", "bot_id": "BBENDER01"}


def test_the_async_client_works_unchanged(fake):
    async def session() -> list:
        marvin = AsyncWebClient(MARVIN, base_url=fake.api_url)
        posted = await marvin.chat_postMessage(channel="C0DEPLOYS", text="Deploy?", blocks=BUTTONS)
        await marvin.chat_update(channel="C0DEPLOYS", ts=posted["ts"], text="done")
        name = (await marvin.users_info(user="U0THERESA"))["user"]["profile"]["display_name"]  # GET with a query
        sizes = [len(page["members"]) async for page in await marvin.users_list(limit=2)]
        return [name, sizes]

    assert asyncio.run(session()) == ["Theresa", [2, 2, 2, 1]]
    assert [c["method"] for c in fake.calls()][:3] == ["chat.postMessage", "chat.update", "users.info"]


def test_a_token_in_a_form_field_and_the_control_endpoints(fake):
    form = b"token=xoxb-bender-test&channel=C0DEPLOYS&text=hello&blocks=" + json.dumps(BUTTONS).encode()
    answer = post(fake.api_url + "chat.postMessage", form, "application/x-www-form-urlencoded")
    assert answer["ok"] and answer["message"]["blocks"] == BUTTONS
    assert post(fake.url + "/_fake/users", json.dumps({"id": "U0REMOTE01", "name": "remote", "display_name": "Remo"}).encode())["ok"]
    [call] = get(fake.url + "/_fake/calls?method=chat.postMessage")
    assert (call["token_owner"], call["args"]["text"], "token" in call["args"]) == ("bender", "hello", False)
    assert post(fake.url + "/_fake/clear", b"")["ok"] and get(fake.url + "/_fake/calls") == []
    assert client(fake).users_info(user="U0REMOTE01")["ok"]


def test_the_command_line_serves_until_sigterm(tmp_path):
    users = tmp_path / "users.yml"
    users.write_text("- {id: U0ONLYONE1, name: only, display_name: Only One, real_name: Only One}\n")
    process = subprocess.Popen([sys.executable, "-m", "devtools.slack_fake", "--port", "0", "--users", str(users)],
                               stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline().strip()
        assert line.startswith("Slack API fake on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1]
        members = WebClient(MARVIN, base_url=url + "/api/").users_list()["members"]
        assert [m["id"] for m in members] == ["U0ONLYONE1", "UMARVIN01", "UBENDER01"]
        assert get(url + "/_fake/calls")[0]["method"] == "users.list"
    finally:
        process.terminate()
        assert process.wait(timeout=5) == 0


# -- channels, limits, faults and modals as Slack has them ---------------------------------------


def test_channels_exist_only_once_created_and_the_bot_must_be_in_them(fake):
    marvin = client(fake)
    assert error_of(lambda: marvin.chat_postMessage(channel="C0NOWHERE1", text="hi")) == "channel_not_found"
    assert error_of(lambda: marvin.chat_postMessage(channel="#nowhere", text="hi")) == "channel_not_found"
    ops = fake.add_channel("#ops", members=["U0THERESA", "UBENDER01"])
    assert error_of(lambda: marvin.chat_postMessage(channel=ops, text="hi")) == "not_in_channel"
    assert client(fake, BENDER).chat_postMessage(channel="#ops", text="hi")["channel"] == ops
    assert marvin.conversations_info(channel=ops)["channel"]["is_member"] is False
    fake.join("#ops", "UMARVIN01")
    assert marvin.chat_postMessage(channel=ops, text="hi")["ok"]
    assert error_of(lambda: marvin.chat_postEphemeral(channel=ops, user="U0WALTER", text="x")) == "user_not_in_channel"
    fake.archive("#ops")
    assert error_of(lambda: marvin.chat_postMessage(channel=ops, text="hi")) == "is_archived"

    secret = fake.add_channel("G0SECRET01", name="secret", members=["U0THERESA", "UBENDER01"])
    assert error_of(lambda: marvin.conversations_info(channel=secret)) == "channel_not_found"
    assert client(fake, BENDER).conversations_info(channel=secret)["channel"]["is_private"] is True
    fake.leave("C0DEPLOYS", "UMARVIN01")
    assert error_of(lambda: marvin.chat_postMessage(channel="C0DEPLOYS", text="hi")) == "not_in_channel"


def test_the_default_workspace_has_the_deploy_channels_and_dms(fake):
    for bot in (client(fake), client(fake, BENDER)):
        assert bot.chat_postMessage(channel="C0DEPLOYS", text="hi")["ok"]
        assert bot.chat_postMessage(channel="#deployments-management", text="hi")["ok"]
        assert bot.chat_postMessage(channel="D0THERESA", text="hi")["channel"] == "D0THERESA"
    fake.add_user("U0NEWUSER1", "newbie", "Newbie")
    assert client(fake).chat_postEphemeral(channel="C0DEPLOYS", user="U0NEWUSER1", text="x")["ok"]
    assert error_of(lambda: client(fake).chat_postMessage(channel="D0NOBODY01", text="hi")) == "channel_not_found"
    about = client(fake).conversations_info(channel="C0DEPLOYS")["channel"]
    assert (about["is_member"], about["is_archived"], about["is_private"]) == (True, False, False)


def test_conversations_open_gives_the_dm_with_a_user(fake):
    marvin = client(fake)
    assert marvin.conversations_open(users="U0THERESA")["channel"]["id"] == "D0THERESA"
    assert marvin.conversations_open(users="U0THERESA", return_im=True)["channel"]["user"] == "U0THERESA"
    group = marvin.conversations_open(users="U0THERESA,U0WALTER")["channel"]["id"]
    assert group.startswith("G") and marvin.chat_postMessage(channel=group, text="hi")["ok"]
    assert error_of(lambda: marvin.conversations_open(users="U0NOBODY01")) == "user_not_found"
    assert error_of(lambda: marvin.api_call("conversations.open")) == "users_list_not_supplied"


@pytest.mark.parametrize("blocks, pointer", [
    ([{"type": "divider"}] * 51, "/blocks"),
    ([{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}], "/blocks/0/text/text"),
    ([{"type": "section", "text": {"type": "plain_text", "text": ""}}], "/blocks/0/text/text"),
    ([{"type": "section"}], "/blocks/0"),
    ([{"type": "actions", "elements": [BUTTONS[1]["elements"][0]] * 26}], "/blocks/0/elements"),
    ([{"type": "actions", "elements": [{**BUTTONS[1]["elements"][0], "text": {"type": "plain_text", "text": "y" * 76}}]}],
     "/blocks/0/elements/0/text/text"),
    ([{"type": "actions", "elements": [{**BUTTONS[1]["elements"][0], "value": "v" * 2001}]}], "/blocks/0/elements/0/value"),
    ([{"type": "section", "text": {"type": "mrkdwn", "text": "Pick"}, "accessory": {
        "type": "static_select", "action_id": "pick",
        "options": [{"text": {"type": "plain_text", "text": str(n)}, "value": str(n)} for n in range(101)]}}],
     "/blocks/0/accessory/options"),
    ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "/blocks/0/text/text"),
    ([{"type": "divider", "block_id": "a"}, {"type": "divider", "block_id": "a"}], "/blocks/1/block_id"),
    ([{"type": "carousel"}], "/blocks/0"),
])
def test_block_kit_limits(fake, blocks, pointer):
    with pytest.raises(SlackApiError) as raised:
        client(fake).chat_postMessage(channel="C0DEPLOYS", text="x", blocks=blocks)
    assert raised.value.response["error"] == "invalid_blocks"
    assert f"[json-pointer:{pointer}]" in raised.value.response["response_metadata"]["messages"][0]


def test_at_the_limits_slack_still_accepts(fake):
    options = [{"text": {"type": "plain_text", "text": str(n)}, "value": str(n)} for n in range(100)]
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3000},
               "accessory": {"type": "static_select", "action_id": "pick", "options": options}},
              {"type": "actions", "elements": [{**BUTTONS[1]["elements"][0], "action_id": f"b{n}", "value": "v" * 2000,
                                                "text": {"type": "plain_text", "text": "y" * 75}} for n in range(25)]}]
    blocks += [{"type": "divider"}] * 48
    assert client(fake).chat_postMessage(channel="C0DEPLOYS", text="t" * 40_000, blocks=blocks)["ok"]
    assert error_of(lambda: client(fake).chat_postMessage(channel="C0DEPLOYS", text="t" * 40_001)) == "msg_too_long"
    posted = client(fake).chat_postMessage(channel="C0DEPLOYS", text="x")
    assert error_of(lambda: client(fake).chat_update(channel="C0DEPLOYS", ts=posted["ts"], text="t" * 40_001)) == "msg_too_long"


def test_errors_and_rate_limits_on_demand(fake):
    fake.fail_next("chat.postMessage", "internal_error", times=2)
    marvin = client(fake)
    assert [error_of(lambda: marvin.chat_postMessage(channel="C0DEPLOYS", text="hi")) for _ in range(2)] == ["internal_error"] * 2
    assert marvin.chat_postMessage(channel="C0DEPLOYS", text="hi")["ok"]
    assert marvin.users_info(user="U0THERESA")["ok"]  # other methods are not affected

    fake.rate_limit_next("users.list", retry_after=7)
    with pytest.raises(SlackApiError) as raised:  # slack-sdk without a RateLimitErrorRetryHandler
        marvin.users_list()
    assert (raised.value.response.status_code, raised.value.response["error"]) == (429, "ratelimited")
    assert raised.value.response.headers["Retry-After"] in ("7", ["7"])
    assert fake.calls("users.list")[0]["status"] == 429 and marvin.users_list()["ok"]


def test_the_per_channel_post_limit(fake):
    fake.limit_posts(per_second=1, burst=2)
    marvin = client(fake)
    assert [marvin.chat_postMessage(channel="C0DEPLOYS", text=str(n))["ok"] for n in range(2)] == [True, True]
    with pytest.raises(SlackApiError) as raised:
        marvin.chat_postMessage(channel="C0DEPLOYS", text="third")
    assert raised.value.response.status_code == 429
    assert marvin.chat_postMessage(channel="#deployments-management", text="another channel")["ok"]
    fake.limit_posts(None)
    assert marvin.chat_postMessage(channel="C0DEPLOYS", text="no limit")["ok"]


def test_faults_channels_and_limits_over_http(fake):
    assert post(fake.url + "/_fake/channels", json.dumps({"channel": "#ops", "members": ["U0THERESA"]}).encode())["id"].startswith("C")
    assert error_of(lambda: client(fake).chat_postMessage(channel="#ops", text="hi")) == "not_in_channel"
    assert post(fake.url + "/_fake/faults", json.dumps({"method": "auth.test", "error": "account_inactive"}).encode())["ok"]
    assert error_of(lambda: client(fake).auth_test()) == "account_inactive"
    assert post(fake.url + "/_fake/faults", json.dumps({"method": "auth.test", "retry_after": 1, "times": 2}).encode())["ok"]
    assert post(fake.url + "/_fake/rate_limit", json.dumps({"per_second": 2, "burst": 5}).encode())["ok"]
    request = urllib.request.Request(fake.api_url + "auth.test", data=b"token=" + MARVIN.encode(), method="POST")
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=5)
    assert (raised.value.code, raised.value.headers["Retry-After"]) == (429, "1")
    assert post(fake.url + "/_fake/clear", b"")["ok"] and client(fake).auth_test()["ok"]  # clear drops pending faults
    assert post(fake.url + "/_fake/channels", b"{}")["ok"] is False
    assert post(fake.url + "/_fake/trigger_ids", b"")["trigger_id"]


def test_views_open_checks_the_trigger_and_the_view(fake):
    marvin = client(fake)
    view = {"type": "modal", "callback_id": "deploy", "title": {"type": "plain_text", "text": "Deploy cms"},
            "submit": {"type": "plain_text", "text": "Deploy"},
            "blocks": [{"type": "input", "block_id": "version", "label": {"type": "plain_text", "text": "Version"},
                        "element": {"type": "plain_text_input", "action_id": "value"}}]}
    trigger_id = fake.new_trigger_id()
    opened = marvin.views_open(trigger_id=trigger_id, view=view)["view"]
    assert (opened["id"][0], opened["callback_id"], opened["state"], opened["app_id"]) == ("V", "deploy", {"values": {}}, "AMARVIN01")
    assert error_of(lambda: marvin.views_open(trigger_id=trigger_id, view=view)) == "exchanged_trigger_id"
    assert error_of(lambda: marvin.views_open(trigger_id="12345", view=view)) == "invalid_trigger_id"
    assert marvin.views_open(trigger_id="1732630000123.1234567890.0123abcd", view=view)["ok"]  # from a click payload

    def refused(**changes) -> list:
        with pytest.raises(SlackApiError) as raised:
            marvin.views_open(trigger_id=fake.new_trigger_id(), view={**view, **changes})
        assert raised.value.response["error"] == "invalid_arguments"
        return raised.value.response["response_metadata"]["messages"]

    assert "/view/title/text" in refused(title={"type": "plain_text", "text": "t" * 25})[0]
    assert "/view/type" in refused(type="home")[0]
    assert "/view/submit" in refused(submit=None)[0]
    without_submit = {k: v for k, v in view.items() if k != "submit"}
    with pytest.raises(SlackApiError) as raised:
        marvin.views_open(trigger_id=fake.new_trigger_id(), view=without_submit)
    assert "/view/submit" in raised.value.response["response_metadata"]["messages"][0]

    old = fake.new_trigger_id()
    fake._trigger_ids[old] -= 4  # a click more than 3 seconds ago
    assert error_of(lambda: marvin.views_open(trigger_id=old, view=view)) == "expired_trigger_id"


def post(url: str, body: bytes, content_type: str = "application/json"):
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type}, method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def get(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


# -- signed requests as Slack sends them ------------------------------------------------------


def test_event_callbacks_are_signed_as_slack_signs_them():
    event = slack_requests.app_mention("U0THERESA", "deploy cms 1.0.2", thread_ts="1732620000.000001")
    body, headers = slack_requests.event_callback(SECRET, event, retry_num=1)
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)
    assert not SignatureVerifier("another-secret").is_valid_request(body, headers)
    envelope = json.loads(body)
    assert envelope["event"]["text"] == "<@UMARVIN01> deploy cms 1.0.2"
    assert slack_requests.app_mention("U0THERESA", "<@UBENDER01> status", "UBENDER01")["text"] == "<@UBENDER01> status"
    assert envelope["authorizations"][0]["user_id"] == "UMARVIN01" and envelope["event_id"].startswith("Ev")
    assert (headers["X-Slack-Retry-Num"], headers["X-Slack-Retry-Reason"]) == ("1", "http_timeout")


def test_a_stale_timestamp_does_not_verify():
    body, headers = slack_requests.url_verification(SECRET, "challenge-3eZbrw1aBm")
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)
    stale = slack_requests.sign(body, SECRET, timestamp=int(time.time()) - 6 * 60)
    assert not SignatureVerifier(SECRET).is_valid_request(body, stale)


def test_event_helpers_shape_events_as_slack_does():
    direct = slack_requests.direct_message("U0THERESA", "status")
    assert (direct["type"], direct["channel_type"], direct["user"]) == ("message", "im", "U0THERESA")
    build = slack_requests.bot_message("B0JENKINS1", "<@UMARVIN01> deploy cms 1.0.3", app_id="A0JENKINS1")
    assert (build["subtype"], build["bot_id"], "user" in build) == ("bot_message", "B0JENKINS1", False)
    body, _ = slack_requests.event_callback(SECRET, build, api_app_id="ABENDER01")
    assert json.loads(body)["authorizations"][0]["user_id"] == "UBENDER01"
    body, _ = slack_requests.event_callback(SECRET, build, api_app_id="A0OTHER01", authorized_user="U0OTHERBOT")
    assert json.loads(body)["authorizations"][0]["user_id"] == "U0OTHERBOT"


def test_a_button_click_is_a_signed_form_with_the_payload():
    body, headers = slack_requests.block_actions(
        SECRET, "U0THERESA", "theresa", "C0DEPLOYS", "1732630000.000100", "/affirm", "button-0",
        thread_ts="1732620000.000001", text="Deploy?", blocks=BUTTONS)
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)
    payload = json.loads(parse_qs(body.decode())["payload"][0])
    [action] = payload["actions"]
    assert (payload["type"], payload["user"]["id"], payload["channel"]["id"]) == ("block_actions", "U0THERESA", "C0DEPLOYS")
    assert (payload["container"]["message_ts"], payload["container"]["thread_ts"]) == ("1732630000.000100", "1732620000.000001")
    assert (action["block_id"], action["text"]["text"], action["value"]) == ("deploybot-buttons:U0THERESA", "Yes", "/affirm")
    assert payload["message"]["blocks"] == BUTTONS


# -- file uploads: files.getUploadURLExternal, the upload URL, files.completeUploadExternal ----


def post_bytes(url: str, data: bytes) -> tuple[int, str]:
    request = urllib.request.Request(url, data=data, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 3


def test_a_file_is_uploaded_in_three_steps_and_shared_into_a_dm_with_a_comment(fake):
    bender = client(fake, BENDER)
    ticket = bender.files_getUploadURLExternal(filename="qr.png", length=len(PNG), alt_txt="a QR code")
    assert ticket["file_id"].startswith("F") and ticket["upload_url"].startswith(fake.url + "/upload/v1/")
    assert post_bytes(ticket["upload_url"], PNG) == (200, f"OK - {len(PNG)}")
    done = bender.files_completeUploadExternal(files=[{"id": ticket["file_id"], "title": "Your QR code"}],
                                               channel_id="D0THERESA", initial_comment="Scan it")
    assert [(f["id"], f["title"], f["channels"]) for f in done["files"]] == [(ticket["file_id"], "Your QR code", ["D0THERESA"])]
    [shared] = fake.files("U0THERESA")  # a user id stands for the DM with them
    assert (shared["content"], shared["name"], shared["channel"], shared["initial_comment"], shared["user"]) == \
        (PNG, "qr.png", "D0THERESA", "Scan it", "UBENDER01")
    assert fake.files("C0DEPLOYS") == []
    with urllib.request.urlopen(f"{fake.url}/_fake/files?channel=D0THERESA", timeout=10) as answer:
        [over_http] = json.loads(answer.read())
    assert base64.b64decode(over_http["content"]) == PNG


def test_get_upload_url_wants_a_filename_and_a_length(fake):
    bender = client(fake, BENDER)
    assert error_of(lambda: bender.api_call("files.getUploadURLExternal", params={"length": 10})) == "invalid_arguments"
    assert error_of(lambda: bender.api_call("files.getUploadURLExternal", params={"filename": "a.png"})) == "invalid_arguments"
    assert error_of(lambda: bender.files_getUploadURLExternal(filename="a.png", length="ten")) == "invalid_arguments"
    assert error_of(lambda: bender.files_getUploadURLExternal(filename="a.png", length=0)) == "missing_argument"
    assert error_of(lambda: bender.files_getUploadURLExternal(filename="a.png", length=1, alt_txt="x" * 1001)) == "alt_txt_too_large"
    assert error_of(lambda: client(fake, "xoxb-nobody").files_getUploadURLExternal(filename="a.png", length=1)) == "invalid_auth"


def test_the_upload_url_takes_exactly_the_announced_bytes_once(fake):
    bender = client(fake, BENDER)
    ticket = bender.files_getUploadURLExternal(filename="qr.png", length=len(PNG))
    status, text = post_bytes(ticket["upload_url"], PNG[:-1])
    assert status == 400 and "length" in text
    assert error_of(lambda: bender.files_completeUploadExternal(files=[{"id": ticket["file_id"]}])) == "file_not_found"
    assert post_bytes(ticket["upload_url"], PNG)[0] == 200
    assert post_bytes(ticket["upload_url"], PNG)[0] == 400  # used twice
    assert post_bytes(fake.url + "/upload/v1/made-up", PNG)[0] == 404
    assert bender.files_completeUploadExternal(files=[{"id": ticket["file_id"]}])["files"][0]["channels"] == []
    assert error_of(lambda: bender.files_completeUploadExternal(files=[{"id": ticket["file_id"]}])) == "file_not_found"  # once


def uploaded(fake, token=BENDER) -> str:
    ticket = client(fake, token).files_getUploadURLExternal(filename="qr.png", length=len(PNG))
    assert post_bytes(ticket["upload_url"], PNG)[0] == 200
    return ticket["file_id"]


def test_complete_upload_checks_the_files_and_the_channel(fake):
    bender = client(fake, BENDER)
    for files in ("not json", "[]", '[{"title": "no id"}]', '{"id": "F1"}'):
        assert error_of(lambda: bender.api_call("files.completeUploadExternal", params={"files": files})) == "invalid_arguments"
    assert error_of(lambda: bender.api_call("files.completeUploadExternal", params={})) == "invalid_arguments"
    assert error_of(lambda: bender.files_completeUploadExternal(files=[{"id": "F0MADEUP01"}])) == "file_not_found"
    marvins = uploaded(fake, MARVIN)  # another app's upload is not this one's to complete
    assert error_of(lambda: bender.files_completeUploadExternal(files=[{"id": marvins}])) == "file_not_found"

    file_id = uploaded(fake)
    fake.add_channel("C0PRIVATE1", private=True, members=["U0THERESA"])
    fake.add_channel("C0PUBLIC01", members=["U0THERESA"])
    fake.add_channel("C0ARCHIVED", archived=True)
    for channel, error in (("C0NOWHERE1", "invalid_channel"), ("C0PRIVATE1", "invalid_channel"),
                           ("U0THERESA", "invalid_channel"), ("#deploys", "invalid_channel"),
                           ("C0PUBLIC01", "not_in_channel"), ("C0ARCHIVED", "is_archived")):
        assert error_of(lambda: bender.files_completeUploadExternal(files=[{"id": file_id}], channel_id=channel)) == error
    assert error_of(lambda: bender.files_completeUploadExternal(files=[{"id": file_id}], channel_id="C0DEPLOYS",
                                                                initial_comment="x" * 40_001)) == "msg_too_long"
    assert fake.files() == []
    bender.files_completeUploadExternal(files=[{"id": file_id}], channel_id="C0DEPLOYS")
    assert [f["channel"] for f in fake.files()] == ["C0DEPLOYS"]


def test_uploads_fail_and_are_rate_limited_on_demand(fake):
    bender = client(fake, BENDER)
    fake.fail_next("files.getUploadURLExternal", "file_uploads_disabled")
    assert error_of(lambda: bender.files_getUploadURLExternal(filename="a.png", length=1)) == "file_uploads_disabled"
    file_id = uploaded(fake)
    fake.rate_limit_next("files.completeUploadExternal", retry_after=7)
    with pytest.raises(SlackApiError) as raised:
        bender.files_completeUploadExternal(files=[{"id": file_id}], channel_id="C0DEPLOYS")
    assert raised.value.response.status_code == 429 and raised.value.response.headers["Retry-After"] == "7"
    assert bender.files_completeUploadExternal(files=[{"id": file_id}], channel_id="C0DEPLOYS")["ok"]


# -- user groups ----------------------------------------------------------------------------------


def test_user_groups_are_listed_and_their_members_given(fake):
    fake.add_usergroup("S0ONCALL01", "sre-oncall", ["U0THERESA", "U0WALTER"], name="SRE on call")
    fake.add_usergroup("S0RETIRED1", "old-team", ["U0JBRUEDER"], disabled=True)
    bender = client(fake, BENDER)
    [listed] = bender.usergroups_list()["usergroups"]
    assert (listed["id"], listed["handle"], listed["name"], listed["is_usergroup"]) == ("S0ONCALL01", "sre-oncall", "SRE on call", True)
    assert "users" not in listed and "user_count" not in listed
    [with_users] = bender.usergroups_list(include_users=True, include_count=True)["usergroups"]
    assert (with_users["users"], with_users["user_count"]) == (["U0THERESA", "U0WALTER"], 2)
    assert [g["id"] for g in bender.usergroups_list(include_disabled=True)["usergroups"]] == ["S0ONCALL01", "S0RETIRED1"]
    assert bender.usergroups_users_list(usergroup="S0ONCALL01")["users"] == ["U0THERESA", "U0WALTER"]
    assert bender.usergroups_users_list(usergroup="S0RETIRED1", include_disabled=True)["users"] == ["U0JBRUEDER"]


def test_user_group_errors(fake):
    fake.add_usergroup("S0RETIRED1", "old-team", ["U0JBRUEDER"], disabled=True)
    bender = client(fake, BENDER)
    assert error_of(lambda: bender.usergroups_users_list(usergroup="S0NOSUCH01")) == "no_such_subteam"
    assert error_of(lambda: bender.usergroups_users_list(usergroup="S0RETIRED1")) == "no_such_subteam"
    assert error_of(lambda: bender.api_call("usergroups.users.list", http_verb="GET", params={})) == "invalid_arguments"
    fake.fail_next("usergroups.list", "missing_scope")
    assert error_of(lambda: bender.usergroups_list()) == "missing_scope"
    fake.rate_limit_next("usergroups.users.list", retry_after=20)
    with pytest.raises(SlackApiError) as raised:
        bender.usergroups_users_list(usergroup="S0RETIRED1", include_disabled=True)
    assert raised.value.response.status_code == 429
    request = urllib.request.Request(f"{fake.url}/_fake/usergroups", method="POST", headers={"Content-Type": "application/json"},
                                     data=json.dumps({"id": "S0OVERHTTP", "handle": "http", "users": ["U0WALTER"]}).encode())
    urllib.request.urlopen(request, timeout=10).close()
    assert bender.usergroups_users_list(usergroup="S0OVERHTTP")["users"] == ["U0WALTER"]
