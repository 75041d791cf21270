"""The dedupe window on real Redis, claimed per batch, released when a batch cannot be queued."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import redis

from receiver.acceptor import DurableSink
from receiver.dedupe import Dedupe, dedupe_key
from receiver.spool import Spool
from workers.envelope import Envelope
from workers.errors import TransientError


def env(n: int) -> Envelope:
    return Envelope(feed="callr.webhook", account="a", received_at=datetime.now(UTC), body="{}", ingest_id=f"i{n}")


def test_claims_within_one_batch_and_across_batches(redis_client: redis.Redis) -> None:
    """The first of two equal keys in a batch is new, the second a duplicate; None is never deduped."""
    d = Dedupe(redis_client, 60)
    assert d.claim(["k1", "k2", "k1", None, None], ["a", "b", "c", "d", "e"]) == [True, True, False, True, True]
    assert d.claim(["k2", "k3"], ["f", "g"]) == [False, True]
    assert 0 < redis_client.ttl("k1") <= 60


def test_window_zero_disables(redis_client: redis.Redis) -> None:
    """DEDUPE_WINDOW_S=0 turns the window off: every delivery is new."""
    d = Dedupe(redis_client, 0)
    assert d.claim(["k", "k"], ["a", "b"]) == [True, True]
    assert redis_client.exists("k") == 0


def test_keys_are_per_feed_and_account() -> None:
    """The same delivery id on another feed or account is another key."""
    keys = {
        dedupe_key("callr.webhook", "a", "1"),
        dedupe_key("callr.actions", "a", "1"),
        dedupe_key("callr.webhook", "b", "1"),
    }
    assert len(keys) == 3


def test_claims_are_released_when_the_batch_cannot_be_queued(redis_client: redis.Redis, tmp_path: Path) -> None:
    """If the enqueue fails after claiming, the claims are undone and the batch is spooled whole."""

    def broken(envelopes: Sequence[Envelope]) -> None:
        raise TransientError("redis refused the job")

    sink = DurableSink(broken, Spool(tmp_path, 10**6), ping=lambda: False, dedupe=Dedupe(redis_client, 60))
    assert sink.store([env(1), env(2)], ["k1", "k2"]) == ["spooled", "spooled"]
    assert redis_client.exists("k1", "k2") == 0
    sink.spool.close()


def test_duplicates_are_not_queued(redis_client: redis.Redis, tmp_path: Path) -> None:
    """A batch holding a seen delivery queues only the new ones and answers duplicate for the rest."""
    queued: list[str] = []
    sink = DurableSink(lambda es: queued.extend(e.ingest_id for e in es), Spool(tmp_path, 10**6),
                       ping=lambda: True, dedupe=Dedupe(redis_client, 60))  # fmt: skip
    assert sink.store([env(1)], ["k1"]) == ["queued"]
    assert sink.store([env(2), env(3)], ["k1", "k3"]) == ["duplicate", "queued"]
    assert queued == ["i1", "i3"]
