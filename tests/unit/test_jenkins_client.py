"""JenkinsClient against the Jenkins emulator, in-process on free ports: the real client,
python-jenkins and HTTP, with short queue and build times. The emulator behaves as real
Jenkins does where the fakes used to be kinder: every job parameter listed, restarts, merged
queue items, executor waits, slow stops."""
import base64
import json
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, List

import pytest
import requests

from deploybot.domain.catalog import load_catalog
from deploybot.adapters.jenkins.client import JenkinsClient, JenkinsError, JenkinsSettings, sent_parameters_match
from devtools.jenkins_emulator import RESTARTING_PAGE, WAITING_FOR_EXECUTOR, JenkinsEmulator, jobs_from_catalog

ROOT = Path(__file__).resolve().parents[2]
USER, TOKEN = "deploybot", "s3cret-api-token"
CMS_PARAMETERS = {"VERSION": "1.4.2", "ENVIRONMENT": "staging", "REQUESTED_BY": "alice"}
# What the emulator's catalog jobs take beyond what deploybot sends, as Jenkins received them.
EXTRAS_RECEIVED = {"DRY_RUN": False, "CHANGE_TICKET": "", "DEPLOY_KEY": "emulated-deploy-key"}
# ... and as the client reads them from a build: text, and no password value.
EXTRAS_READ = {"DRY_RUN": "false", "CHANGE_TICKET": ""}
BUILD_SECONDS, QUEUE_SECONDS = 0.3, 0.2


def wait_for(condition: Callable[[], object], timeout: float = 5.0) -> object:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)
    return value


