import pytest

from deploybot.domain.catalog import load_catalog
from deploybot.domain.deploy_request import RequestRejected, build_request, confirmation_is_stale
from deploybot.domain.messages import confirmation_question, format_duration
from deploybot.domain.profiles import load_profiles
from deploybot.domain.versions import normalize_version


@pytest.mark.parametrize(
    "written, expected",
    [("1.0.2", "1.0.2"), ("v1.0.2", "1.0.2"), ("V2.3", "2.3"), ("3.2.1-rc1", "3.2.1-rc1"),
     ("7.2.0-beta.3", "7.2.0-beta.3"), ("1.0.2-rc.1+build.5", "1.0.2-rc.1+build.5"), ("10.4.12.7", "10.4.12.7")],
)
def test_versions(written, expected):
    assert normalize_version(written) == expected


@pytest.mark.parametrize(
    "written",
    ["latest", "1", "1.0.x", "1.0.2; rm -rf /", "$(reboot)", "../../etc/passwd", "1." + "0" * 300, "", "v", "01.2.3", "1.2.3-"],
)
def test_not_versions(written):
    assert normalize_version(written) is None


@pytest.fixture(scope="module")
def setup():
    profiles = load_profiles("assistants", environ={})
    return profiles, load_catalog("apps.yml")


def test_a_complete_request_defaults_to_the_bots_environment(setup):
    profiles, catalog = setup
    request = build_request("cms", "v1.0.2", None, profiles["marvin"], profiles, catalog)
    assert (request.app, request.version, request.environment) == ("cms", "1.0.2", "staging")
    assert confirmation_question(request, catalog) == "Deploy Content Management System 1.0.2 to staging? (yes/no)"


@pytest.mark.parametrize(
    "bot, app, version, environment, message",
    [
        ("marvin", "cms", "1.0.2", "production", "I only deploy to staging. Ask Bender for production."),
        ("bender", "cms", "1.0.2", "staging", "I only deploy to production. Ask Marvin for staging."),
        ("marvin", "cms", "1.0.2", "qa", "I don't know an environment called “qa”. I deploy to staging."),
        ("marvin", "payroll", "1.0.2", None, "I don't know an app called “payroll”. I know: cms (Content Management System)"),
        ("marvin", "cms", "latest", None, "“latest” isn't a version I can deploy. A version looks like 1.0.2, 2.3 or 3.2.1-rc1."),
    ],
)
def test_requests_that_cannot_be_confirmed_say_why(setup, bot, app, version, environment, message):
    profiles, catalog = setup
    with pytest.raises(RequestRejected) as rejection:
        build_request(app, version, environment, profiles[bot], profiles, catalog)
    assert str(rejection.value).startswith(message)


def test_staleness():
    assert not confirmation_is_stale(1000.0, 1000.0 + 600, 600)
    assert confirmation_is_stale(1000.0, 1000.0 + 601, 600)
    assert confirmation_is_stale(None, 1000.0, 600)


@pytest.mark.parametrize("seconds, text", [(45, "45 sec"), (361, "6 min, 1 sec"), (3723, "1 h, 2 min, 3 sec"), (3600, "1 h, 0 min, 0 sec"), (0, "0 sec")])
def test_durations_read_as_in_the_reports(seconds, text):
    assert format_duration(seconds) == text
