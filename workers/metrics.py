"""Prometheus metrics: every metric the service exports, and the small API the code calls to set them.

Processes: the receiver serves ``GET /metrics``. On one host (systemd), every process (each
uvicorn worker, each RQ worker, the poller) writes its samples under ``PROMETHEUS_MULTIPROC_DIR``
and the receiver's ``/metrics`` aggregates them. Where processes do not share a host and a PID
namespace (containers, Kubernetes pods), an RQ worker or the poller serves its own metrics on
``METRICS_HOST:METRICS_PORT`` instead. Queue depths (Redis) and the spool (its directory) are read
when Prometheus scrapes, so they are never stale.

prometheus-client picks multiprocess mode when ``PROMETHEUS_MULTIPROC_DIR`` is in the environment
as it is imported, and writes there at once, so that variable must be set before the process
starts (a unit's ``Environment=``) and the directory must exist: ``cdr-ingest`` creates it before
importing this module.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from functools import cache
from typing import Protocol
from wsgiref.simple_server import WSGIServer

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest, start_http_server
from prometheus_client import multiprocess as mp
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from workers.settings import Settings

DELIVERIES = Counter(
    "cdr_ingest_deliveries", "Webhook deliveries answered by the receiver, by feed and outcome.", ["feed", "outcome"]
)
ACCEPT_SECONDS = Histogram(
    "cdr_ingest_accept_seconds", "Time from request start to the 202 answer (the delivery is in Redis).", ["feed"]
)
JOBS = Counter("cdr_ingest_jobs", "Ingest jobs run by the workers, by outcome (processed, failed).", ["outcome"])
CDRS = Counter(
    "cdr_ingest_cdrs", "Deliveries handled by the workers, by feed and outcome (stored, quarantined, ignored).",
    ["feed", "outcome"],
)  # fmt: skip
STORE_WRITE_SECONDS = Histogram("cdr_ingest_store_write_seconds", "Time to upsert one batch into the store.")
POLLER_ROWS = Counter("cdr_ingest_poller_rows", "Rows fetched by the poller, by feed and account.", ["feed", "account"])
POLLER_LAG = Gauge(
    "cdr_ingest_poller_lag_seconds", "Seconds between the last poll and its checkpoint, by feed and account.",
    ["feed", "account"], multiprocess_mode="livemax",
)  # fmt: skip
POLLER_CHECKPOINT = Gauge(
    "cdr_ingest_poller_checkpoint_timestamp_seconds",
    "Unix time of the poller checkpoint; time() minus it is the lag, growing while the poller is stuck.",
    ["feed", "account"], multiprocess_mode="max",
)  # fmt: skip


# -- the API the rest of the code calls -----------------------------------------------------------
def observe_delivery(feed: str, outcome: str, seconds: float | None = None) -> None:
    """One answered delivery; ``seconds`` (time to 202) only for accepted ones."""
    _deliveries(feed, outcome).inc()
    if seconds is not None:
        _accept_seconds(feed).observe(seconds)


# The receiver's per-request metrics, their label lookups cached (a few feeds and outcomes; the
# lookup takes a lock and builds a key on every call).
_deliveries = cache(DELIVERIES.labels)
_accept_seconds = cache(ACCEPT_SECONDS.labels)


def observe_job(outcome: str, cdrs: Mapping[tuple[str, str], int] | None = None) -> None:
    """One job run (``processed`` or ``failed``) and its deliveries by (feed, outcome)."""
    JOBS.labels(outcome).inc()
    for (feed, cdr_outcome), n in (cdrs or {}).items():
        CDRS.labels(feed, cdr_outcome).inc(n)


def observe_poll(feed: str, account: str, *, rows: int, checkpoint: datetime, now: datetime) -> None:
    """The poller calls this after each poll of one account: rows fetched, checkpoint reached."""
    POLLER_ROWS.labels(feed, account).inc(rows)
    POLLER_LAG.labels(feed, account).set(max(0.0, (now - checkpoint).total_seconds()))
    POLLER_CHECKPOINT.labels(feed, account).set(checkpoint.timestamp())


DepthReader = Callable[[], Mapping[str, int]]


class SpoolSize(Protocol):
    @property
    def bytes(self) -> int: ...

    @property
    def segments(self) -> int: ...


# -- exposition -----------------------------------------------------------------------------------
class QueueCollector:
    """Queue depths by state, read from Redis at scrape time (``depths`` is called per scrape)."""

    def __init__(self, queue: str, depths: DepthReader) -> None:
        self.queue = queue
        self.depths = depths

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("cdr_ingest_redis_up", "1 when Redis answered the scrape's queue-depth query.")
        jobs = GaugeMetricFamily(
            "cdr_ingest_queue_jobs", "Jobs in the ingest queue by state.", labels=["queue", "state"]
        )
        try:
            depths = self.depths()
        except Exception:  # a scrape must still answer when Redis does not
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        for state, n in depths.items():
            jobs.add_metric([self.queue, state], n)
        yield up
        yield jobs


class SpoolCollector:
    """The receiver's spool, read from its directory at scrape time: every process sharing the
    directory sees the same files, so the number is right however many processes wrote them."""

    def __init__(self, state: Callable[[], SpoolSize]) -> None:
        self.state = state

    def collect(self) -> Iterator[GaugeMetricFamily]:
        state = self.state()
        yield GaugeMetricFamily("cdr_ingest_spool_bytes", "Bytes of deliveries waiting in the spool for Redis.",
                                value=state.bytes)  # fmt: skip
        yield GaugeMetricFamily("cdr_ingest_spool_segments", "Spool segment files waiting to be drained.",
                                value=state.segments)  # fmt: skip


def exposition(settings: Settings, extra: Iterable[Collector] = ()) -> bytes:
    """The text exposition: this host's processes (multiprocess mode) or this process, plus ``extra``."""
    registry = CollectorRegistry(auto_describe=False)
    if settings.prometheus_multiproc_dir:
        mp.MultiProcessCollector(registry, path=settings.prometheus_multiproc_dir)  # type: ignore[no-untyped-call]
    else:
        registry.register(REGISTRY)
    for collector in extra:
        registry.register(collector)
    return generate_latest(registry)


def serve_own(settings: Settings) -> WSGIServer | None:
    """A worker or the poller serves its own ``/metrics`` when ``METRICS_PORT`` is set (a daemon thread)."""
    if not settings.metrics_port:
        return None
    server, _ = start_http_server(settings.metrics_port, addr=settings.metrics_host)
    return server


def process_exit(settings: Settings) -> None:
    """In multiprocess mode, drop this process's live gauges (its counters keep counting)."""
    if settings.prometheus_multiproc_dir:
        mp.mark_process_dead(os.getpid(), settings.prometheus_multiproc_dir)  # type: ignore[no-untyped-call]
