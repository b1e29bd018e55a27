"""The slots a deploy request is filled into, and the requester's channel check before a yes
can count: shared by the single-app dialogue (actions/deploy.py) and batches (actions/batches.py)."""
from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from actions.context import message_metadata, requester
from deploybot.policy.identity import check_requester

REQUEST_SLOTS = ("app", "version", "environment")
START_SLOT = "scheduled_start"  # when a scheduled deploy should start, as its message said (actions/schedules.py)
BATCH_SLOT = "batch"  # {items: [{app, version, kind, promoted_from}], environment} while the request is filled in


def clear_request() -> List[Dict[Text, Any]]:
    return [SlotSet(slot, None) for slot in REQUEST_SLOTS + ("pending_deploy", "promoted_from", BATCH_SLOT, START_SLOT)]


def check_requester_of(tracker: Tracker) -> None:
    """The requester must be a plain id for its channel before anything can reach Jenkins."""
    check_requester(requester(tracker), tracker.get_latest_input_channel(), message_metadata(tracker).get("build_system"))
