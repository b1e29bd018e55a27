"""Where the dashboard listens and how its sign-in link reads: shared by the dashboard and
deploybot.cli.stack, which should not import a web framework and matplotlib to know a port."""
from __future__ import annotations

import os
from typing import Mapping

HOST = "127.0.0.1"
DEFAULT_PORT = 5090
PORT_ENV = "DEPLOYBOT_WEB_PORT"
SIGNIN_TOKEN_ENV = "DEPLOYBOT_WEB_SIGNIN_TOKEN"
SECRET_ENV = "DEPLOYBOT_WEB_SECRET"
# Where people reach the dashboard (behind the SSO proxy in production): the links that the
# bots put into chat answers and the weekly digest start with it.
PUBLIC_URL_ENV = "DEPLOYBOT_WEB_URL"


def web_port(environ: Mapping[str, str] = os.environ) -> int:
    return int(environ.get(PORT_ENV) or DEFAULT_PORT)


def signin_link(port: int, token: str) -> str:
    return f"http://{HOST}:{port}/signin?token={token}"


def public_url(environ: Mapping[str, str] = os.environ) -> str:
    """The dashboard's address for links: DEPLOYBOT_WEB_URL, else the local one."""
    configured = (environ.get(PUBLIC_URL_ENV) or "").strip().rstrip("/")
    return configured or f"http://{HOST}:{web_port(environ)}"
