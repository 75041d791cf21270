"""Where a file source's files live: a local directory or ``s3://bucket/prefix``. The I/O edge.

A ``Location`` lists its files (key, modification time, size, fingerprint) and streams one file's
lines as text. Directory: every regular file under the root, dot-files skipped; a file's time is
the later of its mtime and ctime (a file copied with its old mtime, e.g. ``rsync -t``, still
counts as new when it lands), and a file changed in the last ``SETTLE_S`` seconds is left for the
next poll (it may still be being written). S3 (boto3; ``AWS_ENDPOINT_URL`` for S3-compatible
stores): every object under the prefix, by ``LastModified`` and ``ETag``. gzip and zip files are
unpacked. A line is UTF-8 (a BOM is dropped); one that is not is read as Latin-1, byte for byte.

Errors: a missing directory, a refused bucket or missing credentials stop the source
(``SourceStopped``); a connection failure or a 5xx is ``SourceUnavailable`` (next poll).
"""

from __future__ import annotations

import itertools
import os
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from workers.poller.http import SourceStopped, SourceUnavailable
from workers.settings import Account
from workers.tables import unpack

SETTLE_S = 60
CHUNK = 1 << 20


@dataclass(frozen=True)
class RemoteFile:
    key: str
    modified: datetime
    size: int
    fingerprint: str  # changes whenever the file's content may have


class Location(Protocol):
    def list(self) -> list[RemoteFile]: ...
    def chunks(self, file: RemoteFile) -> Iterator[bytes]: ...


def location(account: Account) -> Location:
    source = str(account.option("cdr_source"))
    if source.startswith("s3://"):
        bucket, _, prefix = source.removeprefix("s3://").partition("/")
        return S3(account, bucket, prefix)
    return Directory(Path(source))


def lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """The text lines of a file given as chunks of bytes (gzip, zlib and zip unpacked)."""
    stream = iter(chunks)
    first = next(stream, b"")
    if first.startswith(b"PK\x03\x04"):  # zip: its first file, read whole
        stream, first = iter([unpack(first + b"".join(stream))]), b""
    elif first.startswith(b"\x1f\x8b"):
        stream = _inflate(first, stream)
        first = b""
    pending = b""
    for chunk in itertools.chain([first], stream):
        pending += chunk
        *done, pending = pending.split(b"\n")
        yield from (_text(line) for line in done)
    if pending:
        yield _text(pending)


def _inflate(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    inflater = zlib.decompressobj(wbits=47)
    yield inflater.decompress(first)
    for chunk in rest:
        yield inflater.decompress(chunk)
    yield inflater.flush()


def _text(line: bytes) -> str:
    try:
        return line.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError:
        return line.decode("latin-1")


class Directory:
    def __init__(self, root: Path) -> None:
        self.root = root

    def list(self) -> list[RemoteFile]:
        if not self.root.is_dir():
            raise SourceStopped(f"sinch.files: {self.root} is not a directory (SINCH_CDR_SOURCE)")
        settled = datetime.now(UTC) - timedelta(seconds=SETTLE_S)
        found = []
        try:
            for folder, dirs, names in os.walk(self.root):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(n for n in names if not n.startswith(".")):
                    path = Path(folder) / name
                    if not path.is_file():
                        continue
                    st = path.stat()
                    modified = datetime.fromtimestamp(max(st.st_mtime, st.st_ctime), UTC)
                    if modified < settled:
                        key = str(path.relative_to(self.root))
                        found.append(RemoteFile(key, modified, st.st_size, f"{st.st_size}:{st.st_mtime_ns}"))
        except OSError as e:
            raise SourceUnavailable(f"sinch.files: cannot list {self.root}: {e}") from None
        return found

    def chunks(self, file: RemoteFile) -> Iterator[bytes]:
        try:
            with open(self.root / file.key, "rb") as handle:
                while chunk := handle.read(CHUNK):
                    yield chunk
        except OSError as e:
            raise SourceUnavailable(f"sinch.files: cannot read {file.key}: {e}") from None


class S3:
    def __init__(self, account: Account, bucket: str, prefix: str) -> None:
        import boto3  # only S3 accounts pay for the import

        secret, session = account.secrets_for("s3"), account.secrets_for("s3_session")
        self.bucket, self.prefix = bucket, prefix
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=account.option("s3_endpoint_url"),
            region_name=account.option("s3_region"),
            aws_access_key_id=account.option("s3_access_key_id"),
            aws_secret_access_key=secret[0].reveal() if secret else None,
            aws_session_token=session[0].reveal() if session else None,
        )

    def list(self) -> list[RemoteFile]:
        found = []
        with _s3_errors(f"s3://{self.bucket}/{self.prefix}"):
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
                for obj in page.get("Contents", []):
                    if not obj["Key"].endswith("/"):
                        etag = str(obj.get("ETag", "")).strip('"')
                        found.append(RemoteFile(obj["Key"], obj["LastModified"], obj["Size"], f"{obj['Size']}:{etag}"))
        return found

    def chunks(self, file: RemoteFile) -> Iterator[bytes]:
        with _s3_errors(f"s3://{self.bucket}/{file.key}"):
            body = self.client.get_object(Bucket=self.bucket, Key=file.key)["Body"]
            yield from body.iter_chunks(CHUNK)


@contextmanager
def _s3_errors(where: str) -> Iterator[None]:
    """boto3 failures as the poller's two kinds: refused (stop) or unavailable (next poll)."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        yield
    except ClientError as error:
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        code = error.response.get("Error", {}).get("Code", "?")
        if 400 <= status < 500 and status not in (408, 429):
            raise SourceStopped(f"sinch.files: {where} answered {status} {code}", status=status) from None
        raise SourceUnavailable(f"sinch.files: {where} answered {status} {code}") from None
    except NoCredentialsError:
        raise SourceStopped(f"sinch.files: {where}: no AWS credentials (AWS_ACCESS_KEY_ID...)") from None
    except BotoCoreError as error:
        raise SourceUnavailable(f"sinch.files: {where}: {type(error).__name__}") from None
