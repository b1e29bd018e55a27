"""Messages fitted to Slack's limits before they go (api.slack.com/reference/block-kit,
chat.postMessage): texts shortened or split, extra blocks, buttons and options left out,
mrkdwn escaped."""
from __future__ import annotations

import copy
from typing import Any, List, Optional

from deploybot.adapters.slack.formatting import for_slack

# Slack's limits (api.slack.com/reference/block-kit, chat.postMessage).
MAX_TEXT = 40_000
SAFE_TEXT = 4_000           # Slack's advice for a readable message; used once Slack refused one
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3_000
MAX_FIELDS, MAX_FIELD_TEXT = 10, 2_000
MAX_ACTIONS = 25
MAX_BUTTON_TEXT = 75
MAX_OPTIONS = 100
MAX_HEADER_TEXT = 150


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def split_text(text: str, limit: int) -> List[str]:
    """Parts of at most `limit` characters, cut at a line break, else a space, where there is one."""
    parts = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit + 1)
        if cut <= 0:
            cut = text.rfind(" ", 0, limit + 1)
        if cut <= 0:
            parts.append(text[:limit])
            text = text[limit:]
        else:
            parts.append(text[:cut])
            text = text[cut + 1:]  # the line break or space the cut replaces
    return parts + [text]


def fit_blocks(blocks: List[dict]) -> List[dict]:
    """The blocks within Slack's limits: longer texts shortened, extra blocks, buttons and options
    left out; mrkdwn texts escaped (plain_text is never read as markup)."""
    fitted = copy.deepcopy(blocks[:MAX_BLOCKS])
    for block in fitted:
        if block.get("type") == "section":
            escape_mrkdwn(block.get("text"))
            shorten_text_object(block.get("text"), MAX_SECTION_TEXT)
            if isinstance(block.get("fields"), list):
                block["fields"] = block["fields"][:MAX_FIELDS]
                for item in block["fields"]:
                    escape_mrkdwn(item)
                    shorten_text_object(item, MAX_FIELD_TEXT)
            fit_element(block.get("accessory"))
        elif block.get("type") == "header":
            shorten_text_object(block.get("text"), MAX_HEADER_TEXT)
        elif block.get("type") == "actions" and isinstance(block.get("elements"), list):
            block["elements"] = block["elements"][:MAX_ACTIONS]
            for element in block["elements"]:
                fit_element(element)
    return fitted


def fit_element(element: Any) -> None:
    if not isinstance(element, dict):
        return
    if element.get("type") == "button":
        shorten_text_object(element.get("text"), MAX_BUTTON_TEXT)
    elif element.get("type") == "static_select" and isinstance(element.get("options"), list):
        element["options"] = element["options"][:MAX_OPTIONS]


def escape_mrkdwn(obj: Any) -> None:
    if isinstance(obj, dict) and obj.get("type") == "mrkdwn" and isinstance(obj.get("text"), str):
        obj["text"] = for_slack(obj["text"])


def shorten_text_object(obj: Any, limit: int) -> None:
    if isinstance(obj, dict) and isinstance(obj.get("text"), str):
        obj["text"] = shorten(obj["text"], limit)


def plain_text_of(text: str, blocks: Optional[List[dict]]) -> str:
    """The message's text, or its sections' and headers' texts when it has none."""
    if text or not blocks:
        return text
    texts = [b["text"]["text"] for b in blocks
             if b.get("type") in ("section", "header") and isinstance(b.get("text"), dict) and b["text"].get("text")]
    return "\n".join(texts)
