"""Raw HTTP/1.1 to the real server over a socket: requests written byte for byte (pipelined,
trickled, HTTP/1.0), responses parsed as they arrive. For what an HTTP client library would not send."""

from __future__ import annotations

import socket

import orjson

from tests.conftest import KAZOO_TOKEN
from tests.receiver.helpers import SAMPLES

KAZOO = "/webhooks/kazoo"
Response = tuple[bytes, dict[bytes, bytes], bytes]  # status line, lower-cased headers, body


def connect(base_url: str) -> socket.socket:
    host, port = base_url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=5)


def request_head(path: str, *headers: str) -> bytes:
    return "\r\n".join([f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *headers, "", ""]).encode()


def kazoo_request(call_id: str, *, version: str = "1.1", extra: str = "") -> bytes:
    """A Kazoo ``channel_destroy`` of its own call, authenticated by its token."""
    body = orjson.dumps({**orjson.loads(SAMPLES[KAZOO][0]), "call_id": call_id})
    head = (f"POST {KAZOO}?token={KAZOO_TOKEN} HTTP/{version}\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n")  # fmt: skip
    return head.encode() + body


def split_response(data: bytes) -> tuple[Response, bytes] | None:
    """The first whole response in ``data`` (its length from Content-Length) and what follows it,
    or None while it is incomplete."""
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep:
        return None
    status, *lines = head.split(b"\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(b":") for line in lines)}
    length = int(headers[b"content-length"])
    if len(rest) < length:
        return None
    return (status, headers, rest[:length]), rest[length:]


def responses(s: socket.socket, count: int) -> list[tuple[bytes, dict[bytes, bytes], dict[str, str]]]:
    """``count`` responses read off ``s``, and nothing more: (status line, headers, JSON body) each."""
    data, out = b"", []
    while len(out) < count:
        split = split_response(data)
        if split is not None:
            (status, headers, body), data = split
            out.append((status, headers, orjson.loads(body)))
            continue
        chunk = s.recv(65536)
        assert chunk, f"the server closed after {len(out)} of {count} responses"
        data += chunk
    assert data == b"", data
    return out
