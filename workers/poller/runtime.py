"""What a poller process opens, once: the store (checkpoints), the ingest queue, the HTTP client."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from workers.envelope import Envelope
from workers.poller.http import HttpClient
from workers.queue import enqueue_envelopes, ingest_queue, redis_connection
from workers.settings import Settings
from workers.store import SqlStore, open_store


@dataclass
class Opened:
    client: HttpClient
    enqueue: QueueWriter
    store: SqlStore | None


class QueueWriter:
    """``enqueue_envelopes`` on the ingest queue: one RQ job per page of envelopes."""

    def __init__(self, settings: Settings) -> None:
        self.connection = redis_connection(settings.redis_url)
        self.queue = ingest_queue(self.connection, settings.queue_name)

    def __call__(self, envelopes: Sequence[Envelope]) -> object:
        return enqueue_envelopes(self.queue, envelopes)


@contextmanager
def opened(settings: Settings, *, with_store: bool) -> Iterator[Opened]:
    client = HttpClient()
    enqueue = QueueWriter(settings)
    store = open_store(settings.database_url) if with_store else None
    try:
        yield Opened(client=client, enqueue=enqueue, store=store)
    finally:
        client.close()
        enqueue.connection.close()
        if store is not None:
            store.close()
