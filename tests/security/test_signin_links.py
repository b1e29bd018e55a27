"""Attack (issue 22, item 7): the dashboard's one-time sign-in link used a second time after
the dashboard restarted. The supervisor of `make run`/`make serve` restarts a dashboard that
died with the same DEPLOYBOT_WEB_SIGNIN_TOKEN, so the spent token must be remembered outside
the process: deploybot's database (deploybot.ledger.auth.SpentTokens)."""
import hashlib

import requests
from sqlalchemy import select

from deploybot.storage.database import Database, migrate
from deploybot.storage.models import SpentSignInToken
from tests.support import start_ledger_web

TOKEN = "one-time-link-token-of-this-test"
SETTINGS = {"DEPLOYBOT_WEB_SIGNIN_TOKEN": TOKEN, "DEPLOYBOT_WEB_SECRET": "test-cookie-secret"}


def sign_in(base: str) -> requests.Response:
    return requests.get(f"{base}/signin?token={TOKEN}", timeout=30, allow_redirects=False)


def stop(process) -> None:
    process.kill()  # as a crash: nothing gets a chance to be written on the way out
    process.wait(timeout=20)


def test_a_spent_sign_in_link_stays_spent_when_the_dashboard_restarts(tmp_path):
    url = f"sqlite:///{tmp_path / 'deploybot.db'}"
    migrate(url)
    process, base = start_ledger_web(url, tmp_path / "web-1.log", SETTINGS)
    try:
        first = sign_in(base)
        assert first.status_code == 302 and first.cookies.get("deploybot_ledger_session")
    finally:
        stop(process)

    # The supervisor starts it again with the same token, as deploybot.cli.stack does.
    log = tmp_path / "web-2.log"
    process, base = start_ledger_web(url, log, SETTINGS)
    try:
        again = sign_in(base)
        assert again.status_code == 401
        assert not again.cookies.get("deploybot_ledger_session")          # no session was opened
        assert requests.get(f"{base}/", cookies=again.cookies, timeout=30).status_code == 401
    finally:
        stop(process)
    assert "refused a sign-in" in log.read_text()                     # the refusal is on record
    # Only the token's hash is kept: the table opens nothing to whoever reads it.
    with Database(url).transaction() as session:
        stored = list(session.scalars(select(SpentSignInToken.digest)))
    assert stored == [hashlib.sha256(TOKEN.encode()).hexdigest()]
