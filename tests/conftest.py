"""Shared fixtures. The `stack` fixture runs the real local stack (deploybot.cli.stack): both
Rasa servers with the trained model, both action servers and the Jenkins emulator, on free
loopback ports, with databases of its own; both bots are Slack apps posting to a Slack Web
API fake in this process. It is started once per test session, and its
shutdown on SIGTERM is checked."""
import pytest

from tests.support import Bot, new_user_id, running_stack

# Quick builds, quick polling, a build limit and a Jenkins timeout a test can wait for. The
# build limit is more than twice the longest build a test runs (6 s), and the hanging
# build's test waits for it.
TEST_SETTINGS = {"JENKINS_TIMEOUT": "5", "DEPLOYBOT_EMULATOR_BUILD_SECONDS": "2", "DEPLOYBOT_POLL_SECONDS": "1",
                 "DEPLOYBOT_BUILD_TIMEOUT_SECONDS": "15", "DEPLOYBOT_JENKINS_PUSH_TOKEN": "test-push-token",
                 # No weekly digest in the management channels that tests read (a Monday
                 # morning run would get one); tests/integration/test_ledger_digest.py turns it on.
                 "DEPLOYBOT_DIGEST": "off"}


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    with running_stack(tmp_path_factory.mktemp("var"), TEST_SETTINGS) as running:
        yield running


@pytest.fixture(scope="session")
def safeguarded(tmp_path_factory):
    """A second stack with Bender's two-factor codes required (issue 14): the production
    safeguards tests and attacks share it; the `stack` above keeps codes off."""
    from tests.safeguards import SAFEGUARD_SETTINGS

    with running_stack(tmp_path_factory.mktemp("safeguards"), SAFEGUARD_SETTINGS) as running:
        yield running


@pytest.fixture
def marvin(stack) -> Bot:
    return stack.bots["marvin"]


@pytest.fixture
def bender(stack) -> Bot:
    return stack.bots["bender"]


@pytest.fixture
def user() -> str:
    return new_user_id()


def pytest_collection_modifyitems(items):
    for item in items:
        if {"stack", "safeguarded"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.stack)


@pytest.fixture
def speech_tools() -> None:
    """The voice tests' synthetic speech needs espeak-ng and sox: missing, the test fails."""
    import shutil

    missing = [tool for tool in ("espeak-ng", "sox") if not shutil.which(tool)]
    if missing:
        pytest.fail(f"{' and '.join(missing)} missing: run scripts/ensure-services (make test does)")
