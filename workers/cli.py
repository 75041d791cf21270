"""``cdr-ingest``: one entry point, one function per command; dispatch only.

Each command loads the settings once and passes them down.
"""

from __future__ import annotations

import argparse
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
    import uvicorn

    uvicorn.run(
        "receiver.app:from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=30,
        timeout_keep_alive=5,
        limit_concurrency=2048,
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


COMMANDS = {"run": cmd_run, "serve": cmd_serve, "worker": cmd_worker, "migrate": cmd_migrate}
COMMANDS.update(poller_commands.COMMANDS)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cdr-ingest", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="receiver, one worker and the poller on one machine (embedded defaults)")
    sub.add_parser("serve", help="the receiver (uvicorn) on HOST:PORT")
    worker = sub.add_parser("worker", help="an RQ worker on the ingest queue")
    worker.add_argument("--burst", action="store_true", help="exit once the queue is empty")
    sub.add_parser("migrate", help="create or upgrade the store schema")
    poller_commands.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as e:
        print(f"cdr-ingest: configuration error: {e}", file=sys.stderr)
        return 2
    configure_logging(fmt=settings.log_format, level=settings.log_level)
    try:
        return COMMANDS[args.command](settings, args)
    except ConfigError as e:
        print(f"cdr-ingest: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
