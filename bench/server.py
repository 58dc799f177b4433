"""The bench server: the real app under uvicorn, plus bare-ceiling routes that exist only in this process.

    CHECKIN_DATA_DIR=/tmp/x CHECKIN_SECRET_KEY=... python bench/server.py --port 8765

It serves `create_app(settings)` exactly as run.py does (same uvicorn options: no per-message
deflate, no proxy headers, no access log), with three routes added in front of the app's own, for the benchmarks
to measure each path beside its bare ceiling on the same server in the same run:

- GET  /bench/constant         answers a constant JSON body (HTTP + routing + middleware);
- POST /bench/insert           one bare insert per request into a scratch table through Database.write;
- POST /bench/broadcast?channel=C  one numbered event on C through Database.write, published after
  commit: what every live update costs without the check-in around it.

The per-IP check-in rate limit is raised (every load-generator connection comes from 127.0.0.1);
the limiter still runs on every scan, only its bucket is large. Nothing here is in the product app.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from checkin.app import create_app, settle_heap
from checkin.context import AppContext
from checkin.settings import Settings
from checkin.storage import events
from checkin.storage.database import Tx
from checkin.storage.prepared import Prepared
from checkin.web.checkin_routes import CheckinLimits, limits
from checkin.web.ratelimit import RateLimiter

scratch = sa.Table("bench_scratch", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                   sa.Column("at", sa.Float, nullable=False), sa.Column("note", sa.String(40), nullable=False))


def _ctx(request: Request) -> AppContext:
    return request.app.state.ctx  # type: ignore[no-any-return]


async def constant(request: Request) -> Response:
    return JSONResponse({"ok": True})


# Prepared, as the product's own hot-path inserts are, so the ceiling is not slowed by a statement
# built and compiled per request that the check-in path never pays for.
_INSERT = Prepared(sa.insert(scratch).returning(scratch.c.id))


async def insert(request: Request) -> Response:
    await request.body()

    async def work(tx: Tx) -> int:
        return int(await _INSERT.scalar(tx.conn, {"at": 0.0, "note": "bench"}))

    return JSONResponse({"id": await _ctx(request).db.write(work)})


async def broadcast(request: Request) -> Response:
    ctx = _ctx(request)
    channel = request.query_params.get("channel", "session:1")

    async def work(tx: Tx) -> int:
        event = await events.emit(tx, ctx.hub.publish, channel, "flag", {"kind": "bench"}, datetime.now(UTC))
        return int(event["seq"])

    return JSONResponse({"seq": await ctx.db.write(work)})


def roomy_limits(ctx: AppContext) -> None:
    """The app's limiters, with the per-IP scan bucket big enough for one load generator."""
    made = limits(ctx)
    seconds = made.scan_ip.clock
    ctx.extras["checkin_limits"] = CheckinLimits(
        scan_ip=RateLimiter(10**9, 10**6, seconds), scan_device=made.scan_device, identify_ip=made.identify_ip,
        identify_device=made.identify_device, badge_user=made.badge_user)


def bench_app(settings: Settings) -> Starlette:
    app = create_app(settings)
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[None]:
        async with inner(a):
            ctx: AppContext = a.state.ctx
            async with ctx.db.writer_engine.begin() as conn:
                await conn.run_sync(scratch.metadata.create_all)
            roomy_limits(ctx)
            yield

    app.router.lifespan_context = lifespan
    app.router.routes[:0] = [Route("/bench/constant", constant, methods=["GET"]),
                             Route("/bench/insert", insert, methods=["POST"]),
                             Route("/bench/broadcast", broadcast, methods=["POST"])]
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="checkin bench server (real app + bare-ceiling routes)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--plain", action="store_true", help="pure-Python HTTP parser and asyncio's own loop "
                        "(what uvicorn uses when httptools and uvloop are not installed)")
    args = parser.parse_args()
    settings = Settings.from_env(None, host=args.host, port=args.port)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = bench_app(settings)
    settle_heap()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False,
                ws_per_message_deflate=False, proxy_headers=False, backlog=4096,
                **({"http": "h11", "loop": "asyncio"} if args.plain else {}))


if __name__ == "__main__":
    main()
