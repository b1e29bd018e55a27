"""A restated request is a question with an id, asked in one place; a yes answers exactly it.

- Each question gets a new, unguessable id (deploybot.rasa_glue.payloads.new_request_id). Its Yes/No
  buttons carry the id, so a click counts only for the question it was shown with: a click
  on a question that was replaced, expired or answered already is told so and does nothing.
- A typed yes or no counts only in the channel and thread where the question was asked;
  elsewhere the bot says where the question is.
- A typed yes counts only when it is clearly a yes (deploybot.policy.confirmations: confident,
  short, no foreign symbols); anything less asks the question again.
- Questions that are no longer open are remembered for a while (closed_requests) so that a
  late click hears what became of its question.
- On Slack, a click's question is updated to say what was clicked, by whom, and what came of
  it (channels/slack.py does the update; the action decides the words).
"""
import time
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.context import catalog, first_entity, message_metadata
from deploybot.policy import confirmations
from deploybot.domain import messages
from deploybot.rasa_glue import payloads
from deploybot.domain.deploy_request import DeployRequest
from deploybot.adapters.slack.custom_messages import REPLY_TO_KEY, UPDATE_KEY

Events = List[Dict[Text, Any]]
MAX_CLOSED = 10  # how many closed questions a conversation remembers


def asked_in(tracker: Tracker) -> Dict[str, Optional[str]]:
    """Where the latest message was written: the input channel, and on Slack the channel and thread."""
    metadata = message_metadata(tracker)
    return {"channel": tracker.get_latest_input_channel(),
            "out_channel": metadata.get("out_channel"), "thread": metadata.get("thread_id")}


def pending_question(tracker: Tracker) -> Optional[dict]:
    pending = tracker.get_slot("pending_deploy")
    return pending if isinstance(pending, dict) else None


def question_text(pending: dict) -> str:
    """The question as it was asked."""
    if pending.get("question"):
        return pending["question"]
    request = DeployRequest(pending.get("app"), pending.get("version"), pending.get("environment"))
    return messages.confirmation_question(request, catalog())


def restated(pending: dict) -> str:
    """The question as a statement: "Deploy Web Shop 3.6.1 to staging"."""
    if pending.get("restatement"):  # a batch's question has several lines; its one-line form
        return pending["restatement"]
    return question_text(pending).removesuffix(" (yes/no)").removesuffix("?")


def closed_requests(tracker: Tracker) -> Dict[str, dict]:
    closed = tracker.get_slot("closed_requests")
    return closed if isinstance(closed, dict) else {}


def close_pending(tracker: Tracker, fate: str) -> Events:
    """Remembers that the pending question is no longer open, and why."""
    pending = pending_question(tracker)
    if not pending or not pending.get("request_id"):
        return []
    closed = dict(closed_requests(tracker))
    closed[pending["request_id"]] = {"fate": fate, "question": question_text(pending)}
    return [SlotSet("closed_requests", dict(list(closed.items())[-MAX_CLOSED:]))]


def ask(dispatcher: CollectingDispatcher, tracker: Tracker, request: Optional[DeployRequest], kind: str = "deploy",
        question: Optional[str] = None, previous_fate: str = "replaced", batch: Optional[dict] = None,
        start_at: Optional[float] = None, schedule: Optional[str] = None) -> Events:
    """Asks the yes/no question for a complete request (kind: deploy, rollback or promotion),
    or for a batch of several apps (kind batch, request None, batch: {items, environment,
    blocked, restatement}: actions/batches.py). A scheduled deploy (actions/schedules.py) is
    asked with its start_at (epoch seconds) when it is scheduled, and at its time with the
    id of its row (schedule) for the last yes."""
    previous = pending_question(tracker)
    if previous and previous_fate == "replaced":
        dispatcher.utter_message(text=messages.replaced_request(restated(previous)))
    events = close_pending(tracker, previous_fate)
    request_id = payloads.new_request_id()
    text = question or messages.confirmation_question(request, catalog())
    dispatcher.utter_message(text=text, buttons=payloads.yes_no_buttons(request_id))
    pending = {"app": request.app if request else None, "version": request.version if request else None,
               "environment": request.environment if request else batch["environment"],
               "asked_at": time.time(), "kind": kind, "question": question,
               "request_id": request_id, "asked_in": asked_in(tracker), **(batch or {}),
               **({"start_at": start_at} if start_at else {}), **({"schedule": schedule} if schedule else {})}
    return events + [SlotSet("pending_deploy", pending)]


