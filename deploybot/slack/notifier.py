"""Bender's management channel on Slack: every production success, posted with slack-sdk."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError

from deploybot.slack.users import SlackDirectory

log = logging.getLogger(__name__)


@dataclass
class SlackNotifier:
    directory: SlackDirectory  # its client posts; its names replace user ids

    def post(self, channel: str, text: str) -> None:
        try:
            self.directory.client.chat_postMessage(channel=channel, text=self.directory.humanize(text))
        except SlackApiError as error:
            log.warning("could not post to %s on Slack: %s", channel, error.response.get("error"))
