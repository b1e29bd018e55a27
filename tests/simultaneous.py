"""Requests that reach their servers at the same instant, for the conversation-lock test
and bench (issue 27): each request is written up to its last byte, then every last byte is
sent in one go, so the servers read them within microseconds of each other, closer than any
client's threads could start them."""
from __future__ import annotations

import http.client
import json
import socket
import time
from dataclasses import dataclass
from typing import Callable, List, Optional

from tests.support import Bot


@dataclass
class Sent:
    """One request of a race: what it said, how to find its turn in the tracker, its answer."""
    bot: Bot
    path: str
    body: dict
    is_turn: Callable[[dict], bool]   # the stored user event of this request's turn
    replies: Optional[List[str]] = None
    socket: Optional[socket.socket] = None
    raw: bytes = b""
    released_at: float = 0.0   # time.perf_counter() when its last byte went
    answered_at: float = 0.0   # when its answer had been read (answers are read in turn)

    def prime(self) -> None:
        """Writes the whole request but its last byte: the server waits for that one."""
        body = json.dumps(self.body).encode()
        self.raw = (f"POST {self.path} HTTP/1.1\r\nHost: 127.0.0.1:{self.bot.port}\r\n"
                    f"Authorization: Bearer {self.bot.token}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
        self.socket = socket.create_connection(("127.0.0.1", self.bot.port), timeout=120)
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.socket.sendall(self.raw[:-1])

    def release(self) -> None:
        self.socket.send(self.raw[-1:])
        self.released_at = time.perf_counter()

    def read_answer(self) -> None:
        response = http.client.HTTPResponse(self.socket)
        response.begin()
        answer = json.loads(response.read())
        self.answered_at = time.perf_counter()
        self.socket.close()
        assert response.status == 200, answer
        messages_ = answer["messages"] if isinstance(answer, dict) else answer  # trigger_intent / REST
        self.replies = [m.get("text", "") for m in messages_]


def said(bot: Bot, sender: str, text: str) -> Sent:
    return Sent(bot, "/webhooks/rest/webhook", {"sender": sender, "message": text},
                lambda event: event.get("text") == text)


def race(pairs: List[List[Sent]]) -> None:
    """All requests primed, then every last byte sent in one go (each sender's two within
    microseconds), then the answers read."""
    every = [sent for pair in pairs for sent in pair]
    for sent in every:
        sent.prime()
    for sent in every:
        sent.release()
    for sent in every:
        sent.read_answer()
