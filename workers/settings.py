"""Settings, read once from the environment (and the optional TOML file) into frozen dataclasses.

Nothing else in the project reads ``os.environ``: commands call ``load_settings()`` once and pass
the result down. Secrets are wrapped in ``Secret`` so they never print.
"""

from __future__ import annotations

import base64
import binascii
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from workers.env_values import (
    Network,
    Secret,
    env_base_url,
    env_bool,
    env_choice,
    env_int,
    env_networks,
    env_rotating,
    networks,
    read_file,
)
from workers.errors import ConfigError

__all__ = ["Account", "ConfigError", "Network", "Secret", "Settings", "load_settings"]


@dataclass(frozen=True)
class Account:
    """One vendor account: who it is, how its deliveries authenticate, how its values normalize."""

    vendor: str
    id: str
    # purpose ("webhook", "actions", "callback", "app", "api") -> accepted secrets, current first.
    secrets: Mapping[str, tuple[Secret, ...]] = field(default_factory=dict)
    options: Mapping[str, str] = field(default_factory=dict)
    currency: str | None = None
    region: str | None = None
    # Addresses this account's deliveries may come from (``<VENDOR>_ALLOWED_IPS``); empty: any.
    allowed_ips: tuple[Network, ...] = ()

    def secrets_for(self, purpose: str) -> tuple[Secret, ...]:
        return self.secrets.get(purpose, ())

    def option(self, name: str, default: str | None = None) -> str | None:
        return self.options.get(name, default)


@dataclass(frozen=True)
class Settings:
    redis_url: str = "redis://127.0.0.1:6379/0"
    database_url: str = "sqlite:///var/cdr.db"
    host: str = "127.0.0.1"
    port: int = 8000
    receiver_workers: int = 1
    max_body_bytes: int = 256 * 1024
    dedupe_window_s: int = 24 * 3600
    signature_tolerance_s: int = 300
    poll_interval_s: int = 300
    poll_overlap_s: int = 3600
    poll_max_queued_jobs: int = 20
    queue_name: str = "cdr-ingest"
    spool_dir: str = "var/spool"
    spool_max_bytes: int = 1024**3
    job_timeout_s: int = 60
    worker_maintenance_s: int = 30
    drain_linger_ms: int = 50
    log_format: str = "auto"
    log_level: str = "INFO"
    # The read API's bearer tokens, current first (READ_API_TOKEN, READ_API_TOKEN_PREVIOUS); empty: disabled.
    read_api_tokens: tuple[Secret, ...] = ()
    log_mask_numbers: bool = False
    prometheus_multiproc_dir: str | None = None
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 0
    accounts: tuple[Account, ...] = ()
    # The scheme://host[/prefix] vendors call when a proxy sits in front: the URL Vobiz signs.
    public_base_url: str | None = None
    # How long a Vobiz V3 nonce is remembered: V3 signs no timestamp, so this window is the replay guard.
    nonce_window_s: int = 24 * 3600
    # Peers whose X-Forwarded-For is believed (the TLS proxy); nobody's by default.
    trusted_proxies: tuple[Network, ...] = ()
    read_api_allowed_ips: tuple[Network, ...] = ()
    # Requests per window per source and client address; 0: off (vendors burst from few addresses).
    rate_limit: int = 0
    rate_limit_window_s: int = 60
    # Failed authentications per window per client address before it gets 429; 0: off.
    auth_failure_limit: int = 20
    auth_failure_window_s: int = 300
    # Slow clients: a request's headers, then its body, must arrive within these.
    header_timeout_s: int = 10
    body_timeout_s: int = 10
    # An idle keep-alive connection is closed this long after its last answer (vendors reconnect cheaply).
    keep_alive_s: int = 5
    max_header_bytes: int = 32 * 1024

    def accounts_for(self, vendor: str) -> tuple[Account, ...]:
        return tuple(a for a in self.accounts if a.vendor == vendor)


