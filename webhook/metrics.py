"""`GET /metrics`: the process's counters, and the queues' depths read from the database now."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import Response

from models import Message
from smsbridge.metrics import QUEUE_DEPTH, REGISTRY
from smsbridge.rules.origin import Source
from smsbridge.status.states import State


async def metrics(request: Request) -> Response:
    try:
        async with request.app.state.sessions() as session:
            depths = {
                "outbox": col(Message.state) == State.QUEUED,
                "sending": col(Message.state) == State.SENDING,
                "status_push": col(Message.push_pending).is_(True)
                & (col(Message.source) != Source.TEST),
                "sent_flag": col(Message.flag_pending).is_(True),
            }
            for queue, condition in depths.items():
                count = (await session.execute(select(func.count()).where(condition))).scalar()
                QUEUE_DEPTH.labels(queue).set(count or 0)
    except SQLAlchemyError:
        pass  # the counters still tell something; /healthz tells the database is down
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
