"""Who may look at the dashboard.

- Per person: "bender, dashboard link" sends the asker a personal sign-in link in a direct
  message (PersonalLinks: signed with DEPLOYBOT_WEB_SECRET, which the bots and the dashboard
  share, bound to that person, valid 15 minutes, spent on first use like the token below).
- Locally: `make run` prints a sign-in link with a one-time token. Opening it sets a
  session cookie (HttpOnly, SameSite=Lax, signed with DEPLOYBOT_WEB_SECRET) and the token
  is spent, in the database (SpentTokens): the supervisor restarts a dashboard that died
  with the same token, and a restarted dashboard must not take it again. Lax, not Strict: a link to a deployment posted in Slack must open signed in,
  and nothing here changes anything on a GET (or on anything else).
- In production: a single sign-on proxy (oauth2-proxy, for example) in front of the
  dashboard names the user in a header (DEPLOYBOT_WEB_USER_HEADER, default
  X-Forwarded-User). The header counts only on connections from the proxy's own address
  (DEPLOYBOT_WEB_TRUSTED_PROXIES): anyone else could send it too.

Without either, every page answers 401. Signing out (POST /signout) ends a cookie session
for good: the session is spent in SpentTokens, so a copy of the cookie no longer counts.
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

    def was_spent(self, token: str) -> bool:
        """True when the token (a signed-out session) was spent; also when the database cannot say."""
        digest = hashlib.sha256(token.encode()).hexdigest()
        try:
            with self.database.transaction() as session:
                return session.get(SpentSignInToken, digest) is not None
        except SQLAlchemyError as error:
            log.error("refused a session: the database cannot say whether it was signed out (%s)", error.__class__.__name__)
            return True


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


def signature(secret: bytes, purpose: str, payload: str) -> str:
    """HMAC-SHA256 of the payload under a key of its own per purpose: a session cookie can
    never pass for a sign-in link, nor the other way round."""
    key = hmac.new(secret, purpose.encode(), hashlib.sha256).digest()
    digest = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@dataclass
class SessionSigner:
    """A session is "user|expiry|session id|signature": any replica with the same secret can
    check it; only signing out is stored (SpentTokens)."""
    secret: bytes
    lifetime: int = SESSION_SECONDS

    def make(self, user: str, now: Optional[float] = None) -> str:
        expiry = int((now or time.time()) + self.lifetime)
        payload = f"{user}|{expiry}|{secrets.token_urlsafe(12)}"
        return f"{payload}|{signature(self.secret, 'session', payload)}"

    def user(self, cookie: Optional[str], now: Optional[float] = None) -> Optional[str]:
        """The signed-in user, or None for a missing, forged or expired cookie."""
        if not cookie or cookie.count("|") != 3:
            return None
        user, expiry, session_id, signed = cookie.split("|")
        if not hmac.compare_digest(signed, signature(self.secret, "session", f"{user}|{expiry}|{session_id}")):
            return None
        if not expiry.isdigit() or int(expiry) < (now or time.time()):
            return None
        return user


LINK_SECONDS = 15 * 60


@dataclass
class PersonalLinks:
    """Sign-in links bound to one person: "<user>.<expiry>.<nonce>.<signature>", issued by a
    bot's action server for the person who asked, checked by any dashboard with the same
    secret, and spent on first use (SpentTokens), so a link forwarded after use opens nothing."""
    secret: bytes
    lifetime: int = LINK_SECONDS

    def issue(self, user: str, now: Optional[float] = None) -> str:
        if not is_plain_id(user):
            raise ValueError("a sign-in link is only for a plain user id")
        payload = f"{user}.{int((now or time.time()) + self.lifetime)}.{secrets.token_urlsafe(12)}"
        return f"{payload}.{signature(self.secret, 'signin-link', payload)}"

    def user(self, token: str, now: Optional[float] = None) -> Optional[str]:
        """Whose link this is, or None for a forged, expired or malformed one (not yet spent)."""
        parts = token.rsplit(".", 3)
        if len(parts) != 4:
            return None
        user, expiry, nonce, signed = parts
        if not hmac.compare_digest(signed.encode(), signature(self.secret, "signin-link", f"{user}.{expiry}.{nonce}").encode()):
            return None
        if not expiry.isdigit() or int(expiry) < (now or time.time()) or not is_plain_id(user):
            return None
        return user


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
    links: Optional[PersonalLinks] = None
    spent: Optional[SpentTokens] = None   # signed-out sessions and spent personal links
    local_user: str = "local"             # whom the start's one-time link signs in (DEPLOYBOT_WEB_SIGNIN_USER)

    def who(self, peer: Optional[str], headers: Mapping[str, str], cookie: Optional[str]) -> Optional[str]:
        by_proxy = self.proxy.user(peer, headers)
        if by_proxy:
            return by_proxy
        user = self.signer.user(cookie)
        if user is None or (self.spent is not None and self.spent.was_spent(SIGNED_OUT + cookie)):
            return None
        return user

    def sign_in(self, token: str) -> Optional[str]:
        """Who a sign-in link signs in (spending it), or None: a personal link's person, or
        for the start's one-time token `local_user`."""
        if self.links is not None and token.count(".") == 3:
            user = self.links.user(token)
            return user if user and self.spent is not None and self.spent.mark(token) else None
        return self.local_user if self.tokens.spend(token) else None

    def sign_out(self, cookie: Optional[str]) -> bool:
        """Ends the cookie's session for good (a copy of it no longer counts)."""
        return bool(cookie) and self.signer.user(cookie) is not None and self.spent is not None \
            and self.spent.mark(SIGNED_OUT + cookie)


SIGNED_OUT = "signed-out:"  # what a signed-out session is spent as
