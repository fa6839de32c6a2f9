"""`GET /healthz`: is the database reachable, and are the workers of this process running.

A web process without workers (`--no-workers`) names none; a worker process names its own.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse


async def healthz(request: Request) -> JSONResponse:
    state = request.app.state
    try:
        async with state.sessions() as session:
            await session.execute(text("SELECT 1"))
        database = "ok"
    except SQLAlchemyError:
        database = "unreachable"
    workers = {
        name: "running" if worker.running else "stopped" for name, worker in state.workers.items()
    }
    healthy = database == "ok" and "stopped" not in workers.values()
    body = {"status": "ok" if healthy else "degraded", "database": database, **workers}
    return JSONResponse(body, status_code=200 if healthy else 503)
