"""Where the dashboard listens and how its sign-in link reads: shared by the dashboard and
deploybot.stack, which should not import a web framework and matplotlib to know a port."""
from __future__ import annotations

import os
from typing import Mapping

HOST = "127.0.0.1"
DEFAULT_PORT = 5090
PORT_ENV = "DEPLOYBOT_WEB_PORT"
SIGNIN_TOKEN_ENV = "DEPLOYBOT_WEB_SIGNIN_TOKEN"
SECRET_ENV = "DEPLOYBOT_WEB_SECRET"


def web_port(environ: Mapping[str, str] = os.environ) -> int:
    return int(environ.get(PORT_ENV) or DEFAULT_PORT)


def signin_link(port: int, token: str) -> str:
    return f"http://{HOST}:{port}/signin?token={token}"
