"""The bots' plain messages. Deployment wording is exact and has no personality."""
from __future__ import annotations

from datetime import timezone, tzinfo
from typing import Iterable

from deploybot.domain.catalog import Catalog
from deploybot.domain.deploy_request import DeployRequest
from deploybot.domain.profiles import AssistantProfile


def format_duration(seconds: float) -> str:
    """45 sec, 6 min, 1 sec, 1 h, 2 min, 3 sec."""
    total = max(0, int(round(seconds)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h"] if hours else []
    if hours or minutes:
        parts.append(f"{minutes} min")
    parts.append(f"{secs} sec")
    return ", ".join(parts)


def restate(request: DeployRequest, catalog: Catalog) -> str:
    """The canonical form of a request: "Deploy Content Management System 1.0.2 to staging"."""
    return f"Deploy {catalog.app(request.app).name} {request.version} to {request.environment}"


def confirmation_question(request: DeployRequest, catalog: Catalog) -> str:
    return f"{restate(request, catalog)}? (yes/no)"


CANCELLED = "Cancelled, nothing was deployed."
# A typed answer that is not clearly a yes (deploybot.policy.confirmations); the question follows.
NOT_A_CLEAR_YES = "I deploy only on a clear yes, and I can't read that as one, so nothing was deployed. Yes or no?"
NOTHING_PENDING = "Nothing is waiting for your confirmation. To deploy, say for example “deploy cms 1.0.2”."


def stale_confirmation(timeout_seconds: int) -> str:
    return f"That request waited more than {format_duration(timeout_seconds)} for your answer, so I'm asking again."


def replaced_request(previous: str) -> str:
    return f"That replaces your pending request ({previous}), which will not be deployed."


# Corrections to a request (actions/corrections.py).
NOTHING_TO_CORRECT = ("There is no request to correct: nothing is waiting for your confirmation and you have not"
                      " deployed anything here yet. To deploy, say for example “deploy cms 1.0.2”.")


NOTHING_TO_REPEAT = ("You have not deployed anything here yet, so there is nothing to do again."
                     " To deploy, say for example “deploy cms 1.0.2”.")


def still_open(question: str) -> str:
    return f"Nothing was changed; your question is still open: {question}"


def already_the_request(question: str) -> str:
    return f"That is the request already: {question}"


def correction_cancels(restatement: str) -> str:
    return (f"So your pending request ({restatement}) is cancelled, nothing was deployed. "
            "Say the whole request again, for example “deploy cms 1.0.2”.")


def correction_elsewhere(restatement: str, place: str) -> str:
    return f"Your question ({restatement}) is waiting {place}: correct it there. Nothing was changed or deployed."


def held_deploy_dropped(restatement: str) -> str:
    return (f"Dropped “{restatement}”: it was still waiting for your two-factor code, so nothing"
            " was deployed. Your correction is a new request:")


def too_late_to_correct(restatement: str, deployment_id: int, state: str) -> str:
    return (f"Too late to change that: you confirmed “{restatement}” already (deployment #{deployment_id},"
            f" {state.replace('_', ' ')}). I'll take your correction as a new request.")


def too_late_to_correct_batch(restatement: str) -> str:
    return (f"Too late to change that: you confirmed “{restatement}” already, and each app goes on as confirmed."
            " I'll take your correction as a new request for the same apps.")


# What a click on a question that is no longer open hears (by what became of the question).
CLOSED_QUESTION = {
    "replaced": "That question was replaced by a newer one, so I did nothing with this click.",
    "expired": "That question expired and I asked again, so I did nothing with this click.",
    "confirmed": "That question was answered already (yes); this click changes nothing.",
    "cancelled": "That question was answered already (no); this click changes nothing.",
}
UNKNOWN_QUESTION = "That question is no longer open, so I did nothing with this click."


def closed_question(fate: str, open_question: str | None) -> str:
    text = CLOSED_QUESTION.get(fate, UNKNOWN_QUESTION)
    return text + (f" The open question is: {open_question}" if open_question else "")


def question_elsewhere(restatement: str, place: str) -> str:
    return (f"Your question ({restatement}) is waiting {place}: answer it there. "
            "A yes counts only where the question was asked, so nothing was deployed.")


def place_of_question(asked_in: dict) -> str:
    """Where a question was asked, for people: "in <#C0DEPLOYS>, in the thread of your request"."""
    channel, out_channel, thread = asked_in.get("channel"), asked_in.get("out_channel"), asked_in.get("thread")
    if channel == "slack" and out_channel:
        where = "in our direct messages" if str(out_channel).startswith("D") else f"in <#{out_channel}>"
        return where + (", in the thread of your request" if thread else "")
    return {"callback": "in the chat where you asked", "rest": "in the REST conversation where you asked"}.get(
        channel, f"in the {channel} conversation where you asked")


def decided(question: str, choice: str, user: str, outcome: str) -> str:
    """A Slack question after a click: what was clicked, by whom, and what came of it."""
    return f"{question}\n→ {choice} (<@{user}>): {outcome}"


def lock_lifted(lifted, zone: tzinfo = timezone.utc) -> str:
    """A lock that expired: "The lock on staging (set by theresa: the load test) expired at ..."."""
    what = f"{lifted.app} on {lifted.environment}" if lifted.app else lifted.environment
    expired = lifted.expires_at if lifted.expires_at.tzinfo else lifted.expires_at.replace(tzinfo=timezone.utc)
    expired = expired.astimezone(zone)
    return (f"The lock on {what} (set by {lifted.locked_by}: {lifted.reason}) expired at {expired:%Y-%m-%d %H:%M}"
            f" {expired.tzname() or 'UTC'},"
            f" so I lifted it: deployments to {what} are allowed again.")


def ask_app(catalog: Catalog) -> str:
    return f"Which app? I know {', '.join(catalog.apps)}."


def ask_version(app_name: str) -> str:
    return f"Which version of {app_name}?"


def one_at_a_time(kind: str, values: Iterable[str]) -> str:
    """The whole answer to a request naming several apps, versions or environments: it asks
    nothing about any one of them (that would pick one of several)."""
    values = list(values)
    return (f"One deployment at a time, please: you named several {kind}s ({', '.join(values)}), so I did nothing"
            f" with this request and nothing was deployed. Ask for each one on its own, for example"
            f" “deploy {values[0] if kind == 'app' else 'cms'}"
            f"{' ' + values[0] if kind == 'version' else ''}{' to ' + values[0] if kind == 'environment' else ''}”.")


def one_target_at_a_time(kind: str, values: Iterable[str]) -> str:
    """Cancel, rollback, lock and unlock name one app and environment; several are refused whole."""
    values = list(values)
    return (f"You named several {kind}s ({', '.join(values)}), and this works on one {kind} at a time, so I did"
            f" nothing. Say it for each {kind} on its own.")


def promotion_question(request: DeployRequest, source: str, catalog: Catalog) -> str:
    """"Promote Content Management System 1.0.2 from staging to production? (yes/no)"."""
    return f"Promote {catalog.app(request.app).name} {request.version} from {source} to {request.environment}? (yes/no)"


def rollback_question(request: DeployRequest, current: str, catalog: Catalog, reason: str | None = None) -> str:
    name = catalog.app(request.app).name
    because = f" (reason: {reason})" if reason else ""
    return f"Roll back {name} on {request.environment} from {current} to {request.version}{because}? (yes/no)"


def capabilities(profile: AssistantProfile) -> str:
    environment = profile.default_environment
    return "\n".join(
        [
            f"• deploy an app: “deploy cms 1.0.2 to {environment}” (I'll ask for what's missing, then for a yes)",
            f"• several apps at once: “deploy cms 1.0.2 and shop 2.0.1 to {environment}” (one yes, a deployment each)",
            "• change it before the yes: “make it 1.0.4”, “I meant the shop”; again: “same again”, “redeploy cms”",
            "• list the apps I know: “which apps?”",
            f"• status and history: “status of cms”, “history of {environment}”",
            "• cancel or roll back: “cancel the cms deployment”, “roll back shop”, “roll back shop to 2.0.1”",
            f"• lock and unlock: “lock {environment}”, “lock {environment} for 2 hours: load test”, “unlock {environment}”",
            "• what blocks you: “why can't I deploy cms?”, “can I deploy shop now?”",
            "• permissions: “who can deploy cms?”, “what can I deploy?”"
            + ("; admins: “auth jbrueder cms”, “revoke jbrueder cms”" if profile.who_may_deploy == "granted" else ""),
            "• the ledger: “how many deploys this week?”, “dashboard link” (a sign-in link to the dashboard, sent only to you)",
        ]
    )


def app_list(catalog: Catalog, profile: AssistantProfile) -> str:
    lines = [
        f"• {app.id}: {app.name}"
        for app in catalog.apps.values()
        if any(profile.serves(env) for env in app.environments)
    ]
    return f"I deploy these apps to {' and '.join(profile.environments)}:\n" + "\n".join(lines)

# What every action says when deploybot's own database cannot be reached (actions/guard.py).
DATABASE_UNREACHABLE = ("I can't reach my database right now, so I could not do that and nothing was changed."
                        " Please try again in a minute; if it keeps happening, tell whoever runs me.")
