"""Settings: read once from a mapping, secrets hidden, errors name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.errors import ConfigError
from workers.settings import load_settings


def test_defaults_match_the_contract() -> None:
    """With an empty environment: local Redis, embedded SQLite, 256 KiB, no accounts."""
    s = load_settings({})
    assert s.redis_url == "redis://127.0.0.1:6379/0"
    assert s.database_url == "sqlite:///var/cdr.db"
    assert (s.host, s.port, s.max_body_bytes, s.signature_tolerance_s) == ("127.0.0.1", 8000, 262144, 300)
    assert (s.poll_interval_s, s.poll_overlap_s) == (300, 3600)
    assert s.accounts == ()


def test_callr_account_from_env() -> None:
    """CALLR_* variables make one Callr account; currency defaults to EUR; rotation adds a previous secret."""
    s = load_settings(
        {"CALLR_WEBHOOK_SECRET": "new", "CALLR_WEBHOOK_SECRET_PREVIOUS": "old", "CALLR_HMAC_ALGO": "SHA512"}
    )
    (a,) = s.accounts_for("callr")
    assert a.id == "default" and a.currency == "EUR"
    assert [x.reveal() for x in a.secrets_for("webhook")] == ["new", "old"]
    assert a.option("hmac_algo") == "SHA512"
    assert a.secrets_for("actions") == ()


def test_secret_from_file(tmp_path: Path) -> None:
    """NAME_FILE reads the secret from a file (trailing newline dropped)."""
    f = tmp_path / "secret"
    f.write_text("from-file\n")
    (a,) = load_settings({"CALLR_ACTIONS_TOKEN_FILE": str(f)}).accounts
    assert a.secrets_for("actions")[0].reveal() == "from-file"


def test_secrets_never_print() -> None:
    """A Secret's repr and str are asterisks, and so is any settings dump."""
    s = load_settings({"CALLR_WEBHOOK_SECRET": "hunter2", "READ_API_TOKEN": "tok-123"})
    assert "hunter2" not in repr(s) and "tok-123" not in repr(s)
    assert "hunter2" not in str(s.accounts[0].secrets_for("webhook")[0])


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"PORT": "eighty"}, "PORT"),
        ({"MAX_BODY_BYTES": "-1"}, "MAX_BODY_BYTES"),
        ({"CALLR_WEBHOOK_SECRET": "x", "CALLR_HMAC_ALGO": "crc32"}, "HMAC"),
        ({"CALLR_WEBHOOK_SECRET": "x", "CALLR_CURRENCY": "EURO"}, "currency"),
        ({"CALLR_WEBHOOK_SECRET_FILE": "/nonexistent/x"}, "CALLR_WEBHOOK_SECRET_FILE"),
        ({"CALLR_WEBHOOK_SECRET": "x", "CALLR_WEBHOOK_SECRET_FILE": "/x"}, "not both"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
        ({"CDR_INGEST_CONFIG": "/nonexistent.toml"}, "CDR_INGEST_CONFIG"),
        ({"TRUSTED_PROXIES": "10.0.0.0/33"}, "TRUSTED_PROXIES"),
        ({"CALLR_WEBHOOK_SECRET": "x", "CALLR_ALLOWED_IPS": "callr.com"}, "CALLR_ALLOWED_IPS"),
        ({"RATE_LIMIT": "many"}, "RATE_LIMIT"),
        ({"BODY_TIMEOUT_S": "-1"}, "BODY_TIMEOUT_S"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], name: str) -> None:
    """A bad value raises ConfigError naming what to fix."""
    with pytest.raises(ConfigError, match=name):
        load_settings(env)


