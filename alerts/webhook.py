"""Webhook channel: a signed JSON POST, and the matching check for receivers."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import datetime

import httpx

from alerts.message import Message
from alerts.result import SendResult, elapsed_ms

# Transient by nature even though they are 4xx: the receiver asks us to come back later.
_RETRY_4XX = frozenset({408, 425, 429})


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The X-Checkin-Signature value: sha256=<hex HMAC of "<timestamp>." + body>."""
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: bytes, timestamp: int | str, body: bytes, signature: str, now: datetime, tolerance_s: float = 300
) -> bool:
    """True when the signature matches and the timestamp is within tolerance of now (replay guard)."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(now.timestamp() - ts) > tolerance_s:
        return False
    expected = sign(secret, ts, body).encode()
    return hmac.compare_digest(expected, signature.encode("utf-8", "replace"))


def body_of(message: Message) -> bytes:
    """The JSON body: the payload plus id, kind and created_at; identical on every retry."""
    document = {
        **message.payload,
        "id": message.delivery_id,
        "kind": message.kind,
        "created_at": message.created_at.isoformat(),
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


class WebhookChannel:
    """POSTs signed JSON: 2xx sent, 410 disabled, 5xx/408/425/429/network trouble retried, the rest failed."""

    name: str = "webhook"

    def __init__(self, client: httpx.AsyncClient, secret: bytes, timeout: float = 5.0) -> None:
        self._client = client
        self._secret = secret
        self._timeout = timeout

    async def send(self, message: Message) -> SendResult:
        """One POST to message.to, signed with the current time."""
        started = time.perf_counter()
        try:
            body = body_of(message)
        except (TypeError, ValueError) as exc:
            return SendResult("failed", f"payload_not_json: {exc}", elapsed_ms(started))
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "checkin-alerts/1",
            "X-Checkin-Delivery-Id": message.delivery_id,
            "X-Checkin-Kind": message.kind,
            "X-Checkin-Timestamp": str(timestamp),
            "X-Checkin-Signature": sign(self._secret, timestamp, body),
        }
        try:
            response = await self._client.post(
                message.to, content=body, headers=headers, timeout=self._timeout
            )
        except httpx.TimeoutException as exc:
            return SendResult("retry", f"timeout: {type(exc).__name__}", elapsed_ms(started))
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            return SendResult("failed", f"bad_url: {exc}", elapsed_ms(started))
        except httpx.TransportError as exc:
            return SendResult("retry", f"{type(exc).__name__}: {exc}", elapsed_ms(started))
        return _classify(response.status_code, elapsed_ms(started))


def _classify(status: int, duration_ms: float) -> SendResult:
    if 200 <= status < 300:
        return SendResult("sent", "", duration_ms)
    if status == 410:
        return SendResult("disabled", "endpoint_gone: http_410", duration_ms)
    if status >= 500 or status in _RETRY_4XX:
        return SendResult("retry", f"http_{status}", duration_ms)
    return SendResult("failed", f"http_{status}", duration_ms)
