"""A conversation lock for several Rasa replicas that holds: Rasa's lock store on Redis, with
each step one atomic Redis script. endpoints.yml names it (`lock_store: type:
deploybot.rasa_glue.rasa_lock_store.AtomicRedisLockStore`); deploybot.cli.stack does so whenever
DEPLOYBOT_REDIS_URL is set.

Why not Rasa's RedisLockStore: it reads the conversation's ticket list (GET), adds its
ticket in Python and writes the list back (SET). Two replicas that receive one sender's
messages at the same moment both read the empty list and both write [ticket 0], so both
hold the lock at once: Rasa's open issue RasaHQ/rasa#9213. Measured on deploybot (issue 27),
70 of 100 such pairs ran concurrently and lost user messages or replies from the stored
conversation, or answered a second "yes" against a question already answered.

Here, per conversation, a counter hands out ticket numbers (INCR) and a sorted set holds the
live tickets, scored by when each lease ends; the lowest live number holds the lock. Taking
a ticket, asking whether it holds the lock, renewing its lease and giving it back are each
one Lua script, so no replica ever acts on a state another has changed meanwhile; lease ends
come from Redis' own clock (TIME), so replicas need not agree on theirs.

Rasa's contract is kept: first come, first served; a waiting turn waits, it is not dropped
(a ticket that lapsed while its replica stalled takes a new one). A lease lasts
`lock_lifetime` seconds (DEPLOYBOT_LOCK_LIFETIME_SECONDS, default 20) and is renewed while
its replica lives: the holder every quarter lifetime, a waiter at each look. So a long turn
keeps its lock, and a replica that dies holding one blocks the conversation for at most one
lifetime. Its limit: a replica whose event loop stalls for longer than a lifetime loses the
lock without knowing it, and its turn may then overlap the next one (this is logged when it
gives the lock back).
"""
from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import deque
from contextlib import asynccontextmanager
from typing import AsyncGenerator, Optional, Text

from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import DEFAULT_SOCKET_TIMEOUT_IN_SECONDS, LockError, LockStore
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)

LIFETIME_ENV = "DEPLOYBOT_LOCK_LIFETIME_SECONDS"
DEFAULT_LIFETIME_SECONDS = 20.0
# How often a waiting turn asks whether it is its turn: a turn takes tens of milliseconds,
# so Rasa's one second would make every waiting turn that much slower.
DEFAULT_POLL_SECONDS = 0.02
# The ticket counter outlives every lease by far: numbers are never handed out twice while a
# ticket could still be given back (a counter that restarted could give a stale replica's
# number to a new turn, whose ticket it would then remove).
COUNTER_SECONDS = 24 * 3600

# Shared by the scripts: now in ms from Redis' clock; leases that ended are dropped.
_PRELUDE = """
if redis.replicate_commands then redis.replicate_commands() end -- Redis < 5: TIME, then writes
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local function ahead_of(ticket)
  local n = 0
  for _, member in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
    if tonumber(member) < ticket then n = n + 1 end
  end
  return n
end
local function keep_keys()
  local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
  if last[2] then redis.call('PEXPIREAT', KEYS[2], tonumber(last[2]) + 1000) end
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
"""

# KEYS: counter, tickets. ARGV: lease ms, counter ms. Returns {ticket, tickets ahead of it}.
_ENTER = _PRELUDE + """
local ticket = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[1]), ticket)
keep_keys()
return {ticket, ahead_of(ticket)}
"""

# KEYS: counter, tickets. ARGV: lease ms, counter ms, ticket. Renews the ticket's lease;
# returns how many tickets are ahead of it (0: it holds the lock), or -1 if it lapsed.
_RENEW = _PRELUDE + """
if not redis.call('ZSCORE', KEYS[2], ARGV[3]) then return -1 end
redis.call('ZADD', KEYS[2], 'XX', now + tonumber(ARGV[1]), ARGV[3])
keep_keys()
return ahead_of(tonumber(ARGV[3]))
"""

# KEYS: counter, tickets. ARGV: ticket. Gives the ticket back (only its owner knows its
# number); returns 1 if it was still live, 0 if it had lapsed.
_LEAVE = """
local removed = redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('ZCARD', KEYS[2]) == 0 then redis.call('DEL', KEYS[2]) end
return removed
"""


