"""`make run` (deploybot.cli.stack --chat) as the README's safeguards demo runs it, with the
profiles as they ship, without the test harness's opt-ins (issue 22): token channels allow
nothing that makes someone count, except that --chat allows it all to its own terminal chat.
Enrolment, grants, codes and an approval through the chat's user switching; the QR code
and link are printed by the chat itself, as is a personal dashboard link."""
import http.cookiejar
import os
import queue
import subprocess
import sys
import threading
import time
import urllib.request

import pyotp

from tests.safeguards import URI
from tests.security.evidence import holds
from tests.support import HARNESS_OPT_INS, MODEL, PORT_VARIABLES, ROOT, free_port


class Run:
    """`python -m deploybot.cli.stack --chat --user jbrueder`, typed into and read line by line."""

    def __init__(self, env):
        self.process = subprocess.Popen([sys.executable, "-m", "deploybot.cli.stack", "--chat", "--user", "jbrueder",
                                         "--model", str(MODEL)], cwd=ROOT, env=env, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.lines, self.seen = queue.Queue(), []
        threading.Thread(target=lambda: [self.lines.put(line.rstrip("\n")) for line in self.process.stdout], daemon=True).start()

    def type(self, line):
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def expect(self, start, timeout=60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            self.seen.append(line)
            if line.startswith(start):
                return line
        raise AssertionError(f"did not see {start!r}; saw {self.seen[-30:]!r}")

    def enrol(self) -> pyotp.TOTP:
        self.type("bender, set up two-factor")
        self.expect("Bender: Add me to your authenticator app")
        uri = URI.search(self.expect("        otpauth://")).group(0)  # under the QR code, indented as the bot's lines
        self.expect("Bender: I showed you the QR code and the link in your terminal chat, and nowhere else")
        app = pyotp.parse_uri(uri)
        self.type(app.now())
        self.expect("Bender: Two-factor is set up")
        return app


def signed_in_page(link: str) -> str:
    """Opens a sign-in link as a browser would (the cookie of the redirect kept) and returns the page."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with opener.open(link, timeout=30) as answer:
        return answer.read().decode()


def test_the_readme_safeguards_demo_runs_in_the_terminal_chat(tmp_path):
    env = {key: value for key, value in os.environ.items()
           if key not in HARNESS_OPT_INS and not key.endswith(("_API_TOKEN", "_TOKEN_CHANNELS_MAY", "_REST_CHANNEL"))}
    env.update({name: str(free_port()) for name in PORT_VARIABLES})
    env.update({"DEPLOYBOT_VAR_DIR": str(tmp_path), "BENDER_APPROVALS": "1", "DEPLOYBOT_EMULATOR_BUILD_SECONDS": "1",
                "DEPLOYBOT_POLL_SECONDS": "1", "DEPLOYBOT_DIGEST": "off", "RASA_TELEMETRY_ENABLED": "false"})
    for name in ("JENKINS_URL", "DEPLOYBOT_SECRET_KEY", "DEPLOYBOT_ADMINS", "DEPLOYBOT_CALLBACK_KEY"):
        env.pop(name, None)
    run = Run(env)
    try:
        run.expect("You are jbrueder", timeout=360)
        admin = run.enrol()
        run.type("bender auth theresa cms")
        run.expect("Bender: theresa may now deploy Content Management System to production.")
        run.type("bender auth max cms")
        run.expect("Bender: max may now deploy Content Management System to production.")
        run.type("/user theresa")
        theresa = run.enrol()
        run.type("bender deploy cms 1.0.3")
        run.expect("Bender: Deploy Content Management System 1.0.3 to production? (yes/no)")
        run.type("yes")
        run.expect("Bender: Deploy Content Management System 1.0.3 to production needs your second factor")
        run.type(theresa.at(time.time() + 30))
        run.expect("Bender: Approval needed: Deploy Content Management System 1.0.3 to production, asked by theresa")
        run.type("/user max")
        run.type("bender, approve")
        run.expect("Bender: Approved: Deploy Content Management System 1.0.3 to production.")
        run.expect("Bender: Approved by max. OK, deploying Content Management System 1.0.3 to production")
        run.expect("Bender: Content Management System: deployed version 1.0.3 to production in ")
        # A dashboard link of max's own (issue 25, max is the chat's user now), printed by the chat only: it signs in max.
        run.type("marvin, dashboard link")
        run.expect("Marvin: Your sign-in link to the deploybot dashboard")
        link = run.expect("        http://127.0.0.1:").strip()
        run.expect("Marvin: Your sign-in link to the dashboard is above, shown only here")
        assert "signed in as max" in signed_in_page(link)
        run.type("/quit")
        assert run.process.wait(timeout=60) == 0
    finally:
        if run.process.poll() is None:
            run.process.terminate()  # the stack stops its children on SIGTERM
            run.process.wait(timeout=60)
    # The chat printed the secrets; nothing of the stack kept them in plain text.
    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert any(path.name == "bender-tracker.db" for path in files)
    for app in (admin, theresa):
        assert [path for path in files if holds(path, app.secret)] == []
