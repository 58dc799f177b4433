"""The pieces every alert e-mail is written with: the message body, its subject, and fact helpers."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any, Literal

Audience = Literal["staff", "external"]


@dataclass
class Body:
    """A message being written: subject, paragraphs and lists, and the next action."""

    subject: str
    blocks: list[str | tuple[str, list[str]]] = field(default_factory=list)
    next_action: str = ""
    link: str = ""

    def para(self, text: str) -> None:
        if text:
            self.blocks.append(text)

    def items(self, lines: Sequence[str], heading: str = "") -> None:
        """A list, under a heading line when given."""
        if lines:
            self.blocks.append((heading, list(lines)))

    def text(self) -> str:
        parts = [b if isinstance(b, str) else "\n".join([b[0]] * bool(b[0]) + [f"- {line}" for line in b[1]])
                 for b in self.blocks]
        if self.next_action:
            parts.append(f"Next action: {self.next_action}")
        if self.link:
            parts.append(f"Open in checkin: {self.link}")
        return "\n\n".join(parts) + "\n"

    def html(self) -> str:
        out = []
        for b in self.blocks:
            if isinstance(b, str):
                out.append(f"<p>{escape(b)}</p>")
            else:
                heading = f"<p>{escape(b[0])}</p>" if b[0] else ""
                out.append(heading + "<ul>" + "".join(f"<li>{escape(line)}</li>" for line in b[1]) + "</ul>")
        if self.next_action:
            out.append(f"<p><strong>Next action:</strong> {escape(self.next_action)}</p>")
        if self.link:
            out.append(f'<p><a href="{escape(self.link)}">Open in checkin</a></p>')
        return "<!doctype html><html><body>" + "".join(out) + "</body></html>"


def who(f: Mapping[str, Any]) -> str:
    return str(f.get("name") or "The participant")


def when(f: Mapping[str, Any]) -> str:
    """E.g. 'the 09:00 session "Maths 1:1" on Monday 2 March 2026'."""
    text = f"the {f.get('starts_at_local', '')} session \"{f.get('session_title', '')}\""
    return " ".join(text.split()) + (f" on {f['date']}" if f.get("date") else "")


def names(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def status_words(status: str) -> str:
    return {"absent": "absent", "present": "present", "late": "present, arriving late",
            "left_early": "present, leaving early", "not_possible": "attendance not possible",
            "catch_up": "making up the session by catch-up"}.get(status, status.replace("_", " ") or "unknown")


def contact_lines(contacts: Any, with_email: bool = False) -> list[str]:
    """One line per contact: name (relationship, organisation): phone[, e-mail]."""
    lines = []
    for c in contacts or ():
        if not isinstance(c, Mapping):
            continue
        about = ", ".join(str(c[k]) for k in ("relationship", "organisation") if c.get(k))
        reach = [str(c.get("phone") or "no phone on record")]
        if with_email and c.get("email"):
            reach.append(str(c["email"]))
        lines.append(f"{c.get('name') or 'Unnamed contact'}{f' ({about})' if about else ''}: {', '.join(reach)}")
    return lines


@dataclass(frozen=True)
class Subject:
    """What one message is about: the alert (or report) and who reads it."""

    kind: str
    rule_id: str
    facts: Mapping[str, Any]
    audience: Audience
    title: str = ""
    why: str = ""
    link: str = ""


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


Template = Callable[[Subject], Body]
