"""The dialogues over real HTTP: the REST channel of both Rasa servers, their action
servers and tracker stores, as `make serve` runs them."""
import time

from deploybot.rasa_glue.conversation_sessions import MAX_EVENTS_AT_REST
from deploybot.domain.profiles import load_profile
from tests.support import grant, http

CONFIRM_CMS = "Deploy Content Management System 1.0.2 to staging? (yes/no)"


STARTED_CMS = "OK, deploying Content Management System 1.0.2 to staging: Jenkins has queued it."


def test_a_complete_request_is_restated_with_yes_no_buttons(marvin, user):
    replies = marvin.say(user, "Marvin, put cms 1.0.2 on staging")
    assert [r["text"] for r in replies] == [CONFIRM_CMS]
    # The buttons carry the id of this question, and only this one (deploybot.rasa_glue.payloads).
    request_id = marvin.tracker(user)["slots"]["pending_deploy"]["request_id"]
    assert replies[0]["buttons"] == [{"title": "Yes", "payload": '/affirm{"request": "%s"}' % request_id},
                                     {"title": "No", "payload": '/deny{"request": "%s"}' % request_id}]


def test_yes_starts_the_deployment_and_a_second_yes_finds_nothing_pending(marvin, user):
    marvin.say(user, "deploy cms 1.0.2")
    [reply] = marvin.texts(user, "yes")
    assert reply.startswith(STARTED_CMS)
    marvin.wait_for(user, "Content Management System: deployed version 1.0.2 to staging")
    assert marvin.texts(user, "yes") == ["Nothing is waiting for your confirmation. To deploy, say for example “deploy cms 1.0.2”."]


def test_the_environment_defaults_to_the_bots_own(bender, user):
    grant(bender, user, "shop")
    assert bender.texts(user, "@bender deploy the web shop 2.0.1") == ["Deploy Web Shop 2.0.1 to production? (yes/no)"]


def test_a_missing_app_is_asked_for_with_buttons_then_the_version(marvin, user):
    replies = marvin.say(user, "deploy 1.0.4")
    assert replies[-1]["text"] == "Which app? I know cms, shop, crm, billing, search, intranet."
    assert [b["title"] for b in replies[-1]["buttons"]] == ["cms", "shop", "crm", "billing", "search", "intranet"]
    # Clicking a button sends its payload.
    assert marvin.texts(user, replies[-1]["buttons"][0]["payload"]) == ["Deploy Content Management System 1.0.4 to staging? (yes/no)"]


def test_a_missing_version_is_asked_for_by_the_apps_name(marvin, user):
    assert marvin.texts(user, "deploy the content management system") == ["Which version of Content Management System?"]
    assert marvin.texts(user, "v1.0.2") == [CONFIRM_CMS]


def test_no_cancels(marvin, user):
    marvin.say(user, "deploy cms 1.0.2")
    assert marvin.texts(user, "no") == ["Cancelled, nothing was deployed."]
    assert marvin.texts(user, "yes")[0].startswith("Nothing is waiting")


def test_no_while_the_form_asks_cancels_too(marvin, user):
    marvin.say(user, "deploy cms")
    assert marvin.texts(user, "never mind") == ["Cancelled, nothing was deployed."]
    assert marvin.tracker(user)["active_loop"] in ({}, None) or not marvin.tracker(user)["active_loop"].get("name")


def test_marvin_asked_for_production_names_bender(marvin, user):
    assert marvin.texts(user, "marvin deploy cms 1.0.2 to prod") == ["I only deploy to staging. Ask Bender for production."]
    assert marvin.texts(user, "yes")[0].startswith("Nothing is waiting")


def test_bender_asked_for_staging_names_marvin(bender, user):
    assert bender.texts(user, "bender, put shop 2.2.0 on stage") == ["I only deploy to production. Ask Marvin for staging."]


def test_an_unknown_app_gets_the_list_of_known_apps(marvin, user):
    texts = marvin.texts(user, "deploy payroll 1.0.0")
    assert texts[0].startswith("I don't know an app called “payroll”. I know: cms (Content Management System), shop (Web Shop)")
    assert texts[-1] == "Which app? I know cms, shop, crm, billing, search, intranet."


def test_a_malformed_version_is_explained(marvin, user):
    assert marvin.texts(user, "deploy crm") == ["Which version of Customer Relationship Management?"]
    texts = marvin.texts(user, "latest")
    assert texts[0] == "“latest” isn't a version I can deploy. A version looks like 1.0.2, 2.3 or 3.2.1-rc1."
    assert texts[-1] == "Which version of Customer Relationship Management?"


def test_a_stale_confirmation_is_asked_again(marvin, user):
    marvin.say(user, "deploy cms 1.0.2")
    # Age the pending request past the profile's 10 minutes, through Rasa's own API.
    pending = marvin.tracker(user)["slots"]["pending_deploy"]
    pending["asked_at"] -= 11 * 60
    marvin.add_events(user, [{"event": "slot", "name": "pending_deploy", "value": pending, "timestamp": time.time()}])
    texts = marvin.texts(user, "yes")
    assert texts == ["That request waited more than 10 min, 0 sec for your answer, so I'm asking again.", CONFIRM_CMS]
    assert marvin.texts(user, "yes")[0].startswith("OK, deploying Content Management System 1.0.2 to staging")
    marvin.wait_for(user, "Content Management System: deployed version 1.0.2 to staging")


