"""The Now page's freezes (issue 24): those running and the next to come, from freezes.yml
(read in the time zone of the bot that serves each environment, as that bot reads it) and
those set in chat (the database)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Mapping, Optional, Tuple
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from deploybot.domain.catalog import Catalog
from deploybot.domain.chat_freezes import standing_in
from deploybot.domain.freeze_file import FreezeFileError, load_freezes
from deploybot.domain.freezes import Freeze, Occurrence, current, upcoming
from deploybot.domain.profiles import load_profiles


@dataclass(frozen=True)
class FreezesNow:
    running: Tuple[Occurrence, ...]
    next: Tuple[Occurrence, ...]
    problem: Optional[str] = None     # freezes.yml could not be read: said on the page


def file_freezes(profiles: Mapping, catalog: Catalog) -> Tuple[Freeze, ...]:
    """freezes.yml's freezes, each in the time zone of a bot serving its environment."""
    found = {}
    for profile in profiles.values():
        for freeze in load_freezes(None, profile.time_zone, catalog.environments, catalog.apps):
            if freeze.environment in profile.environments:
                found.setdefault(freeze.source, freeze)
    return tuple(found.values())


@lru_cache(maxsize=1)
def read_once(catalog: Catalog) -> Tuple[Tuple[Freeze, ...], Optional[str]]:
    """The file is read once per dashboard, as the bots read it once at start."""
    try:
        return file_freezes(load_profiles(), catalog), None
    except FreezeFileError as wrong:
        return (), str(wrong)


def freezes_now(session: Session, catalog: Catalog, at: datetime, limit: int = 5) -> FreezesNow:
    from_file, problem = read_once(catalog)
    freezes = list(from_file) + standing_in(session, at, ZoneInfo("UTC"))
    return FreezesNow(current(freezes, None, at), upcoming(freezes, None, None, at, limit=limit), problem)
