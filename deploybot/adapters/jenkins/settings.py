"""Where Jenkins is and how deploybot signs in: JENKINS_URL, JENKINS_USER, JENKINS_API_TOKEN
and JENKINS_TIMEOUT."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Mapping
from urllib.parse import urlsplit, urlunsplit

from deploybot.adapters.jenkins.errors import JenkinsError

DEFAULT_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class JenkinsSettings:
    url: str
    user: str
    api_token: str = field(repr=False)  # kept out of repr() so logging settings cannot leak it
    timeout: float = DEFAULT_TIMEOUT_SECONDS

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> "JenkinsSettings":
        url = environ.get("JENKINS_URL", "").strip()
        if not url:
            raise JenkinsError("config", "JENKINS_URL is not set, so deploybot does not know where Jenkins is.")
        if urlsplit(url).scheme not in ("http", "https"):
            raise JenkinsError("config", "JENKINS_URL must start with http:// or https://.")
        return cls(
            url=url.rstrip("/"),
            user=environ.get("JENKINS_USER", ""),
            api_token=environ.get("JENKINS_API_TOKEN", ""),
            timeout=_timeout_from(environ.get("JENKINS_TIMEOUT", "")),
        )


def _timeout_from(text: str) -> float:
    if not text.strip():
        return DEFAULT_TIMEOUT_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < float("inf"):
        raise JenkinsError("config", f"JENKINS_TIMEOUT must be a number of seconds, not {text!r}.")
    return seconds


def public_url(url: str) -> str:
    """The URL without any user:password@ part, fit for messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
