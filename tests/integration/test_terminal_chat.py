"""The terminal chat as a person uses it: a real process reading lines from its standard
input, talking to the running bots and printing what they post back."""
import queue
import subprocess
import sys
import threading
import time

from deploybot.terminal_chat import addressed_bot, render, route
from tests.conftest import ROOT, grant, new_user_id

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
            [sys.executable, "-m", "deploybot.terminal_chat", "--user", user],
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

    def expect(self, wanted, timeout=30):
        seen, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            seen.append(line)
            if line == wanted:
                return
        raise AssertionError(f"did not see {wanted!r}; saw {seen!r}")


def test_a_chat_with_both_bots_in_one_channel(stack):
    user = new_user_id()
    grant(stack.bots["bender"], user, "shop")
    chat = Chat(stack.env, user=user)
    try:
        chat.expect("You are " + chat.process.args[-1] + ", in a channel with Bender (production) and Marvin (staging).")
        chat.type("deploy cms 1.0.2")  # addressed to nobody: not sent
        chat.expect("(start with a bot's name: Bender or Marvin)")
        chat.type("marvin, deploy cms 1.0.2")
        chat.expect("Marvin: Deploy Content Management System 1.0.2 to staging? (yes/no)")
        chat.expect("        [Yes]  [No]")
        chat.type("@bender deploy the web shop 2.0.0")
        chat.expect("Bender: Deploy Web Shop 2.0.0 to production? (yes/no)")
        chat.type("no")  # to Bender, the last bot addressed
        chat.expect("Bender: Cancelled, nothing was deployed.")
        chat.type("Marvin, yes")  # Marvin's request is still waiting
        chat.expect("Marvin: Confirmed: Deploy Content Management System 1.0.2 to staging. "
                    "But I can't start deployments yet: the Jenkins connection is not built, so nothing was deployed.")
        chat.type("/quit")
        assert chat.process.wait(timeout=10) == 0
    finally:
        chat.process.kill()
