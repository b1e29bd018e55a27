"""Freezes in chat (issue 24): an admin freezes an environment (or one app in it) over a period,
"freeze production from Friday 18:00 until Monday 08:00: release weekend"; anyone asks "any
freezes?"; an admin lifts a chat freeze with "lift the freeze on production" (the unlock
request: actions/locks.py hands it here when no lock is there to lift). Freezes from
freezes.yml are said but never lifted in chat. Every change and every refusal is audited.
Times are read and said in the bot's time zone (deploybot.domain.freeze_request)."""
import asyncio
import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import all_freezes, chat_freezes, first_entity, locks, permissions, profile, requester, time_zone
from actions.deployments import target
from actions.guard import DeployBotAction
from actions.token_channels import counts_as_admin
from deploybot.domain.deploy_request import RequestRejected
from deploybot.domain.deployments import now
from deploybot.domain.freeze_request import BadPeriod, freeze_period
from deploybot.domain.freezes import Occurrence, covering, current, upcoming
from deploybot.domain.lock_details import NO_REASON
from deploybot.pipeline.gate import when

Events = List[Dict[Text, Any]]
FREEZE_WORDS = re.compile(r"\b(?:un)?freez(?:e|es|ing)\b|\bfrozen\b", re.IGNORECASE)
EXAMPLE = "“freeze production from Friday 18:00 until Monday 08:00: release weekend”"


def period_said(start, end) -> str:
    zone = time_zone()
    return f"from {when(start, zone)} until {when(end, zone)}"


def occurrence_said(found: Occurrence) -> str:
    freeze = found.freeze
    by = f", set by {freeze.set_by}" if freeze.set_by else ""
    return f"{freeze.what()} {period_said(found.start, found.end)}: {freeze.reason} ({freeze.source}{by})"


def freeze_in_chat(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """Blocking (the database): run in a worker thread."""
    user, text = requester(tracker), tracker.latest_message.get("text") or ""
    app, environment = first_entity(tracker, "app"), first_entity(tracker, "environment")
    if not counts_as_admin(tracker, user):
        permissions().audit(user, "freeze", "refused", app=app, environment=environment, detail="not an admin")
        dispatcher.utter_message(text="Only an admin can freeze an environment. Nothing was frozen.")
        return
    try:
        app, environment = target(tracker, app_required=False)
        period = freeze_period(text, now().astimezone(time_zone()))
        if period is None:
            raise RequestRejected(f"From when until when? Say for example {EXAMPLE}. Nothing was frozen.")
        if period.reason == NO_REASON:
            raise RequestRejected(f"A freeze needs a reason, said to whoever it stops: for example {EXAMPLE}. Nothing was frozen.")
    except (RequestRejected, BadPeriod) as refusal:
        permissions().audit(user, "freeze", "refused", app=app, environment=environment, detail=str(refusal)[:500])
        said = str(refusal)
        dispatcher.utter_message(text=said if said.endswith("Nothing was frozen.") else f"{said} Nothing was frozen.")
        return
    freeze = chat_freezes().add(user, environment, app, period.reason, period.starts_at, period.ends_at, now())
    what = f"{app} on {environment}" if app else environment
    permissions().audit(user, "freeze", "done", app=app, environment=environment,
                        detail=f"#{freeze.chat_id} {period_said(period.starts_at, period.ends_at)}: {period.reason}"[:500])
    dispatcher.utter_message(text=f"Frozen {what} {period_said(period.starts_at, period.ends_at)}: {period.reason}. "
                                  f"Deploys there are refused in that time; an admin's break glass passes it. "
                                  f"To end it early: “lift the freeze on {environment}”.")


def lift_in_chat(dispatcher: CollectingDispatcher, tracker: Tracker, app: Optional[str], environment: str) -> bool:
    """"lift the freeze on production": True when it was about a freeze (said and audited),
    False when the unlock should go on as a lock's. Blocking: run in a worker thread."""
    moment, user = now(), requester(tracker)
    standing = [f for f in all_freezes(moment) if f.applies_to(app, environment)]
    if not standing:
        return False
    if not counts_as_admin(tracker, user):
        permissions().audit(user, "lift_freeze", "refused", app=app, environment=environment, detail="not an admin")
        dispatcher.utter_message(text="Only an admin can lift a freeze. The freeze stays.")
        return True
    lifted = chat_freezes().lift(user, environment, app, moment)
    from_file = [f for f in standing if f.chat_id is None]
    parts = []
    if lifted:
        permissions().audit(user, "lift_freeze", "done", app=app, environment=environment,
                            detail="; ".join(f"#{f.chat_id} {f.reason}" for f in lifted)[:500])
        parts.append("Lifted the freeze" + ("s" if len(lifted) > 1 else "") + " set in chat on "
                     + "; ".join(f"{f.what()} ({f.reason})" for f in lifted) + ".")
    if from_file:
        if not lifted:
            permissions().audit(user, "lift_freeze", "refused", app=app, environment=environment, detail="freezes.yml")
        parts.append("A freeze from freezes.yml cannot be lifted in chat (change the file, or break the glass for one deploy): "
                     + "; ".join(f"{f.what()}: {f.reason} ({f.source})" for f in from_file) + ".")
    still = covering(all_freezes(moment), app, environment, moment)
    parts.append(f"{environment} is still frozen until {when(still.end, time_zone())}." if still
                 else f"Deploys to {environment} are allowed again." if lifted else "")
    dispatcher.utter_message(text=" ".join(p for p in parts if p))
    return True


def freezes_said(environment: Optional[str]) -> str:
    """"any freezes?": the freezes running now and the next to come, on this bot's environments."""
    moment = now()
    freezes = [f for f in all_freezes(moment) if f.environment in profile().environments
               and (environment is None or f.environment == environment)]
    running = current(freezes, None, moment)
    coming = upcoming(freezes, None, None, moment, limit=3)
    where = environment or " and ".join(profile().environments)
    if not running and not coming:
        return f"No freezes on {where}, now or planned."
    lines = ["Frozen now: " + "; ".join(map(occurrence_said, running)) + "." if running else f"Nothing is frozen on {where} now."]
    if coming:
        lines.append("Next: " + "; ".join(map(occurrence_said, coming)) + ".")
    return " ".join(lines)


class ActionFreezeEnvironment(DeployBotAction):
    def name(self) -> Text:
        return "action_freeze_environment"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Events:
        await asyncio.to_thread(freeze_in_chat, dispatcher, tracker)
        return []


class ActionListFreezes(DeployBotAction):
    def name(self) -> Text:
        return "action_list_freezes"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Events:
        environment = first_entity(tracker, "environment")
        if environment is not None and environment not in profile().environments:
            environment = None  # another bot's environment: say this bot's
        dispatcher.utter_message(text=await asyncio.to_thread(freezes_said, environment))
        return []


def freeze_broken(app: str, environment: str) -> str:
    """"It broke through the freeze on production: release weekend (until ...)." for a break
    glass deploy into a freeze, or "". Blocking: run in a worker thread."""
    moment = now()
    found = covering(all_freezes(moment), app, environment, moment)
    if found is None:
        return ""
    return (f"It broke through the freeze on {found.freeze.what()}: {found.freeze.reason} "
            f"({found.freeze.source}, until {when(found.end, time_zone())}).")


def mentions_freeze(tracker: Tracker) -> bool:
    return FREEZE_WORDS.search(tracker.latest_message.get("text") or "") is not None


def no_lock_there(app: Optional[str], environment: str) -> bool:
    return locks().find(environment, app) is None
