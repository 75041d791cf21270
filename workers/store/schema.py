"""The store schema, as versioned migrations per dialect. ``cdr-ingest migrate`` applies them.

Columns mirror shared/schema.md (``cdrs``, ``verifications``); ``merge_versions`` is internal
(which delivery set each field, see ``workers.merge``). Append a migration to change the schema;
never edit an applied one.
"""

from __future__ import annotations

from dataclasses import dataclass

_CDRS_COLUMNS = """
    id text PRIMARY KEY,
    vendor text NOT NULL,
    account_id text,
    call_id text NOT NULL,
    leg text,
    other_leg_call_id text,
    interaction_id text,
    direction text NOT NULL,
    from_number text,
    to_number text,
    from_name text,
    caller_restricted boolean NOT NULL DEFAULT false,
    started_at {ts},
    answered_at {ts},
    ended_at {ts},
    duration_s integer,
    talk_s integer,
    billed_s integer,
    ring_s integer,
    status text NOT NULL,
    q850_cause integer,
    hangup_cause text,
    sip_code integer,
    hangup_source text,
    cost {money},
    currency char(3),
    mos real,
    jitter_ms real,
    packet_loss_pct real,
    codec text,
    extra {json} NOT NULL,
    sources text NOT NULL,
    first_seen_at {ts} NOT NULL,
    updated_at {ts} NOT NULL,
    raw {json} NOT NULL,
    merge_versions {json} NOT NULL
"""

_QUARANTINE_COLUMNS = """
    ingest_id text PRIMARY KEY,
    feed text NOT NULL,
    account text NOT NULL,
    received_at {ts} NOT NULL,
    reason text NOT NULL,
    envelope {json} NOT NULL,
    quarantined_at {ts} NOT NULL,
    replayed_at {ts}
"""

_CHECKPOINTS_COLUMNS = """
    vendor text NOT NULL,
    account text NOT NULL,
    source text NOT NULL,
    polled_until {ts} NOT NULL,
    updated_at {ts} NOT NULL,
    last_error text,
    state {json},
    PRIMARY KEY (vendor, account, source)
"""

_VERIFICATIONS_COLUMNS = """
    id text PRIMARY KEY,
    vendor text NOT NULL,
    account_id text,
    verification_id text NOT NULL,
    method text,
    started_at {ts},
    ended_at {ts},
    result text,
    reason text,
    cli text,
    identity_type text,
    identity_endpoint text,
    country char(2),
    reference text,
    custom text,
    cost {money},
    currency char(3),
    sources text NOT NULL,
    first_seen_at {ts} NOT NULL,
    updated_at {ts} NOT NULL,
    raw {json} NOT NULL,
    merge_versions {json} NOT NULL
"""

_TYPES = {
    "sqlite": {"ts": "text", "money": "text", "json": "text"},
    "postgresql": {"ts": "timestamptz", "money": "numeric(20,6)", "json": "jsonb"},
}


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


def migrations(dialect: str) -> tuple[Migration, ...]:
    t = _TYPES[dialect]
    return (
        Migration(
            1,
            "cdrs and quarantine",
            (
                f"CREATE TABLE cdrs ({_CDRS_COLUMNS.format(**t)})",
                "CREATE INDEX cdrs_started_at ON cdrs (started_at)",
                "CREATE INDEX cdrs_vendor_account ON cdrs (vendor, account_id, started_at)",
                "CREATE INDEX cdrs_updated_at ON cdrs (updated_at)",
                f"CREATE TABLE quarantine ({_QUARANTINE_COLUMNS.format(**t)})",
                "CREATE INDEX quarantine_open ON quarantine (quarantined_at) WHERE replayed_at IS NULL",
            ),
        ),
        Migration(
            2,
            "poller checkpoints",
            (f"CREATE TABLE checkpoints ({_CHECKPOINTS_COLUMNS.format(**t)})",),
        ),
        Migration(
            3,
            "verifications (Sinch verification CDR files)",
            (
                f"CREATE TABLE verifications ({_VERIFICATIONS_COLUMNS.format(**t)})",
                "CREATE INDEX verifications_vendor_account ON verifications (vendor, account_id, started_at)",
            ),
        ),
    )


MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at text NOT NULL)"
)