def test_several_accounts_from_toml(tmp_path: Path) -> None:
    """CDR_INGEST_CONFIG adds accounts per vendor, with secrets, files and options."""
    secret_file = tmp_path / "tok"
    secret_file.write_text("tok-b")
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f"""
[[accounts]]
vendor = "callr"
id = "sid-a"
currency = "usd"
secrets = {{ webhook = ["cur", "prev"] }}
options = {{ hmac_algo = "md5" }}

[[accounts]]
vendor = "callr"
id = "sid-b"
secrets = {{ actions_file = "{secret_file}" }}
"""
    )
    s = load_settings({"CDR_INGEST_CONFIG": str(cfg)})
    a, b = s.accounts_for("callr")
    assert (a.id, a.currency, a.option("hmac_algo")) == ("sid-a", "USD", "md5")
    assert [x.reveal() for x in a.secrets_for("webhook")] == ["cur", "prev"]
    assert (b.id, b.currency, b.secrets_for("actions")[0].reveal()) == ("sid-b", "EUR", "tok-b")


def test_duplicate_account_refused(tmp_path: Path) -> None:
    """The same vendor account twice is a configuration error."""
    cfg = tmp_path / "c.toml"
    cfg.write_text('[[accounts]]\nvendor = "callr"\nid = "default"\n')
    with pytest.raises(ConfigError, match="twice"):
        load_settings({"CDR_INGEST_CONFIG": str(cfg), "CALLR_WEBHOOK_SECRET": "x"})


def test_push_vendors_from_env() -> None:
    """VOBIZ_*, SINCH_*, KAZOO_* make one account each, with their secrets by purpose and no default currency."""
    s = load_settings(
        {
            "VOBIZ_AUTH_ID": "MA_1",
            "VOBIZ_WEBHOOK_SECRET": "w",
            "VOBIZ_AUTH_TOKEN": "t",
            "VOBIZ_MAIN_AUTH_TOKEN": "m",
            "VOBIZ_DEFAULT_REGION": "IN",
            "SINCH_APP_KEY": "key",
            "SINCH_APP_SECRET": "c2VjcmV0",
            "KAZOO_ACCOUNT_ID": "acc",
            "KAZOO_WEBHOOK_TOKEN": "k",
            "KAZOO_API_URL": "http://kazoo:8000/v2",
        }
    )
    (vobiz,) = s.accounts_for("vobiz")
    assert (vobiz.id, vobiz.region, vobiz.currency) == ("MA_1", "IN", None)
    secrets = {p: [x.reveal() for x in vobiz.secrets_for(p)] for p in ("webhook", "callback", "callback_main", "api")}
    assert secrets == {"webhook": ["w"], "callback": ["t"], "callback_main": ["m"], "api": ["t"]}
    assert (vobiz.option("api_url"), vobiz.option("timezone")) == ("https://api.vobiz.ai/api/v1", "UTC")
    (sinch,) = s.accounts_for("sinch")
    assert (sinch.id, sinch.secrets_for("app")[0].reveal()) == ("key", "c2VjcmV0")
    (kazoo,) = s.accounts_for("kazoo")
    assert (kazoo.id, kazoo.option("api_url"), kazoo.secrets_for("webhook")[0].reveal()) == (
        "acc",
        "http://kazoo:8000/v2",
        "k",
    )


def test_public_base_url_and_nonce_window() -> None:
    """PUBLIC_BASE_URL loses its trailing slash; NONCE_WINDOW_S defaults to a day."""
    s = load_settings({"PUBLIC_BASE_URL": "https://cdr.example.com/ingest/"})
    assert (s.public_base_url, s.nonce_window_s) == ("https://cdr.example.com/ingest", 86400)
    assert load_settings({}).public_base_url is None


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"PUBLIC_BASE_URL": "cdr.example.com"}, "PUBLIC_BASE_URL"),
        ({"PUBLIC_BASE_URL": "https://cdr.example.com/?x=1"}, "PUBLIC_BASE_URL"),
        ({"NONCE_WINDOW_S": "soon"}, "NONCE_WINDOW_S"),
        ({"SINCH_APP_SECRET": "c2VjcmV0"}, "SINCH_APP_KEY"),
        ({"SINCH_APP_KEY": "k", "SINCH_APP_SECRET": "not base64!"}, "SINCH_APP_SECRET"),
        ({"VOBIZ_AUTH_TOKEN": "t", "VOBIZ_TIMEZONE": "Mars/Olympus"}, "timezone"),
    ],
)
def test_bad_push_settings_name_the_variable(env: dict[str, str], name: str) -> None:
    """A bad push-source value raises ConfigError naming what to fix."""
    with pytest.raises(ConfigError, match=name):
        load_settings(env)


