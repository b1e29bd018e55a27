"""deploybot.rasa_glue.rasa_lock_store on a real Redis: two store instances stand for two replicas,
each with its own connection, as two Rasa processes have. The end-to-end proof on the
running replicas is tests/integration/test_conversation_lock.py."""
import asyncio
import threading
import time

import pytest
from rasa.core.lock_store import LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from deploybot.rasa_glue.rasa_lock_store import AtomicRedisLockStore
from tests.services import Redis


@pytest.fixture(scope="module")
def redis_server():
    server = Redis().start()
    yield server
    server.stop()


def replicas(redis_server, count=2, **options):
    return [AtomicRedisLockStore(port=redis_server.port, key_prefix="test", **options) for _ in range(count)]


def test_rasa_builds_it_from_endpoints_yml_by_its_module_path(redis_server):
    config = EndpointConfig(url="127.0.0.1", type="deploybot.rasa_glue.rasa_lock_store.AtomicRedisLockStore",
                            port=str(redis_server.port), key_prefix="marvin", lock_lifetime="7")
    store = LockStore.create(config)
    assert isinstance(store, AtomicRedisLockStore)
    assert store.lifetime == 7 and store.key_prefix == "marvin:turns:"
    assert store.red.ping()


async def overlapping_turns(stores, conversation, turns, turn_seconds=0.01):
    """Runs `turns` turns, alternating between the stores, all asked for at once; returns
    (the most turns inside the lock at one time, the order the turns got the lock)."""
    inside, most, order = [0], [0], []

    async def turn(number):
        async with stores[number % len(stores)].lock(conversation):
            order.append(number)
            inside[0] += 1
            most[0] = max(most[0], inside[0])
            await asyncio.sleep(turn_seconds)
            inside[0] -= 1

    await asyncio.gather(*(turn(n) for n in range(turns)))
    return most[0], order


def test_turns_asked_for_at_once_on_two_replicas_run_one_at_a_time_first_come_first_served(redis_server):
    stores = replicas(redis_server)
    most, order = asyncio.run(overlapping_turns(stores, "at-once", 40))
    assert most == 1
    assert order == list(range(40))  # gather starts them in order: tickets are taken in order
    assert stores[0].get_lock("at-once") is None  # nothing left behind


def test_two_replicas_in_two_processes_worth_of_threads_never_overlap(redis_server):
    """Each store in a thread with its own event loop, as two Rasa processes run side by side."""
    stores, inside, most, guard = replicas(redis_server), [0], [0], threading.Lock()
    start = threading.Barrier(2)

    async def turns(store):
        async def turn():
            async with store.lock("threads"):
                with guard:
                    inside[0] += 1
                    most[0] = max(most[0], inside[0])
                await asyncio.sleep(0.002)
                with guard:
                    inside[0] -= 1
        await asyncio.gather(*(turn() for _ in range(30)))

    def replica(store):
        start.wait()
        asyncio.run(turns(store))

    threads = [threading.Thread(target=replica, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 1


def test_rasas_own_redis_lock_store_lets_both_replicas_in(redis_server):
    """Why the store exists: the same turns on Rasa's RedisLockStore overlap (its issue_ticket
    reads and writes the ticket list in two steps, so two replicas both take ticket 0). The
    two steps are interleaved here as two replicas' event loops interleave them."""
    stock = [RedisLockStore(port=redis_server.port, key_prefix="stock") for _ in range(2)]
    first_read = [s.get_or_create_lock("race") for s in stock]  # both GET the empty lock ...
    tickets = []
    for store, lock in zip(stock, first_read):  # ... then both SET their ticket
        tickets.append(lock.issue_ticket(60))
        store.save_lock(lock)
    assert tickets == [0, 0]
    assert all(not s.get_lock("race").is_locked(t) for s, t in zip(stock, tickets))  # both hold it


def test_a_waiting_turn_renews_its_ticket_and_a_long_turn_keeps_its_lock(redis_server):
    first, second = replicas(redis_server, lock_lifetime=0.4)
    events = []

    async def long_turn():
        async with first.lock("long"):
            events.append("long in")
            await asyncio.sleep(1.5)  # almost four lifetimes: renewed, not lost
            events.append("long out")

    async def next_turn():
        await asyncio.sleep(0.05)
        async with second.lock("long"):
            events.append("next in")

    async def both():
        await asyncio.gather(long_turn(), next_turn())

    asyncio.run(both())
    assert events == ["long in", "long out", "next in"]


def test_a_replica_that_dies_holding_the_lock_blocks_the_conversation_one_lifetime_at_most(redis_server):
    dead, alive = replicas(redis_server, lock_lifetime=1.0)
    dead.issue_ticket("orphan")  # took the lock, then died: no renewal, no cleanup

    async def next_turn():
        started = time.monotonic()
        async with alive.lock("orphan"):
            return time.monotonic() - started

    waited = asyncio.run(next_turn())
    assert 0.8 < waited < 1.6, waited


def test_a_ticket_given_back_late_removes_no_one_elses(redis_server):
    first, second = replicas(redis_server, lock_lifetime=0.3)
    stale = first.issue_ticket("late")
    time.sleep(0.5)  # lapsed
    fresh = second.issue_ticket("late")
    first.cleanup("late", stale)
    assert fresh != stale and [t.number for t in second.get_lock("late").tickets] == [fresh]
    second.cleanup("late", fresh)
    assert second.get_lock("late") is None


def store_endpoints(monkeypatch, redis_server, locks=None):
    """endpoints.yml as a replica of Marvin reads it, with what deploybot.cli.stack gives it."""
    from rasa.core.utils import read_endpoints_from_path

    from deploybot.domain.profiles import load_profiles
    from deploybot.cli.stack import store_environment

    environ = {"DEPLOYBOT_REDIS_URL": redis_server.url, **({"DEPLOYBOT_REDIS_LOCKS": locks} if locks else {})}
    for name, value in {**store_environment(load_profiles()["marvin"], environ), "DEPLOYBOT_ASSISTANT": "marvin",
                        "DEPLOYBOT_ACTION_SERVER_URL": "http://127.0.0.1:1/webhook", "DEPLOYBOT_ACTIONS_TOKEN": "t"}.items():
        monkeypatch.setenv(name, value)
    return read_endpoints_from_path("endpoints.yml").lock_store


def test_the_stack_gives_replicas_on_redis_the_atomic_store(monkeypatch, redis_server):
    store = LockStore.create(store_endpoints(monkeypatch, redis_server))
    assert type(store) is AtomicRedisLockStore and store.key_prefix == "marvin:turns:"
    assert type(LockStore.create(store_endpoints(monkeypatch, redis_server, "rasa"))) is RedisLockStore  # to measure it only
    with pytest.raises(RuntimeError, match="DEPLOYBOT_REDIS_LOCKS=redis: one of deploybot, rasa"):
        store_endpoints(monkeypatch, redis_server, "redis")
