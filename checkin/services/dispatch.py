"""Runs the alert dispatcher for the app's lifetime: e-mail from settings, webhooks on the shared client."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import sqlalchemy as sa

from alerts.channel import Channel
from alerts.dispatcher import Dispatcher
from alerts.email import EmailChannel
from alerts.message import Message
from alerts.result import SendResult
from alerts.retry import RetrySchedule
from alerts.webhook import WebhookChannel
from checkin.context import AppContext
from checkin.services.outbox import DatabaseOutbox
from checkin.storage.tables import deliveries, webhook_endpoints

log = logging.getLogger(__name__)


class EndpointWebhooks:
    """The webhook channel, signing each delivery with its own endpoint's secret."""

    name: str = "webhook"

    def __init__(self, ctx: AppContext, timeout: float = 5.0) -> None:
        self._ctx = ctx
        self._timeout = timeout

    async def send(self, message: Message) -> SendResult:
        endpoint_id = message.payload.get("endpoint_id")
        org_id = sa.select(deliveries.c.org_id).where(deliveries.c.id == message.delivery_id).scalar_subquery()
        query = sa.select(webhook_endpoints.c.secret, webhook_endpoints.c.active).where(
            webhook_endpoints.c.org_id == org_id)
        query = query.where(webhook_endpoints.c.id == endpoint_id) if endpoint_id else query.where(
            webhook_endpoints.c.url == message.to)
        async with self._ctx.db.read() as conn:
            row = (await conn.execute(query.limit(1))).first()
        if row is None:
            return SendResult("failed", "no_endpoint: the webhook endpoint no longer exists")
        if not row.active:
            return SendResult("disabled", "endpoint_disabled: the webhook endpoint is turned off")
        return await WebhookChannel(self._ctx.http, row.secret.encode(), self._timeout).send(message)


def email_channel(ctx: AppContext) -> EmailChannel:
    s = ctx.settings
    return EmailChannel(s.smtp_host, s.smtp_port, s.smtp_from, s.smtp_username or None, s.smtp_password or None,
                        s.smtp_starttls, domain=urlsplit(s.public_base_url).hostname or "checkin.local")


def build_dispatcher(ctx: AppContext, *, schedule: RetrySchedule | None = None, lease_s: float = 60.0,
                     idle_s: float = 5.0, concurrency: int = 10) -> Dispatcher:
    """A dispatcher over the database outbox with the app's clock (tests drive `run_once` with it)."""
    channels: dict[str, Channel] = {"email": email_channel(ctx), "webhook": EndpointWebhooks(ctx)}
    return Dispatcher(DatabaseOutbox(ctx), channels, schedule or RetrySchedule(), ctx.clock, lease_s=lease_s,
                      idle_s=idle_s, concurrency=concurrency)


@contextlib.asynccontextmanager
async def run_dispatcher(ctx: AppContext, *, schedule: RetrySchedule | None = None, lease_s: float = 60.0,
                         idle_s: float = 5.0) -> AsyncIterator[Dispatcher | None]:
    """Delivers until exit and answers ctx.wake("dispatcher"); does nothing when settings.dispatcher is off."""
    if not ctx.settings.dispatcher:
        yield None
        return
    dispatcher = build_dispatcher(ctx, schedule=schedule, lease_s=lease_s, idle_s=idle_s)
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop), name="checkin-dispatcher")
    ctx.wakers["dispatcher"] = dispatcher.wake
    try:
        yield dispatcher
    finally:
        ctx.wakers.pop("dispatcher", None)
        stop.set()
        try:
            # A send in flight may take its full timeout; an unfinished one is leased and resent later.
            await asyncio.wait_for(task, timeout=15)
        except TimeoutError:
            log.warning("dispatcher did not stop in time; its leased deliveries will be resent")
        except Exception:
            log.exception("dispatcher stopped with an error")
