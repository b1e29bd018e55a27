"""How a failed Jenkins call reads: a JenkinsError of a kind, with a sentence for chat users
(deploybot.adapters.jenkins.client raises them)."""
from __future__ import annotations

import re
from typing import Optional

import requests

# python-jenkins reports 401/403/500 only inside its message: "... failed [403]: Forbidden".
STATUS_IN_MESSAGE = re.compile(r"\[(\d{3})\]")
# Kinds that say nothing about the thing asked for: Jenkins could not answer just now.
TRANSIENT_KINDS = ("unreachable", "timeout", "unavailable")


class JenkinsError(Exception):
    """A failed Jenkins call. kind is one of config, unreachable, timeout, unavailable, auth,
    job_missing, not_parameterized, queue_missing, error; str(error) is a plain sentence for
    chat users."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind

    @property
    def transient(self) -> bool:
        """Jenkins did not answer (down, restarting, slow): whatever was asked about may
        well exist; ask again later."""
        return self.kind in TRANSIENT_KINDS


def failure(doing: str, status: Optional[int]) -> JenkinsError:
    if status is None:
        return JenkinsError("error", f"Jenkins gave an unexpected answer while {doing}.")
    return JenkinsError("error", f"Jenkins failed while {doing} (HTTP {status}).")


def status_in(message: str) -> Optional[int]:
    match = STATUS_IN_MESSAGE.search(message)
    return int(match.group(1)) if match else None


def connection_problem(error: requests.ConnectionError) -> str:
    text = str(error)
    if "refused" in text.lower():
        return "connection refused"
    if "resolve" in text.lower() or "name or service not known" in text.lower():
        return "its host name does not resolve"
    return "the connection failed"
