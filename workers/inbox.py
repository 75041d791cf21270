"""The inbox: how pushed deliveries reach the workers in big batches whatever the request rate.

The receiver appends each batch of envelopes to a Redis list in ONE round trip (a Lua script that
also applies the dedupe window and claims the Vobiz nonces), and enqueues an RQ ``drain`` job only
when none is pending. A drain job atomically moves up to ``CHUNK`` envelopes from the inbox to a
list named after the job (``processing:<job id>``), asks for a follow-up job while the inbox still holds more (so every
free worker helps), ingests the chunk, then deletes its list. RQ's per-job cost (a dozen Redis
round trips) is thus paid once per chunk, not once per request.

A drain job that finds less than a chunk waits ``DRAIN_LINGER_MS`` (50 ms) before taking it, still
holding the "pending" mark, so what arrives meanwhile joins its chunk instead of scheduling another
job. Without the wait, workers that keep up start a job for every hundred or so deliveries: at
~4,400 deliveries/s offered in ``make bench``, chunks averaged 100-130 and 26-29% of the workers'
CPU went to RQ and the drain itself (outside ``ingest``); with it, ~450 and ~15%, and the workers'
CPU per CDR fell ~147 -> ~112 µs (Redis ~36 -> ~29, PostgreSQL ~58 -> ~47: one transaction per
chunk). The cost: up to 50 ms more between a 202 and the row. A backlog of a chunk or more is
taken at once.

Nothing is lost: the inbox and the processing lists are ordinary Redis data (AOF); a drain job
that fails or is killed keeps its processing list, and RQ's retry, abandoned-job recovery or
``failed requeue`` runs the same job id again, which ingests that list before taking anything new.
A list whose job no longer exists (deleted, or expired from the failed registry) is put back at
the head of the inbox by the workers' maintenance, which finds the lists in a set per queue
(``processing_lists_key``: taking a chunk registers its list, storing it or putting it back
unregisters it).
The store upsert is idempotent, so a chunk ingested twice changes nothing.

Not for Redis Cluster: the script touches dedupe and nonce keys it does not declare.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from time import sleep
from typing import Any

import orjson
import redis
import redis.asyncio as aioredis
from rq import Queue

from workers.envelope import Envelope

CHUNK = 500
DRAIN_JOB = "workers.jobs.drain"
PENDING_TTL_S = 30  # a lost "drain pending" mark only delays draining this long

# KEYS: inbox, pending mark. ARGV: window_s, nonce_window_s, then (dedupe key or "", nonce key or
# "", envelope) triples. Returns {1 if a drain job must be enqueued else 0, outcome per envelope...}:
# 1 appended, 0 a duplicate (its dedupe key was set), 2 a replay (its nonce key was set: nothing
# else is done for it). A nonce is claimed in the same step as its delivery is made durable. A
# window of 0 turns its check off (nonce keys are then ignored, as dedupe keys are).
_PUSH = """
local window = tonumber(ARGV[1])
local nonce_window = tonumber(ARGV[2])
local result = {0}
local pushed = 0
for i = 3, #ARGV, 3 do
  local outcome = 1
  if ARGV[i + 1] ~= '' and nonce_window > 0 and not redis.call('SET', ARGV[i + 1], '1', 'NX', 'EX', nonce_window) then
    outcome = 2
  elseif ARGV[i] ~= '' and window > 0 then
    if not redis.call('SET', ARGV[i], '1', 'NX', 'EX', window) then outcome = 0 end
  end
  if outcome == 1 then
    redis.call('RPUSH', KEYS[1], ARGV[i + 2])
    pushed = pushed + 1
  end
  result[#result + 1] = outcome
end
if pushed > 0 and redis.call('SET', KEYS[2], '1', 'NX', 'EX', PENDING_TTL) then
  result[1] = 1
end
return result
"""
# KEYS: inbox, processing list, the queue's set of processing lists. ARGV: count. Moves up to count
# envelopes, oldest first, one LMOVE each (the AOF records 500 short moves, where LPOP + RPUSH wrote
# every envelope into it a second time), and registers the list when it holds any.
_TAKE = """
local items = {}
for i = 1, tonumber(ARGV[1]) do
  local item = redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT')
  if not item then break end
  items[i] = item
end
if #items > 0 then redis.call('SADD', KEYS[3], KEYS[2]) end
return items
"""


# KEYS: processing list, inbox, set of processing lists. Puts an orphaned chunk back at the head of
# the inbox, in order.
_RETURN = """
local items = redis.call('LRANGE', KEYS[1], 0, -1)
for i = #items, 1, -1 do redis.call('LPUSH', KEYS[2], items[i]) end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[3], KEYS[1])
return #items
"""


def inbox_key(queue_name: str) -> str:
    return f"cdr-ingest:inbox:{queue_name}"


def pending_key(queue_name: str) -> str:
    return f"cdr-ingest:drain-pending:{queue_name}"


def processing_key(job_id: str) -> str:
    return f"cdr-ingest:processing:{job_id}"


def processing_lists_key(queue_name: str) -> str:
    """The set of the queue's processing lists: what maintenance checks for orphans. Scanning the
    keyspace for them instead walked every dedupe key (one per delivery of the last
    DEDUPE_WINDOW_S): ~0.3 s per worker every maintenance round after a minute of ``make bench``,
    seconds at a day's window of production traffic."""
    return f"cdr-ingest:processing-lists:{queue_name}"


PUSH_SCRIPT = _PUSH.replace("PENDING_TTL", str(PENDING_TTL_S))


QUEUED, DUPLICATE, REPLAY = "queued", "duplicate", "replay"
_OUTCOMES = {0: DUPLICATE, 1: QUEUED, 2: REPLAY}
Keys = Sequence[str | None]


def _outcomes(answer: Sequence[Any]) -> list[str]:
    """The push script's answer, past its drain flag, as an outcome per envelope."""
    return [_OUTCOMES[int(code)] for code in answer[1:]]


class Inbox:
    """Appends batches to the inbox: ``push`` (blocking) for the spool's drain and tools,
    ``push_async`` for the receiver's event loop (no thread hop on the hot path).

    Each envelope may carry a dedupe key (seen within ``window_s``: a duplicate, not appended) and
    a nonce key (claimed for ``nonce_window_s``; already claimed: a replay, not appended)."""

    def __init__(
        self,
        connection: redis.Redis,
        queue: Queue,
        *,
        window_s: int,
        job_timeout_s: int,
        async_connection: aioredis.Redis | None = None,
        nonce_window_s: int = 0,
    ) -> None:
        self._queue = queue
        self._window_s = window_s
        self._nonce_window_s = nonce_window_s
        self._job_timeout_s = job_timeout_s
        self._script = connection.register_script(PUSH_SCRIPT)
        self._async_script = _OwnConnection(async_connection, PUSH_SCRIPT) if async_connection else None

    def _call(self, envelopes: Sequence[Envelope], dedupe_keys: Keys, nonce_keys: Keys | None) -> dict[str, Any]:
        args: list[Any] = [self._window_s, self._nonce_window_s]
        nonces = nonce_keys if nonce_keys is not None else [None] * len(envelopes)
        for envelope, key, nonce in zip(envelopes, dedupe_keys, nonces, strict=True):
            args += [key or "", nonce or "", orjson.dumps(envelope.to_dict())]
        return {"keys": [inbox_key(self._queue.name), pending_key(self._queue.name)], "args": args}

    def push(self, envelopes: Sequence[Envelope], dedupe_keys: Keys, nonce_keys: Keys | None = None) -> list[str]:
        """Append the envelopes neither seen within the dedupe window nor replayed; per envelope
        ``QUEUED``, ``DUPLICATE`` or ``REPLAY``.

        Raises ``redis.RedisError`` when Redis cannot take them (nothing claimed is then kept:
        a script either runs whole or not at all).
        """
        answer = self._script(**self._call(envelopes, dedupe_keys, nonce_keys))
        if answer[0]:
            schedule_drain(self._queue, self._job_timeout_s)
        return _outcomes(answer)

    async def push_async(
        self, envelopes: Sequence[Envelope], dedupe_keys: Keys, nonce_keys: Keys | None = None
    ) -> list[str]:
        """``push`` on the event loop; only the rare drain-job enqueue (rq is blocking) uses a thread."""
        if self._async_script is None:
            raise RuntimeError("Inbox was made without an async connection")
        answer = await self._async_script(**self._call(envelopes, dedupe_keys, nonce_keys))
        if answer[0]:
            await asyncio.to_thread(schedule_drain, self._queue, self._job_timeout_s)
        return _outcomes(answer)

    async def aclose(self) -> None:
        if self._async_script is not None:
            await self._async_script.aclose()


class _OwnConnection:
    """A script called on a connection of its own, one call at a time, straight through redis-py's
    connection (its socket, parser, authentication, TLS and timeouts) rather than its per-command
    path (pool checkout and release, retry wrapper, event dispatch): the receiver's push cost ~40
    µs of CPU less a batch (``make bench``'s mix, two uvicorn workers: 104 -> 100 µs a request).
    A Redis that lost its scripts (restarted) gets it loaded again through redis-py's ``Script``;
    an error drops the connection, the next call opens another."""

    def __init__(self, client: aioredis.Redis, script: str) -> None:
        self._connection = client.connection_pool.make_connection()  # type: ignore[no-untyped-call]
        self._script = client.register_script(script)
        self._lock = asyncio.Lock()

    async def __call__(self, keys: Sequence[str], args: Sequence[Any]) -> Any:
        async with self._lock:
            connection = self._connection
            try:
                command = connection.pack_command("EVALSHA", self._script.sha, len(keys), *keys, *args)
                await connection.send_packed_command(command, check_health=False)
                return await connection.read_response()
            except redis.exceptions.NoScriptError:
                return await self._script(keys=keys, args=args)
            except BaseException:
                await connection.disconnect()
                raise

    async def aclose(self) -> None:
        await self._connection.disconnect()


def schedule_drain(queue: Queue, job_timeout_s: int) -> None:
    """Enqueue a drain job (the caller holds the "pending" mark, or is recovering)."""
    from workers.queue import FAILURE_TTL_S, RETRY  # no cycle at import time

    try:
        queue.enqueue(DRAIN_JOB, retry=RETRY, result_ttl=0, failure_ttl=FAILURE_TTL_S, job_timeout=job_timeout_s)
    except redis.RedisError:
        queue.connection.delete(pending_key(queue.name))  # let the next batch try again
        raise


def ensure_draining(queue: Queue, job_timeout_s: int) -> bool:
    """If the inbox holds envelopes and no drain is pending, schedule one. True if it did."""
    connection = queue.connection
    if connection.llen(inbox_key(queue.name)) and connection.set(
        pending_key(queue.name), "1", nx=True, ex=PENDING_TTL_S
    ):
        schedule_drain(queue, job_timeout_s)
        return True
    return False


def linger(connection: redis.Redis, queue_name: str, seconds: float) -> None:
    """Wait ``seconds`` when the inbox holds less than a chunk, for it to fill (see above)."""
    if seconds > 0 and connection.llen(inbox_key(queue_name)) < CHUNK:
        sleep(seconds)


def take(connection: redis.Redis, queue_name: str, job_id: str) -> list[bytes]:
    """This job's chunk: what a previous attempt of the same job left, else up to CHUNK new ones."""
    mine = processing_key(job_id)
    left: list[bytes] = connection.lrange(mine, 0, -1)  # type: ignore[assignment]
    if left:
        return left
    take_script = connection.register_script(_TAKE)
    return list(take_script(keys=[inbox_key(queue_name), mine, processing_lists_key(queue_name)], args=[CHUNK]))


def return_orphans(queue: Queue, *, scan: bool = False) -> int:
    """Chunks whose drain job no longer exists (deleted, or expired from the failed registry after
    ``FAILURE_TTL_S``) go back to the inbox instead of waiting forever. Returns envelopes returned.

    The lists checked are the queue's registered ones; ``scan`` also walks the keyspace for lists
    taken before they were registered (a worker does it once, when it starts)."""
    from rq.job import Job

    connection = queue.connection
    registered = processing_lists_key(queue.name)
    keys: set[bytes] = set(connection.smembers(registered))  # type: ignore[arg-type]
    if scan:
        keys.update(connection.scan_iter(match=processing_key("*"), count=1000))
    prefix = processing_key("").encode()
    put_back = connection.register_script(_RETURN)
    returned = 0
    for key in keys:
        if not Job.exists(key.removeprefix(prefix).decode(), connection=connection):
            returned += int(put_back(keys=[key, inbox_key(queue.name), registered]))
    return returned


def done(connection: redis.Redis, queue_name: str, job_id: str) -> None:
    """The chunk is stored: its list goes, and with it its registration."""
    mine = processing_key(job_id)
    with connection.pipeline(transaction=True) as pipe:
        pipe.delete(mine)
        pipe.srem(processing_lists_key(queue_name), mine)
        pipe.execute()


def decoded(items: Sequence[bytes]) -> list[Any]:
    """Inbox items as envelope dicts; an unreadable one is passed on as text for quarantine."""
    out: list[Any] = []
    for item in items:
        try:
            out.append(orjson.loads(item))
        except orjson.JSONDecodeError:
            out.append({"feed": "unknown", "body": item.decode("utf-8", "replace")})
    return out