def test_a_new_request_replaces_the_pending_one_and_says_so(marvin, user):
    marvin.say(user, "deploy cms 1.0.2")
    texts = marvin.texts(user, "deploy shop 3.0.0")
    assert texts == [
        "That replaces your pending request (Deploy Content Management System 1.0.2 to staging), which will not be deployed.",
        "Deploy Web Shop 3.0.0 to staging? (yes/no)",
    ]
    assert marvin.texts(user, "yes")[0].startswith("OK, deploying Web Shop 3.0.0 to staging")
    marvin.wait_for(user, "Web Shop: deployed version 3.0.0 to staging")


def test_yes_confirms_exactly_what_was_restated(marvin, user):
    marvin.say(user, "deploy cms 1.0.2")
    marvin.say(user, "what's the status of billing 9.9.9?")  # fills the app and version slots
    assert marvin.texts(user, "yes")[0].startswith("OK, deploying Content Management System 1.0.2 to staging")
    marvin.wait_for(user, "Content Management System: deployed version 1.0.2 to staging")


def test_the_bots_never_share_a_conversation(marvin, bender, user):
    marvin.say(user, "deploy cms 1.0.2")
    assert bender.texts(user, "yes")[0].startswith("Nothing is waiting")
    assert marvin.tracker(user)["slots"]["pending_deploy"]["app"] == "cms"
    assert bender.tracker(user)["slots"]["pending_deploy"] is None


def test_personality_shows_in_small_talk_only(marvin, bender, user):
    marvin_profile, bender_profile = load_profile("assistants/marvin.yml"), load_profile("assistants/bender.yml")
    assert marvin.texts(user, "hi marvin")[0] in marvin_profile.lines("greet")
    assert bender.texts(user, "hey bender")[0] in bender_profile.lines("greet")
    assert bender.texts(user, "thanks!")[0] in bender_profile.lines("thank")
    assert marvin.texts(user, "bye")[0] in marvin_profile.lines("goodbye")


def test_help_and_out_of_scope_say_what_the_bot_can_do(marvin, bender, user):
    help_text = marvin.texts(user, "what can you do?")[0]
    assert "deploy cms 1.0.2 to staging" in help_text and "lock staging" in help_text
    assert "auth jbrueder cms" in bender.texts(user, "help")[0]  # admins' commands only where grants exist
    out_of_scope = marvin.texts(user, "what's the weather like in Vienna?")[0]
    assert "This is what I can do:" in out_of_scope


def test_the_app_list_comes_from_the_catalog(bender, user):
    assert bender.texts(user, "which apps can you deploy?") == [
        "I deploy these apps to production:\n• cms: Content Management System\n• shop: Web Shop\n"
        "• crm: Customer Relationship Management\n• billing: Billing Service\n• search: Search API\n• intranet: Intranet Portal"
    ]


def test_the_bots_own_name_is_no_entity_and_does_not_change_the_intent(marvin):
    plain = marvin.parse("deploy cms 1.0.2 to staging")
    for text in ("Marvin, deploy cms 1.0.2 to staging", "@marvin deploy cms 1.0.2 to staging", "deploy cms 1.0.2 to staging, marvin"):
        addressed = marvin.parse(text)
        assert addressed["intent"]["name"] == plain["intent"]["name"] == "deploy"
        assert [(e["entity"], e["value"]) for e in addressed["entities"]] == [(e["entity"], e["value"]) for e in plain["entities"]]


def test_model_parse_returns_normalized_entities(marvin):
    entities = marvin.parse("auth <@U024BE7LH> for the content management system on prd")["entities"]
    assert [(e["entity"], e["value"]) for e in entities] == [("user", "U024BE7LH"), ("app", "cms"), ("environment", "production")]
    entities = marvin.parse("ship v7.2.0-beta.3 of biling")["entities"]
    assert [(e["entity"], e["value"]) for e in entities] == [("version", "7.2.0-beta.3"), ("app", "billing")]


def test_the_http_api_needs_the_token(marvin):
    assert http("POST", f"{marvin.url}/model/parse", {"text": "hi"})[0] == 401
    assert http("POST", f"{marvin.url}/model/parse?token=wrong", {"text": "hi"})[0] == 401
    assert http("POST", f"{marvin.url}/model/parse?token={marvin.token}", {"text": "hi"})[0] == 200


def sessions_of(bot, user) -> list:
    """The conversation's sessions (the tracker API returns all of them) as event lists; each
    starts with Rasa's action_session_start."""
    sessions = []
    for event in bot.tracker(user)["events"]:
        if event["event"] == "action" and event["name"] == "action_session_start":
            sessions.append([])
        sessions[-1].append(event)
    return sessions


def test_a_long_conversation_gets_new_sessions_when_at_rest_but_keeps_a_pending_request(marvin, user):
    # Someone who deploys all day in one session: each request and its "no" is ~50 events.
    for n in range(8):
        assert marvin.texts(user, f"deploy cms 1.0.{n}")[0].startswith("Deploy Content Management System")
        assert marvin.texts(user, "no") == ["Cancelled, nothing was deployed."]
    sessions = sessions_of(marvin, user)
    assert len(sessions) >= 3, [len(s) for s in sessions]
    assert max(len(s) for s in sessions) < 2 * MAX_EVENTS_AT_REST, [len(s) for s in sessions]
    # A pending request is never cut off, however long the session grows meanwhile.
    assert marvin.texts(user, "deploy cms 1.0.2") == [CONFIRM_CMS]
    before = len(sessions_of(marvin, user))
    while len(sessions_of(marvin, user)[-1]) < MAX_EVENTS_AT_REST + 10:
        marvin.texts(user, "which apps do you know?")
    assert len(sessions_of(marvin, user)) == before
    [reply] = marvin.texts(user, "yes")
    assert reply.startswith(STARTED_CMS)
    marvin.wait_for(user, "Content Management System: deployed version 1.0.2 to staging")
