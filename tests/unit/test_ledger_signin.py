"""Personal sign-in links and sign-out (issue 25, item 6): a link is one person's, works once
and for a short time, and a session signed out stays out even when its cookie is copied."""
import pytest

from deploybot.ledger.auth import (
    LINK_SECONDS, Gate, OneTimeTokens, PersonalLinks, SessionSigner, SpentTokens, TrustedProxy,
)

SECRET = b"shared by the bots and the dashboard"


@pytest.fixture
def gate(db_on_both):
    spent = SpentTokens(db_on_both)
    return Gate(SessionSigner(SECRET), OneTimeTokens(["start-token"], spent), TrustedProxy(),
                links=PersonalLinks(SECRET), spent=spent)


def test_a_link_names_its_person_and_expires():
    links = PersonalLinks(SECRET)
    token = links.issue("theresa", now=1000)
    assert links.user(token, now=1001) == "theresa"
    assert links.user(token, now=1000 + LINK_SECONDS + 1) is None
    assert PersonalLinks(b"another dashboard").user(token, now=1001) is None


def test_a_link_cannot_be_made_out_to_someone_else_or_forged():
    links = PersonalLinks(SECRET)
    token = links.issue("theresa", now=1000)
    assert links.user(token.replace("theresa", "jbrueder", 1), now=1001) is None
    user, expiry, nonce, signed = token.split(".")
    assert links.user(f"{user}.{int(expiry) + 10**6}.{nonce}.{signed}", now=1001) is None
    assert links.user("theresa.99999999999.x", now=1001) is None
    with pytest.raises(ValueError):
        links.issue("bob; rm -rf /")


def test_a_session_cookie_is_no_link_and_a_link_no_cookie():
    cookie = SessionSigner(SECRET).make("theresa")
    token = PersonalLinks(SECRET).issue("theresa")
    assert PersonalLinks(SECRET).user(cookie.replace("|", ".")) is None
    assert SessionSigner(SECRET).user(token.replace(".", "|")) is None


def test_a_personal_link_signs_in_its_person_once(gate):
    token = gate.links.issue("theresa")
    assert gate.sign_in(token) == "theresa"
    assert gate.sign_in(token) is None


def test_the_start_link_signs_in_the_local_user_once(gate):
    assert gate.sign_in("start-token") == "local"
    assert gate.sign_in("start-token") is None


def test_signing_out_ends_the_session_for_every_copy_of_its_cookie(gate):
    cookie = gate.signer.make("theresa")
    other_browser = gate.signer.make("theresa")
    assert gate.who("127.0.0.1", {}, cookie) == "theresa"
    assert gate.sign_out(cookie)
    assert gate.who("127.0.0.1", {}, cookie) is None
    assert gate.who("127.0.0.1", {}, other_browser) == "theresa"  # only that session ends
    assert not gate.sign_out("forged|1|x|y")
