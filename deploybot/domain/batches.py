"""Several apps in one request ("deploy cms 1.0.2 and shop 2.0.1 to staging"): which version
goes with which app, and what the bots say about such a batch.

- Each version belongs to the app it follows ("cms 1.0.2 and shop 2.0.1"), or to the app it
  precedes with "of"/"for" ("1.0.2 of cms and 2.0.1 of shop"). One version is for every app
  only when the message says so ("both", "each", "all", "all three", "for all" after the
  first app); otherwise an app without its own version has none, and the bot asks for it.
  A version is never guessed from another app's.
- Anything else is refused as a whole, never repaired: an app named twice, two versions for
  one app, a version that follows no app.
- Every app of a batch is its own deployment (own checks, Jenkins build and reports); the
  batch adds one question before and one summary after (deploybot.domain.batch_store keeps it).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Mapping, Optional, Sequence

from deploybot.domain.catalog import Catalog
from deploybot.domain.deploy_request import RequestRejected

MAX_APPS = 10  # a batch longer than this is more likely a mistake than a plan
# Words right next to the only version that make it everybody's: "both 3.1", "2.0.0 each",
# "all three at 1.4", "3.1 for all of them". Only next to it (no other entity between, a few
# words at most): "deploy cms and search 3.1 to staging, that's all" gives cms no version.
ONE_FOR_ALL = re.compile(r"\b(?:both|each|all|every(?:one|thing| app)?)\b", re.IGNORECASE)
NEAR = 15  # characters either side of the version
# ... or right around the list of apps: "both cms and shop 1.0", "all three of cms, shop and crm
# at 9.0.0", "1.0.0-rc1 for search and intranet each".
BEFORE_THE_APPS = re.compile(r"\b(?:both|all(?:\s+(?:two|three|four|five|\d+))?|each|every(?:one)?)\s+(?:of\s+)?(?:the\s+)?$",
                             re.IGNORECASE)
AFTER_THE_APPS = re.compile(r"^[\s,]*(?:both|each|all)\b", re.IGNORECASE)
# What may stand between a version and the app it is for: "1.0.2 of cms", "2.0 for the shop".
VERSION_OF = re.compile(r"\s*(?:of|for)\s+(?:the\s+)?(?:app\s+)?", re.IGNORECASE)


class UnclearBatch(RequestRejected):
    """Which version goes with which app cannot be told: the request is refused as a whole."""


@dataclass(frozen=True)
class Mention:
    value: str
    start: int
    end: int


@dataclass
class BatchItem:
    app: str
    version: Optional[str] = None
    kind: str = "deploy"            # deploy, or promotion (Bender: the version the source runs)

    def as_dict(self) -> dict:
        return {"app": self.app, "version": self.version, "kind": self.kind}


def mentions(entities: Sequence[Mapping], name: str) -> List[Mention]:
    """The entity's values in text order (an entity without a position goes last)."""
    found = [Mention(str(e.get("value")), int(e.get("start", 10**6)), int(e.get("end", 10**6)))
             for e in entities if e.get("entity") == name and e.get("value")]
    return sorted(found, key=lambda mention: mention.start)


def several_apps(entities: Sequence[Mapping]) -> bool:
    return len({mention.value for mention in mentions(entities, "app")}) > 1


def items_of(text: str, entities: Sequence[Mapping]) -> List[BatchItem]:
    """The apps of the request, each with the version the message gives it (or None)."""
    apps, versions = mentions(entities, "app"), mentions(entities, "version")
    names = [app.value for app in apps]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise UnclearBatch(f"You named {', '.join(twice)} more than once, so I did nothing with this request and nothing"
                           " was deployed. Name each app once, for example “deploy cms 1.0.2 and shop 2.0.1”.")
    if len(apps) > MAX_APPS:
        raise UnclearBatch(f"That is {len(apps)} apps in one request; I take at most {MAX_APPS}. Nothing was deployed.")
    items = {app.value: BatchItem(app.value) for app in apps}
    if len(versions) == 1 and (one_for_all(text, versions[0], entities) or said_of_the_list(text, apps)):
        for item in items.values():
            item.version = versions[0].value
        return list(items.values())
    for version in versions:
        app = app_of(text, version, apps)
        if app is None:
            raise UnclearBatch(f"I can't tell which app version {version.value} is for, so I did nothing with this request"
                               " and nothing was deployed. Put each version right after its app, for example"
                               " “deploy cms 1.0.2 and shop 2.0.1”.")
        if items[app.value].version is not None:
            raise UnclearBatch(f"You named two versions for {app.value} ({items[app.value].version} and {version.value}),"
                               " so I did nothing with this request and nothing was deployed. Name one version per app.")
        items[app.value].version = version.value
    return list(items.values())


