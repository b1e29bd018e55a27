"""deploybot.adapters.slack.usergroups against the Slack fake: group handles and ids to members, kept
briefly, and every failure a GroupUnresolvable that says why (never an empty "anyone")."""
import pytest

from deploybot.adapters.slack import web_api
from deploybot.adapters.slack.settings import SlackSettings
from deploybot.adapters.slack.usergroups import GROUPS_TTL_SECONDS, GroupUnresolvable, UserGroups, is_group
from devtools.slack_fake import FakeSlack


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def fake():
    with FakeSlack() as running:
        running.add_usergroup("S0ONCALL01", "sre-oncall", ["U0THERESA", "U0WALTER"])
        running.add_usergroup("S0RETIRED1", "old-team", ["U0JBRUEDER"], disabled=True)
        yield running


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def groups(fake, clock):
    return UserGroups(web_api.web_client(SlackSettings("xoxb-bender-test", "secret", fake.api_url)), clock)


def test_entries_that_name_groups():
    assert [is_group(e) for e in ("@sre-oncall", "S0123ABC", "@", "U0THERESA", "theresa", "s0123abc", "SRE")] == \
        [True, True, True, False, False, False, False]


def test_a_handle_and_an_id_give_the_members(groups, fake):
    assert groups.members("@sre-oncall") == {"U0THERESA", "U0WALTER"}
    assert groups.members("S0ONCALL01") == {"U0THERESA", "U0WALTER"}
    assert [c["method"] for c in fake.calls()] == ["usergroups.list", "usergroups.users.list"]  # the id's members were kept


def test_members_are_kept_briefly(groups, fake, clock):
    assert groups.members("@sre-oncall") == {"U0THERESA", "U0WALTER"}
    fake.add_usergroup("S0ONCALL01", "sre-oncall", ["U0WALTER"])  # Theresa's shift ends
    clock.now += GROUPS_TTL_SECONDS - 1
    assert "U0THERESA" in groups.members("@sre-oncall")
    clock.now += 1
    assert groups.members("@sre-oncall") == {"U0WALTER"}
    assert len(fake.calls("usergroups.users.list")) == 2


@pytest.mark.parametrize("entry, setup, reason", [
    ("@nobody", lambda fake: None, "Slack has no (enabled) user group @nobody."),
    ("@old-team", lambda fake: None, "Slack has no (enabled) user group @old-team."),  # disabled groups approve nothing
    ("S0NOSUCH01", lambda fake: None, "Slack has no user group S0NOSUCH01."),
    ("S0RETIRED1", lambda fake: None, "Slack has no user group S0RETIRED1."),
    ("@Bad Handle", lambda fake: None, "@Bad Handle is not a Slack user group handle"),
    ("@sre-oncall", lambda fake: fake.fail_next("usergroups.list", "missing_scope"),
     "I could not ask Slack who is in the user group @sre-oncall (missing_scope)."),
    ("S0ONCALL01", lambda fake: fake.fail_next("usergroups.users.list", "plan_upgrade_required"),
     "I could not ask Slack who is in the user group S0ONCALL01 (plan_upgrade_required)."),
    ("S0ONCALL01", lambda fake: fake.rate_limit_next("usergroups.users.list", retry_after=1, times=10),
     "I could not ask Slack who is in the user group S0ONCALL01 (ratelimited)."),
])
def test_a_group_slack_cannot_resolve_is_an_error_that_says_why(groups, fake, entry, setup, reason):
    setup(fake)
    with pytest.raises(GroupUnresolvable) as unresolved:
        groups.members(entry)
    assert str(unresolved.value).startswith(reason)


def test_failures_are_not_kept(groups, fake):
    fake.fail_next("usergroups.users.list", "internal_error")
    with pytest.raises(GroupUnresolvable):
        groups.members("S0ONCALL01")
    assert groups.members("S0ONCALL01") == {"U0THERESA", "U0WALTER"}


def test_a_new_group_is_found_once_the_miss_is_old_enough(groups, fake, clock):
    with pytest.raises(GroupUnresolvable):
        groups.members("@release")
    fake.add_usergroup("S0RELEASE1", "release", ["U0MLOPEZ01"])
    with pytest.raises(GroupUnresolvable):
        groups.members("@release")  # no usergroups.list for every miss (a low-rate method)
    clock.now += 10
    assert groups.members("@release") == {"U0MLOPEZ01"}
    assert len(fake.calls("usergroups.list")) == 2
