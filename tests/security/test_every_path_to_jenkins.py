"""Every path into Jenkins passes the same checks (issue 23's required test). Each entry point
into a deployment is run against production on a stack where Bender needs both the
requester's two-factor code and one approval from someone else (who approves with their own
code), and trusts a build system. The Jenkins emulator and the deployments table are read at
every step: no build and no deployment record may appear until the code and every approval
are given; then (where the path deploys) exactly one build per app starts, with the right
version, asked by the requester.

The paths: the plain yes; a trusted build system's request (refused: it cannot give a code);
an approval completing (no approval is possible before the code); an admin's break glass
(skips approvals by design, never the code); a correction while the deploy waits for its
code; a promotion of the version on staging; a rollback; "same again"; a batch of two apps.

One stack for the module; each path has its own people (sender ids) and is judged by the
builds of its own apps on production since it began, so the paths may run in any order."""
import time
from typing import Dict, List

import pytest

from deploybot.domain.catalog import load_catalog
from tests import slack_requests as slack
from tests.safeguards import ASKED, enrol, wrong_code
from tests.security.evidence import builds_with, last_audit_id, refused
from tests.slack_chat import BOT_USERS, BUILD_SYSTEM, CHANNEL, build_system_says, posts, send_event
from tests.support import ADMIN, ROOT, deployments, grant, new_user_id, running_stack

# As tests/security/test_holding_approvals.py: a code, one approval with the approver's own
# code, and a build system Bender trusts. Marvin (staging, for the promotion) needs nothing.
SETTINGS = {"JENKINS_TIMEOUT": "5", "DEPLOYBOT_EMULATOR_BUILD_SECONDS": "1", "DEPLOYBOT_POLL_SECONDS": "1",
            "BENDER_TWO_FACTOR": "required", "BENDER_APPROVALS": "1", "BENDER_APPROVAL_TIMEOUT": "300s",
            "BENDER_APPROVER_TWO_FACTOR": "true", "BENDER_TRUSTED_BUILD_SYSTEMS": BUILD_SYSTEM}
NAMES = {"cms": "Content Management System", "shop": "Web Shop", "crm": "Customer Relationship Management",
         "billing": "Billing Service", "search": "Search API", "intranet": "Intranet Portal"}
CATALOG = load_catalog(ROOT / "apps.yml")
PARAMETER = {app: dict(CATALOG.app(app).jenkins_parameters) for app in NAMES}  # version → VERSION, ...
NOTHING_TO_APPROVE = ["Nothing waits for your approval. Nothing was done."]


@pytest.fixture(scope="module")
def gated(tmp_path_factory):
    with running_stack(tmp_path_factory.mktemp("every-path"), SETTINGS) as running:
        yield running


# -- codes: each authenticator step is accepted once per person (replays are refused) ---------

STEP_SECONDS = 30
LAST_STEP: Dict[str, int] = {}  # the last step each person's app gave a code of here


