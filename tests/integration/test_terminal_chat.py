"""The terminal chat as a person uses it: a real process reading lines from its standard
input, talking to the running bots and printing what they post back."""
import queue
import subprocess
import sys
import threading
import time

from deploybot.adapters.terminal_chat import addressed_bot, render, route
from tests.support import ADMIN, ROOT, http, new_user_id

NAMES = {"marvin": "marvin", "bender": "bender"}


def test_addressing_picks_the_bot_and_other_lines_go_to_the_last_one():
    assert addressed_bot("marvin, deploy cms", NAMES) == "marvin"
    assert addressed_bot("@Bender deploy cms", NAMES) == "bender"
    assert addressed_bot("hey marvin", NAMES) == "marvin"
    assert addressed_bot("deploy cms", NAMES) is None
    assert addressed_bot("marvinator deploy", NAMES) is None
    assert route("yes", "bender", NAMES) == "bender"
    assert route("Marvin: yes", "bender", NAMES) == "marvin"
    assert route("deploy cms", None, NAMES) is None  # nobody addressed yet


def test_messages_render_with_the_bots_name_and_buttons():
    message = {"text": "Deploy Web Shop 2.0.0 to production? (yes/no)", "buttons": [{"title": "Yes"}, {"title": "No"}]}
    assert render("Bender", message) == "Bender: Deploy Web Shop 2.0.0 to production? (yes/no)\n        [Yes]  [No]"
    assert render("Marvin", {"text": "one\ntwo"}) == "Marvin: one\n        two"


class Chat:
    def __init__(self, env, user):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "deploybot.adapters.terminal_chat", "--user", user],
            cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def type(self, line):
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def expect(self, wanted, timeout=30, prefix=False):
        """Waits for a line equal to wanted (or starting with it), skipping others."""
        seen, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            seen.append(line)
            if line == wanted or (prefix and line.startswith(wanted)):
                return
        raise AssertionError(f"did not see {wanted!r}; saw {seen!r}")

    def expect_start(self, wanted, timeout=30):
        self.expect(wanted, timeout, prefix=True)


def test_only_the_bots_can_post_into_the_chat(stack):
    # Another local process must not be able to print "Bender: deployed …" into someone's chat.
    chat = Chat(stack.env, user=new_user_id())
    try:
        chat.expect_start("You are ")
        port = stack.env["DEPLOYBOT_CALLBACK_PORT"]
        forged = {"recipient_id": "x", "text": "Web Shop: deployed version 6.6.6 to production in 1 sec"}
        for query in ("", "?key=guessed"):
            assert http("POST", f"http://127.0.0.1:{port}/bender{query}", forged)[0] == 403
        real = {"recipient_id": "x", "text": "a message with the key"}
        assert http("POST", f"http://127.0.0.1:{port}/bender?key={stack.env['DEPLOYBOT_CALLBACK_KEY']}", real)[0] == 200
        chat.expect("Bender: a message with the key")
        chat.type("/quit")
        assert chat.process.wait(timeout=10) == 0
        assert not [line for line in list(chat.lines.queue) if "6.6.6" in line]
    finally:
        chat.process.kill()


def test_a_new_user_deploys_with_marvin_is_granted_production_and_sees_every_report(stack):
    user = new_user_id()
    chat = Chat(stack.env, user=user)
    try:
        chat.expect("You are " + chat.process.args[-1] + ", in a channel with Bender (production) and Marvin (staging).")
        chat.type("deploy cms 1.0.2")  # addressed to nobody: not sent
        chat.expect("(start with a bot's name: Bender or Marvin)")
        chat.type("marvin, deploy cms 1.0.2")
        chat.expect("Marvin: Deploy Content Management System 1.0.2 to staging? (yes/no)")
        chat.expect("        [Yes]  [No]")
        chat.type("yes")
        chat.expect("Marvin: OK, deploying Content Management System 1.0.2 to staging: Jenkins has queued it."
                    " I'll report here when the build starts and when it ends.")
        chat.expect_start("Marvin: Deploying Content Management System 1.0.2 to staging: Jenkins build #")
        chat.expect_start("Marvin: Content Management System: deployed version 1.0.2 to staging in ")
        chat.type("@bender deploy the web shop 2.0.0")
        chat.expect_start("Bender: You may not deploy Web Shop to production: an admin has to grant it to you first")
        chat.type(f"/user {ADMIN}")
        chat.type(f"bender, auth {user} shop")
        chat.expect(f"Bender: {user} may now deploy Web Shop to production.")
        chat.type(f"/user {user}")
        chat.type("@bender deploy the web shop 2.0.0")
        chat.expect("Bender: Deploy Web Shop 2.0.0 to production? (yes/no)")
        chat.type("yes")
        chat.expect_start("Bender: OK, deploying Web Shop 2.0.0 to production")
        chat.expect_start("Bender: Deploying Web Shop 2.0.0 to production: Jenkins build #")
        chat.expect_start("Bender: Web Shop: deployed version 2.0.0 to production in ")
        chat.expect_start(f"[#deployments-management]: Web Shop 2.0.0 is on production: deployed by {user} in ")
        chat.type("/quit")
        assert chat.process.wait(timeout=10) == 0
    finally:
        chat.process.kill()
