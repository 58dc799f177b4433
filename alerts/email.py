"""E-mail channel: one SMTP conversation per message through aiosmtplib."""

from __future__ import annotations

import time
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib

from alerts.message import Message
from alerts.result import SendResult, elapsed_ms


class EmailChannel:
    """Sends plain-text (and HTML, when given) e-mail with a Message-ID that is stable across retries."""

    name: str = "email"

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 10.0,
        domain: str = "checkin.local",
    ) -> None:
        self._host = host
        self._port = port
        self._sender = sender
        self._username = username
        self._password = password
        self._starttls = starttls
        self._timeout = timeout
        self._domain = domain

    @property
    def configured(self) -> bool:
        """False when no SMTP host is set: every send then fails honestly."""
        return bool(self._host)

    def build(self, message: Message) -> EmailMessage:
        """The e-mail for a message; the same message always builds the same headers."""
        mail = EmailMessage()
        mail["From"] = self._sender
        mail["To"] = message.to
        mail["Subject"] = message.subject
        mail["Date"] = format_datetime(message.created_at)
        mail["Message-ID"] = f"<{message.delivery_id}@{self._domain}>"
        mail["X-Checkin-Delivery-Id"] = message.delivery_id
        mail["X-Checkin-Kind"] = message.kind
        # RFC 3834: tells mail servers not to answer with out-of-office replies.
        mail["Auto-Submitted"] = "auto-generated"
        mail.set_content(message.text)
        if message.html:
            mail.add_alternative(message.html, subtype="html")
        return mail

    async def send(self, message: Message) -> SendResult:
        """Deliver to the relay: 5xx is permanent, 4xx and connection trouble are retried."""
        if not self.configured:
            return SendResult("failed", "email_not_configured", 0.0)
        started = time.perf_counter()
        try:
            mail = self.build(message)
        except ValueError as exc:  # e.g. a line break in a header value
            return SendResult("failed", f"invalid_message: {exc}", elapsed_ms(started))
        try:
            await aiosmtplib.send(
                mail,
                hostname=self._host,
                port=self._port,
                username=self._username,
                password=self._password,
                start_tls=self._starttls,
                timeout=self._timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            permanent = all(r.code >= 500 for r in exc.recipients)
            error = "recipient_refused: " + "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
            return SendResult("failed" if permanent else "retry", error, elapsed_ms(started))
        except aiosmtplib.SMTPResponseException as exc:
            error = f"{type(exc).__name__}: {exc.code} {exc.message}"
            return SendResult("failed" if exc.code >= 500 else "retry", error, elapsed_ms(started))
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return SendResult("retry", f"{type(exc).__name__}: {exc}", elapsed_ms(started))
        return SendResult("sent", "", elapsed_ms(started))
