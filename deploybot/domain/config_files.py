"""Reading the YAML files a user edits (apps.yml, assistants/*.yml), with errors that name the file."""
from __future__ import annotations

from pathlib import Path
from typing import Type

import yaml


def read_mapping(path: Path, error: Type[ValueError], what: str) -> dict:
    """The file's top-level mapping; an empty file gives {}."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except yaml.YAMLError as problem:
        raise error(f"{path}: not valid YAML: {problem}") from None
    if not isinstance(raw, dict):
        raise error(f"{path}: the {what} must be a YAML mapping at the top level")
    return raw
