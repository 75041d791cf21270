"""``cdr-ingest``: one entry point, one function per command; dispatch only.

Each command loads the settings once and passes them down.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from workers.errors import ConfigError
from workers.logs import configure_logging, get_logger
from workers.poller import commands as poller_commands
from workers.settings import Settings, load_settings

log = get_logger("cdr_ingest.cli")


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    """The receiver under uvicorn, every limit chosen here rather than left to uvicorn's defaults."""
    import uvicorn

    uvicorn.run(
        "receiver.app:from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.receiver_workers,
        # httptools plus a header size limit (431) and a header deadline (408) that uvicorn lacks.
        http="receiver.server:GuardedHttpToolsProtocol",
        # The client address is worked out by the app from TRUSTED_PROXIES (receiver/clients.py):
        # uvicorn's own X-Forwarded-For handling (trusting 127.0.0.1, or FORWARDED_ALLOW_IPS) is off.
        proxy_headers=False,
        access_log=False,  # one ingest.* line per request instead, with no token from a query string
        log_config=None,
        server_header=False,
        timeout_graceful_shutdown=30,  # in-flight requests finish and pending envelopes reach Redis
        timeout_keep_alive=settings.keep_alive_s,  # idle keep-alive connections (kept by receiver/server.py)
        limit_concurrency=2048,  # connections + tasks per process; past it, 503 (vendors retry)
    )
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from workers.worker import run_worker

    run_worker(settings, burst=args.burst)
    return 0


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from workers.store import open_store

    store = open_store(settings.database_url)
    try:
        applied = store.migrate(now=datetime.now(UTC))
        version = store.schema_version()
    finally:
        store.close()
    print(f"schema at version {version}" + (f" (applied {', '.join(map(str, applied))})" if applied else ""))
    return 0


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    """Everything on one machine: Redis (started if none answers), receiver, one worker, the poller."""
    from workers.services import redis_answers, start_redis

    env = dict(os.environ)
    children: list[subprocess.Popen[bytes]] = []
    if redis_answers(settings.redis_url):
        print(f"cdr-ingest run: using Redis at {settings.redis_url}")
    else:
        redis_process, url = start_redis(Path("var/redis"))
        children.append(redis_process)
        env["REDIS_URL"] = url
        print(f"cdr-ingest run: {settings.redis_url} did not answer; started redis-server at {url}")
    exe = [sys.executable, "-m", "workers.cli"]
    subprocess.run([*exe, "migrate"], env=env, check=True)
    for command in (["serve"], ["worker"], ["poll"]):
        children.append(subprocess.Popen([*exe, *command], env=env))
    print(
        f"cdr-ingest run: receiver on http://{settings.host}:{settings.port}, one worker, the poller,"
        f" store {settings.database_url}"
    )
    print("cdr-ingest run: Ctrl-C stops everything")
    return _supervise(children)


def _supervise(children: list[subprocess.Popen[bytes]]) -> int:
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    while not stopping:
        for child in children:
            if child.poll() is not None:
                print(f"cdr-ingest run: {child.args!r} exited with {child.returncode}; stopping", file=sys.stderr)
                stopping, code = True, 1
                break
        time.sleep(0.2)
    for child in reversed(children):  # Redis (first) stops last, after the worker finished its job
        if child.poll() is None:
            child.terminate()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
    return code


def cmd_stats(settings: Settings, args: argparse.Namespace) -> int:
    from workers import stats
    from workers.queue import ingest_queue, redis_connection
    from workers.store import open_store

    store = open_store(settings.database_url)
    connection = redis_connection(settings.redis_url, timeout_s=2.0)
    try:
        collected = stats.collect(store, ingest_queue(connection, settings.queue_name))
    finally:
        store.close()
        connection.close()
    print(stats.to_json(collected) if args.json else stats.render_table(collected).rstrip("\n"))
    return 0


def cmd_quarantine(settings: Settings, args: argparse.Namespace) -> int:
    from workers import admin
    from workers.store import open_store

    store = open_store(settings.database_url)
    try:
        if args.action == "list":
            rows = admin.quarantine_rows(store.quarantined(args.ids, include_replayed=args.all))
            print_rows(rows, as_json=args.json, empty="quarantine is empty")
            return 0
        sent = admin.replay_quarantined(store, settings, args.ids, now=datetime.now(UTC))
        print(f"replayed {len(sent)} envelope(s)" + (f": {', '.join(sent)}" if sent else ""))
        return 0
    except KeyError as e:
        print(f"cdr-ingest: {e.args[0]}", file=sys.stderr)
        return 1
    finally:
        store.close()


def cmd_failed(settings: Settings, args: argparse.Namespace) -> int:
    from workers import admin

    if args.action == "list":
        rows = [
            {"job_id": j.id, "failed_at": j.failed_at.isoformat() if j.failed_at else "",
             "envelopes": str(j.envelopes), "error": j.error}
            for j in admin.failed_jobs(settings)
        ]  # fmt: skip
        print_rows(rows, as_json=args.json, empty="no failed jobs")
        return 0
    requeued = admin.requeue_failed(settings, args.ids)
    print(f"requeued {len(requeued)} job(s)")
    return 0


def print_rows(rows: list[dict[str, str]], *, as_json: bool, empty: str) -> None:
    """A list of records as JSON, or as an aligned table for people."""
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    if not rows:
        print(empty)
        return
    columns = list(rows[0])
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for r in rows:
        print("  ".join(r[c].ljust(widths[c]) for c in columns))


COMMANDS = {
    "run": cmd_run,
    "serve": cmd_serve,
    "worker": cmd_worker,
    "migrate": cmd_migrate,
    "quarantine": cmd_quarantine,
    "failed": cmd_failed,
    "stats": cmd_stats,
}
COMMANDS.update(poller_commands.COMMANDS)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cdr-ingest", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="receiver, one worker and the poller on one machine (embedded defaults)")
    sub.add_parser("serve", help="the receiver (uvicorn) on HOST:PORT")
    worker = sub.add_parser("worker", help="an RQ worker on the ingest queue")
    worker.add_argument("--burst", action="store_true", help="exit once the queue is empty")
    sub.add_parser("migrate", help="create or upgrade the store schema")
    quarantine = sub.add_parser("quarantine", help="payloads that could not be normalized")
    quarantine.add_argument("action", choices=["list", "replay"])
    quarantine.add_argument("ids", nargs="*", help="ingest ids (default: every open one)")
    quarantine.add_argument("--all", action="store_true", help="list: include replayed ones")
    quarantine.add_argument("--json", action="store_true", help="list: JSON output")
    failed = sub.add_parser("failed", help="RQ jobs that exhausted their retries")
    failed.add_argument("action", choices=["list", "requeue"])
    failed.add_argument("ids", nargs="*", help="job ids (default: every failed job)")
    failed.add_argument("--json", action="store_true", help="list: JSON output")
    stats = sub.add_parser("stats", help="counts per vendor, source and status; queue depths; poller checkpoints")
    stats.add_argument("--json", action="store_true", help="JSON instead of a table")
    poller_commands.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as e:
        print(f"cdr-ingest: configuration error: {e}", file=sys.stderr)
        return 2
    configure_logging(fmt=settings.log_format, level=settings.log_level, mask_phone_numbers=settings.log_mask_numbers)
    if settings.prometheus_multiproc_dir:  # prometheus-client writes there as soon as it is imported
        Path(settings.prometheus_multiproc_dir).mkdir(parents=True, exist_ok=True)
    try:
        return COMMANDS[args.command](settings, args)
    except ConfigError as e:
        print(f"cdr-ingest: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
