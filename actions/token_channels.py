"""The acts a token channel may not do unless the profile allows them (issue 22).

On a token channel (REST, the terminal chat's callback channel, Rasa's HTTP API) whoever
holds the bot's API token names the sender: the token proves a tool, a test or the local
terminal chat, never a person. Token senders are local names, never Slack's people
(channels/authenticated.py, deploybot/rasa_glue/api_guard.py); and the acts that make someone count
for others are refused there unless the profile lists them in token_channels_may:
approve (and reject), enrol (two-factor), reset_two_factor, grant (and revoke),
break_glass, admin (an admin's rights over others' locks and deployments), and dashboard (a
personal sign-in link to the ledger's dashboard, which would sign in whoever the token names). `make run` lists them all, for its terminal chat, whose token is its own.

A turn comes through a token channel unless it is a Slack person's on Slack: a conversation
of a local name is a token's whatever channel its events name.
"""
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.context import from_slack, permissions, profile, requester
from deploybot.policy.identity import is_slack_id

WHAT = {
    "approve": "approve or reject deployments",
    "enrol": "set up two-factor",
    "reset_two_factor": "reset two-factor",
    "grant": "grant or revoke permissions",
    "break_glass": "deploy in an emergency",
    "admin": "act as an admin",
    "dashboard": "send a personal sign-in link to the dashboard",
}


def over_token_channel(tracker: Tracker) -> bool:
    return not (from_slack(tracker) and is_slack_id(tracker.sender_id))


def counts_as_admin(tracker: Tracker, user: str) -> bool:
    """Whether the sender is an admin in this turn (lifting others' locks, cancelling others'
    deployments): over a token channel only when the profile allows `admin`, since a local
    name in the admin list ("jbrueder") is whoever holds the token."""
    return permissions().is_admin(user) and (not over_token_channel(tracker) or profile().token_channel_may("admin"))


def refused_over_token_channel(act: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """True, after saying so and auditing it, when this act may not be done here. Blocking
    (the audit writes): call it in a worker thread from async code."""
    if not over_token_channel(tracker) or profile().token_channel_may(act):
        return False
    channel = tracker.get_latest_input_channel() or "HTTP API"
    dispatcher.utter_message(text=f"I can't {WHAT[act]} over the {channel} channel: whoever holds its token names the "
                                  f"sender, so it proves no person. Do it on Slack. Nothing was done.")
    permissions().audit(requester(tracker)[:64], "token_channel", "refused",
                        detail=f"{act} over the {channel} channel, which {profile().name}'s profile does not allow "
                               f"(token_channels_may)")
    return True
