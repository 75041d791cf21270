"""Vobiz and Kazoo backfills end to end on both stores (fake API → RQ on real Redis → a burst worker
→ rows): a call received by webhook and backfilled is one row, re-running changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
import redis

from tests.conftest import PAYLOADS
from tests.fakes.kazoo_api import kazoo_row
from tests.fakes.vendor_api import FakeKazoo, FakeVobiz
from tests.fakes.vobiz_api import vobiz_cdr
from tests.workers.poller.conftest import Backfill, work
from workers import jobs
from workers.envelope import Envelope
from workers.merge import as_comparable
from workers.queue import enqueue_envelopes, ingest_queue

VOBIZ_DAY = datetime(2026, 3, 25, tzinfo=UTC)
KAZOO_DAY = datetime(2019, 5, 6, tzinfo=UTC)
KAZOO_LEG = "NDlkNGI3OTZlMDgzNWQxNGYxNTA3NjQ4NDZjNDFkOTc"


def push(redis_client: redis.Redis, rt: jobs.Runtime, feed: str, account: str, body: bytes) -> None:
    """One webhook delivery, received a minute from now (newer than the backfill), stored by a worker."""
    queue = ingest_queue(redis_client, rt.settings.queue_name)
    later = datetime.now(UTC) + timedelta(minutes=1)
    enqueue_envelopes(queue, [Envelope(feed=feed, account=account, received_at=later, body=body.decode())])
    work(queue, redis_client)


def test_vobiz_webhook_and_backfill_make_one_row(
    vobiz: FakeVobiz, runtime: jobs.Runtime, backfill: Backfill, redis_client: redis.Redis
) -> None:
    """Trunk webhook (CallUUID) and CDR API (uuid) of one call: one row, sources backfill,webhook,
    the API's billing kept although the webhook copy was processed later."""
    sample = orjson.loads((PAYLOADS / "vobiz" / "cdr_list_sdk_mock.json").read_bytes())["data"][0]
    vobiz.cdrs = [sample | {"total_cost": 0.52}, vobiz_cdr("other", VOBIZ_DAY + timedelta(hours=3))]
    assert backfill("vobiz", since=VOBIZ_DAY, until=VOBIZ_DAY + timedelta(days=1)).rows == 2
    push(
        redis_client,
        runtime,
        "vobiz.trunk",
        vobiz.auth_id,
        (PAYLOADS / "vobiz" / "trunk_hangup_answered.json").read_bytes(),
    )
    row = runtime.store.get(f"vobiz:{vobiz.auth_id}:aabbccdd-1234-5678-90ab-cdef12345678")
    assert row is not None and ",".join(sorted(row.sources)) == "backfill,webhook" and runtime.store.count() == 2
    assert (str(row.cdr.cost), row.cdr.currency) == ("0.520000", "INR")
    assert row.cdr.extra["TrunkID"] == "trk_7Hq2" and row.cdr.extra["hangup_cause_code"] == 4000


def test_kazoo_webhook_and_backfill_make_one_row(
    kazoo: FakeKazoo, runtime: jobs.Runtime, backfill: Backfill, redis_client: redis.Redis
) -> None:
    """channel_destroy and the /cdrs listing row of one leg: one row with both sources, the
    webhook's SIP code and ring time, the listing's cost."""
    push(
        redis_client,
        runtime,
        "kazoo.webhook",
        kazoo.account_id,
        (PAYLOADS / "kazoo" / "channel_destroy.json").read_bytes(),
    )
    kazoo.cdrs = [orjson.loads((PAYLOADS / "kazoo" / "cdrs_row_channel_destroy.json").read_bytes())]
    assert backfill("kazoo", since=KAZOO_DAY, until=KAZOO_DAY + timedelta(days=1)).rows == 1
    row = runtime.store.get(f"kazoo:{kazoo.account_id}:{KAZOO_LEG}")
    assert row is not None and ",".join(sorted(row.sources)) == "backfill,webhook" and runtime.store.count() == 1
    assert (str(row.cdr.cost), row.cdr.currency, row.cdr.sip_code, row.cdr.ring_s) == ("0.060000", "USD", 200, 0)
    assert row.cdr.started_at == datetime(2019, 5, 6, 8, 10, 3, tzinfo=UTC)


@pytest.mark.parametrize("vendor", ["vobiz", "kazoo"])
def test_rerunning_a_window_changes_nothing(
    vendor: str, vobiz: FakeVobiz, kazoo: FakeKazoo, runtime: jobs.Runtime, backfill: Backfill
) -> None:
    """The same day backfilled twice (250 calls over 3 pages): same rows, values, sources, first_seen_at."""
    day = VOBIZ_DAY
    vobiz.cdrs = [vobiz_cdr(f"u{i}", day + timedelta(minutes=5 * i), answered=i % 3 > 0) for i in range(250)]
    kazoo.cdrs = [kazoo_row(f"leg{i:04}", day + timedelta(minutes=5 * i), answered=i % 3 > 0) for i in range(250)]
    first = backfill(vendor, since=day, until=day + timedelta(days=1))
    ids = [f"vobiz:{vobiz.auth_id}:u{i}" if vendor == "vobiz" else f"kazoo:{kazoo.account_id}:leg{i:04}"
           for i in range(250)]  # fmt: skip
    before = {i: as_comparable(runtime.store.get(i)) for i in ids}  # type: ignore[arg-type]
    assert backfill(vendor, since=day, until=day + timedelta(days=1)).pages == first.pages == 3
    assert runtime.store.count() == 250 and runtime.store.quarantined() == []
    for key in ids:
        after = as_comparable(runtime.store.get(key))  # type: ignore[arg-type]
        assert {k: before[key][k] for k in ("cdr", "sources", "first_seen_at")} == {
            k: after[k] for k in ("cdr", "sources", "first_seen_at")
        }
