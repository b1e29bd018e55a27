"""The environment gate (issue 24): the stage between `checked` and `asked`, and a rule of the
door. A gate is a list of checks; each answers, for one app, environment and requester at one
moment, the Block that closes the gate (a freeze, a queue in front of them) or None.

The dialogue runs the checks before it asks anything (a refusal names every rule that blocks
and when it opens); Deployer.start runs the door's checks again (Rules.gate) at the moment it
starts, so a request confirmed earlier (a queue turn, a scheduled deploy, a code given late)
cannot start into a freeze. Only an admin's break glass passes a Block that allows it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from typing import Callable, Iterable, Optional, Tuple

# The rules a gate, and "why can't I?", may name, in the order they are said.
RULES = ("grant", "lock", "freeze", "busy", "queue", "approvals pending")


@dataclass(frozen=True)
class Block:
    rule: str                               # one of RULES
    reason: str                             # plain words: "release weekend", "locked by theresa: db migration"
    opens_at: Optional[datetime] = None     # when it next opens (aware), where known
    break_glass_passes: bool = False        # an admin's break glass passes it (a freeze does)

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"unknown gate rule {self.rule!r}")


# (app, environment, requester, now) -> the Block, or None when this rule lets the request by.
Check = Callable[[str, str, str, datetime], Optional[Block]]


def blocks(checks: Iterable[Check], app: str, environment: str, requester: str, now: datetime) -> Tuple[Block, ...]:
    """Every Block that closes the gate for this request now, in the order of RULES."""
    found = [block for check in checks for block in [check(app, environment, requester, now)] if block is not None]
    return tuple(sorted(found, key=lambda block: RULES.index(block.rule)))


def standing(found: Iterable[Block], admin_broke_glass: bool) -> Tuple[Block, ...]:
    """The Blocks still closing the gate after an admin's break glass (if any)."""
    return tuple(block for block in found if not (admin_broke_glass and block.break_glass_passes))


def when(moment: datetime, zone: tzinfo = timezone.utc) -> str:
    """"Mon 2026-12-14 08:00 CET": a gate's times, in the bot's time zone, named."""
    local = moment.astimezone(zone)
    return f"{local:%a %Y-%m-%d %H:%M} {local.tzname() or 'UTC'}"


def said(block: Block, zone: tzinfo = timezone.utc) -> str:
    opens = f" (until {when(block.opens_at, zone)})" if block.opens_at else ""
    return f"{block.rule}: {block.reason}{opens}"


def why_closed(what: str, found: Iterable[Block], zone: tzinfo = timezone.utc) -> str:
    """The refusal: every rule that blocks, and when each opens where known."""
    lines = "; ".join(said(block, zone) for block in found)
    return f"I can't deploy {what} now. {lines}. Nothing was deployed."
