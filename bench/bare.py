"""The baselines: bare Starlette endpoints under the same uvicorn settings as `smsbridge webhook`.

`POST /bare/handler` reads the body and answers 200 with a small JSON; `POST /bare/callback`
parses the form as the SMS.ru callback does and answers `100`. What they cost is what the server,
the framework and the load generator cost; the webhook's figures divided by theirs is the share
left after our own work. Run: `python -m bench.bare --port P` (bench.loopback starts it).
"""

from __future__ import annotations

import argparse
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from smsbridge import logs


async def handler(request: Request) -> Response:
    await request.body()
    return JSONResponse({"ok": True})


async def callback(request: Request) -> Response:
    parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True)
    return PlainTextResponse("100")


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


app = Starlette(
    routes=[
        Route("/healthz", healthz, methods=["GET"]),
        Route("/bare/handler", handler, methods=["POST"]),
        Route("/bare/callback", callback, methods=["POST"]),
    ]
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    logs.configure()
    uvicorn.run(app, host="127.0.0.1", port=args.port, access_log=False, log_config=None)


if __name__ == "__main__":
    main()