def control(emulator: JenkinsEmulator, method: str, path: str, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(emulator.control_url + path, data, {"Content-Type": "application/json"}, method=method)
    with urllib.request.urlopen(request, timeout=5) as response:
        raw = response.read()
    return json.loads(raw) if raw else None


@pytest.fixture
def emulator():
    jobs = jobs_from_catalog(load_catalog(ROOT / "apps.yml"))
    emulator = JenkinsEmulator(USER, TOKEN, jobs, build_seconds=BUILD_SECONDS, queue_seconds=QUEUE_SECONDS)
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def client(emulator) -> JenkinsClient:
    return JenkinsClient(JenkinsSettings(emulator.url, USER, TOKEN, timeout=5))


def finished(client: JenkinsClient, job: str, queue_id: int):
    """The finished build of a queue item."""
    number = wait_for(lambda: client.queue_item(queue_id).build_number)
    return wait_for(lambda: (build := client.build(job, number)) and not build.building and build)


def test_a_build_goes_from_the_queue_to_success_with_duration_and_estimate(emulator, client):
    queue_id = client.trigger("deploy-cms", {**CMS_PARAMETERS, "UNKNOWN": "dropped"})
    waiting = client.queue_item(queue_id)
    assert waiting.build_number is None and not waiting.cancelled
    assert waiting.why.startswith("In the quiet period. Expires in ")

    number = wait_for(lambda: client.queue_item(queue_id).build_number)
    running = client.build("deploy-cms", number)
    assert running.building and running.result is None and running.duration_ms == 0
    assert running.queue_id == queue_id and running.url == f"{emulator.url}/job/deploy-cms/{number}/"

    first = finished(client, "deploy-cms", queue_id)
    assert first.result == "SUCCESS" and first.estimated_duration_ms is None
    assert BUILD_SECONDS * 1000 - 5 <= first.duration_ms <= BUILD_SECONDS * 1000 + 5
    second = finished(client, "deploy-cms", client.trigger("deploy-cms", CMS_PARAMETERS))
    assert second.number == first.number + 1 and second.estimated_duration_ms == first.duration_ms

    received = control(emulator, "GET", "/builds")
    # The unknown parameter is dropped and the others take their defaults, as Jenkins does.
    assert received[0]["parameters"] == {**CMS_PARAMETERS, **EXTRAS_RECEIVED}
    assert received[0]["started_at"] - received[0]["requested_at"] == pytest.approx(QUEUE_SECONDS, abs=0.01)


def test_a_folder_job_with_its_own_parameter_names(emulator, client):
    build = finished(client, "intranet/deploy", client.trigger("intranet/deploy", {"APP_VERSION": "2.0"}))
    assert build.result == "SUCCESS" and build.url == f"{emulator.url}/job/intranet/job/deploy/1/"
    assert control(emulator, "GET", "/builds")[0]["parameters"] == {"APP_VERSION": "2.0", "TARGET_ENV": "", "REQUESTED_BY": "",
                                                                      **EXTRAS_RECEIVED}


def test_a_failing_build_ends_its_console_with_the_failure(emulator, client):
    control(emulator, "POST", "/next-build", {"result": "FAILURE", "job": "deploy-shop"})
    build = finished(client, "deploy-shop", client.trigger("deploy-shop", CMS_PARAMETERS))
    assert build.result == "FAILURE"
    tail = client.console_tail("deploy-shop", build.number)
    assert len(tail) == 10 and tail[-1] == "Finished: FAILURE"
    assert any("ERROR" in line for line in tail)


def test_a_hanging_build_is_stopped_and_aborted(emulator, client):
    control(emulator, "POST", "/next-build", {"hang": True})
    queue_id = client.trigger("deploy-cms", CMS_PARAMETERS)
    number = wait_for(lambda: client.queue_item(queue_id).build_number)
    time.sleep(BUILD_SECONDS + 0.1)
    assert client.build("deploy-cms", number).building

    client.stop_build("deploy-cms", number)
    build = client.build("deploy-cms", number)
    assert not build.building and build.result == "ABORTED"
    assert client.console_tail("deploy-cms", number, 2) == [f"Aborted by {USER}", "Finished: ABORTED"]


def test_a_second_build_of_a_job_waits_for_the_first(emulator, client):
    control(emulator, "POST", "/next-build", {"hang": True})
    first = client.trigger("deploy-cms", CMS_PARAMETERS)
    second = client.trigger("deploy-cms", {**CMS_PARAMETERS, "VERSION": "1.4.3"})  # identical ones would merge
    wait_for(lambda: client.queue_item(first).build_number)
    time.sleep(QUEUE_SECONDS)
    assert client.queue_item(second).why == "Build #1 is already in progress (ETA:N/A)"

    control(emulator, "POST", "/finish", {"job": "deploy-cms", "number": 1, "result": "SUCCESS"})
    assert wait_for(lambda: client.queue_item(second).build_number) == 2


def test_a_waiting_queue_item_is_cancelled(emulator, client):
    control(emulator, "POST", "/settings", {"queue_seconds": 5})
    queue_id = client.trigger("deploy-cms", CMS_PARAMETERS)
    client.cancel_queue(queue_id)
    state = client.queue_item(queue_id)
    assert state.cancelled and state.build_number is None
    with pytest.raises(JenkinsError) as error:
        client.cancel_queue(queue_id)
    assert error.value.kind == "queue_missing"
    assert control(emulator, "GET", "/builds")[0]["cancelled"]


def test_a_forgotten_queue_item_is_found_among_the_builds(emulator, client):
    control(emulator, "POST", "/settings", {"forget_seconds": 0.1})
    queue_id = client.trigger("deploy-crm", CMS_PARAMETERS)
    build = finished(client, "deploy-crm", queue_id)
    wait_for(lambda: client.queue_item(queue_id) is None)
    assert client.find_build_by_queue_id("deploy-crm", queue_id) == build
    assert client.find_build_by_queue_id("deploy-crm", queue_id + 100) is None


def test_a_build_whose_queue_id_never_arrived_is_found_by_its_parameters(emulator, client):
    other = {**CMS_PARAMETERS, "VERSION": "9.9.9"}
    client.trigger("deploy-cms", other)
    queue_id = client.trigger("deploy-cms", CMS_PARAMETERS)  # waits behind the first build
    assert client.queued_with_parameters("deploy-cms", CMS_PARAMETERS) == queue_id
    assert client.queued_with_parameters("deploy-crm", CMS_PARAMETERS) is None
    build = finished(client, "deploy-cms", queue_id)
    assert client.queued_with_parameters("deploy-cms", CMS_PARAMETERS) is None
    assert client.builds_with_parameters("deploy-cms", CMS_PARAMETERS, since_ms=0) == [build]
    assert build.parameters == {**CMS_PARAMETERS, **EXTRAS_READ}
    assert client.builds_with_parameters("deploy-cms", CMS_PARAMETERS, since_ms=build.timestamp_ms + 1) == []


def test_http_errors_and_slowness_from_the_faults_control(emulator):
    client = JenkinsClient(JenkinsSettings(emulator.url, USER, TOKEN, timeout=1))
    control(emulator, "POST", "/faults", {"path": "buildWithParameters", "status": 500})
    with pytest.raises(JenkinsError) as error:
        client.trigger("deploy-cms", CMS_PARAMETERS)
    assert (error.value.kind, str(error.value)) == ("error", "Jenkins failed while starting deploy-cms (HTTP 500).")
    # One 403 (a stale crumb, say) is retried with a fresh session; two are a missing permission.
    control(emulator, "POST", "/faults", {"path": "buildWithParameters", "status": 403})
    assert client.trigger("deploy-cms", CMS_PARAMETERS) > 0
    control(emulator, "POST", "/faults", {"path": "buildWithParameters", "status": 403, "count": 2})
    with pytest.raises(JenkinsError) as error:
        client.trigger("deploy-crm", CMS_PARAMETERS)
    assert error.value.kind == "auth" and "HTTP 403" in str(error.value)
    # A slow answer times out, but Jenkins did the work.
    control(emulator, "POST", "/faults", {"path": "buildWithParameters", "delay": 2})
    with pytest.raises(JenkinsError) as error:
        client.trigger("deploy-search", CMS_PARAMETERS)
    assert error.value.kind == "timeout"
    assert wait_for(lambda: client.queued_with_parameters("deploy-search", CMS_PARAMETERS)
                    or client.builds_with_parameters("deploy-search", CMS_PARAMETERS, since_ms=0))


def test_wrong_credentials(emulator):
    bad = JenkinsClient(JenkinsSettings(emulator.url, USER, "wrong-token", timeout=5))
    with pytest.raises(JenkinsError) as error:
        bad.trigger("deploy-cms", CMS_PARAMETERS)
    assert error.value.kind == "auth" and "HTTP 401" in str(error.value)
    assert "wrong-token" not in str(error.value)


def test_a_missing_job_or_build(client):
    with pytest.raises(JenkinsError) as error:
        client.trigger("deploy-nothing", CMS_PARAMETERS)
    assert (error.value.kind, str(error.value)) == ("job_missing", "Jenkins has no job called deploy-nothing.")
    with pytest.raises(JenkinsError) as error:
        client.build("deploy-cms", 99)
    assert error.value.kind == "job_missing"


def test_a_job_without_parameters(emulator, client):
    control(emulator, "POST", "/jobs", {"name": "deploy-legacy", "parameters": []})
    with pytest.raises(JenkinsError) as error:
        client.trigger("deploy-legacy", CMS_PARAMETERS)
    assert error.value.kind == "not_parameterized"
    assert str(error.value) == ("The Jenkins job deploy-legacy takes no parameters, "
                                "so it cannot be told which version to deploy.")


def test_refused_connections_and_recovery(emulator, client):
    client.trigger("deploy-cms", CMS_PARAMETERS)  # a kept-alive connection must not survive the outage
    control(emulator, "POST", "/refuse-connections", {"seconds": 30})
    with pytest.raises(JenkinsError) as error:
        client.queue_item(1)
    assert error.value.kind == "unreachable"
    assert str(error.value) == f"Jenkins at {emulator.url} is unreachable (connection refused)."
    control(emulator, "POST", "/refuse-connections", {"seconds": 0})
    assert client.queue_item(1) is not None


def test_a_jenkins_that_never_answers_times_out():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        silent = JenkinsClient(JenkinsSettings(url, USER, TOKEN, timeout=0.3))
        with pytest.raises(JenkinsError) as error:
            silent.trigger("deploy-cms", CMS_PARAMETERS)
    assert error.value.kind == "timeout"
    assert str(error.value) == f"Jenkins at {url} did not answer within 0.3 sec."


@pytest.fixture
def receiver():
    """A notification endpoint that records every JSON body it is sent."""
    received: List[dict] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/notify", received
    server.shutdown()
    server.server_close()


def test_notification_pushes(emulator, client, receiver):
    url, received = receiver
    control(emulator, "POST", "/settings", {"notify_url": url})
    queue_id = client.trigger("deploy-cms", CMS_PARAMETERS)
    build = finished(client, "deploy-cms", queue_id)
    wait_for(lambda: len(received) == 4)

    assert [push["build"]["phase"] for push in received] == ["QUEUED", "STARTED", "COMPLETED", "FINALIZED"]
    assert [push["build"].get("status") for push in received] == [None, None, "SUCCESS", "SUCCESS"]
    assert received[2] == {
        "name": "deploy-cms", "url": "job/deploy-cms/",
        "build": {"full_url": build.url, "number": build.number, "queue_id": queue_id, "phase": "COMPLETED",
                  "status": "SUCCESS", "duration": build.duration_ms, "url": f"job/deploy-cms/{build.number}/",
                  "parameters": {**CMS_PARAMETERS, **EXTRAS_READ}},  # no password
    }


def test_settings_from_the_environment():
    settings = JenkinsSettings.from_environ(
        {"JENKINS_URL": "http://jenkins:8080/", "JENKINS_USER": "bot", "JENKINS_API_TOKEN": "tok-123", "JENKINS_TIMEOUT": "2.5"})
    assert settings == JenkinsSettings("http://jenkins:8080", "bot", "tok-123", 2.5)
    assert "tok-123" not in repr(settings)  # the token stays out of logs
    assert JenkinsSettings.from_environ({"JENKINS_URL": "http://jenkins"}).timeout == 10.0
    for environ in ({}, {"JENKINS_URL": "http://jenkins", "JENKINS_TIMEOUT": "soon"}):
        with pytest.raises(JenkinsError) as error:
            JenkinsSettings.from_environ(environ)
        assert error.value.kind == "config"


def test_the_emulator_runs_as_a_program_and_stops_on_sigterm(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.jenkins_emulator", "--port", "0", "--control-port", "0",
         "--user", USER, "--api-token", TOKEN, "--catalog", str(ROOT / "apps.yml")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("Jenkins emulator on http://127.0.0.1:") and "(control on :" in line
        url = line.split()[3]
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url + "/", timeout=5)  # no credentials
        assert refused.value.code == 401 and refused.value.headers["WWW-Authenticate"]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        process.kill()
        process.communicate()


# ---------------------------------------------------------------- what real Jenkins does (issue 13)


def api_json(emulator: JenkinsEmulator, path: str) -> dict:
    """What Jenkins' API itself answers, read without the client."""
    token = base64.b64encode(f"{USER}:{TOKEN}".encode()).decode()
    request = urllib.request.Request(f"{emulator.url}/{path}", headers={"Authorization": f"Basic {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def listed_parameters(item: dict) -> list:
    [action] = [a for a in item["actions"] if "parameters" in a]
    return action["parameters"]


def test_builds_list_every_job_parameter_and_are_found_by_what_was_sent(emulator, client):
    control(emulator, "POST", "/settings", {"queue_seconds": 5})
    queue_id = client.trigger("deploy-cms", CMS_PARAMETERS)
    [item] = api_json(emulator, "queue/api/json")["items"]
    expected = [
        {"_class": "hudson.model.StringParameterValue", "name": "VERSION", "value": "1.4.2"},
        {"_class": "hudson.model.StringParameterValue", "name": "ENVIRONMENT", "value": "staging"},
        {"_class": "hudson.model.StringParameterValue", "name": "REQUESTED_BY", "value": "alice"},
        {"_class": "hudson.model.BooleanParameterValue", "name": "DRY_RUN", "value": False},
        {"_class": "hudson.model.StringParameterValue", "name": "CHANGE_TICKET", "value": ""},
        {"_class": "hudson.model.PasswordParameterValue", "name": "DEPLOY_KEY"},  # the value is not exported
    ]
    assert listed_parameters(item) == expected
    assert client.queued_with_parameters("deploy-cms", CMS_PARAMETERS) == queue_id
    assert client.queued_with_parameters("deploy-cms", {**CMS_PARAMETERS, "VERSION": "1.4.20"}) is None
    assert client.queued_with_parameters("deploy-cms", {**CMS_PARAMETERS, "DEPLOY_KEY": "emulated-deploy-key"}) is None

    control(emulator, "POST", "/settings", {"queue_seconds": QUEUE_SECONDS})
    client.cancel_queue(queue_id)
    build = finished(client, "deploy-cms", client.trigger("deploy-cms", CMS_PARAMETERS))
    assert listed_parameters(api_json(emulator, f"job/deploy-cms/{build.number}/api/json")) == expected
    assert client.builds_with_parameters("deploy-cms", CMS_PARAMETERS, since_ms=0) == [build]
    assert client.builds_with_parameters("deploy-cms", {**CMS_PARAMETERS, "REQUESTED_BY": "bob"}, since_ms=0) == []


def test_a_boolean_parameter_sent_as_text_matches_the_json_boolean(emulator, client):
    sent = {**CMS_PARAMETERS, "DRY_RUN": "true"}
    build = finished(client, "deploy-cms", client.trigger("deploy-cms", sent))
    assert build.parameters["DRY_RUN"] == "true"
    assert client.builds_with_parameters("deploy-cms", sent, since_ms=0) == [build]
    assert client.builds_with_parameters("deploy-cms", {**sent, "DRY_RUN": "false"}, since_ms=0) == []


def test_what_was_sent_matches_as_a_subset():
    listed = {"VERSION": "1.0", "DRY_RUN": False, "COUNT": 3, "KEY": object()}
    assert sent_parameters_match({"VERSION": "1.0"}, listed)
    assert sent_parameters_match({"DRY_RUN": "false", "COUNT": "3"}, listed)
    assert sent_parameters_match({"DRY_RUN": "FALSE"}, listed)  # Jenkins parses booleans ignoring case
    assert not sent_parameters_match({"DRY_RUN": "true"}, listed)
    assert not sent_parameters_match({"VERSION": "1.0", "OTHER": ""}, listed)  # the job lacks it
    assert not sent_parameters_match({"VERSION": "1.00"}, listed)
    assert not sent_parameters_match({"KEY": "secret"}, {"KEY": None})  # a masked value proves nothing


def test_identical_build_requests_merge_while_the_first_waits(emulator, client):
    control(emulator, "POST", "/settings", {"queue_seconds": 1})
    first = client.trigger("deploy-cms", CMS_PARAMETERS)
    assert client.trigger("deploy-cms", CMS_PARAMETERS) == first  # the same Location
    other = client.trigger("deploy-cms", {**CMS_PARAMETERS, "VERSION": "1.4.3"})
    assert other != first
    wait_for(lambda: client.queue_item(first).build_number)
    assert client.trigger("deploy-cms", CMS_PARAMETERS) not in (first, other)  # the first has left the queue
    records = control(emulator, "GET", "/builds")
    assert [r["requests"] for r in records] == [2, 1, 1]


def test_ready_items_wait_for_a_free_executor(emulator, client):
    control(emulator, "POST", "/settings", {"executors": 1})
    control(emulator, "POST", "/next-build", {"hang": True, "job": "deploy-cms"})
    first = client.trigger("deploy-cms", CMS_PARAMETERS)
    second = client.trigger("deploy-shop", CMS_PARAMETERS)
    number = wait_for(lambda: client.queue_item(first).build_number)
    time.sleep(QUEUE_SECONDS + 0.1)
    waiting = client.queue_item(second)
    assert waiting.build_number is None and waiting.why == WAITING_FOR_EXECUTOR

    control(emulator, "POST", "/finish", {"job": "deploy-cms", "number": number})
    assert wait_for(lambda: client.queue_item(second).build_number) == 1
    first_record, second_record = control(emulator, "GET", "/builds")
    assert second_record["started_at"] == pytest.approx(first_record["finished_at"], abs=0.05)


def test_a_stop_takes_a_while_and_then_aborts(emulator, client):
    control(emulator, "POST", "/settings", {"stop_seconds": 0.5})
    control(emulator, "POST", "/next-build", {"hang": True})
    queue_id = client.trigger("deploy-cms", CMS_PARAMETERS)
    number = wait_for(lambda: client.queue_item(queue_id).build_number)
    client.stop_build("deploy-cms", number)
    assert client.build("deploy-cms", number).building  # still running right after the stop
    build = finished(client, "deploy-cms", queue_id)
    assert build.result == "ABORTED"
    assert client.console_tail("deploy-cms", number, 2) == [f"Aborted by {USER}", "Finished: ABORTED"]


def test_a_build_finishing_before_its_stop_takes_effect_keeps_its_result(emulator, client):
    control(emulator, "POST", "/settings", {"stop_seconds": 5})
    queue_id = client.trigger("deploy-cms", CMS_PARAMETERS)
    number = wait_for(lambda: client.queue_item(queue_id).build_number)
    client.stop_build("deploy-cms", number)
    assert finished(client, "deploy-cms", queue_id).result == "SUCCESS"


def test_a_restarting_jenkins_is_unavailable_never_missing_and_keeps_its_queue(emulator, client):
    earlier = finished(client, "deploy-crm", client.trigger("deploy-crm", CMS_PARAMETERS))
    control(emulator, "POST", "/settings", {"queue_seconds": 0.5})
    queue_id = client.trigger("deploy-cms", CMS_PARAMETERS)
    control(emulator, "POST", "/restart", {"seconds": 60})

    with pytest.raises(urllib.error.HTTPError) as page:
        api_json(emulator, "api/json")
    assert page.value.code == 503 and RESTARTING_PAGE in page.value.read().decode()
    reads = [lambda: client.queue_item(queue_id), lambda: client.build("deploy-crm", earlier.number),
             lambda: client.find_build_by_queue_id("deploy-crm", 1), lambda: client.console_tail("deploy-crm", 1),
             lambda: client.queued_with_parameters("deploy-cms", CMS_PARAMETERS),
             lambda: client.stop_build("deploy-crm", earlier.number), lambda: client.cancel_queue(queue_id),
             lambda: client.trigger("deploy-shop", CMS_PARAMETERS)]
    for read in reads:
        with pytest.raises(JenkinsError) as error:
            read()
        assert error.value.kind == "unavailable" and error.value.transient
        assert str(error.value) == (f"Jenkins at {emulator.url} is unavailable right now (HTTP 503: it is starting up"
                                    " or restarting); try again in a few minutes.")
    assert not [b for b in control(emulator, "GET", "/builds") if b["job"] == "deploy-shop"]

    # After the restart the queued item is still there and builds; the new crumb is fetched by itself.
    time.sleep(0.5)  # past the quiet period: only the restart keeps the item waiting
    restarted_at = time.time()
    control(emulator, "POST", "/restart", {"seconds": 0})
    assert finished(client, "deploy-cms", queue_id).result == "SUCCESS"
    [cms] = [b for b in control(emulator, "GET", "/builds") if b["job"] == "deploy-cms"]
    assert cms["started_at"] >= restarted_at
    assert client.trigger("deploy-shop", CMS_PARAMETERS) > 0
    # An item that had left the queue before the restart is forgotten; its build still names it.
    assert client.queue_item(1) is None
    assert client.find_build_by_queue_id("deploy-crm", 1) == earlier


@pytest.mark.parametrize("status", [502, 503, 504])
def test_a_proxy_error_on_a_queue_item_is_unavailable_not_missing(emulator, client, status):
    queue_id = client.trigger("deploy-cms", CMS_PARAMETERS)
    control(emulator, "POST", "/faults", {"path": f"/queue/item/{queue_id}/", "status": status})
    with pytest.raises(JenkinsError) as error:
        client.queue_item(queue_id)
    assert error.value.kind == "unavailable" and f"HTTP {status}" in str(error.value)
    assert client.queue_item(queue_id) is not None


def test_a_404_for_a_queue_item_counts_only_while_jenkins_is_up(emulator, client):
    queue_id = client.trigger("deploy-cms", CMS_PARAMETERS)
    # The item answers 404 and then the front page 503: a Jenkins half up, not a forgotten item.
    control(emulator, "POST", "/faults", {"path": f"/queue/item/{queue_id}/", "status": 404})
    control(emulator, "POST", "/faults", {"path": "/", "status": 503})
    with pytest.raises(JenkinsError) as error:
        client.queue_item(queue_id)
    assert error.value.kind == "unavailable"
    # A 404 from a Jenkins whose front page answers is a forgotten (or never known) item.
    assert client.queue_item(queue_id + 100) is None


@pytest.mark.parametrize("status, kind", [(502, "timeout"), (504, "timeout"), (503, "unavailable")])
def test_a_proxy_error_on_a_build_request(emulator, client, status, kind):
    # After a proxy's 502 or 504 Jenkins may have queued the build: like a timeout, its fate is
    # unknown (the deployer then watches for it). A 503 means Jenkins did not take it.
    control(emulator, "POST", "/faults", {"path": "buildWithParameters", "status": status})
    with pytest.raises(JenkinsError) as error:
        client.trigger("deploy-cms", CMS_PARAMETERS)
    assert error.value.kind == kind and error.value.transient and f"HTTP {status}" in str(error.value)


def raw_console(emulator, job_path: str, number: int, **params) -> requests.Response:
    """Jenkins' console as any HTTP client reads it (not through JenkinsClient)."""
    return requests.get(f"{emulator.url}/job/{job_path}/{number}/{'logText/progressiveText' if params else 'consoleText'}",
                        params=params, auth=(USER, TOKEN), timeout=10)


def test_the_tail_of_a_console_of_megabytes_is_read_as_a_bounded_range(emulator, client):
    # A real deploy's console is often megabytes: only its end may go over the wire.
    console = [f"step {n}: " + "x" * 80 for n in range(60_000)] + ["ERROR: deploy failed"]
    control(emulator, "POST", "/next-build", {"result": "FAILURE", "job": "deploy-shop", "console": console})
    build = finished(client, "deploy-shop", client.trigger("deploy-shop", CMS_PARAMETERS))
    tail = client.console_tail("deploy-shop", build.number)
    [record] = [b for b in control(emulator, "GET", "/builds") if b["number"] == build.number and b["job"] == "deploy-shop"]
    assert record["console_bytes_sent"] <= 64 * 1024
    whole = raw_console(emulator, "deploy-shop", build.number).text
    assert len(whole) > 5_000_000
    assert tail == whole.splitlines()[-10:] and "ERROR: deploy failed" in tail


def test_a_short_console_is_read_whole_and_a_start_past_its_end_rolls_over(emulator, client):
    control(emulator, "POST", "/next-build", {"result": "FAILURE", "job": "deploy-shop", "console": ["one", "two"]})
    build = finished(client, "deploy-shop", client.trigger("deploy-shop", CMS_PARAMETERS))
    whole = raw_console(emulator, "deploy-shop", build.number).text
    assert client.console_tail("deploy-shop", build.number, 50) == whole.splitlines()
    # As Jenkins' LargeText does: a start beyond the text sends the whole text again.
    answer = raw_console(emulator, "deploy-shop", build.number, start="999999")
    assert (answer.status_code, answer.text, answer.headers["X-Text-Size"]) == (200, whole, str(len(whole.encode())))
    answer = raw_console(emulator, "deploy-shop", build.number, start=str(len(whole.encode()) - 5))
    assert answer.text == whole[-5:]


def test_head_of_progressive_text_answers_its_size_without_a_body_as_jenkins_does(emulator, client):
    control(emulator, "POST", "/next-build", {"result": "FAILURE", "job": "deploy-shop", "console": ["one", "two"]})
    build = finished(client, "deploy-shop", client.trigger("deploy-shop", CMS_PARAMETERS))
    whole = raw_console(emulator, "deploy-shop", build.number).text
    head = requests.head(f"{emulator.url}/job/deploy-shop/{build.number}/logText/progressiveText", params={"start": "0"},
                         auth=(USER, TOKEN), timeout=10)
    assert (head.status_code, head.content, head.headers["X-Text-Size"]) == (200, b"", str(len(whole.encode())))
    assert "X-More-Data" not in head.headers  # the build has finished


def test_the_emulator_fails_head_or_the_log_on_request_and_forgets_builds(emulator, client):
    control(emulator, "POST", "/next-build", {"result": "FAILURE", "job": "deploy-shop", "console": ["one", "two"]})
    queue_id = client.trigger("deploy-shop", CMS_PARAMETERS)
    build = finished(client, "deploy-shop", queue_id)
    url = f"{emulator.url}/job/deploy-shop/{build.number}/logText/progressiveText"
    # A proxy that refuses HEAD: the GET still answers.
    control(emulator, "POST", "/faults", {"method": "HEAD", "path": "/logText/progressiveText", "status": 405})
    assert requests.get(url, auth=(USER, TOKEN), timeout=10).status_code == 200
    assert requests.head(url, auth=(USER, TOKEN), timeout=10).status_code == 405
    assert requests.head(url, auth=(USER, TOKEN), timeout=10).status_code == 200  # count 1: used up
    control(emulator, "POST", "/faults", {"method": "HEAD", "path": "/logText/progressiveText", "status": 405})
    with pytest.raises(JenkinsError) as error:
        client.console_tail("deploy-shop", build.number)
    assert error.value.kind == "error" and "(HTTP 405)" in str(error.value)
    # Jenkins failing the log itself.
    control(emulator, "POST", "/faults", {"method": "GET", "path": "/logText/progressiveText", "status": 500})
    with pytest.raises(JenkinsError) as error:
        client.console_tail("deploy-shop", build.number)
    assert "(HTTP 500)" in str(error.value)
    assert "two" in client.console_tail("deploy-shop", build.number)  # the faults are used up
    # A build Jenkins no longer knows: it and its queue item answer 404.
    control(emulator, "POST", "/forget", {"job": "deploy-shop", "number": build.number})
    with pytest.raises(JenkinsError) as error:
        client.build("deploy-shop", build.number)
    assert error.value.kind == "job_missing"
    assert client.queue_item(queue_id) is None
