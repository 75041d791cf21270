"""The floor: a bare Starlette endpoint answering 202, served by the same uvicorn as the receiver."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from receiver.feeds import ROUTES


async def accept(request: Request) -> Response:
    await request.body()
    return JSONResponse({"status": "queued"}, status_code=202)


app = Starlette(routes=[Route(r.path, accept, methods=["POST"]) for r in ROUTES])  # every webhook path
