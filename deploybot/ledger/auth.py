"""Who may look at the dashboard.

- Locally: `make run` prints a sign-in link with a one-time token. Opening it sets a
  session cookie (HttpOnly, SameSite=Lax, signed with DEPLOYBOT_WEB_SECRET) and the token
  is spent, in the database (SpentTokens): the supervisor restarts a dashboard that died
  with the same token, and a restarted dashboard must not take it again. Lax, not Strict: a link to a deployment posted in Slack must open signed in,
  and nothing here changes anything on a GET (or on anything else).
- In production: a single sign-on proxy (oauth2-proxy, for example) in front of the
  dashboard names the user in a header (DEPLOYBOT_WEB_USER_HEADER, default
  X-Forwarded-User). The header counts only on connections from the proxy's own address
  (DEPLOYBOT_WEB_TRUSTED_PROXIES): anyone else could send it too.

Without either, every page answers 401.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
import threading
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterable, Mapping, Optional, Set, Tuple

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from deploybot.policy.identity import is_plain_id
from deploybot.storage.database import Database
from deploybot.storage.models import SpentSignInToken

log = logging.getLogger(__name__)

COOKIE = "deploybot_ledger_session"
SESSION_SECONDS = 12 * 3600
DEFAULT_USER_HEADER = "X-Forwarded-User"


class SpentTokens:
    """The sign-in tokens used so far, by their SHA-256, in deploybot's database. Marking is
    one INSERT on the primary key, so of two dashboards (or a dashboard and its restarted
    self) racing for one token only one wins."""

    def __init__(self, database: Database):
        self.database = database

    def mark(self, token: str) -> bool:
        """True when this call spent the token; False when it was spent before, or when the
        database cannot say (a sign-in refused is better than a link that works twice)."""
        digest = hashlib.sha256(token.encode()).hexdigest()
        try:
            with self.database.transaction() as session:
                session.add(SpentSignInToken(digest=digest, spent_at=datetime.now(timezone.utc)))
            return True
        except IntegrityError:
            return False
        except SQLAlchemyError as error:
            log.error("refused a sign-in: the database cannot say whether its token was spent (%s)",
                      error.__class__.__name__)
            return False


class OneTimeTokens:
    """Sign-in tokens that work once each: the dashboard knows its unspent ones from its
    start, and with a SpentTokens store a spent one stays spent across restarts."""

    def __init__(self, tokens: Iterable[str] = (), spent: Optional[SpentTokens] = None):
        self._unspent: Set[str] = {t for t in tokens if t}
        self._spent = spent
        self._lock = threading.Lock()

    def issue(self) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._unspent.add(token)
        return token

    def spend(self, given: str) -> bool:
        with self._lock:
            match = next((t for t in self._unspent if hmac.compare_digest(t.encode(), given.encode())), None)
            if match is None:
                return False
            self._unspent.discard(match)
            return self._spent is None or self._spent.mark(match)


@dataclass
class SessionSigner:
    """A session is "user|expiry|signature": nothing to store, and any replica with the same
    secret can check it."""
    secret: bytes
    lifetime: int = SESSION_SECONDS

    def make(self, user: str, now: Optional[float] = None) -> str:
        expiry = int((now or time.time()) + self.lifetime)
        payload = f"{user}|{expiry}"
        return f"{payload}|{self._sign(payload)}"

    def user(self, cookie: Optional[str], now: Optional[float] = None) -> Optional[str]:
        """The signed-in user, or None for a missing, forged or expired cookie."""
        if not cookie or cookie.count("|") != 2:
            return None
        user, expiry, signature = cookie.split("|")
        if not hmac.compare_digest(signature, self._sign(f"{user}|{expiry}")):
            return None
        if not expiry.isdigit() or int(expiry) < (now or time.time()):
            return None
        return user

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self.secret, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@dataclass
class TrustedProxy:
    """The SSO proxy: which addresses it connects from, and which header names the user."""
    networks: Tuple[ipaddress._BaseNetwork, ...] = ()
    header: str = DEFAULT_USER_HEADER

    def user(self, peer: Optional[str], headers: Mapping[str, str]) -> Optional[str]:
        if not self.networks or not peer:
            return None
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return None
        if not any(address in network for network in self.networks):
            return None
        user = (headers.get(self.header) or "").strip()
        return user if is_plain_id(user) else None


def trusted_proxy(addresses: str, header: Optional[str]) -> TrustedProxy:
    """From DEPLOYBOT_WEB_TRUSTED_PROXIES ("10.0.0.5, 10.1.0.0/24") and the header name."""
    networks = tuple(ipaddress.ip_network(a.strip(), strict=False) for a in addresses.split(",") if a.strip())
    return TrustedProxy(networks, header or DEFAULT_USER_HEADER)


@dataclass
class Gate:
    """Decides who a request comes from, if anyone."""
    signer: SessionSigner
    tokens: OneTimeTokens
    proxy: TrustedProxy = field(default_factory=TrustedProxy)

    def who(self, peer: Optional[str], headers: Mapping[str, str], cookie: Optional[str]) -> Optional[str]:
        return self.proxy.user(peer, headers) or self.signer.user(cookie)
