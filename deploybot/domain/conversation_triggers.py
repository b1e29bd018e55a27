"""What the background loops share (the lock expiry, the deploy queue, scheduled deploys): a
round run again every poll interval in a thread of its own, and a message put into one
conversation through Rasa's trigger_intent with an EXTERNAL_* intent, which only the bot's
API token may send (deploybot/rasa_glue/api_guard.py)."""
from __future__ import annotations

import asyncio
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Mapping, Optional

log = logging.getLogger(__name__)


async def every(poll_seconds: float, round: Callable[[], None], name: str) -> None:
    """Runs `round` now and then every poll interval; a round that fails is logged, never the end."""
    loop = asyncio.get_running_loop()
    rounds = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
    while True:
        try:
            await loop.run_in_executor(rounds, round)
        except Exception:  # never let one bad round stop it
            log.exception("%s round failed", name)
        await asyncio.sleep(poll_seconds)


def trigger_intent(rasa_url: str, token: Optional[str], conversation_id: str, output_channel: Optional[str],
                   intent: str, entities: Mapping[str, str], timeout: float = 30.0) -> bool:
    """POST /conversations/<id>/trigger_intent on the bot's Rasa; False when it was not taken
    (the caller sends it again later)."""
    conversation = urllib.parse.quote(conversation_id, safe="")
    query = {"output_channel": output_channel or "rest"}
    if token:
        query["token"] = token
    url = f"{rasa_url}/conversations/{conversation}/trigger_intent?{urllib.parse.urlencode(query)}"
    request = urllib.request.Request(url, data=json.dumps({"name": intent, "entities": dict(entities)}).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(request, timeout=timeout).close()
    except (urllib.error.URLError, OSError) as error:
        log.warning("could not send %s %s to conversation %s: %s", intent, dict(entities), conversation_id, error)
        return False
    return True
