"""The poller's commands through ``cdr-ingest``'s own ``main``: exit codes and what they print."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
import redis

from tests.fakes.vendor_api import FakeCallr, v1_cdr
from workers.cli import main
from workers.errors import ConfigError
from workers.poller.commands import parse_bound
from workers.queue import ingest_queue

DAY = datetime(2024, 5, 1, tzinfo=UTC)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, callr_env: dict[str, str], redis_url: str, sqlite_url: str) -> dict[str, str]:
    values = {**callr_env, "REDIS_URL": redis_url, "DATABASE_URL": sqlite_url, "CALLR_ACCOUNT_SID": "acct1",
              "LOG_FORMAT": "json", "CALLR_API_KEY": ""}  # fmt: skip
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def test_backfill_enqueues_one_job_per_page_and_logs_off_a_terminal(
    env: dict[str, str], callr: FakeCallr, redis_client: redis.Redis, capsys: pytest.CaptureFixture[str]
) -> None:
    """`cdr-ingest backfill callr --since D --until D` covers day D, exits 0, JSON log lines on stdout."""
    callr.cdrs_in = [v1_cdr(1, DAY + timedelta(hours=3, minutes=5)), v1_cdr(2, DAY + timedelta(hours=23, minutes=5))]
    assert main(["backfill", "callr", "--since", "2024-05-01", "--until", "2024-05-01"]) == 0
    assert ingest_queue(redis_client, "cdr-ingest").count == 2
    lines = [orjson.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    done = [e for e in lines if e["event"] == "backfill.done"]
    assert done and done[0]["rows"] == 2 and done[0]["windows"] == "24/24"


def test_backfill_refused_exits_1_with_the_reason(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad credentials: exit 1, the vendor's answer on stderr, no credential in it."""
    monkeypatch.setenv("CALLR_PASSWORD", "wrong-password")
    assert main(["backfill", "callr", "--since", "2024-05-01", "--until", "2024-05-01T02:00:00Z"]) == 1
    err = capsys.readouterr().err
    assert "answered 401" in err and "re-running the same window is safe" in err and "wrong-password" not in err


def test_backfill_without_credentials_is_a_config_error(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A vendor with no poller credentials exits 2 and says what to set."""
    monkeypatch.setenv("CALLR_LOGIN", "")
    assert main(["backfill", "callr", "--since", "2024-05-01", "--until", "2024-05-01"]) == 2
    assert "no configured callr account" in capsys.readouterr().err


def test_dates_on_the_command_line() -> None:
    """A bare --until date includes that day; times are ISO 8601, UTC when they have no zone."""
    assert parse_bound("2024-05-01") == DAY
    assert parse_bound("2024-05-01", end=True) == DAY + timedelta(days=1)
    assert parse_bound("2024-05-01T10:30:00+02:00") == DAY + timedelta(hours=8, minutes=30)
    assert parse_bound("2024-05-01 10:30") == DAY + timedelta(hours=10, minutes=30)
    with pytest.raises(ConfigError, match="not a date"):
        parse_bound("yesterday")