def lifetime_from(environ=os.environ) -> float:
    return float(environ.get(LIFETIME_ENV) or DEFAULT_LIFETIME_SECONDS)


class AtomicRedisLockStore(LockStore):
    """Rasa's LockStore on Redis with atomic tickets and leases (see the module's doc)."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, *, host: Text = "localhost",
                 port: int = 6379, db: int = 1, username: Optional[Text] = None, password: Optional[Text] = None,
                 use_ssl: bool = False, ssl_certfile: Optional[Text] = None, ssl_keyfile: Optional[Text] = None,
                 ssl_ca_certs: Optional[Text] = None, key_prefix: Optional[Text] = None,
                 socket_timeout: float = DEFAULT_SOCKET_TIMEOUT_IN_SECONDS, lock_lifetime: Optional[float] = None,
                 poll_seconds: float = DEFAULT_POLL_SECONDS) -> None:
        """Rasa constructs it from endpoints.yml (endpoint_config: `url` is the host, the
        other keys those of Rasa's RedisLockStore, plus `lock_lifetime`); tests call it
        with keywords."""
        import redis

        if endpoint_config is not None:
            options = dict(endpoint_config.kwargs)
            host = endpoint_config.url or options.pop("host", host)
            port, db = options.pop("port", port) or port, options.pop("db", db)
            username, password = options.pop("username", username), options.pop("password", password)
            use_ssl, key_prefix = options.pop("use_ssl", use_ssl), options.pop("key_prefix", key_prefix)
            ssl_certfile, ssl_keyfile = options.pop("ssl_certfile", ssl_certfile), options.pop("ssl_keyfile", ssl_keyfile)
            ssl_ca_certs = options.pop("ssl_ca_certs", ssl_ca_certs)
            socket_timeout = float(options.pop("socket_timeout", socket_timeout))
            lock_lifetime = options.pop("lock_lifetime", lock_lifetime)
            if options:
                logger.warning("lock store: ignoring unknown endpoint keys %s", sorted(options))
        self.red = redis.StrictRedis(host=host, port=int(port), db=int(db), username=username, password=password,
                                     ssl=bool(use_ssl), ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile,
                                     ssl_ca_certs=ssl_ca_certs, socket_timeout=socket_timeout)
        # Its own key names (not Rasa's "<prefix>:lock:<id>" strings), so that a stock
        # replica left running during an upgrade gets no WRONGTYPE errors from ours.
        self.key_prefix = f"{key_prefix}:turns:" if key_prefix and str(key_prefix).isalnum() else "turns:"
        self.lifetime = float(lock_lifetime) if lock_lifetime else lifetime_from()
        self.poll_seconds = poll_seconds
        self._enter = self.red.register_script(_ENTER)
        self._renew = self.red.register_script(_RENEW)
        self._leave = self.red.register_script(_LEAVE)
        super().__init__()

    # -- the keys of one conversation (one hash tag: a Redis Cluster keeps them together) --

    def _keys(self, conversation_id: Text) -> list:
        base = f"{self.key_prefix}{{{conversation_id}}}"
        return [f"{base}:counter", f"{base}:tickets"]

    def _lease_args(self, lifetime: float) -> list:
        return [int(lifetime * 1000), COUNTER_SECONDS * 1000]

    # -- Rasa's interface, each step atomic --

    def issue_ticket(self, conversation_id: Text, lock_lifetime: Optional[float] = None) -> int:
        """A new ticket, in the order asked for (Rasa's contract)."""
        ticket, _ = self._take(conversation_id, lock_lifetime or self.lifetime)
        return ticket

    def _take(self, conversation_id: Text, lifetime: float) -> tuple:
        try:
            ticket, ahead = self._enter(keys=self._keys(conversation_id), args=self._lease_args(lifetime))
        except Exception as error:  # noqa: BLE001 - Rasa's callers expect LockError, as from its stores
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error
        return int(ticket), int(ahead)

    def _ahead(self, conversation_id: Text, ticket: int, lifetime: float) -> int:
        """Renews the ticket's lease; the tickets ahead of it, -1 if it lapsed."""
        try:
            return int(self._renew(keys=self._keys(conversation_id), args=[*self._lease_args(lifetime), ticket]))
        except Exception as error:  # noqa: BLE001
            raise LockError(f"Error while renewing lock. Error:\n{error}") from error

    @asynccontextmanager
    async def lock(self, conversation_id: Text, lock_lifetime: Optional[float] = None,
                   wait_time_in_seconds: Optional[float] = None) -> AsyncGenerator[TicketLock, None]:
        """Holds the conversation's lock while inside. Rasa's callers pass no lifetime, so
        the store's applies; the holder's lease is renewed in the background."""
        lifetime = lock_lifetime or self.lifetime
        poll = wait_time_in_seconds if wait_time_in_seconds is not None else self.poll_seconds
        ticket, ahead = self._take(conversation_id, lifetime)
        try:
            while ahead:
                await asyncio.sleep(poll)
                ahead = self._ahead(conversation_id, ticket, lifetime)
                if ahead < 0:  # this replica stalled past its lease: in again, not dropped
                    logger.warning("lock for conversation '%s': ticket %s lapsed while waiting; taking a new one",
                                   conversation_id, ticket)
                    ticket, ahead = self._take(conversation_id, lifetime)
            renewal = asyncio.ensure_future(self._keep(conversation_id, ticket, lifetime))
            try:
                yield TicketLock(conversation_id, deque([Ticket(ticket, time.time() + lifetime)]))
            finally:
                renewal.cancel()
        finally:
            self.cleanup(conversation_id, ticket)

    async def _keep(self, conversation_id: Text, ticket: int, lifetime: float) -> None:
        """Renews the holder's lease every quarter lifetime while the turn runs."""
        while True:
            await asyncio.sleep(lifetime / 4)
            try:
                if self._ahead(conversation_id, ticket, lifetime) != 0:
                    logger.warning("lock for conversation '%s': ticket %s lost its lease during the turn",
                                   conversation_id, ticket)
                    return
            except LockError as error:  # Redis away for a moment: try again at the next quarter
                logger.warning("lock for conversation '%s': could not renew: %s", conversation_id, error)

    async def _acquire_lock(self, conversation_id: Text, ticket: int, wait_time_in_seconds: float) -> TicketLock:
        """Rasa's step, for callers that use it: waits for the ticket's turn, LockError if it lapsed."""
        while True:
            ahead = self._ahead(conversation_id, ticket, self.lifetime)
            if ahead == 0:
                return TicketLock(conversation_id, deque([Ticket(ticket, time.time() + self.lifetime)]))
            if ahead < 0:
                raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}'.")
            await asyncio.sleep(wait_time_in_seconds)

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        """Gives the ticket back; the next ticket's turn comes at its next look."""
        try:
            still_live = self._leave(keys=self._keys(conversation_id), args=[ticket_number])
        except Exception as error:  # noqa: BLE001 - its lease ends by itself
            logger.warning("lock for conversation '%s': could not give ticket %s back (it lapses by itself): %s",
                           conversation_id, ticket_number, error)
            return
        if not still_live:
            logger.warning("lock for conversation '%s': ticket %s had lapsed before the turn ended; another turn "
                           "may have run at the same time", conversation_id, ticket_number)

    finish_serving = cleanup

    def update_lock(self, conversation_id: Text) -> None:
        """Nothing to do: every script drops the leases that ended."""

    # -- a read-only view in Rasa's terms --

    def get_lock(self, conversation_id: Text) -> Optional[TicketLock]:
        """The conversation's live tickets, lowest (the holder) first; None when there are none."""
        _, tickets_key = self._keys(conversation_id)
        now = time.time()
        tickets = sorted((int(member), score / 1000) for member, score in self.red.zrange(tickets_key, 0, -1, withscores=True)
                         if score / 1000 > now)
        if not tickets:
            return None
        return TicketLock(conversation_id, deque(Ticket(number, expires) for number, expires in tickets))

    def delete_lock(self, conversation_id: Text) -> None:
        """Drops every ticket of the conversation (by hand only: turns do not call it)."""
        self._log_deletion(conversation_id, bool(self.red.delete(*self._keys(conversation_id))))

    def save_lock(self, lock: TicketLock) -> None:
        raise NotImplementedError("AtomicRedisLockStore changes locks only through its atomic scripts")
