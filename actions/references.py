"""Deploy requests that name their version by reference (deploybot.domain.references): "redeploy
cms" takes what runs on the environment now, "deploy the cms version that's on staging" what
staging runs; to Bender that is the promotion he offers anyway. The result is an ordinary
request: restated, and deployed only after a yes."""
from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.context import deployment_store, entity_values, profile
from deploybot.domain.references import is_redeploy, source_environment


def source_named(tracker: Tracker):
    """The environment the latest message takes its version from ("... that's on staging"), if any."""
    environments = [(e.get("value"), e.get("start")) for e in tracker.latest_message.get("entities", [])
                    if e.get("entity") == "environment" and isinstance(e.get("start"), int)]
    return source_environment(tracker.latest_message.get("text") or "", environments)


def version_by_reference(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[Dict[Text, Any]]:
    """Slots for a deploy request with one app, no version and a reference to one."""
    apps = entity_values(tracker, "app")
    if entity_values(tracker, "version") or len(apps) != 1:
        return []
    app, text = apps[0], tracker.latest_message.get("text") or ""
    source = source_named(tracker)
    me = profile()
    if source and source == me.promote_from and not me.serves(source):
        # "deploy the cms version that's on staging" to Bender: the promotion, to his own environment.
        version = deployment_store().current_version(app, source)
        if version is None:
            dispatcher.utter_message(text=f"I have no successful deployment of {app} to {source} on record,"
                                          " so there is nothing to promote from there.")
            return [SlotSet("environment", None)]
        return [SlotSet("environment", None), SlotSet("version", version), SlotSet("promoted_from", source)]
    if source and not me.serves(source):
        return []  # another bot's environment: the request is turned down as usual
    if source or is_redeploy(text):
        environment = source or (entity_values(tracker, "environment") or [me.default_environment])[0]
        if not me.serves(environment):
            return []
        version = deployment_store().current_version(app, environment)
        if version is None:
            dispatcher.utter_message(text=f"I have no successful deployment of {app} to {environment} on record,"
                                          " so I can't tell which version runs there.")
            return []
        return [SlotSet("version", version)]
    return []