def test_network_settings() -> None:
    """CIDR lists (commas or spaces, single addresses allowed) for proxies, the read API and each vendor."""
    s = load_settings({"TRUSTED_PROXIES": "127.0.0.1, ::1 10.0.0.0/8", "READ_API_ALLOWED_IPS": "10.1.2.3/16",
                       "KAZOO_WEBHOOK_TOKEN": "k", "KAZOO_ALLOWED_IPS": "198.51.100.7"})  # fmt: skip
    assert [str(n) for n in s.trusted_proxies] == ["127.0.0.1/32", "::1/128", "10.0.0.0/8"]
    assert [str(n) for n in s.read_api_allowed_ips] == ["10.1.0.0/16"]
    assert [str(n) for n in s.accounts_for("kazoo")[0].allowed_ips] == ["198.51.100.7/32"]
    assert load_settings({}).trusted_proxies == () and (
        load_settings({}).rate_limit,
        load_settings({}).auth_failure_limit,
    ) == (0, 20)


def test_account_allowlist_and_read_token_rotation(tmp_path: Path) -> None:
    """A TOML account takes allowed_ips; READ_API_TOKEN_PREVIOUS joins the read API's tokens."""
    cfg = tmp_path / "c.toml"
    cfg.write_text('[[accounts]]\nvendor = "kazoo"\nid = "k2"\nsecrets = { webhook = "t" }\n'
                   'allowed_ips = ["192.0.2.0/24", "2001:db8::/32"]\n')  # fmt: skip
    s = load_settings({"CDR_INGEST_CONFIG": str(cfg), "READ_API_TOKEN": "new", "READ_API_TOKEN_PREVIOUS": "old"})
    assert [str(n) for n in s.accounts_for("kazoo")[0].allowed_ips] == ["192.0.2.0/24", "2001:db8::/32"]
    assert [t.reveal() for t in s.read_api_tokens] == ["new", "old"]


def test_poller_sources_of_the_new_vendors() -> None:
    """SINCH_CDR_SOURCE alone makes a Sinch account (S3 options and secret beside it); AWS credentials
    alone make none; Kazoo costs default to USD."""
    env = {"SINCH_CDR_SOURCE": "s3://b/p/", "AWS_ENDPOINT_URL": "http://127.0.0.1:9000", "AWS_ACCESS_KEY_ID": "ak",
           "AWS_SECRET_ACCESS_KEY": "sk", "AWS_DEFAULT_REGION": "eu-west-1", "KAZOO_AUTH_TOKEN": "t"}  # fmt: skip
    sinch, kazoo = sorted(load_settings(env).accounts, key=lambda a: a.vendor, reverse=True)
    assert (sinch.id, sinch.option("cdr_source")) == ("default", "s3://b/p/")
    assert sinch.option("s3_endpoint_url") == "http://127.0.0.1:9000"
    assert sinch.secrets_for("s3")[0].reveal() == "sk" and "sk" not in repr(sinch)
    assert (
        kazoo.currency == "USD"
        and load_settings({"KAZOO_AUTH_TOKEN": "t", "KAZOO_CURRENCY": "eur"}).accounts[0].currency == "EUR"
    )
    assert load_settings({"AWS_SECRET_ACCESS_KEY": "sk", "AWS_ACCESS_KEY_ID": "ak"}).accounts == ()
