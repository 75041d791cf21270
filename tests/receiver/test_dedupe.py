"""The inbox push on real Redis: the dedupe window applied and the nonces claimed in the same round
trip, one drain job scheduled per burst, and a batch that cannot be pushed spooled whole (but for
the envelopes with a nonce, which cannot be checked)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis

from receiver.acceptor import DurableSink
from receiver.dedupe import dedupe_key
from receiver.spool import Spool
from tests.receiver.helpers import queued
from workers.envelope import Envelope
from workers.inbox import DUPLICATE as D
from workers.inbox import QUEUED as Q
from workers.inbox import REPLAY as R
from workers.inbox import Inbox, Keys, inbox_key, pending_key
from workers.queue import ingest_queue


def env(n: int) -> Envelope:
    return Envelope(feed="callr.webhook", account="a", received_at=datetime.now(UTC), body="{}", ingest_id=f"i{n}")


@pytest.fixture
def inbox(redis_client: redis.Redis) -> Inbox:
    return Inbox(redis_client, ingest_queue(redis_client, "cdr-ingest"), window_s=60, job_timeout_s=30)


def test_claims_within_one_batch_and_across_batches(inbox: Inbox, redis_client: redis.Redis) -> None:
    """The first of two equal keys in a batch is new, the second a duplicate; None is never deduped."""
    assert inbox.push([env(n) for n in range(5)], ["k1", "k2", "k1", None, None]) == [Q, Q, D, Q, Q]
    assert inbox.push([env(5), env(6)], ["k2", "k3"]) == [D, Q]
    assert [e.ingest_id for e in queued(redis_client)] == ["i0", "i1", "i3", "i4", "i6"]
    assert 0 < redis_client.ttl("k1") <= 60


def test_window_zero_disables(redis_client: redis.Redis) -> None:
    """DEDUPE_WINDOW_S=0 turns the window off: every delivery is new."""
    inbox = Inbox(redis_client, ingest_queue(redis_client, "cdr-ingest"), window_s=0, job_timeout_s=30)
    assert inbox.push([env(1), env(2)], ["k", "k"]) == [Q, Q]
    assert redis_client.exists("k") == 0


def test_one_drain_job_per_burst(inbox: Inbox, redis_client: redis.Redis) -> None:
    """Pushes while a drain is pending schedule no further job; after it starts, the next push does."""
    queue = ingest_queue(redis_client, "cdr-ingest")
    for n in range(5):
        inbox.push([env(n)], [None])
    assert [j.func_name for j in queue.get_jobs()] == ["workers.jobs.drain"]
    redis_client.delete(pending_key("cdr-ingest"))  # what a drain job does when it starts
    inbox.push([env(9)], [None])
    assert queue.count == 2
    assert redis_client.llen(inbox_key("cdr-ingest")) == 6


def test_only_duplicates_schedule_nothing(inbox: Inbox, redis_client: redis.Redis) -> None:
    """A batch that appends nothing does not ask for a drain."""
    inbox.push([env(1)], ["k"])
    redis_client.delete(pending_key("cdr-ingest"))
    ingest_queue(redis_client, "cdr-ingest").empty()
    assert inbox.push([env(2)], ["k"]) == [D]
    assert ingest_queue(redis_client, "cdr-ingest").count == 0


def test_keys_are_per_feed_and_account() -> None:
    """The same delivery id on another feed or account is another key."""
    keys = {
        dedupe_key("callr.webhook", "a", "1"),
        dedupe_key("callr.actions", "a", "1"),
        dedupe_key("callr.webhook", "b", "1"),
    }
    assert len(keys) == 3


def test_batch_that_cannot_be_pushed_is_spooled_whole(tmp_path: Path) -> None:
    """If Redis refuses the push, every envelope of the batch goes to the spool and is answered spooled."""

    def broken(envelopes: Sequence[Envelope], keys: Keys, nonces: Keys | None) -> list[str]:
        raise redis.ConnectionError("refused")

    async def broken_async(envelopes: Sequence[Envelope], keys: Keys, nonces: Keys | None) -> list[str]:
        return broken(envelopes, keys, nonces)

    sink = DurableSink(broken_async, Spool(tmp_path, 10**6), ping=lambda: False, push=broken)
    assert asyncio.run(sink.store([env(1), env(2)], ["k1", "k2"])) == ["spooled", "spooled"]
    # A nonce cannot be checked without Redis: that envelope is not kept (503, the vendor retries).
    assert asyncio.run(sink.store([env(3), env(4)], [None, None], [None, "n4"])) == ["spooled", "unchecked"]
    spooled: list[Envelope] = []
    sink.spool.drain(spooled.extend)
    assert [e.ingest_id for e in spooled] == ["i1", "i2", "i3"]
    sink.spool.close()


def test_nonces_claimed_with_the_push(redis_client: redis.Redis) -> None:
    """A nonce claimed before is a replay, appended nowhere and claiming nothing else (its dedupe
    key stays free); a fresh one is claimed for the nonce window, even for a duplicate delivery."""
    inbox = Inbox(redis_client, ingest_queue(redis_client, "cdr-ingest"), window_s=60, job_timeout_s=30,
                  nonce_window_s=600)  # fmt: skip
    assert inbox.push([env(1), env(2), env(3)], ["k1", "k2", "k1"], ["n1", "n1", "n3"]) == [Q, R, D]
    assert [e.ingest_id for e in queued(redis_client)] == ["i1"]
    assert redis_client.exists("k2") == 0 and 0 < redis_client.ttl("n3") <= 600
    assert inbox.push([env(4)], ["k2"], ["n3"]) == [R]


def test_duplicates_are_answered_as_such(redis_client: redis.Redis, redis_url: str, tmp_path: Path) -> None:
    """Through the sink on the event loop: a seen delivery is "duplicate" and not appended again."""

    async def both() -> tuple[list[str], list[str]]:
        async_client = aioredis.Redis.from_url(redis_url)
        inbox = Inbox(redis_client, ingest_queue(redis_client, "cdr-ingest"), window_s=60, job_timeout_s=30,
                      async_connection=async_client)  # fmt: skip
        try:
            sink = DurableSink(inbox.push_async, Spool(tmp_path, 10**6), ping=lambda: True, push=inbox.push)
            return await sink.store([env(1)], ["k1"]), await sink.store([env(2), env(3)], ["k1", "k3"])
        finally:
            await inbox.aclose()
            await async_client.aclose()

    assert asyncio.run(both()) == (["queued"], ["duplicate", "queued"])
    assert [e.ingest_id for e in queued(redis_client)] == ["i1", "i3"]


def test_the_receivers_push_survives_a_redis_that_lost_its_scripts(redis_client: redis.Redis, redis_url: str) -> None:
    """``push_async`` calls the script by its hash on a connection of its own: after SCRIPT FLUSH
    (a Redis restarted empty) it loads it again; after its connection dropped it opens another."""

    async def pushes() -> list[list[str]]:
        async_client = aioredis.Redis.from_url(redis_url)
        inbox = Inbox(redis_client, ingest_queue(redis_client, "cdr-ingest"), window_s=60, job_timeout_s=30,
                      async_connection=async_client)  # fmt: skip
        try:
            first = await inbox.push_async([env(1)], ["k1"])
            redis_client.script_flush()
            again = await inbox.push_async([env(2), env(3)], ["k2", "k1"])
            await inbox.aclose()
            return [first, again, await inbox.push_async([env(4)], [None])]
        finally:
            await inbox.aclose()
            await async_client.aclose()

    assert asyncio.run(pushes()) == [[Q], [Q, D], [Q]]
    assert [e.ingest_id for e in queued(redis_client)] == ["i1", "i2", "i4"]


def test_nonce_window_zero_checks_no_nonce(redis_client: redis.Redis) -> None:
    """NONCE_WINDOW_S=0 turns the nonce check off, as DEDUPE_WINDOW_S=0 turns off the dedupe one:
    nonce keys are ignored (no ``SET EX 0``, which Redis refuses, failing the whole batch)."""
    inbox = Inbox(redis_client, ingest_queue(redis_client, "cdr-ingest"), window_s=60, job_timeout_s=30)
    assert inbox.push([env(1), env(2)], [None, None], ["n", "n"]) == [Q, Q]
    assert redis_client.exists("n") == 0
