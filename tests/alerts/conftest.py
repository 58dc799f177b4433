"""Real outside parts for the alerts tests: an SMTP server and an HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
import uvicorn
from aiosmtpd.controller import Controller
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from alerts.message import Message
from alerts.webhook import verify

RECEIVER_SECRET = b"receiver-shared-secret"
CREATED_AT = datetime(2025, 3, 10, 9, 15, tzinfo=UTC)


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_message(**overrides: Any) -> Message:
    """An AP-NOSHOW e-mail to a fictional attendance officer, changed by keyword."""
    fields: dict[str, Any] = {
        "delivery_id": "d0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5",
        "kind": "AP-NOSHOW",
        "channel": "email",
        "to": "attendance.officer@example.org",
        "subject": "No-show: Sam Pupil did not arrive for AP tuition at 09:00",
        "text": "Sam Pupil was not marked by 09:15. Next action: call the emergency contacts.",
        "html": "<p>Sam Pupil was not marked by 09:15.</p><p>Next action: call the emergency contacts.</p>",
        "payload": {"session_id": "s-42", "person": "Sam Pupil", "next_action": "call emergency contacts"},
        "created_at": CREATED_AT,
    }
    fields.update(overrides)
    return Message(**fields)


class CapturingHandler:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted"


@dataclass
class SmtpServer:
    port: int
    handler: CapturingHandler
    start: Callable[[], None]


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """An aiosmtpd server on a free port, started on demand so a test can see it down first."""
    port = free_port()
    handler = CapturingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    started: list[bool] = []

    def start() -> None:
        controller.start()
        started.append(True)

    yield SmtpServer(port, handler, start)
    if started:
        controller.stop()


@dataclass
class Receiver:
    url: str
    seen: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture(scope="module")
def http_receiver() -> Iterator[Receiver]:
    """A uvicorn/Starlette webhook receiver that checks each signature with alerts.webhook.verify."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    receiver = Receiver(url=f"http://127.0.0.1:{sock.getsockname()[1]}/hook")

    async def hook(request: Request) -> Response:
        body = await request.body()
        ok = verify(
            RECEIVER_SECRET,
            request.headers.get("x-checkin-timestamp", ""),
            body,
            request.headers.get("x-checkin-signature", ""),
            now=datetime.now(UTC),
        )
        receiver.seen.append({"verified": ok, "headers": dict(request.headers), "body": body})
        return Response(status_code=204 if ok else 401)

    server = uvicorn.Server(
        uvicorn.Config(Starlette(routes=[Route("/hook", hook, methods=["POST"])]), log_level="warning")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("webhook receiver did not start")
        time.sleep(0.01)
    yield receiver
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()
