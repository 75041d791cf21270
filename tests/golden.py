"""Golden-file checks for feed adapters: payload file in, expected CDR JSON beside it.

``UPDATE_GOLDEN=1 pytest ...`` rewrites the expected files; review every diff before committing.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

import attrs

from workers.bodies import decode
from workers.cdr import CDR
from workers.settings import Account
from workers.vendors import Ignored, get_feed
from workers.verification import Verification

RECEIVED_AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def as_json(value: Any) -> Any:
    if isinstance(value, CDR | Verification):
        return {f.name: as_json(getattr(value, f.name)) for f in attrs.fields(type(value))} | {"id": value.id}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    return value


def convert(feed_name: str, payload_path: Path, account: Account, content_type: str = "application/json") -> Any:
    return convert_payload(feed_name, decode(payload_path.read_bytes(), content_type), account)


def convert_payload(feed_name: str, payload: Any, account: Account) -> Any:
    feed = get_feed(feed_name)
    record = feed.parse(payload)
    if isinstance(record, Ignored):
        return {"ignored": record.reason}
    cdr = feed.to_cdr(record, account=account, received_at=RECEIVED_AT)
    return as_json(cdr) | {"delivery_id": record.delivery_id}


def check_golden(feed_name: str, payload_path: Path, account: Account, content_type: str = "application/json") -> None:
    actual = convert(feed_name, payload_path, account, content_type)
    check_expected(actual, payload_path.with_suffix(".expected.json"))


def check_expected(actual: Any, expected_path: Path) -> None:
    """``actual`` equals the JSON in ``expected_path`` (written there with ``UPDATE_GOLDEN=1``)."""
    if os.environ.get("UPDATE_GOLDEN"):
        expected_path.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n")
    assert expected_path.exists(), f"no golden file {expected_path.name}; run with UPDATE_GOLDEN=1 and review it"
    assert actual == json.loads(expected_path.read_text())
