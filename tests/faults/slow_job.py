"""A job for shutdown tests: takes a while, then leaves a mark in Redis."""

from __future__ import annotations

import time

import redis


def sleep_then_mark(url: str, key: str, seconds: float) -> None:
    time.sleep(seconds)
    client = redis.Redis.from_url(url)
    client.set(key, "done")
    client.close()
