"""``cdr-ingest stats``: what is in the store and the queue right now.

Counts per vendor, source and status, quarantined payloads, queue depths by state (``failed`` is
the jobs that exhausted their retries), and the poller's checkpoints when that table exists.
Collecting does the I/O; rendering (table or JSON) is pure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
import redis
from rq import Queue

from workers.inbox import inbox_key
from workers.normalize.times import format_utc
from workers.store import SqlStore

CHECKPOINTS_TABLE = "checkpoints"


@dataclass
class Stats:
    cdrs: int = 0
    by_vendor: dict[str, int] = field(default_factory=dict)
    by_source: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    quarantine: dict[str, int] = field(default_factory=dict)
    queue: dict[str, int] | None = None  # None: Redis did not answer
    queue_error: str | None = None
    checkpoints: list[dict[str, Any]] = field(default_factory=list)


def queue_depths(queue: Queue) -> dict[str, int]:
    """Envelopes in the inbox (pushed, not yet taken by a drain job), then jobs by state: waiting,
    running, scheduled (a retry's back-off), deferred, failed (retries exhausted)."""
    return {
        "inbox_envelopes": int(queue.connection.llen(inbox_key(queue.name))),
        "queued": queue.count,
        "started": queue.started_job_registry.count,
        "scheduled": queue.scheduled_job_registry.count,
        "deferred": queue.deferred_job_registry.count,
        "failed": queue.failed_job_registry.count,
    }


def collect(store: SqlStore, queue: Queue, checkpoints_table: str = CHECKPOINTS_TABLE) -> Stats:
    stats = Stats()
    with store.reading() as cur:
        cur.execute("SELECT vendor, sources, status, COUNT(*) AS n FROM cdrs GROUP BY vendor, sources, status")
        groups = [_values(r) for r in cur.fetchall()]
        cur.execute(
            "SELECT CASE WHEN replayed_at IS NULL THEN 'open' ELSE 'replayed' END AS state, COUNT(*) AS n"
            " FROM quarantine GROUP BY 1"
        )
        stats.quarantine = {"open": 0, "replayed": 0} | {str(s): int(n) for s, n in map(_values, cur.fetchall())}
        if _table_exists(store, cur, checkpoints_table):
            cur.execute(f"SELECT * FROM {checkpoints_table} ORDER BY 1, 2")
            names = [d[0] for d in cur.description]
            stats.checkpoints = [_plain(dict(zip(names, _values(r), strict=True))) for r in cur.fetchall()]
    vendors, sources, statuses = Counter[str](), Counter[str](), Counter[str]()
    for vendor, source_list, status, n in groups:
        vendors[vendor] += n
        statuses[status] += n
        for source in str(source_list).split(","):
            sources[source] += n
    stats.cdrs = sum(vendors.values())
    stats.by_vendor, stats.by_source, stats.by_status = dict(vendors), dict(sources), dict(statuses)
    try:
        stats.queue = queue_depths(queue)
    except (redis.RedisError, OSError) as e:
        stats.queue_error = f"Redis does not answer: {e}"
    return stats


def _values(row: Any) -> Sequence[Any]:
    return list(row.values()) if isinstance(row, Mapping) else row


def _table_exists(store: SqlStore, cur: Any, name: str) -> bool:
    if store.dialect == "sqlite":
        cur.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", [name])
        return bool(_values(cur.fetchone())[0])
    cur.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
    return bool(_values(cur.fetchone())[0])


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    def plain(v: Any) -> Any:
        if isinstance(v, datetime):
            return format_utc(v)
        if isinstance(v, Decimal):
            return str(v)
        return v

    return {k: plain(v) for k, v in row.items()}


# -- rendering (pure) -----------------------------------------------------------------------------
def to_json(stats: Stats) -> str:
    return orjson.dumps(asdict(stats), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()


def render_table(stats: Stats) -> str:
    rows: list[tuple[str, str, str]] = [("cdrs", "total", str(stats.cdrs))]
    for section, counts in (("vendor", stats.by_vendor), ("source", stats.by_source),
                            ("status", stats.by_status), ("quarantine", stats.quarantine)):  # fmt: skip
        rows += [(section, k, str(v)) for k, v in sorted(counts.items())]
    if stats.queue is None:
        rows.append(("queue", "unavailable", stats.queue_error or ""))
    else:
        rows += [("queue", k, str(v)) for k, v in stats.queue.items()]
    out = [_table(("section", "name", "count"), rows)]
    if stats.checkpoints:
        headers = tuple(stats.checkpoints[0])
        out.append(
            "poller checkpoints\n" + _table(headers, [tuple(str(r[h]) for h in headers) for r in stats.checkpoints])
        )
    else:
        out.append("poller checkpoints: none")
    return "\n\n".join(out) + "\n"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows, strict=True)]
    lines = [headers, ["-" * w for w in widths], *rows]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines)
