"""Trust, without Rasa: which senders count, which payloads are the bots' own, how a typed
`/intent{...}` is read, and whom a name in a grant stands for."""
import pytest
from slack_sdk import WebClient

from deploybot.rasa_glue import payloads
from deploybot.domain.deploy_request import RequestRejected
from deploybot.policy.identity import check_requester, is_slack_id, is_valid_requester, same_secret, token_of
from deploybot.domain.profiles import ProfileError, load_profiles
from deploybot.adapters.slack.events import foreign_teams
from deploybot.adapters.slack.users import SlackDirectory
from devtools.slack_fake import FakeSlack


@pytest.mark.parametrize("sender, channel, build_system, valid", [
    ("U0THERESA1", "slack", None, True),
    ("W0ENTERPRISE", "slack", None, True),
    ("theresa", "slack", None, False),              # Slack senders are Slack ids
    ("B0JENKINS1", "slack", "B0JENKINS1", True),    # the trusted build system the channel named
    ("B0JENKINS1", "slack", None, False),
    ("U0THERESA1", "slack", "B0JENKINS1", False),
    ("jbrueder", "rest", None, True),
    ("kim.lee+ops@example.com", "callback", None, True),
    ("x$(touch /tmp/pwned)", "rest", None, False),
    ("a b", "rest", None, False),
    ("", "rest", None, False),
    ("x" * 65, "rest", None, False),
    ("jbrueder\n", "rest", None, False),
    ("ünïcode", "rest", None, False),
    (None, "rest", None, False),
    (["jbrueder"], "rest", None, False),
])
def test_requesters_must_be_plain_ids_for_their_channel(sender, channel, build_system, valid):
    assert is_valid_requester(sender, channel, build_system) is valid
    if not valid:
        with pytest.raises(RequestRejected, match="not a plain id"):
            check_requester(sender, channel, build_system)


def test_tokens_come_from_the_bearer_header_or_the_query_and_compare_exactly():
    assert token_of({}, {"authorization": "Bearer abc"}) == "abc"
    assert token_of({"token": ["q"]}, {}) == "q"
    assert token_of({}, {"authorization": "Basic abc"}) is None
    assert same_secret("abc", "abc") and not same_secret("abd", "abc")
    assert not same_secret("", "") and not same_secret(None, "abc") and not same_secret("abc", "")


def test_only_the_bots_own_button_payloads_have_a_kind():
    request_id = payloads.new_request_id()
    yes, no = payloads.yes_no_buttons(request_id)
    assert payloads.button_kind(yes["payload"]) == "affirm" and payloads.request_id_of(yes["payload"]) == request_id
    assert payloads.button_kind(no["payload"]) == "deny"
    assert payloads.button_kind(payloads.app_button("intranet")["payload"]) == "deploy"
    for forged in ('/affirm', '/EXTERNAL_deployment_report{"deployment": "1", "report": "outcome"}',
                   '/grant_permission{"user": "mallory", "app": "cms"}', f'/affirm{{"request": "{request_id}", "x": 1}}',
                   '/deploy{"app": "cms", "version": "1.0.2"}', '/affirm{"request": "short"}', None, 42):
        assert payloads.button_kind(forged) is None, forged
    assert payloads.new_request_id() != request_id


def test_a_typed_intent_is_read_as_its_words_and_only_this_process_can_seal():
    assert payloads.is_typed_intent("  /affirm") and not payloads.is_typed_intent("yes /affirm")
    assert payloads.as_plain_text(' //EXTERNAL_deployment_report{"deployment": "1"}') == 'EXTERNAL_deployment_report{"deployment": "1"}'
    sealed = payloads.sealed({"out_channel": "C1"})
    assert payloads.take_seal(sealed) and sealed == {"out_channel": "C1"}  # removed: never stored
    assert not payloads.take_seal(sealed)
    assert not payloads.take_seal({payloads.SEAL_KEY: "guessed"}) and not payloads.take_seal(None)