def enrolled(bender, user):
    app = enrol(bender, user)
    LAST_STEP[app.secret] = int(time.time() // STEP_SECONDS)  # enrol() confirmed with the current step's code
    return app


def fresh_code(app) -> str:
    """A code of a step not used yet and accepted now (one step of drift): the current step
    or the next; waits (at most one step) only when the person used both already."""
    while True:
        now = int(time.time() // STEP_SECONDS)
        step = max(LAST_STEP.get(app.secret, -1) + 1, now)
        if step <= now + 1:
            LAST_STEP[app.secret] = step
            return app.at(step * STEP_SECONDS)
        time.sleep(0.5)


# -- what reached Jenkins ---------------------------------------------------------------------


class Jenkins:
    """The production builds (queue items included) and deployment records of some apps,
    against what there was when the path began."""

    def __init__(self, stack, *apps: str):
        self.stack, self.apps = stack, apps
        self.builds_before = {app: {b["queue_id"] for b in self.builds(app)} for app in apps}
        self.records_before = {app: {d.id for d in self.records(app)} for app in apps}

    def builds(self, app: str) -> List[dict]:
        """Under the app's own job and parameter names (apps.yml: intranet has its own)."""
        job = CATALOG.app(app)
        return [b for b in self.stack.jenkins.builds(job.jenkins_job)
                if b["parameters"].get(PARAMETER[app]["environment"]) == "production"]

    def records(self, app: str) -> list:
        return deployments(self.stack, app=app, environment="production")

    def new_builds(self, app: str) -> List[dict]:
        return [b for b in self.builds(app) if b["queue_id"] not in self.builds_before[app]]

    def new_records(self, app: str) -> list:
        return [d for d in self.records(app) if d.id not in self.records_before[app]]

    def untouched(self, moment: str, *apps: str) -> None:
        for app in apps or self.apps:
            assert self.new_builds(app) == [], f"{moment}: a build of {app} reached Jenkins early"
            assert self.new_records(app) == [], f"{moment}: a deployment of {app} was recorded early"

    def after(self, bot, sender: str, text: str, moment: str, *apps: str) -> List[str]:
        """What the bot answers to text, once it is checked that nothing reached Jenkins by then
        (before the answer is: a path that jumps ahead fails here, saying where)."""
        replies = bot.say(sender, text)
        self.untouched(f"{moment} ({text!r} from {sender})", *apps)
        return [reply.get("text", "") for reply in replies]

    def exactly_one(self, app: str, version: str, requester: str, kind: str = "deploy") -> None:
        builds = self.new_builds(app)
        assert len(builds) == 1, f"not exactly one new build of {app}: {builds}; all: {self.stack.jenkins.control('GET', '/builds')}"
        [build] = builds
        names = PARAMETER[app]
        assert (build["parameters"][names["version"]], build["parameters"][names["requested_by"]]) == (version, requester), build
        [record] = self.new_records(app)
        assert (record.version, record.requested_by, record.kind) == (version, requester, kind)


# -- the steps every path shares ---------------------------------------------------------------


def approver_for(bender, *apps: str):
    """Someone else, granted the apps and enrolled: (user id, authenticator app)."""
    approver = new_user_id()
    app = enrolled(bender, approver)
    for each in apps:
        grant(bender, approver, each)
    return approver, app


def approve(bender, jenkins: Jenkins, approver, approver_app, what: str, requester: str, typed: str = "approve",
            waiting: tuple = ()) -> None:
    """The approver approves; the approval counts only with their own code, and until then
    nothing reaches Jenkins (of the apps waiting: all the path's unless named)."""
    assert jenkins.after(bender, approver, typed, "approved, before the approver's code", *waiting) == [
        f"Your approval of {what[0].lower() + what[1:]} counts with your own code:"
        " send me the 6-digit code your authenticator app shows now."]
    [approved] = bender.texts(approver, fresh_code(approver_app))
    assert approved.startswith(f"Approved: {what}. I'm telling {requester}"), approved


def deployed(bender, requester, app: str, version: str, count: int = 1) -> None:
    """The requester hears that it ran (the count-th time they deployed that version)."""
    bender.wait_for(requester, f"{NAMES[app]}: deployed version {version} to production in ", count=count)


def code_then_card(bender, jenkins: Jenkins, requester, code_app, what: str) -> None:
    """The requester's code releases the deploy only as far as its approval card."""
    [card] = jenkins.after(bender, requester, fresh_code(code_app), "after the code, before any approval")
    assert card.startswith(f"Approval needed: {what}, asked by {requester} (second factor given)."), card


def requester_for(bender, *apps: str):
    user = new_user_id()
    app = enrolled(bender, user)
    for each in apps:
        grant(bender, user, each)
    return user, app


def through_every_gate(bender, stack, app: str, version: str) -> None:
    """An earlier deployment of app on production, as a path needs one (a rollback's)."""
    user, code_app = requester_for(bender, app)
    approver, approver_app = approver_for(bender, app)
    jenkins = Jenkins(stack, app)
    what = f"Deploy {NAMES[app]} {version} to production"
    assert jenkins.after(bender, user, f"@bender deploy {app} {version}", "asked") == [f"{what}? (yes/no)"]
    assert jenkins.after(bender, user, "yes", "after the yes") == [f"{what} {ASKED}"]
    code_then_card(bender, jenkins, user, code_app, what)
    approve(bender, jenkins, approver, approver_app, what, user)
    deployed(bender, user, app, version)
    jenkins.exactly_one(app, version, user)


# -- the paths ------------------------------------------------------------------------------


def the_plain_yes(stack, bender):
    user, code_app = requester_for(bender, "cms")
    approver, approver_app = approver_for(bender, "cms")
    jenkins = Jenkins(stack, "cms")
    what = "Deploy Content Management System 23.1.0 to production"
    assert jenkins.after(bender, user, "@bender deploy cms 23.1.0", "asked") == [f"{what}? (yes/no)"]
    assert jenkins.after(bender, user, "yes", "after the yes") == [f"{what} {ASKED}"]
    code_then_card(bender, jenkins, user, code_app, what)
    approve(bender, jenkins, approver, approver_app, what, user)
    deployed(bender, user, "cms", "23.1.0")
    jenkins.exactly_one("cms", "23.1.0", user)


def a_trusted_build_systems_request(stack, bender):
    """A build system has no authenticator app: refused where a code is needed, alone or in a batch."""
    for app in ("search", "intranet"):
        [granted] = bender.texts(ADMIN, f"@bender auth {BUILD_SYSTEM} {app}")
        assert " may now deploy " in granted, granted
    approver, _ = approver_for(bender, "search", "intranet")
    jenkins = Jenkins(stack, "search", "intranet")
    since = last_audit_id(stack)
    thread = build_system_says(stack, "bender", "deploy search 23.2.0")
    [reply] = posts(stack, thread, "Deploy Search API 23.2.0 to production")
    assert reply["args"]["text"] == (
        "Deploy Search API 23.2.0 to production needs a two-factor code from the person who asks, and a build system cannot"
        " give one: a person has to ask for it. Nothing was deployed.")
    refused(stack, "deploy", since, actor=BUILD_SYSTEM, containing="a build system cannot give one")
    yes = slack.bot_message(BUILD_SYSTEM, f"<@{BOT_USERS['bender']}> yes", channel=CHANNEL)
    assert send_event(stack, "bender", {**yes, "thread_ts": thread}) == 200  # and if it says yes anyway
    posts(stack, thread, "Nothing is waiting for your confirmation.")
    jenkins.untouched("the build system said yes after the refusal")
    thread = build_system_says(stack, "bender", "deploy search 23.2.1 and intranet 23.2.2")
    posts(stack, thread, "Deploy Search API 23.2.1, Intranet Portal 23.2.2 to production needs a two-factor code")
    refused(stack, "deploy", since, actor=BUILD_SYSTEM, containing="batch: a build system cannot give a two-factor code")
    assert bender.texts(approver, "approve") == NOTHING_TO_APPROVE  # nor did it get as far as an approval
    # No wait here: whatever the requests start, they start before their replies, which came.
    jenkins.untouched("after the build system's requests")
    assert builds_with(stack, "REQUESTED_BY", BUILD_SYSTEM) == [] and deployments(stack, requested_by=BUILD_SYSTEM) == []


def an_approval_completing(stack, bender):
    """No approval can be given before the code; after the code and the approval, one build."""
    user, code_app = requester_for(bender, "crm")
    approver, approver_app = approver_for(bender, "crm")
    jenkins = Jenkins(stack, "crm")
    what = "Deploy Customer Relationship Management 23.3.0 to production"
    assert jenkins.after(bender, user, "@bender deploy crm 23.3.0", "asked") == [f"{what}? (yes/no)"]
    assert jenkins.after(bender, approver, "approve", "approval tried before the yes") == NOTHING_TO_APPROVE
    assert jenkins.after(bender, user, "yes", "after the yes") == [f"{what} {ASKED}"]
    for attempt in ("approve", "approve crm", "bender, approve"):  # before the code
        assert jenkins.after(bender, approver, attempt, "approvals tried before the code") == NOTHING_TO_APPROVE
    code_then_card(bender, jenkins, user, code_app, what)
    assert jenkins.after(bender, user, "approve", "the requester tried to approve") == NOTHING_TO_APPROVE  # never one's own
    approve(bender, jenkins, approver, approver_app, what, user)
    deployed(bender, user, "crm", "23.3.0")
    assert bender.texts(approver, "approve") == NOTHING_TO_APPROVE  # it is gone: no second build
    jenkins.exactly_one("crm", "23.3.0", user)


def break_glass(stack, bender):
    """An admin's emergency deploy skips the approvals (by design), never the code."""
    admin_app = enrolled(bender, ADMIN)
    jenkins = Jenkins(stack, "billing")
    assert jenkins.after(bender, ADMIN, "bender, emergency deploy billing 23.4.0, reason: outage INC-23",
                         "break glass, before the code") == [f"Deploy Billing Service 23.4.0 to production {ASKED}"]
    assert jenkins.after(bender, ADMIN, wrong_code(admin_app), "break glass, after a wrong code") == [
        "That code is not right (or not the current one). Nothing was deployed yet; send the current code to try again."
        " 4 wrong codes more and two-factor locks."]
    [started] = bender.texts(ADMIN, fresh_code(admin_app))
    assert started.startswith("OK, deploying Billing Service 23.4.0 to production"), started
    deployed(bender, ADMIN, "billing", "23.4.0")
    jenkins.exactly_one("billing", "23.4.0", ADMIN)
    [record] = jenkins.new_records("billing")
    assert (record.break_glass_reason, record.second_factor) == ("outage INC-23", True)


def a_correction_after_the_yes(stack, bender):
    """"no, 23.5.3" while the deploy of 23.5.2 waits for its code: 23.5.2 never reaches Jenkins,
    and 23.5.3 passes the yes, the code and the approval like any request."""
    user, code_app = requester_for(bender, "shop")
    approver, approver_app = approver_for(bender, "shop")
    jenkins = Jenkins(stack, "shop")
    was, what = "Deploy Web Shop 23.5.2 to production", "Deploy Web Shop 23.5.3 to production"
    assert jenkins.after(bender, user, "@bender deploy shop 23.5.2", "asked") == [f"{was}? (yes/no)"]
    assert jenkins.after(bender, user, "yes", "after the yes") == [f"{was} {ASKED}"]
    assert jenkins.after(bender, user, "no, 23.5.3", "corrected while the code was awaited") == [
        f"Dropped “{was}”: it was still waiting for your two-factor code, so nothing was deployed. Your correction is a new request:",
        f"{what}? (yes/no)"]
    assert jenkins.after(bender, user, "yes", "the corrected request confirmed") == [f"{what} {ASKED}"]
    code_then_card(bender, jenkins, user, code_app, what)
    approve(bender, jenkins, approver, approver_app, what, user)
    deployed(bender, user, "shop", "23.5.3")
    jenkins.exactly_one("shop", "23.5.3", user)
    assert builds_with(stack, "VERSION", "23.5.2") == []


def a_promotion(stack, bender):
    """"deploy the intranet version that's on staging" (Bender's promotion phrase, issue 16)."""
    marvin = stack.bots["marvin"]
    user, code_app = requester_for(bender, "intranet")
    approver, approver_app = approver_for(bender, "intranet")
    marvin.say(user, "deploy intranet 23.6.0")
    assert marvin.texts(user, "yes")[0].startswith("OK, deploying Intranet Portal 23.6.0 to staging")
    marvin.wait_for(user, "Intranet Portal: deployed version 23.6.0 to staging")
    jenkins = Jenkins(stack, "intranet")
    question = "Promote Intranet Portal 23.6.0 from staging to production"
    assert jenkins.after(bender, user, "@bender deploy the intranet version that's on staging", "promotion asked") == [f"{question}? (yes/no)"]
    [asked] = jenkins.after(bender, user, "yes", "promotion confirmed")
    assert asked.endswith(ASKED), asked
    what = "Deploy Intranet Portal 23.6.0 to production"
    code_then_card(bender, jenkins, user, code_app, what)
    approve(bender, jenkins, approver, approver_app, what, user)
    deployed(bender, user, "intranet", "23.6.0")
    jenkins.exactly_one("intranet", "23.6.0", user, kind="promotion")


def a_rollback(stack, bender):
    through_every_gate(bender, stack, "search", "23.7.0")
    through_every_gate(bender, stack, "search", "23.7.1")
    user, code_app = requester_for(bender, "search")
    approver, approver_app = approver_for(bender, "search")
    jenkins = Jenkins(stack, "search")
    assert jenkins.after(bender, user, "@bender roll back search to 23.7.0", "rollback asked") == [
        "Roll back Search API on production from 23.7.1 to 23.7.0? (yes/no)"]
    [asked] = jenkins.after(bender, user, "yes", "rollback confirmed")
    assert asked.endswith(ASKED), asked
    what = "Deploy Search API 23.7.0 to production"
    code_then_card(bender, jenkins, user, code_app, what)
    approve(bender, jenkins, approver, approver_app, what, user)
    deployed(bender, user, "search", "23.7.0")
    jenkins.exactly_one("search", "23.7.0", user, kind="rollback")


def same_again(stack, bender):
    """"same again" after a completed deploy: the repeat passes the code and the approval again
    (the requester's second code waits for an unused step: replays are refused)."""
    user, code_app = requester_for(bender, "cms")
    first_approver, first_app = approver_for(bender, "cms")
    what = "Deploy Content Management System 23.8.0 to production"
    jenkins = Jenkins(stack, "cms")
    assert jenkins.after(bender, user, "@bender deploy cms 23.8.0", "asked") == [f"{what}? (yes/no)"]
    assert jenkins.after(bender, user, "yes", "after the yes") == [f"{what} {ASKED}"]
    code_then_card(bender, jenkins, user, code_app, what)
    approve(bender, jenkins, first_approver, first_app, what, user)
    deployed(bender, user, "cms", "23.8.0")
    jenkins.exactly_one("cms", "23.8.0", user)

    approver, approver_app = approver_for(bender, "cms")
    jenkins = Jenkins(stack, "cms")
    assert jenkins.after(bender, user, "same again", "same again asked") == [f"{what}? (yes/no)"]
    assert jenkins.after(bender, user, "yes", "same again confirmed") == [f"{what} {ASKED}"]
    code_then_card(bender, jenkins, user, code_app, what)
    approve(bender, jenkins, approver, approver_app, what, user)
    deployed(bender, user, "cms", "23.8.0", count=2)
    jenkins.exactly_one("cms", "23.8.0", user)


def a_batch_of_two_apps(stack, bender):
    """One code for the batch; then each app waits for its own approval and starts alone."""
    user, code_app = requester_for(bender, "shop", "crm")
    shop_approver, shop_app = approver_for(bender, "shop")
    crm_approver, crm_app = approver_for(bender, "crm")
    jenkins = Jenkins(stack, "shop", "crm")
    [question] = jenkins.after(bender, user, "@bender deploy shop 23.9.0 and crm 23.9.1", "batch asked")
    assert question.startswith("Deploy these 2 apps to production?"), question
    assert jenkins.after(bender, user, "yes", "batch confirmed") == [f"Deploy Web Shop 23.9.0, Customer Relationship Management 23.9.1 to production {ASKED}"]
    for approver in (shop_approver, crm_approver):
        assert jenkins.after(bender, approver, "approve", "approval tried before the batch's code") == NOTHING_TO_APPROVE
    replies = jenkins.after(bender, user, fresh_code(code_app), "batch after the code, before any approval")
    cards = [text for text in replies if text.startswith("Approval needed: ")]
    assert [card.split(",")[0] for card in cards] == ["Approval needed: Deploy Web Shop 23.9.0 to production",
                                                      "Approval needed: Deploy Customer Relationship Management 23.9.1 to production"], replies
    approve(bender, jenkins, shop_approver, shop_app, "Deploy Web Shop 23.9.0 to production", user)
    deployed(bender, user, "shop", "23.9.0")
    jenkins.exactly_one("shop", "23.9.0", user)
    jenkins.untouched("one app of the batch approved, the other not", "crm")
    approve(bender, jenkins, crm_approver, crm_app, "Deploy Customer Relationship Management 23.9.1 to production", user,
            typed="approve crm", waiting=("crm",))
    deployed(bender, user, "crm", "23.9.1")
    jenkins.exactly_one("crm", "23.9.1", user)
    jenkins.exactly_one("shop", "23.9.0", user)


PATHS = [the_plain_yes, a_trusted_build_systems_request, an_approval_completing, break_glass, a_correction_after_the_yes,
         a_promotion, a_rollback, same_again, a_batch_of_two_apps]


@pytest.mark.parametrize("path", PATHS, ids=[path.__name__ for path in PATHS])
def test_no_path_reaches_jenkins_before_the_code_and_the_approvals(gated, path):
    path(gated, gated.bots["bender"])