# Per vendor: the variable naming the account, the secrets by purpose, options with defaults,
# the currency variable and its default. A vendor appears as an account when its id variable, a
# secret (but the "helpers": AWS credentials may be set for other reasons) or an option named in
# "enables" is set.
_VENDOR_ENV: dict[str, dict[str, Any]] = {
    "callr": {
        "id": ("CALLR_ACCOUNT_SID", "default"),
        "secrets": {
            "webhook": "CALLR_WEBHOOK_SECRET",
            "actions": "CALLR_ACTIONS_TOKEN",
            "api": "CALLR_API_KEY",
            "jsonrpc": "CALLR_PASSWORD",
        },
        "options": {
            "hmac_algo": ("CALLR_HMAC_ALGO", "sha256"),
            "api_url": ("CALLR_API_URL", "https://api.callr.com/v2.0"),
            "jsonrpc_url": ("CALLR_JSONRPC_URL", "https://api.callr.com/json-rpc/v1.1/"),
            "login": ("CALLR_LOGIN", None),
        },
        "currency": ("CALLR_CURRENCY", "EUR"),
        "region": "CALLR_DEFAULT_REGION",
        "allowed_ips": "CALLR_ALLOWED_IPS",
    },
    "vobiz": {
        "id": ("VOBIZ_AUTH_ID", "default"),
        "secrets": {
            "webhook": "VOBIZ_WEBHOOK_SECRET",
            "callback": "VOBIZ_AUTH_TOKEN",
            "callback_main": "VOBIZ_MAIN_AUTH_TOKEN",  # signs the -MA- headers of sub-account callbacks
            "api": "VOBIZ_AUTH_TOKEN",
        },
        "options": {
            "api_url": ("VOBIZ_API_URL", "https://api.vobiz.ai/api/v1"),
            "timezone": ("VOBIZ_TIMEZONE", "UTC"),  # the console's zone: Vobiz callback times carry none
        },
        "region": "VOBIZ_DEFAULT_REGION",
        "allowed_ips": "VOBIZ_ALLOWED_IPS",
    },
    "sinch": {
        "id": ("SINCH_APP_KEY", "default"),
        "secrets": {"app": "SINCH_APP_SECRET", "s3": "AWS_SECRET_ACCESS_KEY", "s3_session": "AWS_SESSION_TOKEN"},
        "helpers": ("s3", "s3_session"),
        "options": {
            "cdr_source": ("SINCH_CDR_SOURCE", None),  # a directory or s3://bucket/prefix of the daily CDR files
            "s3_endpoint_url": ("AWS_ENDPOINT_URL", None),  # an S3-compatible store (MinIO, Ceph...)
            "s3_region": ("AWS_DEFAULT_REGION", None),
            "s3_access_key_id": ("AWS_ACCESS_KEY_ID", None),
        },
        "enables": ("cdr_source",),
        "region": "SINCH_DEFAULT_REGION",
        "allowed_ips": "SINCH_ALLOWED_IPS",
    },
    "kazoo": {
        "id": ("KAZOO_ACCOUNT_ID", "default"),
        "secrets": {"webhook": "KAZOO_WEBHOOK_TOKEN", "api": "KAZOO_AUTH_TOKEN"},
        "options": {"api_url": ("KAZOO_API_URL", None)},
        "currency": ("KAZOO_CURRENCY", "USD"),  # /cdrs costs are in units of the operator's currency
        "region": "KAZOO_DEFAULT_REGION",
        "allowed_ips": "KAZOO_ALLOWED_IPS",
    },
}

