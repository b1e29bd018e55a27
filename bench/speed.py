"""Speed of the running stack (tests.support): /model/parse latency, full chat turns over
the REST channel at several concurrencies, and the time from "yes" to Jenkins receiving
the build request. The report delay after a build ends is bench.report_latency's."""
from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Dict, List, Sequence

from bench.report_latency import APPS, NAMES, job
from tests.support import Bot, Stack, new_user_id


@dataclass
class Spread:
    count: int
    p50: float
    p95: float
    min: float
    max: float


def spread(values: Sequence[float]) -> Spread:
    ordered = sorted(values)
    p95 = statistics.quantiles(ordered, n=100, method="inclusive")[94] if len(ordered) > 1 else ordered[0]
    return Spread(len(ordered), statistics.median(ordered), p95, ordered[0], ordered[-1])


def parse_latency(bot: Bot, texts: Sequence[str], requests: int = 500, warm_up: int = 30) -> Spread:
    """Seconds per /model/parse request, one at a time, measured at the client."""
    for n in range(warm_up):
        bot.parse(texts[n % len(texts)])
    seconds = []
    for n in range(requests):
        started = time.perf_counter()
        bot.parse(texts[n % len(texts)])
        seconds.append(time.perf_counter() - started)
    return spread(seconds)


@dataclass
class TurnRun:
    concurrency: int
    turns: int
    errors: int
    seconds: Spread
    wall_seconds: float
    by_turn: Dict[str, Spread]  # "deploy" (the request) and "no" (the answer)

    @property
    def turns_per_second(self) -> float:
        return self.turns / self.wall_seconds


CANCELLED = "Cancelled, nothing was deployed."


def _conversation(bot: Bot, conversations: int, seed: int, user: str = "") -> (Dict[str, List[float]], int):
    """One simulated user (a sender id of its own): "deploy <app> <version>", which runs the
    deploy form's custom actions and checks the database for locks and active deployments,
    answered by the restated request; then "no". Both turns are timed. Returns (seconds per
    successful turn, by turn, errors): an HTTP error or an unexpected answer is an error.
    A given user goes on with that user's conversation."""
    user, seconds, errors = user or new_user_id(), {"deploy": [], "no": []}, 0
    for n in range(conversations):
        app = APPS[(seed + n) % len(APPS)]
        for turn, text, expected in (("deploy", f"deploy {app} 9.{seed}.{n}", f"Deploy {NAMES[app]} 9.{seed}.{n} to staging?"),
                                     ("no", "no", CANCELLED)):
            started = time.perf_counter()
            try:
                texts = bot.texts(user, text)
            except Exception:  # noqa: BLE001 - a failed request is what is counted here
                errors += 1
                continue
            elapsed = time.perf_counter() - started
            if texts and texts[0].startswith(expected):
                seconds[turn].append(elapsed)
            else:
                errors += 1
    return seconds, errors


def chat_turns(bot: Bot, concurrency: int, conversations_per_user: int) -> TurnRun:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(lambda seed: _conversation(bot, conversations_per_user, seed), range(concurrency)))
    wall = time.perf_counter() - started
    by_turn = {turn: [s for user_seconds, _ in results for s in user_seconds[turn]] for turn in ("deploy", "no")}
    seconds = by_turn["deploy"] + by_turn["no"]
    errors = sum(e for _, e in results)
    return TurnRun(concurrency, len(seconds) + errors, errors, spread(seconds or [float("nan")]), wall,
                   {turn: spread(values or [float("nan")]) for turn, values in by_turn.items()})


def chat_turn_runs(bot: Bot, turns_per_concurrency: Dict[int, int]) -> List[TurnRun]:
    """{concurrency: total turns}; a warm-up conversation first."""
    _conversation(bot, 2, 0)
    return [chat_turns(bot, c, max(1, total // (2 * c))) for c, total in turns_per_concurrency.items()]


def turns_as_conversation_grows(bot: Bot, blocks: int = 5, conversations_per_block: int = 10) -> List[Spread]:
    """One user, one conversation, blocks x conversations_per_block deploy requests each
    followed by "no": seconds per turn for each block. Flat if a turn's cost does not grow
    with the conversation (deploybot.rasa_glue.conversation_sessions)."""
    user, seed, spreads = new_user_id(), 90, []
    for block in range(blocks):
        seconds, errors = _conversation(bot, conversations_per_block, seed + block, user)
        assert errors == 0, f"{errors} failed turns"
        spreads.append(spread(seconds["deploy"] + seconds["no"]))
    return spreads


def yes_to_jenkins(stack: Stack, runs: int = 10) -> Spread:
    """Seconds from sending "yes" to the emulator recording the build request (its
    requested_at), one deployment at a time; each waits for its report before the next."""
    marvin, seconds = stack.bots["marvin"], []
    for n in range(runs):
        app, user, version = APPS[n % len(APPS)], new_user_id(), f"7.{n}.0"
        stack.jenkins.control("POST", "/next-build", {"job": job(app), "seconds": 1})
        marvin.texts(user, f"deploy {app} {version}")
        sent = time.time()
        [reply] = marvin.texts(user, "yes")
        assert reply.startswith("OK, deploying"), reply
        [build] = [b for b in stack.jenkins.control("GET", "/builds") if b["parameters"].get("REQUESTED_BY") == user]
        seconds.append(build["requested_at"] - sent)
        marvin.wait_for(user, f"{NAMES[app]}: deployed version {version}", timeout=60)
        time.sleep(0.3)
    return spread(seconds)
