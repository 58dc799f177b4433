"""Raising alerts and sending reports through the transactional outbox.

An alert row, its first timeline event, one delivery row per (recipient, channel), one per
matching webhook endpoint, and a numbered org-channel event are all written in the caller's
transaction, so they exist together with whatever caused them or not at all. Phone
recipients become call tasks: the product tells staff whom to call and records the result.
Without SMTP settings an e-mail delivery is written as `undeliverable` with its reason, so
it is visible in the outbox instead of vanishing; the alert still appears live.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts.message import delivery_id_for
from checkin.context import AppContext
from checkin.domain.errors import NotFound
from checkin.domain.model import AlertSeverity
from checkin.services.alert_text import Audience, render_for
from checkin.storage import events
from checkin.storage.audit import record
from checkin.storage.database import Tx
from checkin.storage.tables import (
    alert_events,
    alerts,
    contacts,
    deliveries,
    enrolments,
    organisations,
    people,
    programmes,
    session_tutors,
    sessions,
    tasks,
    users,
    webhook_endpoints,
)

NOT_CONFIGURED = "email_not_configured: no SMTP settings, so this e-mail cannot be sent"
STAFF_KINDS = frozenset({"tutor", "manager", "ap_office", "dsl", "events_team", "admin", "user"})

LINKED_KINDS = frozenset({"dsl", "admin", "user"})


@dataclass(frozen=True)
class Recipient:
    kind: str  # "attendance_contact" | "la_ap_address" | "emergency_contact" | "employer" | "line_manager" | "tutor"
    # | "manager" | "ap_office" | "dsl" | "events_team" | "admin" | "programme_contact" | "user"
    channel: str  # "email" | "webhook" | "phone" (phone = a task for staff, never sent)
    address: str  # e-mail, URL or phone number
    name: str = ""
    user_id: int | None = None


_CONTACT_NAMES = {"attendance_contacts": "attendance", "attendance_contact": "attendance", "employer": "employer",
                  "line_manager": "line_manager"}
_CONTACT_KIND = {"attendance": "attendance_contact", "employer": "employer", "line_manager": "line_manager",
                 "emergency": "emergency_contact"}


async def resolve_recipients(conn: AsyncConnection, org_id: int, names: Sequence[str], *, session_id: int | None,
                             person_id: int | None) -> list[Recipient]:
    """Turns rule recipient names into addresses, de-duplicated by channel and address, in the order named.

    Names: attendance_contacts, la_ap_address (pupils not on a school roll only), emergency_contacts (phone),
    employer, line_manager, programme_contact, dsl (the chain's first), dsl_chain (DSL and deputies),
    dsl_chain:<n> (the n-th of the chain, 0 = DSL), tutor, manager (the tutors' managers, else the programme
    managers), ap_office, events_team, admin, user:<id>. Unknown names and missing addresses give nobody.
    """
    out: list[Recipient] = []
    for name in names:
        out += await _resolve_one(conn, org_id, name.strip(), session_id, person_id)
    seen: set[tuple[str, str]] = set()
    unique = []
    for r in out:
        key = (r.channel, r.address.strip().lower())
        if r.address.strip() and key not in seen:
            seen.add(key)
            unique.append(r)
    return unique


async def _resolve_one(conn: AsyncConnection, org_id: int, name: str, session_id: int | None,
                       person_id: int | None) -> list[Recipient]:
    org = (await conn.execute(sa.select(organisations).where(organisations.c.id == org_id))).first()
    if org is None:
        return []
    if name in _CONTACT_NAMES:
        return await _contacts(conn, org_id, person_id, _CONTACT_NAMES[name])
    if name in ("emergency_contacts", "emergency_contact"):
        return await _contacts(conn, org_id, person_id, "emergency")
    if name == "la_ap_address":
        return await _la_address(conn, org, person_id)
    if name == "ap_office":
        return [Recipient("ap_office", "email", org.ap_office_email, "AP office")] if org.ap_office_email else []
    if name in ("dsl", "dsl_chain", "safeguarding_chain") or name.startswith("dsl_chain:"):
        return await _chain(conn, org, name)
    if name.startswith("user:") and name[5:].isdigit():
        return await _staff(conn, org_id, users.c.id == int(name[5:]), "user")
    if name in ("tutor", "tutors"):
        return await _staff(conn, org_id, users.c.id.in_(_tutor_ids(session_id)), "tutor")
    if name == "manager":
        found = await _staff(conn, org_id, users.c.id.in_(
            sa.select(users.c.manager_id).where(users.c.id.in_(_tutor_ids(session_id)))), "manager")
        return found or await _staff(conn, org_id, users.c.role == "programme_manager", "manager")
    if name == "events_team":
        return await _staff(conn, org_id, users.c.role == "events_team", "events_team")
    if name in ("admin", "admins"):
        return await _staff(conn, org_id, users.c.role == "admin", "admin")
    if name in ("programme_contact", "point_of_contact"):
        return await _programme_contact(conn, org_id, session_id, person_id)
    return []


def _tutor_ids(session_id: int | None) -> Any:
    return sa.select(session_tutors.c.user_id).where(session_tutors.c.session_id == (session_id or -1))


async def _staff(conn: AsyncConnection, org_id: int, where: Any, kind: str) -> list[Recipient]:
    rows = (await conn.execute(sa.select(users.c.id, users.c.email, users.c.name).where(
        where, users.c.org_id == org_id, users.c.active.is_(True)).order_by(users.c.id))).all()
    return [Recipient(kind, "email", r.email, r.name, r.id) for r in rows if r.email]


async def _contacts(conn: AsyncConnection, org_id: int, person_id: int | None, kind: str) -> list[Recipient]:
    """A person's contacts of one kind; e-mail when they have one, else a phone call (emergency: always phone)."""
    if person_id is None:
        return []
    rows = (await conn.execute(sa.select(contacts).join(people, people.c.id == contacts.c.person_id).where(
        contacts.c.person_id == person_id, contacts.c.kind == kind, people.c.org_id == org_id)
        .order_by(contacts.c.priority, contacts.c.id))).all()
    out = []
    for c in rows:
        label = _CONTACT_KIND[kind]
        if kind != "emergency" and c.email and c.preferred_channel != "phone":
            out.append(Recipient(label, "email", c.email, c.name))
        elif c.phone:
            out.append(Recipient(label, "phone", c.phone, c.name))
        elif c.email:
            out.append(Recipient(label, "email", c.email, c.name))
    return out


async def _la_address(conn: AsyncConnection, org: Any, person_id: int | None) -> list[Recipient]:
    if not org.la_ap_address:
        return []
    if person_id is not None:
        on_roll = (await conn.execute(sa.select(people.c.on_school_roll).where(people.c.id == person_id))).scalar()
        if on_roll:
            return []
    return [Recipient("la_ap_address", "email", org.la_ap_address, "Local authority AP")]


async def _chain(conn: AsyncConnection, org: Any, name: str) -> list[Recipient]:
    """The safeguarding chain in its order; users with role dsl when none is configured."""
    chain = [int(u) for u in (org.safeguarding_chain or []) if str(u).isdigit()]
    if not chain:
        found = await _staff(conn, org.id, users.c.role == "dsl", "dsl")
        return found[:1] if name == "dsl" else found
    if name == "dsl":
        chain = chain[:1]
    elif name.startswith("dsl_chain:"):
        index = name.split(":", 1)[1]
        chain = chain[int(index):int(index) + 1] if index.isdigit() else []
    by_id = {r.user_id: r for r in await _staff(conn, org.id, users.c.id.in_(chain), "dsl")}
    return [by_id[u] for u in chain if u in by_id]


async def _programme_contact(conn: AsyncConnection, org_id: int, session_id: int | None,
                             person_id: int | None) -> list[Recipient]:
    if session_id is not None:
        query = sa.select(programmes.c.point_of_contact_email, programmes.c.name).join(
            sessions, sessions.c.programme_id == programmes.c.id).where(sessions.c.id == session_id)
    elif person_id is not None:
        query = sa.select(programmes.c.point_of_contact_email, programmes.c.name).join(
            enrolments, enrolments.c.programme_id == programmes.c.id).where(
            enrolments.c.person_id == person_id, enrolments.c.status == "active")
    else:
        return []
    rows = (await conn.execute(query.where(programmes.c.org_id == org_id))).all()
    return [Recipient("programme_contact", "email", r.point_of_contact_email, f"{r.name} point of contact")
            for r in rows if r.point_of_contact_email]


def audience_of(recipient_kind: str) -> Audience:
    """Staff see the whole alert; anyone else (or any kind not known to be staff) the external text."""
    return "staff" if recipient_kind in STAFF_KINDS else "external"


@dataclass(frozen=True)
class _Outgoing:
    """One alert or report about to be written to the outbox."""

    source: str  # the idempotency prefix: "alert:12", "alert:12:DSL-ACK:2", "report:<uuid>"
    org_id: int
    kind: str
    rule_id: str
    title: str
    why: str
    facts: dict[str, Any]
    now: datetime
    alert_id: int | None
    session_id: int | None
    person_id: int | None
    severity: str = ""


async def raise_alert(tx: Tx, ctx: AppContext, *, org_id: int, rule_id: str, kind: str, severity: str, title: str,
                      why: str, facts: dict[str, Any], recipients: Sequence[Recipient], now: datetime,
                      session_id: int | None = None, person_id: int | None = None,
                      late_by_seconds: int = 0) -> int:
    """Writes the alert, its timeline start and its deliveries; publishes and wakes the dispatcher after commit."""
    severity = AlertSeverity(str(severity)).value
    alert_id = int((await tx.conn.execute(sa.insert(alerts).values(
        org_id=org_id, rule_id=rule_id, kind=kind, severity=severity, session_id=session_id, person_id=person_id,
        title=title[:300], why=why[:2000], facts=facts, state="open", late_by_seconds=late_by_seconds,
        created_at=now).returning(alerts.c.id))).scalar_one())
    await add_event(tx.conn, alert_id, now, "raised", why, {"rule_id": rule_id, "recipients": _names(recipients),
                                                           "late_by_seconds": late_by_seconds})
    out = _Outgoing(f"alert:{alert_id}", org_id, kind, rule_id, title, why, facts, now, alert_id, session_id,
                    person_id, severity)
    await _write_outbox(tx, ctx, out, recipients)
    await record(tx.conn, now, None, "raise", "alert", alert_id, org_id=org_id, person_id=person_id,
                 session_id=session_id, actor_label=f"rule {rule_id}",
                 after={"rule_id": rule_id, "kind": kind, "severity": severity, "title": title})
    await publish_alert(tx, ctx, alert_id, "alert", now)
    return alert_id


async def send_report(tx: Tx, ctx: AppContext, *, org_id: int, kind: str, subject_facts: dict[str, Any],
                      recipients: Sequence[Recipient], now: datetime, session_id: int | None, person_id: int | None,
                      alert_id: int | None = None) -> list[str]:
    """Writes a report's deliveries (no alert row); `subject_facts["rule_id"]` picks the wording when given."""
    rule_id = str(subject_facts.get("rule_id") or "")
    report_id = uuid.uuid4().hex
    out = _Outgoing(f"report:{report_id}", org_id, kind, rule_id, "", "", subject_facts, now, alert_id, session_id,
                    person_id)
    ids = await _write_outbox(tx, ctx, out, recipients)
    await record(tx.conn, now, None, "send", "report", report_id, org_id=org_id, person_id=person_id,
                 session_id=session_id, actor_label=f"rule {rule_id}" if rule_id else "system",
                 after={"kind": kind, "rule_id": rule_id, "recipients": _names(recipients), "deliveries": ids,
                        "correction": bool(subject_facts.get("correction"))})
    if alert_id is not None:
        await add_event(tx.conn, alert_id, now, "report_sent",
                        f"Report ({kind}) sent to {', '.join(_names(recipients)) or 'nobody'}.",
                        {"kind": kind, "deliveries": ids})
        await publish_alert(tx, ctx, alert_id, "alert_update", now)
    return ids


async def escalate_alert(tx: Tx, ctx: AppContext, *, alert_id: int, rule_id: str, level: int,
                         recipients: Sequence[Recipient], why: str, facts: dict[str, Any], now: datetime,
                         late_by_seconds: int = 0) -> list[str]:
    """Re-sends an open alert at escalation `level` (DSL-ACK) and puts the step on its timeline."""
    row = (await tx.conn.execute(sa.select(alerts).where(alerts.c.id == alert_id))).first()
    if row is None:
        raise NotFound("not_found", "No such alert.")
    await tx.conn.execute(sa.update(alerts).where(alerts.c.id == alert_id)
                          .values(escalation_level=max(level, row.escalation_level)))
    await add_event(tx.conn, alert_id, now, "escalated", why, {"rule_id": rule_id, "level": level,
                                                               "recipients": _names(recipients),
                                                               "late_by_seconds": late_by_seconds})
    merged = {**row.facts, **facts, "alert_title": row.title}
    out = _Outgoing(f"alert:{alert_id}:{rule_id}:{level}", row.org_id, row.kind, rule_id, row.title, why, merged,
                    now, alert_id, row.session_id, row.person_id, row.severity)
    ids = await _write_outbox(tx, ctx, out, recipients)
    await publish_alert(tx, ctx, alert_id, "alert_update", now)
    return ids


async def add_event(conn: AsyncConnection, alert_id: int, at: datetime, kind: str, text: str,
                    data: dict[str, Any] | None = None, actor_user_id: int | None = None) -> None:
    """Appends one step to an alert's timeline."""
    await conn.execute(sa.insert(alert_events).values(alert_id=alert_id, at=at, kind=kind, text=text[:2000],
                                                      data=data or {}, actor_user_id=actor_user_id))


async def publish_alert(tx: Tx, ctx: AppContext, alert_id: int, type_: str, now: datetime) -> None:
    """A numbered org-channel event carrying the alert's summary, pushed after commit."""
    row = (await tx.conn.execute(sa.select(alerts).where(alerts.c.id == alert_id))).one()
    channel = events.org_channel(row.org_id)
    await events.emit(tx, ctx.hub.publish, channel, type_, alert_summary(row._mapping), now)


def alert_summary(row: Any) -> dict[str, Any]:
    """The alert as JSON for lists and live feeds (facts only through the detail endpoint)."""
    facts = row["facts"] or {}

    def iso(name: str) -> str | None:
        value = row[name]
        return value.isoformat() if value is not None else None

    return {"id": row["id"], "rule_id": row["rule_id"], "kind": row["kind"], "severity": row["severity"],
            "state": row["state"], "title": row["title"], "why": row["why"], "session_id": row["session_id"],
            "person_id": row["person_id"], "person_name": facts.get("name", ""),
            "session_title": facts.get("session_title", ""), "escalation_level": row["escalation_level"],
            "late_by_seconds": row["late_by_seconds"], "created_at": iso("created_at"),
            "acknowledged_at": iso("acknowledged_at"), "acknowledged_by": row["acknowledged_by"],
            "closed_at": iso("closed_at"), "closed_by": row["closed_by"], "outcome": row["outcome"]}


async def _write_outbox(tx: Tx, ctx: AppContext, out: _Outgoing, recipients: Sequence[Recipient]) -> list[str]:
    ids: list[str] = []
    seen: set[tuple[str, str]] = set()
    smtp = bool(ctx.settings.smtp_host)
    undeliverable: list[str] = []
    for r in recipients:
        key = (r.channel, r.address.strip().lower())
        if not r.address.strip() or key in seen:
            continue
        seen.add(key)
        if r.channel == "phone":
            await _call_task(tx.conn, out, r)
            continue
        if r.channel != "email":
            continue
        delivery_id = delivery_id_for(out.source, "email", r.address)
        rendered = render_for(out.kind, out.rule_id, out.facts, audience_of(r.kind), title=out.title, why=out.why,
                              link=_link(ctx, out.alert_id) if r.kind in LINKED_KINDS else "")
        await tx.conn.execute(sa.insert(deliveries).values(
            id=delivery_id, alert_id=out.alert_id, org_id=out.org_id, kind=_delivery_kind(out), channel="email",
            recipient=r.address.strip()[:500], recipient_kind=r.kind, subject=rendered.subject, text=rendered.text,
            html=rendered.html, payload=_email_payload(out, r), created_at=out.now,
            state="pending" if smtp else "undeliverable", next_attempt_at=out.now if smtp else None,
            last_error="" if smtp else NOT_CONFIGURED))
        ids.append(delivery_id)
        if not smtp:
            undeliverable.append(r.address)
    ids += await _webhooks(tx.conn, out)
    if undeliverable and out.alert_id is not None:
        await add_event(tx.conn, out.alert_id, out.now, "undeliverable",
                        f"E-mail is not set up, so these e-mails could not be sent: {', '.join(undeliverable)}.",
                        {"addresses": undeliverable})
    if ids:
        tx.after_commit(lambda: ctx.wake("dispatcher"))
    return ids


def _delivery_kind(out: _Outgoing) -> str:
    return out.rule_id or out.kind


async def _webhooks(conn: AsyncConnection, out: _Outgoing) -> list[str]:
    """One delivery per active endpoint of the organisation whose kinds list is empty or names this alert."""
    rows = (await conn.execute(sa.select(webhook_endpoints).where(
        webhook_endpoints.c.org_id == out.org_id, webhook_endpoints.c.active.is_(True)))).all()
    ids = []
    for row in rows:
        wanted = set(row.kinds or ())
        if wanted and not wanted & {out.kind, out.rule_id}:
            continue
        delivery_id = delivery_id_for(out.source, "webhook", f"{row.id}:{row.url}")
        payload = {"source": out.source.split(":")[0], "alert_id": out.alert_id, "rule_id": out.rule_id,
                   "alert_kind": out.kind, "severity": out.severity, "title": out.title, "why": out.why,
                   "session_id": out.session_id, "person_id": out.person_id, "facts": out.facts,
                   "endpoint_id": row.id}
        await conn.execute(sa.insert(deliveries).values(
            id=delivery_id, alert_id=out.alert_id, org_id=out.org_id, kind=_delivery_kind(out), channel="webhook",
            recipient=row.url, recipient_kind="webhook", subject=out.title[:300], text="", html=None,
            payload=payload, created_at=out.now, state="pending", next_attempt_at=out.now))
        ids.append(delivery_id)
    return ids


async def _call_task(conn: AsyncConnection, out: _Outgoing, r: Recipient) -> None:
    who = out.facts.get("name") or "the participant"
    await conn.execute(sa.insert(tasks).values(
        org_id=out.org_id, kind="call_contact", session_id=out.session_id, person_id=out.person_id,
        alert_id=out.alert_id, title=f"Call {r.name or r.kind.replace('_', ' ')} on {r.address} about {who}"[:300],
        assigned_role="", facts={"phone": r.address, "name": r.name, "recipient_kind": r.kind,
                                 "about": out.title or out.kind, "rule_id": out.rule_id},
        due_at=out.now, state="open", created_at=out.now))


def _email_payload(out: _Outgoing, r: Recipient) -> dict[str, Any]:
    return {"source": out.source.split(":")[0], "alert_id": out.alert_id, "rule_id": out.rule_id,
            "session_id": out.session_id, "person_id": out.person_id, "audience": audience_of(r.kind),
            "recipient_name": r.name}


def _link(ctx: AppContext, alert_id: int | None) -> str:
    if alert_id is None:
        return ""
    return f"{ctx.settings.public_base_url.rstrip('/')}/safeguarding.html#alert-{alert_id}"


def _names(recipients: Sequence[Recipient]) -> list[str]:
    return [f"{r.name or r.kind} <{r.address}>" if r.name else f"{r.kind} <{r.address}>" for r in recipients]