def one_for_all(text: str, version: Mention, entities: Sequence[Mapping]) -> bool:
    """Whether "both", "each", "all" stands right next to the version, with no other entity between."""
    others = [m for name in ("app", "environment") for m in mentions(entities, name)]
    start = max([m.end for m in others if m.end <= version.start] + [version.start - NEAR, 0])
    end = min([m.start for m in others if m.start >= version.end] + [version.end + NEAR])
    return bool(ONE_FOR_ALL.search(text[start:version.start]) or ONE_FOR_ALL.search(text[version.end:end]))


def said_of_the_list(text: str, apps: Sequence[Mention]) -> bool:
    """Whether "both", "each", "all three of" is said of the list of apps itself."""
    return bool(BEFORE_THE_APPS.search(text[:apps[0].start]) or AFTER_THE_APPS.search(text[apps[-1].end:]))


def app_of(text: str, version: Mention, apps: Sequence[Mention]) -> Optional[Mention]:
    """The app a version is for: the next one when "of"/"for" leads to it, else the one it follows."""
    following = next((app for app in apps if app.start >= version.end), None)
    if following is not None and VERSION_OF.fullmatch(text[version.end:following.start]):
        return following
    return next((app for app in reversed(apps) if app.end <= version.start), None)


def missing_versions(items: Sequence[dict]) -> List[str]:
    return [item["app"] for item in items if not item.get("version")]


# -- what the bots say -----------------------------------------------------------------------


def name_of(app: str, catalog: Catalog) -> str:
    """The app's name; an id the catalog does not know (the checks refuse it) as it was written."""
    known = catalog.app(app)
    return known.name if known else app


def line(item: Mapping, catalog: Catalog) -> str:
    """"Content Management System 1.0.2" (and where a promotion's version comes from)."""
    source = f" (what {item['promoted_from']} runs)" if item.get("promoted_from") else ""
    return f"{name_of(item['app'], catalog)} {item['version']}{source}"


def plain(reason: str) -> str:
    """A refusal as a reason in a list: "No: staging is locked …" reads "staging is locked …"."""
    return reason.removeprefix("No: ")


def listing(items: Sequence[Mapping], catalog: Catalog) -> str:
    return "\n".join(f"• {line(item, catalog)}" for item in items)


def question(items: Sequence[Mapping], environment: str, blocked: Mapping[str, str], catalog: Catalog) -> str:
    """The one question of a batch: every deployment it would start, and before the yes, those
    that cannot go ahead and why."""
    count = f"{len(items)} app{'s' if len(items) > 1 else ''}"
    if not blocked:
        return f"Deploy these {count} to {environment}?\n{listing(items, catalog)}\n(yes/no)"
    stopped = "\n".join(f"• {name_of(app, catalog)}: {plain(reason)}" for app, reason in blocked.items())
    rest = "the other one" if len(items) == 1 else f"the other {len(items)}"
    apps = f"{len(blocked)} app{'s' if len(blocked) > 1 else ''}"
    return (f"{apps} of your request cannot go ahead:\n{stopped}\n"
            f"Deploy {rest} to {environment} anyway?\n{listing(items, catalog)}\n(yes: go on without "
            f"{'it' if len(blocked) == 1 else 'them'}, no: deploy nothing)")


def restated(items: Sequence[Mapping], environment: str, catalog: Catalog) -> str:
    """The batch as a statement, where one line is wanted: "Deploy cms 1.0.2, shop 2.0.1 to staging"."""
    return f"Deploy {', '.join(line(item, catalog) for item in items)} to {environment}"


