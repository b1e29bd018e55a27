"""Two-factor enrolment and an admin's reset, in the dialogue (issue 14): "set up two-factor"
gives a new secret only to the user (a Slack DM, or the terminal chat itself), never in the
conversation; "reset two-factor for @theresa" is for admins. The mechanism is deploybot.policy.two_factor.
"""
import asyncio
import logging
import os
from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.code_holds import audit, in_direct_message, two_factor
from actions.context import from_slack, permissions, profile, requester, slack_directory
from actions.guard import DeployBotAction
from actions.permissions import UnknownUser, named_user, shown_as
from actions.token_channels import refused_over_token_channel
from deploybot.policy import safeguard_messages as say
from deploybot.adapters.slack import web_api
from deploybot.adapters.terminal_chat import post_privately
from deploybot.policy.two_factor import Enrolment, TwoFactorUnavailable

log = logging.getLogger(__name__)
Events = List[Dict[Text, Any]]
QR_FILENAME = "deploybot-two-factor.png"
QR_TITLE = "QR code for your authenticator app"



class ActionSetUpTwoFactor(DeployBotAction):
    """"set up two-factor": a new secret, shown only to the user: on Slack in a DM, elsewhere
    by the terminal chat itself; never said in the conversation (tracker, API answers). Over a
    token channel only when the profile allows it (actions/token_channels.py)."""

    def name(self) -> Text:
        return "action_set_up_two_factor"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Events:
        user = requester(tracker)
        if await asyncio.to_thread(refused_over_token_channel, "enrol", dispatcher, tracker):
            return []
        try:
            factor = two_factor()
            enrolment = await asyncio.to_thread(factor.start_enrolment, user, f"{profile().name}:{user}")
        except TwoFactorUnavailable as problem:
            dispatcher.utter_message(text=str(problem))
            return []
        if enrolment is None:
            dispatcher.utter_message(text=say.ALREADY_ENROLLED)
            return []
        if from_slack(tracker):
            if not await asyncio.to_thread(send_enrolment_dm, user, enrolment):
                await asyncio.to_thread(factor.reset, user)  # an enrolment nobody saw must not linger
                dispatcher.utter_message(text=say.ENROL_DM_FAILED)
                await asyncio.to_thread(audit, user, "refused", "enrolment: no direct message")
                return []
            if not in_direct_message(tracker):
                dispatcher.utter_message(text=say.ENROL_SENT_BY_DM)
        else:  # the terminal chat shows it itself: the conversation (tracker, API answers) never holds it
            if not await asyncio.to_thread(show_in_terminal_chat, user, enrolment):
                await asyncio.to_thread(factor.reset, user)
                dispatcher.utter_message(text=say.ENROL_NO_CHAT)
                await asyncio.to_thread(audit, user, "refused", "enrolment: no terminal chat to show it in")
                return []
            dispatcher.utter_message(text=say.ENROL_SHOWN_IN_CHAT)
        await asyncio.to_thread(audit, user, "done", "enrolment started")
        # The unfinished enrolment is its database row, and a deploy that waits for its code is
        # another (deploybot.pipeline.held): each held item has its own place, so both wait.
        return []


def show_in_terminal_chat(user: str, enrolment: Enrolment) -> bool:
    """The QR code as text and the link, posted straight into the terminal chat
    (DEPLOYBOT_CALLBACK_URL, which carries the chat's key), not said in the conversation."""
    url = os.environ.get("DEPLOYBOT_CALLBACK_URL")
    return bool(url) and post_privately(url, user, say.enrol_started(enrolment.uri, enrolment.qr_terminal))


def send_enrolment_dm(user: str, enrolment: Enrolment) -> bool:
    """The otpauth:// link and the QR code image, in the user's DM with this bot and nowhere
    else; when Slack does not take the image, the QR code as text in a code block instead."""
    directory = slack_directory()
    if directory is None:
        return False
    client = directory.client
    opened = web_api.run_sync(client, web_api.single_call("conversations.open", {"users": user}, user))
    if not opened.delivered or not opened.channel.startswith("D"):  # only a DM may hold the secret
        return False
    image = web_api.upload_file_sync(client, opened.channel, QR_FILENAME, enrolment.qr_png, QR_TITLE,
                                     say.enrol_started_with_image(enrolment.uri), alt_txt=QR_TITLE)
    if image.delivered:
        return True
    log.warning("the enrolment QR code image for %s could not be sent (%s); sending the QR code as text instead",
                user, image.error)
    text = say.enrol_started(enrolment.uri, enrolment.qr_terminal)
    qr_start = text.index("\n") + 1
    qr_end = text.index("\notpauth://")
    in_blocks = text[:qr_start] + "```" + text[qr_start:qr_end] + "```" + text[qr_end:]
    return web_api.post_message_sync(client, opened.channel, in_blocks).delivered


class ActionResetTwoFactor(DeployBotAction):
    """"reset two-factor for @theresa": admins only; audited."""

    def name(self) -> Text:
        return "action_reset_two_factor"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Events:
        actor = requester(tracker)
        if await asyncio.to_thread(refused_over_token_channel, "reset_two_factor", dispatcher, tracker):
            return []
        try:
            user = await asyncio.to_thread(named_user, tracker)
        except UnknownUser as unknown:
            dispatcher.utter_message(text=str(unknown))
            return []
        if not permissions().is_admin(actor):
            dispatcher.utter_message(text=say.RESET_ONLY_ADMINS)
            await asyncio.to_thread(permissions().audit, actor, "two_factor_reset", "refused", target_user=(user or "")[:64] or None,
                                    detail="not an admin")
            return []
        if not user:
            dispatcher.utter_message(text=say.RESET_WHO)
            return []
        label = await asyncio.to_thread(shown_as, tracker, user)
        try:
            removed = await asyncio.to_thread(two_factor().reset, user)
        except TwoFactorUnavailable as problem:
            dispatcher.utter_message(text=str(problem))
            return []
        await asyncio.to_thread(permissions().audit, actor, "two_factor_reset", "done" if removed else "unchanged",
                                target_user=user[:64])
        dispatcher.utter_message(text=say.reset_done(label) if removed else say.reset_nothing(label))
        return []
