"""A bot's Slack app: its token and signing secret, from the environment only.

deploybot.cli.stack gives each bot's processes SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET from
<BOT>_SLACK_BOT_TOKEN and <BOT>_SLACK_SIGNING_SECRET. SLACK_API_URL points at another Web
API (GovSlack, the tests' fake); it defaults to Slack's public API.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Mapping, Optional

PUBLIC_API_URL = "https://slack.com/api/"


@dataclass(frozen=True)
class SlackSettings:
    bot_token: str = field(repr=False)
    signing_secret: str = field(repr=False)
    api_url: str = PUBLIC_API_URL

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> Optional["SlackSettings"]:
        """None when this bot has no Slack app configured."""
        token, secret = environ.get("SLACK_BOT_TOKEN", ""), environ.get("SLACK_SIGNING_SECRET", "")
        if not token or not secret:
            return None
        api_url = environ.get("SLACK_API_URL") or PUBLIC_API_URL
        return cls(token, secret, api_url if api_url.endswith("/") else api_url + "/")
