"""Versions named by reference (deploybot.domain.references)."""
import pytest

from deploybot.domain.deploy_request import RequestRejected
from deploybot.domain.references import is_redeploy, rollback_target, source_environment


@pytest.mark.parametrize("text, redeploy", [
    ("redeploy cms", True), ("re-deploy the shop on staging", True), ("deploy cms again", True),
    ("push it again", True), ("deploy cms 1.0.2", False), ("deploy again?", True), ("deployment status", False),
])
def test_redeploy_words(text, redeploy):
    assert is_redeploy(text) is redeploy


def at(text, word):
    return [("staging", text.index(word))]


@pytest.mark.parametrize("text, source", [
    ("deploy the version that's on staging", "staging"),
    ("@bender deploy the cms version that is running on staging", "staging"),
    ("ship whatever is in staging to prod", "staging"),
    ("deploy cms 1.0.2 to staging", None),
    ("deploy cms on staging", None),
    ("deploy the new version on staging", None),
    ("deploy what's on staging", "staging"),
])
def test_the_source_environment_is_the_one_a_version_is_taken_from(text, source):
    assert source_environment(text, at(text, "staging")) == source


def test_rollback_targets():
    history = ["1.0.3", "1.0.3", "1.0.2", "1.0.1"]
    assert rollback_target(history, None, "cms", "staging") == ("1.0.3", "1.0.2")
    assert rollback_target(history, "1.0.1", "cms", "staging") == ("1.0.3", "1.0.1")
    with pytest.raises(RequestRejected, match="cms 1.0.3 is what runs on staging now"):
        rollback_target(history, "1.0.3", "cms", "staging")
    with pytest.raises(RequestRejected, match=r"cms 0.9.0 has not run on staging as far as I know.*deploy cms 0.9.0"):
        rollback_target(history, "0.9.0", "cms", "staging")
    with pytest.raises(RequestRejected, match="no earlier successful deployment"):
        rollback_target(["1.0.3"], None, "cms", "staging")