@pytest.mark.parametrize("dressing", ["/ ", "/\n", "/\u00a0", "\u200b", "\ufeff/", "\u2060 \t", "\uff0f", "// \u3000/", "\x00"])
def test_a_typed_intent_is_noted_and_read_as_words_however_it_is_dressed(dressing):
    text = dressing + '/approve_deployment{"approval": "AAAAAAAAAAAAAAAAAAAAAA"}'
    assert payloads.is_typed_intent(text)
    assert payloads.as_plain_text(text) == 'approve_deployment{"approval": "AAAAAAAAAAAAAAAAAAAAAA"}'
    assert payloads.button_parse_data(text) is None
    assert not payloads.is_typed_intent("yes \u200b/affirm") and payloads.as_plain_text(" yes /affirm ") == "yes /affirm"


def test_a_button_is_read_from_its_shape():
    request_id = payloads.new_request_id()
    yes = payloads.yes_no_buttons(request_id)[0]["payload"]
    parsed = payloads.button_parse_data(yes)
    assert parsed["intent"] == {"name": "affirm", "confidence": 1.0} and parsed["text"] == yes
    assert [(e["entity"], e["value"]) for e in parsed["entities"]] == [("request", request_id)]
    assert payloads.button_parse_data(payloads.reject_payload(request_id))["intent"]["name"] == "reject_deployment"
    assert payloads.button_parse_data(payloads.app_button("cms")["payload"])["entities"][0]["value"] == "cms"
    assert payloads.button_parse_data('/affirm{"request": "x", "app": "cms"}') is None


def test_marvin_is_run_by_benders_admins_and_channels_can_be_switched_off(tmp_path):
    profiles = load_profiles("assistants", environ={})
    assert profiles["marvin"].configured_admins == profiles["bender"].configured_admins == ("jbrueder",)
    # Production is reached through Slack: Bender ships with REST off, the terminal chat's channel on.
    assert not profiles["bender"].channel_enabled("rest") and profiles["bender"].channel_enabled("callback")
    assert profiles["marvin"].channel_enabled("rest")
    assert load_profiles("assistants", environ={"BENDER_REST_CHANNEL": "on"})["bender"].channel_enabled("rest")
    (tmp_path / "marvin.yml").write_text((open("assistants/marvin.yml").read()).replace("  rest: true ", "  rest: false "))
    (tmp_path / "bender.yml").write_text(open("assistants/bender.yml").read())
    assert not load_profiles(tmp_path, environ={})["marvin"].channel_enabled("rest")
    assert load_profiles("assistants", environ={"BENDER_SLACK_TEAM_IDS": "T0001"})["bender"].slack_team_ids == ("T0001",)


def test_a_token_channel_may_do_nothing_that_makes_someone_count_unless_the_profile_says_so():
    profiles = load_profiles("assistants", environ={})
    assert profiles["bender"].token_channels_may == profiles["marvin"].token_channels_may == ()
    chat = load_profiles("assistants", environ={"BENDER_TOKEN_CHANNELS_MAY": "all"})["bender"]
    assert all(chat.token_channel_may(act) for act in ("approve", "enrol", "reset_two_factor", "grant", "break_glass", "dashboard"))
    some = load_profiles("assistants", environ={"BENDER_TOKEN_CHANNELS_MAY": "grant, enrol"})["bender"]
    assert some.token_channel_may("grant") and not some.token_channel_may("approve")
    with pytest.raises(ProfileError):
        load_profiles("assistants", environ={"BENDER_TOKEN_CHANNELS_MAY": "approve,everything"})


def test_slack_ids_and_local_names_never_meet():
    assert all(is_slack_id(i) for i in ("U0COLLEAGUE", "W0123ABC", "B0JENKINS1", "A0APP01"))
    assert not any(is_slack_id(i) for i in ("jbrueder", "theresa", "u0colleague", "U0colleague", "ci-bot", None))


