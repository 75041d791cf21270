"""The OpenAPI document: it lists every route, and schemathesis finds the running receiver true to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import schemathesis
from hypothesis import HealthCheck, given, settings
from starlette.routing import Route
from starlette.testclient import TestClient

from receiver.app import create_app
from receiver.openapi import document
from tests.e2e.stack import running_stack, stack_env
from tests.receiver.read_helpers import READ_TOKEN, T0, dataset, put
from workers.settings import Settings
from workers.store import open_store
from workers.store.queries import Cursor


def test_document_lists_every_route(make_settings: Callable[..., Settings], redis_client: redis.Redis) -> None:
    """Every path and method the app serves is in /openapi.json, and nothing else is."""
    app = create_app(make_settings(READ_API_TOKEN=READ_TOKEN))
    with TestClient(app) as client:
        doc = client.get("/openapi.json").json()
    served = {(r.path.replace("{id:path}", "{id}"), m.lower()) for r in app.routes if isinstance(r, Route)
              for m in (r.methods or ()) if m != "HEAD" and r.path != "/openapi.json"}  # fmt: skip
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert served == documented
    assert doc["openapi"].startswith("3.1")


@pytest.fixture(scope="module")
def api_schema(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[schemathesis.Schema]:
    """The real receiver (uvicorn, a subprocess) on a store holding a few rows, with every source on."""
    tmp = tmp_path_factory.mktemp("openapi")
    database_url = f"sqlite:///{tmp}/cdr.db"
    with running_stack(stack_env(redis_url, database_url, READ_API_TOKEN=READ_TOKEN), Path(tmp)) as stack:
        store = open_store(database_url)
        put(store, *dataset())
        store.close()
        stack.serve()
        schema = schemathesis.openapi.from_url(f"{stack.base_url}/openapi.json", wait_for_schema=5)

        @schema.auth().apply_to(path_regex="^/cdrs")
        class ReadToken:  # declared credentials, so the auth checks know to probe without them
            def get(self, case: schemathesis.Case, context: object) -> str:
                return READ_TOKEN

            def set(self, case: schemathesis.Case, data: str, context: object) -> None:
                case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

        @schema.hook
        def map_query(context: object, query: dict[str, Any] | None) -> dict[str, Any] | None:
            # A cursor is opaque: the only valid ones are those the API returned, so send one of those.
            if query and "cursor" in query:
                query["cursor"] = Cursor(T0, "callr:acct1:1").encode()
            return query

        yield schema
    store = open_store(database_url)
    assert store.count() == 6, "fuzzing changed the store"
    store.close()


OPERATIONS = [(path, method) for path, ops in document()["paths"].items() for method in ops]


@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_receiver_conforms_to_its_document(api_schema: schemathesis.Schema, path: str, method: str) -> None:
    """Generated requests (valid and invalid) get only documented statuses, bodies and content types."""
    operation = api_schema[path][method]

    @given(case=operation.as_strategy())
    @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(timeout=10)

    check()
