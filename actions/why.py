""""Why can't I?" (issue 24, item 4), and the one list every refusal of a deploy names.

- `blocking`: every rule that blocks a deploy of an app to an environment for a requester now,
  in the order of gate.RULES: grant, lock, busy (deploybot/pipeline/blockers.py), the gate's own
  checks (context.gate_checks: freeze, queue) and, for "why can't I?", the requester's own
  request waiting for approvals.
- `check_all`: what ActionConfirmDeploy and a batch's `checked` run before the question. One
  rule alone refuses in its own words, as before the gate ("No: production is locked by ...");
  several refuse together (gate.why_closed), so nobody fixes one rule to meet the next.
- `ActionWhyBlocked`: the answer, for the sender only (identity is the sender id, never a
  name in the text): each rule and when it opens, or that nothing blocks and what would still
  be asked (the yes, a code, approvals).
"""
import asyncio
import re
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import (
    catalog, clearance_rules, database, deployment_store, first_entity, gate_checks, locks, permissions, profile, profiles,
    requester, time_zone,
)
from actions.guard import DeployBotAction
from deploybot.domain.deploy_request import DeployRequest, RequestRejected, check_app, check_environment
from deploybot.pipeline import blockers
from deploybot.pipeline.gate import Block, blocks, said, why_closed
from deploybot.policy.approvals import ApprovalStore

PLAIN_NAME = re.compile(r"[\w.-]{1,40}")


def blocking(app: str, environment: str, user: str, with_approvals: bool = True,
             now: Optional[datetime] = None) -> Tuple[Block, ...]:
    """Every rule that blocks this deploy now, in the order of gate.RULES."""
    checks = blockers.checks(permissions(), locks(), deployment_store(), ApprovalStore(database()), profile().id,
                             gate_checks(), time_zone(), with_approvals=with_approvals)
    return blocks(checks, app, environment, user, now or datetime.now(timezone.utc))


def refusal(request: DeployRequest, found: Tuple[Block, ...]) -> str:
    """One refusal naming every rule that blocks; a grant, lock or busy alone in its own words."""
    if len(found) == 1 and found[0].rule in ("grant", "busy"):
        return f"{found[0].reason}."
    if len(found) == 1 and found[0].rule == "lock":
        try:
            locks().check(request.app, request.environment)  # the lock's own refusal, with its expiry
        except RequestRejected as own:
            return str(own)
    return why_closed(f"{catalog().app(request.app).name} to {request.environment}", found, time_zone())


def check_all(request: DeployRequest, user: str) -> None:
    """Before the question: RequestRejected naming every rule that blocks (a waiting approval is none)."""
    found = blocking(request.app, request.environment, user, with_approvals=False)
    if found:
        raise RequestRejected(refusal(request, found))


def still_asked(app: str, environment: str) -> str:
    """What a deploy that nothing blocks would still ask for, by this bot's rules."""
    rules = clearance_rules()
    steps = ["your yes to the question"]
    if rules.needs_code(app, environment):
        steps.append("your two-factor code")
    needed = rules.approvals_needed(app, environment)
    if needed:
        steps.append(f"{needed} approval{'s' if needed > 1 else ''} from someone else before it starts")
    listed = ", then ".join(steps)
    return f"I'd still ask for {listed}."


def answer(app: str, environment: str, user: str) -> str:
    name = catalog().app(app).name
    found = blocking(app, environment, user)
    if not found:
        return (f"Nothing blocks you from deploying {name} to {environment} now. {still_asked(app, environment)}"
                f" Say for example “deploy {app} <version>”.")
    lines = "\n".join(f"• {said(block, time_zone())}" for block in found)
    count = "this rule blocks" if len(found) == 1 else f"these {len(found)} rules block"
    return f"You can't deploy {name} to {environment} now: {count} it.\n{lines}"


def asked_about(tracker: Tracker) -> Tuple[str, str]:
    """The app and environment asked about, checked against this bot (another bot's
    environment: ask that bot). RequestRejected says what is wrong."""
    environment = first_entity(tracker, "environment") or profile().default_environment
    check_environment(environment, profile(), profiles(), catalog())
    app = first_entity(tracker, "app")
    if not app:
        raise RequestRejected(f"Which app? Ask for example “why can't I deploy cms to {environment}?”. "
                              f"I know: {catalog().describe_apps()}.")
    found = catalog().app(app)
    if found is None:  # echoed only when it is a plain name: a chat renders markup and mentions
        named = f"an app called “{app}”" if PLAIN_NAME.fullmatch(app) else "that app"
        raise RequestRejected(f"I don't know {named}. I know: {catalog().describe_apps()}.")
    check_app(found.id, environment, catalog())
    return found.id, environment


class ActionWhyBlocked(DeployBotAction):
    def name(self) -> Text:
        return "action_why_blocked"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        try:
            app, environment = asked_about(tracker)
        except RequestRejected as rejection:
            dispatcher.utter_message(text=str(rejection))
            return []
        dispatcher.utter_message(text=await asyncio.to_thread(answer, app, environment, requester(tracker)))
        return []
