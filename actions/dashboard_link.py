""""dashboard link" (issue 25): a one-time sign-in link to the ledger's dashboard, bound to the
person who asked, sent only to them: on Slack in a direct message, in the terminal chat printed
to them; never said in the conversation (tracker, API answers), where it could be read or
replayed. Over a token channel only when the profile allows `dashboard` (the token names the
sender, so the link would sign in whoever it names)."""
import asyncio
import logging
import os
from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import from_slack, permissions, requester, slack_directory
from actions.guard import DeployBotAction
from actions.token_channels import refused_over_token_channel
from deploybot.adapters.slack import web_api
from deploybot.adapters.terminal_chat import post_privately
from deploybot.ledger.address import SECRET_ENV, public_url
from deploybot.ledger.auth import LINK_SECONDS, PersonalLinks

log = logging.getLogger(__name__)

NOT_SET_UP = ("Personal sign-in links to the dashboard are not set up here: the bots need the dashboard's "
              f"secret ({SECRET_ENV}). Ask whoever runs deploybot.")
SENT_BY_DM = f"I sent you a sign-in link to the dashboard in a direct message. It works once, within {LINK_SECONDS // 60} minutes."
SHOWN_IN_CHAT = f"Your sign-in link to the dashboard is above, shown only here. It works once, within {LINK_SECONDS // 60} minutes."
NOT_DELIVERED = "I could not send you the sign-in link privately, so I sent none. Try again in a moment."


def the_link(token: str) -> str:
    return (f"Your sign-in link to the deploybot dashboard (it works once, within {LINK_SECONDS // 60} minutes, "
            f"and signs in only you):\n{public_url()}/signin?token={token}")


def send_by_dm(user: str, text: str) -> bool:
    """Into the user's DM with this bot and nowhere else."""
    directory = slack_directory()
    if directory is None:
        return False
    opened = web_api.run_sync(directory.client, web_api.single_call("conversations.open", {"users": user}, user))
    if not opened.delivered or not opened.channel.startswith("D"):
        return False
    return web_api.post_message_sync(directory.client, opened.channel, text).delivered


def show_in_terminal_chat(user: str, text: str) -> bool:
    url = os.environ.get("DEPLOYBOT_CALLBACK_URL")
    return bool(url) and post_privately(url, user, text)


class ActionDashboardLink(DeployBotAction):
    def name(self) -> Text:
        return "action_dashboard_link"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        user = requester(tracker)
        if await asyncio.to_thread(refused_over_token_channel, "dashboard", dispatcher, tracker):
            return []
        secret = os.environ.get(SECRET_ENV)
        if not secret:
            dispatcher.utter_message(text=NOT_SET_UP)
            return []
        text = the_link(PersonalLinks(secret.encode()).issue(user))
        slack = from_slack(tracker)
        delivered = await asyncio.to_thread(send_by_dm if slack else show_in_terminal_chat, user, text)
        if not delivered:
            dispatcher.utter_message(text=NOT_DELIVERED)
            await asyncio.to_thread(permissions().audit, user, "dashboard_link", "refused", detail="not delivered privately")
            return []
        dispatcher.utter_message(text=SENT_BY_DM if slack else SHOWN_IN_CHAT)
        await asyncio.to_thread(permissions().audit, user, "dashboard_link", "done",
                                detail="a one-time sign-in link, by direct message" if slack else "a one-time sign-in link, in the terminal chat")
        return []
