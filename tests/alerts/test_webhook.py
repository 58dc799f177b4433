"""The webhook channel against a real receiver on 127.0.0.1, and fault cases through httpx.MockTransport."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from alerts.message import Message
from alerts.webhook import WebhookChannel, sign, verify
from tests.alerts.conftest import RECEIVER_SECRET, Receiver, make_message

HOOK = "https://receiver.example.org/hook"
SECRET = b"test-secret"


def hook_message(**overrides: Any) -> Message:
    return make_message(**{"channel": "webhook", "to": HOOK, **overrides})


def mock_channel(
    answer: Callable[[httpx.Request], httpx.Response], seen: list[httpx.Request]
) -> WebhookChannel:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    return WebhookChannel(httpx.AsyncClient(transport=httpx.MockTransport(handler)), SECRET)


async def test_a_signed_webhook_is_verified_by_a_real_receiver(http_receiver: Receiver) -> None:
    message = hook_message(to=http_receiver.url)
    async with httpx.AsyncClient() as client:
        result = await WebhookChannel(client, RECEIVER_SECRET).send(message)

    assert result.outcome == "sent"
    seen = http_receiver.seen[-1]
    assert seen["verified"] is True
    assert seen["headers"]["x-checkin-delivery-id"] == message.delivery_id
    document = json.loads(seen["body"])
    assert document["id"] == message.delivery_id
    assert document["kind"] == "AP-NOSHOW"
    assert document["created_at"] == "2025-03-10T09:15:00+00:00"
    assert document["next_action"] == "call emergency contacts"


async def test_a_webhook_signed_with_another_secret_is_refused_by_the_receiver_and_fails(
    http_receiver: Receiver,
) -> None:
    message = hook_message(to=http_receiver.url)
    async with httpx.AsyncClient() as client:
        result = await WebhookChannel(client, b"not-the-shared-secret").send(message)

    assert http_receiver.seen[-1]["verified"] is False
    assert (result.outcome, result.error) == ("failed", "http_401")


async def test_a_500_is_retried_and_the_retry_carries_the_same_delivery_id_and_body() -> None:
    answers = iter([httpx.Response(500), httpx.Response(200)])
    seen: list[httpx.Request] = []
    channel = mock_channel(lambda _: next(answers), seen)
    message = hook_message()

    first = await channel.send(message)
    second = await channel.send(message)

    assert (first.outcome, first.error) == ("retry", "http_500")
    assert second.outcome == "sent"
    ids = [r.headers["X-Checkin-Delivery-Id"] for r in seen]
    assert ids == [message.delivery_id, message.delivery_id]
    assert seen[0].content == seen[1].content


async def test_each_request_carries_a_signature_that_verifies_over_its_timestamp_and_body() -> None:
    seen: list[httpx.Request] = []
    channel = mock_channel(lambda _: httpx.Response(204), seen)

    await channel.send(hook_message())

    [request] = seen
    timestamp = request.headers["X-Checkin-Timestamp"]
    assert request.headers["X-Checkin-Signature"] == sign(SECRET, int(timestamp), request.content)
    assert request.headers["Content-Type"] == "application/json"


async def test_a_410_disables_the_endpoint() -> None:
    channel = mock_channel(lambda _: httpx.Response(410), [])

    result = await channel.send(hook_message())

    assert result.outcome == "disabled"
    assert "410" in result.error


async def test_a_timeout_is_retried() -> None:
    def time_out(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    result = await mock_channel(time_out, []).send(hook_message())

    assert result.outcome == "retry"
    assert result.error == "timeout: ReadTimeout"


async def test_a_refused_connection_is_retried() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    result = await mock_channel(refuse, []).send(hook_message())

    assert result.outcome == "retry"
    assert result.error.startswith("ConnectError")


async def test_a_404_fails_without_retrying() -> None:
    result = await mock_channel(lambda _: httpx.Response(404), []).send(hook_message())

    assert (result.outcome, result.error) == ("failed", "http_404")


async def test_a_429_asks_for_a_retry() -> None:
    result = await mock_channel(lambda _: httpx.Response(429), []).send(hook_message())

    assert (result.outcome, result.error) == ("retry", "http_429")


async def test_a_payload_that_is_not_json_fails_without_sending() -> None:
    seen: list[httpx.Request] = []
    message = hook_message(payload={"when": datetime.now(UTC)})

    result = await mock_channel(lambda _: httpx.Response(200), seen).send(message)

    assert result.outcome == "failed"
    assert result.error.startswith("payload_not_json")
    assert seen == []


NOW = datetime(2025, 3, 10, 9, 15, tzinfo=UTC)
BODY = b'{"id":"abc"}'


def test_verify_accepts_a_fresh_signature() -> None:
    ts = int(NOW.timestamp())
    assert verify(SECRET, str(ts), BODY, sign(SECRET, ts, BODY), now=NOW) is True


def test_verify_rejects_a_tampered_body() -> None:
    ts = int(NOW.timestamp())
    assert verify(SECRET, ts, b'{"id":"abd"}', sign(SECRET, ts, BODY), now=NOW) is False


def test_verify_rejects_a_timestamp_older_than_the_tolerance() -> None:
    ts = int((NOW - timedelta(seconds=301)).timestamp())
    assert verify(SECRET, ts, BODY, sign(SECRET, ts, BODY), now=NOW) is False


def test_verify_rejects_a_timestamp_that_is_not_a_number() -> None:
    assert verify(SECRET, "soon", BODY, "sha256=00", now=NOW) is False


def test_verify_rejects_a_signature_with_non_ascii_characters() -> None:
    ts = int(NOW.timestamp())
    assert verify(SECRET, ts, BODY, "sha256=é", now=NOW) is False
