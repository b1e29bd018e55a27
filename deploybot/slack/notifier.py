"""Bender's management channel on Slack: every production success, posted with slack-sdk."""
from __future__ import annotations

from dataclasses import dataclass

from deploybot.slack import web_api
from deploybot.slack.users import SlackDirectory


@dataclass
class SlackNotifier:
    directory: SlackDirectory  # its client posts; its names replace user ids

    def post(self, channel: str, text: str) -> None:
        # web_api waits out rate limits and logs what it could not deliver; it never raises.
        web_api.post_message_sync(self.directory.client, channel, self.directory.humanize(text))
