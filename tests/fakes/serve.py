"""Serve an ASGI app with uvicorn in a thread on 127.0.0.1, for as long as the ``with`` lasts."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from workers.services import free_port


@contextmanager
def serve_in_thread(app: Any, **config: Any) -> Iterator[str]:
    """``config``: more ``uvicorn.Config`` settings (the receiver's protocol, say)."""
    # Host and port rather than a pre-bound socket: uvicorn's socket path answered in ~44 ms a
    # request here (delayed ACKs), its own listener in ~2 ms.
    port = free_port()
    settings = {"log_level": "warning", "lifespan": "off", "timeout_graceful_shutdown": 1, **config}
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, **settings))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the fake vendor server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
