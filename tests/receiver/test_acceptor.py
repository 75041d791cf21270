"""The acceptor's batching: under load the flusher lets the loop turn a few times so the requests
under way join the batch; a lone request is flushed at once."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from types import SimpleNamespace

from receiver.acceptor import BUSY_BATCH, BUSY_YIELDS, Acceptor
from workers.envelope import Envelope


def env(n: int) -> Envelope:
    return Envelope(feed="callr.webhook", account="a", received_at=datetime.now(UTC), body="{}", ingest_id=f"i{n}")


class Recording:
    """Stands in for the durable sink: records each batch's size; a store takes a loop turn."""

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.spool = SimpleNamespace(close=lambda: None)

    def recover(self) -> int:
        return 0

    async def store(self, envelopes: Sequence[Envelope], keys: object = None, nonces: object = None) -> list[str]:
        self.batches.append(len(envelopes))
        await asyncio.sleep(0)
        return ["queued"] * len(envelopes)


def batches_after(first: int) -> list[int]:
    """A batch of ``first`` deliveries, then three arriving one loop turn apart."""

    async def main() -> list[int]:
        sink = Recording()
        acceptor = Acceptor(sink)  # type: ignore[arg-type]
        acceptor.start()
        assert await asyncio.gather(*(acceptor.accept(env(n)) for n in range(first))) == ["queued"] * first

        async def later(n: int, turns: int) -> str:
            for _ in range(turns):
                await asyncio.sleep(0)
            return await acceptor.accept(env(n))

        assert await asyncio.gather(*(later(100 + t, t) for t in range(3))) == ["queued"] * 3
        await acceptor.close()
        return sink.batches

    return asyncio.run(main())


def test_busy_the_requests_of_the_next_turns_join_the_batch() -> None:
    assert BUSY_YIELDS >= 2
    assert batches_after(BUSY_BATCH * 2) == [BUSY_BATCH * 2, 3]


def test_a_lone_request_is_flushed_at_once() -> None:
    assert batches_after(1)[:2] == [1, 1]