def clicked(tracker: Tracker) -> Optional[dict]:
    """The Slack click this message is, if any: {channel, ts, question, choice, user}."""
    click = message_metadata(tracker).get("clicked")
    return click if isinstance(click, dict) and click.get("ts") else None


def show_decision(dispatcher: CollectingDispatcher, tracker: Tracker, outcome: str) -> None:
    """On Slack, the clicked question now says what was clicked, by whom, and what came of it."""
    click = clicked(tracker)
    if click:
        text = messages.decided(click.get("question") or "", click.get("choice") or "", click.get("user") or "", outcome)
        dispatcher.utter_message(json_message={UPDATE_KEY: {"channel": click.get("channel"), "ts": click["ts"], "text": text}})


def why_not_an_answer(dispatcher: CollectingDispatcher, tracker: Tracker) -> Optional[str]:
    """None when this yes or no answers the pending question (or nothing is pending);
    otherwise says why it does not, and returns the reason for the audit log."""
    pending = pending_question(tracker)
    request_id = first_entity(tracker, "request")  # only a sealed click on the bots' own buttons has it
    if request_id is not None:
        if pending and pending.get("request_id") == request_id:
            return None
        fate = (closed_requests(tracker).get(request_id) or {}).get("fate", "unknown")
        dispatcher.utter_message(text=messages.closed_question(fate, question_text(pending) if pending else None))
        if fate not in ("confirmed", "cancelled"):  # an answered question shows its answer already
            show_decision(dispatcher, tracker, "no longer open, nothing was deployed")
        return f"click on a {fate} question"
    if pending is None:
        return None
    where = pending.get("asked_in")
    if isinstance(where, dict) and where != asked_in(tracker):
        dispatcher.utter_message(text=messages.question_elsewhere(restated(pending), messages.place_of_question(where)))
        return "answer outside the channel or thread of the question"
    return None


def why_not_a_clear_yes(dispatcher: CollectingDispatcher, tracker: Tracker) -> Optional[str]:
    """None when this message is a click on the pending question's Yes, or typed and clearly a
    yes, or nothing is pending; otherwise asks the question again (its buttons still count)
    and returns why, for the audit log."""
    pending = pending_question(tracker)
    message = tracker.latest_message
    if pending is None or any(e.get("entity") == "request" and e.get("extractor") == payloads.SEAL_KEY
                              for e in message.get("entities") or []):  # a sealed click is no typed message
        return None
    intent = message.get("intent") or {}
    doubt = confirmations.why_not_a_clear_yes(message.get("text"), intent.get("name"), intent.get("confidence"),
                                              confirmations.load_yes_rule())
    if doubt is None:
        return None
    dispatcher.utter_message(text=messages.NOT_A_CLEAR_YES)
    buttons = payloads.yes_no_buttons(pending["request_id"]) if pending.get("request_id") else None
    dispatcher.utter_message(text=question_text(pending), buttons=buttons)
    return f"not a clear yes ({doubt}): {str(message.get('text'))[:80]!r}"


def say_where(dispatcher: CollectingDispatcher, text: str, output_channel: str, reply_to: Optional[dict],
              buttons: Optional[list] = None) -> None:
    """Into the request's thread on Slack (wherever this message came from); elsewhere here."""
    if output_channel == "slack" and reply_to:
        dispatcher.utter_message(json_message={"text": text, REPLY_TO_KEY: reply_to, **({"buttons": buttons} if buttons else {})})
    elif buttons:
        dispatcher.utter_message(text=text, buttons=buttons)
    else:
        dispatcher.utter_message(text=text)
