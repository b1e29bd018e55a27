"""When a conversation gets a new Rasa session: after an hour of silence (Rasa's
session_expiration_time), and also once a session is long and the conversation is at rest.

Rasa only starts a new session after session_expiration_time without a user message. A
person who talks to a bot more often than that, or a build system posting every few
minutes, keeps one session forever, and every turn reloads and re-reads all of it: the
SQL tracker store loads every event since the session started, and RulePolicy rebuilds
the dialogue state of every past turn several times per turn. Measured on this machine
(one user, "deploy <app> <version>" then "no" over REST, about 50 events each): a
turn took ~50 ms on a new conversation and ~270 ms after 40 of them.

A conversation at rest has nothing a new session would lose: no form is active and no
slot holds anything (the rules depend on the intent and the active form only, and the
actions on slots; see data/rules.yml). So a message arriving when the session at rest
already has MAX_EVENTS_AT_REST events starts a new one, as an expired session would. A
pending confirmation or a half-filled request is never at rest, so it is never cut off.
A deploy or an approval held for a two-factor code is no slot but a row keyed by the
conversation, not the session (deploybot.pipeline.held): a new session leaves it waiting.
Older sessions stay in the tracker store (the tracker API's full tracker still has them).
"""
from __future__ import annotations

from rasa.shared.core.constants import SESSION_START_METADATA_SLOT
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker

# A deploy request and its answer are about 50 events. A report's resend is checked against
# the outbox's said-mark (deploybot.domain.outbox), not the session, so a new session between a
# report and its resend is harmless.
MAX_EVENTS_AT_REST = 80

# Rasa's record of the message metadata a session started with, and the questions that are
# closed already (only used to tell a late click what became of its question): not
# conversation state that a new session would lose.
NOT_CONVERSATION_STATE = frozenset({SESSION_START_METADATA_SLOT, "closed_requests"})


def events_in_session(tracker: DialogueStateTracker) -> int:
    """Events since the latest SessionStarted (all of them if there is none)."""
    count = 0
    for event in reversed(tracker.events):
        if isinstance(event, SessionStarted):
            break
        count += 1
    return count


def at_rest(tracker: DialogueStateTracker) -> bool:
    """No active form and every slot at its initial value."""
    if tracker.active_loop_name:
        return False
    return all(slot.value == slot.initial_value
               for name, slot in tracker.slots.items() if name not in NOT_CONVERSATION_STATE)


def should_start_new_session(tracker: DialogueStateTracker) -> bool:
    return events_in_session(tracker) >= MAX_EVENTS_AT_REST and at_rest(tracker)