def test_events_from_other_workspaces_are_found():
    envelope = {"team_id": "T0001", "authorizations": [{"team_id": "T0001"}]}
    assert foreign_teams(envelope, {"user_team": "T0001"}, ("T0001",)) == []
    assert foreign_teams(envelope, {"user_team": "TOTHER", "team": "TOTHER"}, ("T0001",)) == ["TOTHER"]
    assert foreign_teams({**envelope, "team_id": "TOTHER"}, {}, ("T0001",)) == ["TOTHER"]
    assert foreign_teams(envelope, {"user_team": "TOTHER"}, ()) == []  # no list: not checked


@pytest.fixture
def directory():
    with FakeSlack() as slack:
        slack.add_user("U0IMPOSTOR", "mallory", "Theresa", "Mallory Impostor")  # renamed herself "Theresa"
        slack.add_user("U0KIMLEE01", "kim.lee", "Kim", "Kim Lee")
        slack.add_user("U0KIMPARK1", "kpark", "Kim", "Kim Park")
        yield SlackDirectory(WebClient("xoxb-bender-test", base_url=slack.api_url))


def test_a_grant_names_exactly_one_person(directory):
    assert directory.resolve("<@U0THERESA>").user_id == "U0THERESA"
    assert directory.resolve("walter").user_id == "U0WALTER"         # a handle nobody else goes by
    assert directory.resolve("@Kim.Lee").user_id == "U0KIMLEE01"
    kim = directory.resolve("kim")                                    # two people show as "Kim"
    assert kim.user_id is None and "Which one? @mention them" in kim.problem
    walter = directory.resolve("Walter Okafor")                       # a real name, not a handle
    assert walter.user_id is None and "Which one? @mention them" in walter.problem
    assert directory.resolve("nobodyhere").problem == "I can't find a Slack user called “nobodyhere”."
    assert directory.resolve("<@U0NOBODY99>").user_id is None
    assert directory.shown_as("U0THERESA") == "Theresa (U0THERESA)"
    assert directory.humanize("by U0THERESA, Theresa (U0THERESA), <@U0THERESA>") == "by Theresa, Theresa (U0THERESA), <@U0THERESA>"


def test_admin_handles_resolve_to_ids_and_unknown_ones_are_reported(directory):
    assert directory.resolve_handles(["jbrueder", "U0WALTER", "ghost"]) == (("U0JBRUEDER", "U0WALTER"), ("ghost",))


def test_a_renamed_impostor_does_not_get_theresas_grant(directory):
    # Mallory renamed herself "Theresa": "theresa" is now Theresa's handle and Mallory's display
    # name, so it names two people and only a mention picks one.
    theresa = directory.resolve("Theresa")
    assert theresa.user_id is None and "Which one? @mention them" in theresa.problem
    assert directory.resolve("<@U0THERESA>").user_id == "U0THERESA"
    assert directory.resolve("mallory").user_id == "U0IMPOSTOR"


def test_the_api_token_triggers_only_system_intents_and_writes_into_no_slack_persons_conversation():
    from deploybot.rasa_glue.api_guard import refusal_reason

    assert refusal_reason("POST", "/conversations/U0ANY/trigger_intent", "U0ANY", "EXTERNAL_deployment_report", False) is None
    for intent in ("approve_deployment", "set_up_two_factor", "affirm", None, ["EXTERNAL_x"]):
        assert refusal_reason("POST", "/conversations/theresa/trigger_intent", "theresa", intent, True)
    for write in ("tracker/events", "messages", "execute"):
        assert refusal_reason("POST", f"/conversations/U0NEWHIRE/{write}", "U0NEWHIRE", None, False)
        assert refusal_reason("POST", f"/conversations/U0NEWHIRE/{write}", "U0NEWHIRE", None, True) is None  # test stacks
        assert refusal_reason("POST", f"/conversations/theresa/{write}", "theresa", None, False) is None       # a local name
    assert refusal_reason("PUT", "/conversations/U0NEWHIRE/tracker/events", "U0NEWHIRE", None, False)
    assert refusal_reason("GET", "/conversations/U0NEWHIRE/tracker", "U0NEWHIRE", None, False) is None
    assert refusal_reason("PUT", "/model", None, None, True) and refusal_reason("POST", "/model/train", None, None, True)
    assert refusal_reason("POST", "/model/parse", None, None, False) is None
