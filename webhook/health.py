"""`GET /healthz`: is the database reachable and are the workers running."""

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
        name: "running" if getattr(state, name).running else "stopped"
        for name in ("sender", "pusher")
    }
    healthy = database == "ok" and (not state.run_workers or "stopped" not in workers.values())
    body = {"status": "ok" if healthy else "degraded", "database": database, **workers}
    return JSONResponse(body, status_code=200 if healthy else 503)
