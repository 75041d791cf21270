"""Start the real receiver (``cdr-ingest serve`` under uvicorn) and real RQ workers as processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx

from tests.conftest import CALLR_SECRET, CALLR_TOKEN
from workers.services import free_port


def stack_env(redis_url: str, database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a test stack: Callr webhook and Actions enabled for account acct1, JSON logs."""
    return {
        "REDIS_URL": redis_url,
        "DATABASE_URL": database_url,
        "CALLR_WEBHOOK_SECRET": CALLR_SECRET,
        "CALLR_ACTIONS_TOKEN": CALLR_TOKEN,
        "CALLR_ACCOUNT_SID": "acct1",
        "LOG_FORMAT": "json",
        **extra,
    }


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "workers.cli", *args]


def wait_until(predicate: Callable[[], bool], timeout_s: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


class Stack:
    def __init__(self, env: Mapping[str, str], log_dir: Path) -> None:
        self.env = {**os.environ, **env}
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen[bytes]] = []
        self._logs: list[IO[bytes]] = []
        self.base_url = ""

    def _spawn(self, name: str, *args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = open(self.log_dir / f"{name}.log", "ab")
        self._logs.append(log)
        p = subprocess.Popen(cli(*args), env={**self.env, **(env or {})}, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(p)
        return p

    def serve(self) -> subprocess.Popen[bytes]:
        port = free_port()
        process = self._spawn("receiver", "serve", env={"PORT": str(port)})
        self.base_url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return httpx.get(f"{self.base_url}/healthz", timeout=0.5).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(up, what="the receiver to answer /healthz")
        return process

    def worker(self, name: str = "worker") -> subprocess.Popen[bytes]:
        return self._spawn(name, "worker")

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text()

    def stop(self) -> None:
        for p in self.processes:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.processes:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for log in self._logs:
            log.close()


@contextmanager
def running_stack(env: Mapping[str, str], log_dir: Path) -> Iterator[Stack]:
    stack = Stack(env, log_dir)
    subprocess.run(cli("migrate"), env=stack.env, check=True, capture_output=True)
    try:
        yield stack
    finally:
        stack.stop()
