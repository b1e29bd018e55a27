"""Bender's management channel on Slack: every production success, posted with slack-sdk."""
from __future__ import annotations

from dataclasses import dataclass

from deploybot.adapters.slack import web_api
from deploybot.adapters.slack.users import SlackDirectory


@dataclass
class SlackNotifier:
    directory: SlackDirectory  # its client posts; its names replace user ids
    name: str = "slack"

    def post(self, channel: str, text: str) -> bool:
        # web_api waits out rate limits and logs what it could not deliver; it never raises.
        # A post not delivered is retried by the watcher next round (deploybot.domain.outbox).
        return web_api.post_message_sync(self.directory.client, channel, self.directory.humanize(text)).delivered
