"""Slack's message text back into what the person typed, and text into what Slack must be sent.

Slack escapes `&`, `<` and `>` as `&amp;`, `&lt;`, `&gt;` and wraps references in angle
brackets (api.slack.com/reference/surfaces/formatting). User mentions stay `<@U…>`:
deploybot knows people by id, and the NLU recognises those tokens. A channel or user group
Slack gives no name for stays as Slack wrote it, since its name cannot be known here.
"""
from __future__ import annotations

import re

# One pass over references and escapes, so a decoded "&lt;" never starts a reference.
TOKEN = re.compile(r"<([^<>]*)>|&(amp|lt|gt);")
ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}
SPECIAL_MENTIONS = {"here", "channel", "everyone"}


def typed_text(text: str) -> str:
    """E.g. "deploy cms 1.0.5 -&gt; <#C024BE7LR|staging>" -> "deploy cms 1.0.5 -> #staging"."""
    return TOKEN.sub(decoded_token, text)


def decoded_token(match: re.Match) -> str:
    reference, entity = match.groups()
    return ENTITIES[entity] if entity else decoded_reference(reference)


def decoded_reference(reference: str) -> str:
    """The inside of <...>: a target, and after `|` the label Slack shows for it."""
    target, has_label, label = reference.partition("|")
    label = unescaped(label)
    if target.startswith("@"):
        return f"<{target}>"                              # a user: kept as Slack's mention
    if target.startswith("#"):
        return f"#{label}" if label else f"<{target}>"    # a channel
    if target.startswith("!"):
        return special(target[1:], label, reference)
    if label:
        return label                                      # a link or e-mail address with its text
    return unescaped(target).removeprefix("mailto:")


def special(command: str, label: str, reference: str) -> str:
    """<!here>, <!subteam^S012|@ops>, <!date^…|fallback>."""
    if command in SPECIAL_MENTIONS:
        return "@" + command
    if label:
        return label
    return f"<{unescaped(reference)}>"


def unescaped(text: str) -> str:
    return re.sub(r"&(amp|lt|gt);", lambda m: ENTITIES[m.group(1)], text)


# The references deploybot's own messages make: a person (<@U…>) and a channel (<#C…>).
# Captured, so that splitting on them keeps them (at the odd places of the parts).
OWN_REFERENCE = re.compile(r"(<(?:@[UW][A-Z0-9]{2,}|#[CG][A-Z0-9]{2,})>)")


def for_slack(text: str) -> str:
    """Text for a message or an mrkdwn text object: `&`, `<` and `>` escaped, as Slack asks of
    text not meant as markup. Whatever a person typed and the bot repeats (a lock reason, an app
    name it does not know, a display name) then shows as typed and never becomes an @channel
    ping or a link; only person and channel references stay references."""
    parts = OWN_REFERENCE.split(text)
    return "".join(part if n % 2 else escaped(part) for n, part in enumerate(parts))


def escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
