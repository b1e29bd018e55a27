"""The safety net under every action: when deploybot's database cannot be reached, the user
is told so in plain words instead of getting no answer at all.

Each action's work is its act(); run() wraps it. The message can say "nothing was changed"
because every action writes to the database before it does anything else that lasts (the
one exception, a build Jenkins queued before its queue id could be saved, is handled in
deploybot.delivery.deployer and found again by the watcher).
"""
import logging
from abc import ABCMeta, abstractmethod
from typing import Any, Awaitable, Callable, Dict, List, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from deploybot.domain import messages

log = logging.getLogger(__name__)
Events = List[Dict[Text, Any]]


async def guarded(name: str, dispatcher: CollectingDispatcher, work: Callable[[], Awaitable[Events]]) -> Events:
    try:
        return await work()
    except SQLAlchemyError as error:
        log.error("%s: the database is unreachable: %s", name, error.__class__.__name__)
        dispatcher.utter_message(text=messages.DATABASE_UNREACHABLE)
        return []


# Abstract (ABCMeta), so that rasa-sdk does not register these bases as actions.
class DeployBotAction(Action, metaclass=ABCMeta):
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Events:
        return await guarded(self.name(), dispatcher, lambda: self.act(dispatcher, tracker, domain))

    @abstractmethod
    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Events:
        """The action's work."""


class DeployBotFormValidation(FormValidationAction, metaclass=ABCMeta):
    @abstractmethod
    def name(self) -> Text:
        """The form's validation action name."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Events:
        return await guarded(self.name(), dispatcher, lambda: super(DeployBotFormValidation, self).run(dispatcher, tracker, domain))
