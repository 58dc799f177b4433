"""The e-mail channel against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

from typing import Any

from aiosmtpd.controller import Controller

from alerts.email import EmailChannel
from tests.alerts.conftest import SmtpServer, free_port, make_message

SENDER = "alerts@checkin.example.org"


def channel_for(port: int) -> EmailChannel:
    return EmailChannel("127.0.0.1", port, SENDER, timeout=5.0, domain="alerts.example.org")


async def test_an_alert_e_mail_arrives_with_its_recipient_subject_message_id_and_both_parts(
    smtp_server: SmtpServer,
) -> None:
    smtp_server.start()
    message = make_message()

    result = await channel_for(smtp_server.port).send(message)

    assert result.outcome == "sent"
    assert result.error == ""
    [(rcpt_tos, mail)] = smtp_server.handler.received
    assert rcpt_tos == ["attendance.officer@example.org"]
    assert mail["To"] == "attendance.officer@example.org"
    assert mail["From"] == SENDER
    assert mail["Subject"] == message.subject
    assert mail["Message-ID"] == f"<{message.delivery_id}@alerts.example.org>"
    assert mail["X-Checkin-Delivery-Id"] == message.delivery_id
    assert mail.get_content_type() == "multipart/alternative"
    text_part = mail.get_body(preferencelist=("plain",))
    html_part = mail.get_body(preferencelist=("html",))
    assert text_part is not None and html_part is not None
    assert "Next action: call the emergency contacts." in text_part.get_content()
    assert "<p>Next action: call the emergency contacts.</p>" in html_part.get_content()


async def test_sending_the_same_delivery_twice_repeats_the_same_message_id(smtp_server: SmtpServer) -> None:
    smtp_server.start()
    channel = channel_for(smtp_server.port)
    message = make_message()

    first = await channel.send(message)
    second = await channel.send(message)

    assert (first.outcome, second.outcome) == ("sent", "sent")
    ids = [mail["Message-ID"] for _, mail in smtp_server.handler.received]
    assert ids == [f"<{message.delivery_id}@alerts.example.org>"] * 2


async def test_a_message_without_html_is_sent_as_plain_text_only(smtp_server: SmtpServer) -> None:
    smtp_server.start()

    result = await channel_for(smtp_server.port).send(make_message(html=None))

    assert result.outcome == "sent"
    [(_, mail)] = smtp_server.handler.received
    assert mail.get_content_type() == "text/plain"


async def test_with_the_smtp_server_down_the_send_is_retried_and_succeeds_once_it_is_back(
    smtp_server: SmtpServer,
) -> None:
    channel = channel_for(smtp_server.port)
    message = make_message()

    down = await channel.send(message)
    smtp_server.start()
    back = await channel.send(message)

    assert down.outcome == "retry"
    assert down.error != ""
    assert back.outcome == "sent"
    assert len(smtp_server.handler.received) == 1


class RefusingHandler:
    """Refuses every recipient with a fixed SMTP reply."""

    def __init__(self, reply: str) -> None:
        self.reply = reply

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        return self.reply


async def test_a_permanent_5xx_refusal_fails_the_delivery() -> None:
    await _assert_refusal_outcome("550 5.1.1 No such mailbox", "failed")


async def test_a_temporary_4xx_refusal_is_retried() -> None:
    await _assert_refusal_outcome("451 4.3.0 Try again later", "retry")


async def _assert_refusal_outcome(reply: str, outcome: str) -> None:
    port = free_port()
    controller = Controller(RefusingHandler(reply), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        result = await channel_for(port).send(make_message())
    finally:
        controller.stop()
    assert result.outcome == outcome
    assert reply.split()[0] in result.error


async def test_without_an_smtp_host_the_send_fails_as_not_configured_without_connecting() -> None:
    channel = EmailChannel("", 25, SENDER)

    result = await channel.send(make_message())

    assert channel.configured is False
    assert (result.outcome, result.error) == ("failed", "email_not_configured")


async def test_a_line_break_in_the_subject_fails_instead_of_injecting_headers(
    smtp_server: SmtpServer,
) -> None:
    smtp_server.start()

    result = await channel_for(smtp_server.port).send(make_message(subject="Hi\r\nBcc: x@example.org"))

    assert result.outcome == "failed"
    assert result.error.startswith("invalid_message")
    assert smtp_server.handler.received == []
