"""The patch or nothing (issue 22): deploybot's defences inside Rasa (typed intents read as
words, six-digit codes as codes, the button seal kept out of trackers) are patches of Rasa
3.6's internals. A Rasa server that cannot install them refuses to start, naming the Rasa
found and the one required, rather than running without them."""
import socket
import subprocess
import sys

from tests.support import MODEL, ROOT, free_port


def test_a_rasa_server_on_another_rasa_version_refuses_to_start(tmp_path):
    # The real entry point, in a process whose Rasa says it is 3.7.2: a sitecustomize on the
    # path sets the version before deploybot.rasa_glue.rasa_server runs (nothing else of Rasa changes).
    (tmp_path / "sitecustomize.py").write_text("import rasa, rasa.version\n"
                                               "rasa.version.__version__ = rasa.__version__ = '3.7.2'\n")
    # Endpoints and channels that need nothing else running: without the check, this server starts.
    (tmp_path / "endpoints.yml").write_text("action_endpoint:\n  url: http://127.0.0.1:9/webhook\n")
    (tmp_path / "credentials.yml").write_text("rest:\n")
    port = free_port()
    environment = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{tmp_path}:{ROOT}", "RASA_TELEMETRY_ENABLED": "false",
                   "DEPLOYBOT_API_TOKEN": "test-api-token", "DEPLOYBOT_ACTIONS_TOKEN": "test-actions-token"}
    started = subprocess.run([sys.executable, "-m", "deploybot.rasa_glue.rasa_server", "--enable-api", "--port", str(port),
                              "--model", str(MODEL), "--endpoints", str(tmp_path / "endpoints.yml"),
                              "--credentials", str(tmp_path / "credentials.yml")], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)
    assert started.returncode == 1, started
    said = started.stderr.strip().splitlines()[-1]
    assert said.startswith("deploybot.rasa_glue.rasa_server: Rasa 3.7.2 is installed, but deploybot needs Rasa 3.6.x."), said
    assert "not safe to run" in said
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # nothing listens there


def test_the_installed_rasa_is_the_one_the_patches_were_written_for():
    from deploybot.rasa_glue import patched_rasa

    assert patched_rasa.rasa_version().startswith(patched_rasa.PATCHED_RASA_VERSIONS)
    assert patched_rasa.install()
