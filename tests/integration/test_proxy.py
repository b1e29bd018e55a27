"""The public door of a production install: docker/nginx.conf run by a real nginx (Debian's
package) in front of the running stack, with a certificate made for the test. Slack accepts
only HTTPS request URLs, so the proxy terminates TLS; it publishes the Slack webhooks and
the Jenkins push endpoints and nothing else."""
import http.client
import json
import re
import shutil
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from tests import slack_requests as slack
from tests.support import ROOT, free_port

NGINX = Path("/usr/sbin/nginx")


def rendered(config: str, stack, http_port: int, https_port: int, tls: Path) -> str:
    """docker/nginx.conf with the compose service names replaced by the test stack's ports."""
    upstreams = {"marvin": stack.env["MARVIN_PORT"], "bender": stack.env["BENDER_PORT"],
                 "marvin-actions": stack.env["MARVIN_ACTIONS_PORT"], "bender-actions": stack.env["BENDER_ACTIONS_PORT"]}
    for name, port in upstreams.items():
        config, found = re.subn(rf"upstream {re.escape(name)} \{{[^}}]*\}}", f"upstream {name} {{ server 127.0.0.1:{port}; }}", config)
        assert found == 1, name
    config = config.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    config = re.sub(r"listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;", config)
    config = config.replace("/etc/nginx/tls/fullchain.pem", str(tls / "fullchain.pem"))
    return config.replace("/etc/nginx/tls/privkey.pem", str(tls / "privkey.pem"))


@pytest.fixture(scope="module")
def proxy(stack, tmp_path_factory):
    if not NGINX.exists():
        pytest.fail("nginx is not installed: run scripts/ensure-services (make test does)")
    directory = tmp_path_factory.mktemp("nginx")
    directory.chmod(0o755)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost", "-keyout", str(directory / "privkey.pem"),
                    "-out", str(directory / "fullchain.pem")], check=True, capture_output=True)
    http_port, https_port = free_port(), free_port()
    (directory / "deploybot.conf").write_text(
        rendered((ROOT / "docker" / "nginx.conf").read_text(), stack, http_port, https_port, directory))
    temp = directory / "temp"
    temp.mkdir(mode=0o777)
    (directory / "nginx.conf").write_text(f"""
        daemon off;
        pid {directory}/nginx.pid;
        error_log {directory}/error.log;
        events {{}}
        http {{
            access_log off;
            client_body_temp_path {temp}; proxy_temp_path {temp}; fastcgi_temp_path {temp};
            uwsgi_temp_path {temp}; scgi_temp_path {temp};
            include {directory}/deploybot.conf;
        }}""")
    checked = subprocess.run([str(NGINX), "-t", "-c", str(directory / "nginx.conf"), "-p", str(directory)],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen([str(NGINX), "-c", str(directory / "nginx.conf"), "-p", str(directory)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    context = ssl.create_default_context(cafile=str(directory / "fullchain.pem"))
    deadline = time.monotonic() + 20
    while True:
        try:
            http.client.HTTPSConnection("localhost", https_port, context=context, timeout=2).request("GET", "/")
            break
        except OSError:
            assert time.monotonic() < deadline and process.poll() is None, (directory / "error.log").read_text()
            time.sleep(0.2)
    yield {"https": https_port, "http": http_port, "tls": context}
    process.terminate()
    process.wait(timeout=10)
    shutil.rmtree(directory, ignore_errors=True)


def through(proxy, method, path, body=b"", headers=None, secure=True):
    if secure:
        connection = http.client.HTTPSConnection("localhost", proxy["https"], context=proxy["tls"], timeout=30)
    else:
        connection = http.client.HTTPConnection("127.0.0.1", proxy["http"], timeout=30)
    connection.request(method, path, body=body, headers=headers or {})
    answer = connection.getresponse()
    return answer.status, answer.getheaders(), answer.read()


@pytest.mark.parametrize("bot", ["marvin", "bender"])
def test_slacks_request_url_is_verified_over_https_with_a_valid_certificate(proxy, stack, bot):
    body, headers = slack.url_verification(stack.slack_secret(bot), f"challenge-for-{bot}")
    status, _, answer = through(proxy, "POST", f"/{bot}/webhooks/slack/webhook", body, headers)
    assert (status, json.loads(answer)) == (200, {"challenge": f"challenge-for-{bot}"})


def test_plain_http_is_redirected_to_https(proxy):
    status, headers, _ = through(proxy, "POST", "/marvin/webhooks/slack/webhook", secure=False)
    assert status == 301 and dict(headers)["Location"].startswith("https://")


@pytest.mark.parametrize("path", ["/marvin/webhooks/rest/webhook", "/bender/webhooks/callback/webhook", "/marvin/model/parse",
                                  "/bender/conversations/x/tracker", "/marvin/status", "/webhooks/slack/webhook", "/"])
def test_nothing_but_the_webhooks_is_published(proxy, stack, path):
    token = stack.bots["marvin"].token  # even with a token: these doors are not public
    status, _, _ = through(proxy, "POST", f"{path}?token={token}", b'{"sender": "x", "message": "hi"}',
                           {"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    assert status == 404


def test_jenkins_pushes_reach_the_action_servers_which_check_their_token(proxy):
    status, _, answer = through(proxy, "POST", "/bender/jenkins/notifications?token=wrong", b"{}",
                                {"Content-Type": "application/json"})
    assert (status, json.loads(answer)) == (403, {"error": "a valid token is required"})
