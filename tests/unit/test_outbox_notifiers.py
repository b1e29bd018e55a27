"""The management notifiers answer whether a post was delivered, so the outbox can retry it."""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from deploybot.delivery.notifier import AllOf, CallbackNotifier, LogFileNotifier, destinations, local_notifier
from tests.support import free_port


def management_view(status: int):
    """A terminal chat's management view on a free port that answers every post with status."""
    class View(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), View)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_the_log_file_says_whether_it_took_the_post(tmp_path):
    assert LogFileNotifier(tmp_path / "log" / "management.log").post("#m", "cms is on production")
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    assert not LogFileNotifier(blocked / "management.log").post("#m", "cms is on production")


@pytest.mark.parametrize("status, delivered", [(200, True), (500, False)])
def test_the_terminal_chat_view_says_whether_it_took_the_post(status, delivered):
    server = management_view(status)
    try:
        assert CallbackNotifier(f"http://127.0.0.1:{server.server_port}/management").post("#m", "x") is delivered
    finally:
        server.shutdown()


def test_no_terminal_chat_running_is_nothing_to_deliver():
    # Nobody reads the view then, and the log file has the post: retrying would never end.
    assert CallbackNotifier(f"http://127.0.0.1:{free_port()}/management").post("#m", "x")


def test_each_destination_has_a_row_of_its_own(tmp_path):
    notifier = AllOf([local_notifier(tmp_path, "http://127.0.0.1:1/management"), LogFileNotifier(tmp_path / "x", name="slack")])
    assert list(destinations(notifier)) == ["log", "chat", "slack"]
