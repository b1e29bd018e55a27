"""What the conversation lock costs (issue 27): turn latency and throughput on the replicated
topology (PostgreSQL tracker stores, Redis, two Rasa replicas per bot), first with Rasa's own
RedisLockStore, then with deploybot's (deploybot.rasa_glue.rasa_lock_store), in one run.

    .venv/bin/python -m bench.lock_cost [--turns 40] [--users 8] [--pairs 20]

For each lock store: the lock alone (take and give back, 2000 times, on the same Redis), then
on Marvin, after one unmeasured turn per replica:
- one at a time: one user, turns alternating between the replicas (the lock never waits);
- concurrent: `users` users at once, each `turns / 4` turns alternating between replicas
  (different conversations: the lock never waits either), turns per second;
- same sender at once: a sender's two messages released together on the two replicas (as
  tests/integration/test_conversation_lock.py does): the time until both were answered.
  With Rasa's store both replicas often run at once (the race), which is faster and wrong.
A turn is "deploy cms 1.2.3" (the bot asks) or "no" (it cancels): no build starts.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List

from tests.services import Postgres, Redis
from tests.simultaneous import race, said
from tests.support import Bot, new_user_id, start_stack, stop_stack

TEXTS = ("deploy cms 1.2.3", "no")
STORES = {"rasa": "Rasa's RedisLockStore", "deploybot": "deploybot's AtomicRedisLockStore"}


def timed_turn(bot: Bot, sender: str, text: str) -> float:
    started = time.perf_counter()
    bot.texts(sender, text)
    return time.perf_counter() - started


def conversation(replicas: List[Bot], turns: int) -> List[float]:
    sender = new_user_id()
    return [timed_turn(replicas[n % 2], sender, TEXTS[n % 2]) for n in range(turns)]


def figures(seconds: List[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    return f"median {statistics.median(ms):6.0f} ms, p95 {p95:6.0f} ms ({len(ms)})"


def measure(replicas: List[Bot], args) -> Dict[str, str]:
    for bot in replicas:  # the first turns of a replica are slow
        bot.texts(new_user_id(), TEXTS[0])
    one = conversation(replicas, args.turns)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.users) as pool:
        many = [t for ts in pool.map(lambda _: conversation(replicas, max(2, args.turns // 4)), range(args.users)) for t in ts]
    wall = time.perf_counter() - started
    together = []
    for _ in range(args.pairs):
        sender = new_user_id()
        pair = [said(replicas[0], sender, TEXTS[0]), said(replicas[1], sender, TEXTS[1])]
        race([pair])
        together.append(max(s.answered_at for s in pair) - min(s.released_at for s in pair))
    return {"one at a time": figures(one),
            "concurrent": f"{figures(many)}, {len(many) / wall:.1f} turns/s with {args.users} users",
            "same sender at once (both answered)": figures(together)}


def lock_alone(redis: Redis, store: str, times: int = 2000) -> str:
    """The store by itself, as a replica uses it, on the same Redis: take and give back a
    conversation's lock (no wait), away from the noise of whole turns on a shared machine."""
    from rasa.core.lock_store import LockStore
    from rasa.utils.endpoints import EndpointConfig

    from deploybot.cli.stack import REDIS_LOCK_STORES

    locks = LockStore.create(EndpointConfig(url="127.0.0.1", type=REDIS_LOCK_STORES[store], port=redis.port, key_prefix="bench"))

    async def take_and_give_back() -> List[float]:
        seconds = []
        for n in range(times):
            started = time.perf_counter()
            async with locks.lock(f"bench-{n % 50}"):
                pass
            seconds.append(time.perf_counter() - started)
        return seconds

    ms = sorted(s * 1000 for s in asyncio.run(take_and_give_back()))
    return f"median {statistics.median(ms):6.2f} ms, p95 {ms[int(0.95 * (len(ms) - 1))]:6.2f} ms ({times})"


def run(store: str, args) -> Dict[str, str]:
    postgres, redis = Postgres().start(), Redis().start()
    try:
        alone = lock_alone(redis, store)
        settings = {"DEPLOYBOT_DATABASE_URL": postgres.url("deploybot"), "DEPLOYBOT_REDIS_URL": redis.url,
                    "MARVIN_TRACKER_URL": postgres.url("marvin_tracker"), "BENDER_TRACKER_URL": postgres.url("bender_tracker"),
                    "DEPLOYBOT_REDIS_LOCKS": store}
        stack = start_stack(Path(tempfile.mkdtemp(prefix=f"deploybot-lock-{store}-")) / "var", settings,
                            startup_timeout=600, replicas=2)
        try:
            return {"the lock alone (take, give back)": alone, **measure(stack.replicas["marvin"], args)}
        finally:
            stop_stack(stack)
    finally:
        postgres.stop()
        redis.stop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=40)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--pairs", type=int, default=20)
    args = parser.parse_args(argv)
    results = {store: run(store, args) for store in STORES}
    print(f"Turn latency at the client, Marvin on 2 replicas, PostgreSQL and Redis ({time.strftime('%Y-%m-%d')})")
    for phase in results["rasa"]:
        print(f"  {phase}:")
        for store, label in STORES.items():
            print(f"    {label:<34} {results[store][phase]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