def none_can_go(blocked: Mapping[str, str], catalog: Catalog) -> str:
    reasons = "\n".join(f"• {name_of(app, catalog)}: {plain(reason)}" for app, reason in blocked.items())
    return f"None of your request can go ahead, so I asked nothing and nothing was deployed:\n{reasons}"


def ask_missing_version(app_name: str, missing: Sequence[str], items: Sequence[Mapping], catalog: Catalog) -> str:
    given = [line(item, catalog) for item in items if item.get("version")]
    known = f" ({', '.join(given)} {'is' if len(given) == 1 else 'are'} set.)" if given else ""
    more = f" Then I'll ask for {len(missing) - 1} more." if len(missing) > 1 else ""
    return (f"Which version of {app_name}?{known}{more} If one version is for all of them, say so in the request,"
            " for example “deploy cms and search, both 3.1”.")


def summary(outcomes: Sequence[Mapping], catalog: Catalog) -> str:
    """"2 of 2 deployed to staging: …": one line per app, in the order of the request.
    outcomes: {app, version, environment, state, detail} with state succeeded or anything else."""
    deployed = [o for o in outcomes if o["state"] == "succeeded"]
    environments = sorted({o["environment"] for o in outcomes})
    head = f"{len(deployed)} of {len(outcomes)} deployed to {' and '.join(environments)}"
    lines = []
    for outcome in outcomes:
        name = f"{name_of(outcome['app'], catalog)} {outcome['version']}"
        if outcome["state"] == "succeeded":
            lines.append(f"• {name}: deployed")
        else:
            detail = f" ({plain(outcome['detail'])})" if outcome.get("detail") else ""
            lines.append(f"• {name}: {outcome['state'].replace('_', ' ')}{detail}")
    return f"{head}:\n" + "\n".join(lines)


def named_versions(text: str, entities: Sequence[Mapping]) -> dict:
    """What a correction naming several apps changes ("no, cms 1.0.3 and shop 2.0.2"): the
    versions, paired with their apps as in a request, and the environment if it names one.
    Every app it names needs its version: UnclearBatch otherwise."""
    items = items_of(text, entities)
    without = [item.app for item in items if not item.version]
    if without:
        raise UnclearBatch(f"You named {', '.join(without)} without a version, so I can't tell what to change. Name each"
                           " app with its new version, for example “cms 1.0.3 and shop 2.0.2”.")
    environments = sorted({mention.value for mention in mentions(entities, "environment")})
    if len(environments) > 1:
        raise UnclearBatch(f"You named several environments ({', '.join(environments)}): a request goes to one.")
    changes: dict = {"versions": {item.app: item.version for item in items}}
    if environments:
        changes["environment"] = environments[0]
    return changes


def corrected(items: Sequence[Mapping], environment: str, changes: Mapping, catalog: Catalog) -> tuple:
    """A correction to a batch: (items, environment). It must say which app it changes ("make cms
    1.0.4", "cms 1.0.3 and shop 2.0.2": named_versions); a version or app alone could mean any of
    them, so UnclearBatch, and nothing changes."""
    environment = changes.get("environment", environment)
    apps = [item["app"] for item in items]
    versions = changes.get("versions")
    if versions is not None:
        outside = [app for app in versions if app not in apps]
        if outside:
            raise UnclearBatch(f"{', '.join(name_of(app, catalog) for app in outside)} not in your request"
                               f" ({', '.join(apps)}). To add an app, ask for the whole request again.")
        return [dict(item, version=versions[item["app"]], kind="deploy", promoted_from=None)
                if item["app"] in versions else dict(item) for item in items], environment
    app, version = changes.get("app"), changes.get("version")
    if app is None and version is None:
        return [dict(item) for item in items], environment
    example = f"“make {apps[0]} {version or '1.0.4'}”"
    if app is None or version is None:
        raise UnclearBatch(f"Your request has several apps ({', '.join(apps)}), so I can't tell what that changes."
                           f" Name the app and its version, for example {example}.")
    if app not in apps:
        raise UnclearBatch(f"{name_of(app, catalog)} is not in your request ({', '.join(apps)}). To change one of them,"
                           f" name it with its version, for example {example}; to add an app, ask for the whole request again.")
    return [dict(item, version=version, kind="deploy", promoted_from=None) if item["app"] == app else dict(item)
            for item in items], environment