HMAC_ALGOS = ("md5", "sha1", "sha256", "sha512")


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read every setting once; raise ``ConfigError`` naming the variable when one is bad."""
    env = os.environ if environ is None else environ
    accounts = list(_accounts_from_env(env))
    config_path = env.get("CDR_INGEST_CONFIG")
    if config_path:
        accounts.extend(_accounts_from_toml(Path(config_path)))
    _check_unique(accounts)
    return Settings(
        redis_url=env.get("REDIS_URL", Settings.redis_url),
        database_url=env.get("DATABASE_URL", Settings.database_url),
        host=env.get("HOST", Settings.host),
        port=env_int(env, "PORT", Settings.port),
        receiver_workers=max(1, env_int(env, "RECEIVER_WORKERS", Settings.receiver_workers)),
        max_body_bytes=env_int(env, "MAX_BODY_BYTES", Settings.max_body_bytes),
        dedupe_window_s=env_int(env, "DEDUPE_WINDOW_S", Settings.dedupe_window_s),
        signature_tolerance_s=env_int(env, "SIGNATURE_TOLERANCE_S", Settings.signature_tolerance_s),
        poll_interval_s=env_int(env, "POLL_INTERVAL_S", Settings.poll_interval_s),
        poll_overlap_s=env_int(env, "POLL_OVERLAP_S", Settings.poll_overlap_s),
        poll_max_queued_jobs=env_int(env, "POLL_MAX_QUEUED_JOBS", Settings.poll_max_queued_jobs),
        queue_name=env.get("QUEUE_NAME", Settings.queue_name),
        spool_dir=env.get("SPOOL_DIR", Settings.spool_dir),
        spool_max_bytes=env_int(env, "SPOOL_MAX_BYTES", Settings.spool_max_bytes),
        job_timeout_s=max(1, env_int(env, "JOB_TIMEOUT_S", Settings.job_timeout_s)),
        worker_maintenance_s=max(1, env_int(env, "WORKER_MAINTENANCE_S", Settings.worker_maintenance_s)),
        drain_linger_ms=max(0, env_int(env, "DRAIN_LINGER_MS", Settings.drain_linger_ms)),
        log_format=env_choice(env, "LOG_FORMAT", Settings.log_format, ("auto", "json", "console")),
        log_level=env.get("LOG_LEVEL", Settings.log_level).upper(),
        read_api_tokens=env_rotating(env, "READ_API_TOKEN"),
        log_mask_numbers=env_bool(env, "LOG_MASK_NUMBERS"),
        prometheus_multiproc_dir=env.get("PROMETHEUS_MULTIPROC_DIR") or None,
        metrics_host=env.get("METRICS_HOST", Settings.metrics_host),
        metrics_port=env_int(env, "METRICS_PORT", Settings.metrics_port),
        accounts=tuple(accounts),
        public_base_url=env_base_url(env, "PUBLIC_BASE_URL"),
        nonce_window_s=env_int(env, "NONCE_WINDOW_S", Settings.nonce_window_s),
        trusted_proxies=env_networks(env, "TRUSTED_PROXIES"),
        read_api_allowed_ips=env_networks(env, "READ_API_ALLOWED_IPS"),
        rate_limit=env_int(env, "RATE_LIMIT", Settings.rate_limit),
        rate_limit_window_s=max(1, env_int(env, "RATE_LIMIT_WINDOW_S", Settings.rate_limit_window_s)),
        auth_failure_limit=env_int(env, "AUTH_FAILURE_LIMIT", Settings.auth_failure_limit),
        auth_failure_window_s=max(1, env_int(env, "AUTH_FAILURE_WINDOW_S", Settings.auth_failure_window_s)),
        header_timeout_s=max(1, env_int(env, "HEADER_TIMEOUT_S", Settings.header_timeout_s)),
        body_timeout_s=max(1, env_int(env, "BODY_TIMEOUT_S", Settings.body_timeout_s)),
        keep_alive_s=max(1, env_int(env, "KEEP_ALIVE_S", Settings.keep_alive_s)),
        max_header_bytes=max(1024, env_int(env, "MAX_HEADER_BYTES", Settings.max_header_bytes)),
    )


def _accounts_from_env(env: Mapping[str, str]) -> list[Account]:
    accounts = []
    for vendor, spec in _VENDOR_ENV.items():
        secrets = {p: env_rotating(env, var) for p, var in spec["secrets"].items()}
        secrets = {p: s for p, s in secrets.items() if s}
        id_var, id_default = spec["id"]
        enabling = set(secrets) - set(spec.get("helpers", ()))
        if (
            not enabling
            and not env.get(id_var)
            and not any(env.get(spec["options"][o][0]) for o in spec.get("enables", ()))
        ):
            continue
        options = {k: env.get(var) or d for k, (var, d) in spec["options"].items() if env.get(var) or d}
        currency_var, currency_default = spec.get("currency", ("", None))
        currency = env.get(currency_var) or currency_default
        accounts.append(
            _validated(
                Account(
                    vendor=vendor,
                    id=env.get(id_var) or id_default,
                    secrets=secrets,
                    options=options,
                    currency=currency.upper() if currency else None,
                    region=(env.get(spec["region"]) or None),
                    allowed_ips=env_networks(env, spec["allowed_ips"]),
                ),
                source=vendor.upper() + "_*",
            )
        )
    return accounts


def _accounts_from_toml(path: Path) -> list[Account]:
    try:
        data = tomllib.loads(path.read_text())
    except OSError as e:
        raise ConfigError(f"CDR_INGEST_CONFIG: cannot read {path}: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"CDR_INGEST_CONFIG: {path} is not valid TOML: {e}") from None
    accounts = []
    for i, entry in enumerate(data.get("accounts", [])):
        where = f"CDR_INGEST_CONFIG accounts[{i}]"
        vendor = entry.get("vendor")
        if vendor not in _VENDOR_ENV:
            raise ConfigError(f"{where}: vendor must be one of {', '.join(_VENDOR_ENV)}, got {vendor!r}")
        secrets: dict[str, tuple[Secret, ...]] = {}
        for purpose, value in entry.get("secrets", {}).items():
            if purpose.endswith("_file"):
                values = [read_file(f"{where}.secrets.{purpose}", p) for p in _as_list(value)]
                purpose = purpose.removesuffix("_file")
            else:
                values = _as_list(value)
            secrets[purpose] = secrets.get(purpose, ()) + tuple(Secret(v) for v in values if v)
        defaults = {k: d for k, (_, d) in _VENDOR_ENV[vendor]["options"].items() if d}
        currency = entry.get("currency") or _VENDOR_ENV[vendor].get("currency", ("", None))[1]
        accounts.append(
            _validated(
                Account(
                    vendor=vendor,
                    id=str(entry.get("id") or "default"),
                    secrets=secrets,
                    options={**defaults, **{k: str(v) for k, v in entry.get("options", {}).items()}},
                    currency=currency.upper() if currency else None,
                    region=entry.get("region"),
                    allowed_ips=networks(_as_list(entry.get("allowed_ips", [])), f"{where}.allowed_ips"),
                ),
                source=where,
            )
        )
    return accounts


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _validated(account: Account, *, source: str) -> Account:
    algo = account.option("hmac_algo")
    if algo is not None and algo.lower() not in HMAC_ALGOS:
        raise ConfigError(f"{source}: HMAC algorithm must be one of {', '.join(HMAC_ALGOS)}, got {algo!r}")
    if account.currency is not None and (len(account.currency) != 3 or not account.currency.isalpha()):
        raise ConfigError(f"{source}: currency must be an ISO 4217 code, got {account.currency!r}")
    zone = account.option("timezone")
    if zone is not None:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"{source}: timezone must be an IANA zone name (Asia/Kolkata), got {zone!r}") from None
    if account.vendor == "sinch" and account.secrets_for("app"):
        _check_sinch(account, source)
    return account


def _check_sinch(account: Account, source: str) -> None:
    """Sinch names the application key in every callback, and its secret is base64."""
    if account.id == "default":
        raise ConfigError(f"{source}: set the application key (SINCH_APP_KEY) with its secret")
    for secret in account.secrets_for("app"):
        try:
            base64.b64decode(secret.reveal(), validate=True)
        except (binascii.Error, ValueError):
            raise ConfigError(f"{source}: the application secret (SINCH_APP_SECRET) must be base64") from None


def _check_unique(accounts: list[Account]) -> None:
    seen: set[tuple[str, str]] = set()
    for a in accounts:
        if (a.vendor, a.id) in seen:
            raise ConfigError(f"account {a.vendor}:{a.id} is configured twice")
        seen.add((a.vendor, a.id))
