"""A fictional AP organisation for the alerting tests, and rule actions applied the way the watcher does."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from checkin.context import AppContext
from checkin.domain.model import (
    Contact,
    ContactKind,
    Mark,
    MarkSource,
    MarkStatus,
    Person,
    Role,
    SessionInfo,
    SessionKind,
    SessionMode,
    SessionSnapshot,
)
from checkin.domain.rules import Action, RaiseAlert, SendReport
from checkin.services.accounts import create_user, hash_password
from checkin.services.alerting import raise_alert, resolve_recipients, send_report
from checkin.storage.database import Tx
from checkin.storage.tables import organisations, users, webhook_endpoints
from tests import factories
from tests.conftest import PASSWORD

LONDON = ZoneInfo("Europe/London")
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ATTENDANCE_EMAIL = "attendance.officer@example.org"
LA_EMAIL = "la.ap@example.org"
AP_OFFICE = "ap.office@example.org"
EMPLOYER_EMAIL = "line.boss@employer.example.org"
PARENT_PHONE = "07700 900123"


@dataclass
class World:
    org_id: int
    tutor_id: int
    manager_id: int
    dsl_id: int
    deputy_id: int
    admin_id: int
    programme_id: int
    person_id: int
    session_id: int

    def snapshot(self, mark: Mark | None = None) -> SessionSnapshot:
        """The session as the rules see it: Sam on the roster, the contacts in the database."""
        info = SessionInfo(self.session_id, "Maths 1:1", SessionKind.AP_TUITION, SessionMode.FACE_TO_FACE, START,
                           START + timedelta(hours=1), self.programme_id, tutor_ids=(self.tutor_id,))
        sam = Person(self.person_id, "Sam", "Pupil", "sam.pupil@example.org", ap_pupil=True, on_school_roll=False)
        contacts = (Contact(1, self.person_id, ContactKind.ATTENDANCE, "Alex Attendance", email=ATTENDANCE_EMAIL),
                    Contact(2, self.person_id, ContactKind.EMERGENCY, "Pat Parent", "Mother", phone=PARENT_PHONE),
                    Contact(3, self.person_id, ContactKind.EMPLOYER, "Lee Boss", "Line manager",
                            email=EMPLOYER_EMAIL, organisation="Example Works Ltd"))
        marks = {self.person_id: mark} if mark else {}
        return SessionSnapshot(info, (sam,), marks, contacts=contacts)


def present_at(minute: int) -> Mark:
    at = START + timedelta(minutes=minute)
    return Mark(0, MarkStatus.PRESENT if minute <= 0 else MarkStatus.LATE, "/" if minute <= 0 else "L", at,
                arrived_at=at, minutes_late=max(minute, 0), source=MarkSource.TABLET)


async def build_world(ctx: AppContext, signs_in: Sequence[str] = ()) -> World:
    """Staff, the organisation's addresses and chain, and Sam Pupil (not on a school roll) in a 09:00 session.

    Only the staff named in `signs_in` (by e-mail local part) get a password: hashing one is slow.
    """
    org_id = ctx.extras["org_id"]

    async def staff(local: str, role: Role, name: str, manager_id: int | None = None) -> int:
        user_id = await create_user(ctx.db, org_id, f"{local}@example.org", name, role, None, ctx.clock(),
                                    manager_id=manager_id)
        if local in signs_in:
            await _set_password(ctx, user_id)
        return user_id

    manager = await staff("manager", Role.PROGRAMME_MANAGER, "Morgan Manager")
    tutor = await staff("tutor", Role.TUTOR, "Tara Tutor", manager)
    dsl = await staff("dsl", Role.DSL, "Dana Lead")
    deputy = await staff("deputy", Role.DSL, "Drew Deputy")
    admin = await staff("admin", Role.ADMIN, "Ada Admin")

    async def configure(tx: Tx) -> None:
        await tx.conn.execute(sa.update(organisations).where(organisations.c.id == org_id).values(
            ap_office_email=AP_OFFICE, la_ap_address=LA_EMAIL, safeguarding_chain=[dsl, deputy]))

    await ctx.db.write(configure)
    programme = await factories.programme(ctx)
    person = await factories.person(ctx, "Sam", "Pupil", ap_pupil=True, on_school_roll=False)
    await factories.contact(ctx, person, "attendance", "Alex Attendance", email=ATTENDANCE_EMAIL)
    await factories.contact(ctx, person, "emergency", "Pat Parent", relationship="Mother", phone=PARENT_PHONE)
    await factories.contact(ctx, person, "employer", "Lee Boss", relationship="Line manager", email=EMPLOYER_EMAIL,
                            organisation="Example Works Ltd")
    session = await factories.session(ctx, programme, START, tutor_ids=(tutor,), person_ids=(person,))
    return World(org_id, tutor, manager, dsl, deputy, admin, programme, person, session)


@functools.cache
def _password_hash() -> str:
    return hash_password(PASSWORD)


async def _set_password(ctx: AppContext, user_id: int) -> None:
    """The test password, hashed once per run: argon2 is slow on purpose."""
    async def work(tx: Tx) -> None:
        await tx.conn.execute(sa.update(users).where(users.c.id == user_id).values(password_hash=_password_hash()))

    await ctx.db.write(work)


async def add_webhook(ctx: AppContext, url: str, secret: str, kinds: Sequence[str] = ()) -> int:
    async def work(tx: Tx) -> int:
        return int((await tx.conn.execute(sa.insert(webhook_endpoints).values(
            org_id=ctx.extras["org_id"], url=url, secret=secret, kinds=list(kinds), created_at=ctx.clock())
            .returning(webhook_endpoints.c.id))).scalar_one())

    return await ctx.db.write(work)


async def apply(ctx: AppContext, world: World, actions: Sequence[Action], now: datetime) -> list[int]:
    """Turns RaiseAlert and SendReport into raise_alert/send_report calls, as the watcher does; alert ids."""
    alert_ids: list[int] = []

    async def work(tx: Tx) -> None:
        for action in actions:
            if isinstance(action, RaiseAlert):
                recipients = await resolve_recipients(tx.conn, world.org_id, action.recipients,
                                                      session_id=world.session_id, person_id=action.person_id)
                alert_ids.append(await raise_alert(
                    tx, ctx, org_id=world.org_id, rule_id=action.rule_id, kind=action.kind,
                    severity=action.severity.value, title=action.title, why=action.why, facts=action.facts,
                    recipients=recipients, now=now, session_id=world.session_id, person_id=action.person_id,
                    late_by_seconds=action.late_by_seconds))
            elif isinstance(action, SendReport):
                recipients = await resolve_recipients(tx.conn, world.org_id, action.recipients,
                                                      session_id=world.session_id, person_id=action.person_id)
                await send_report(tx, ctx, org_id=world.org_id, kind=action.kind,
                                  subject_facts={**action.facts, "rule_id": action.rule_id}, recipients=recipients,
                                  now=now, session_id=world.session_id, person_id=action.person_id)

    await ctx.db.write(work)
    return alert_ids


def by_recipient(received: Sequence[tuple[list[str], EmailMessage]]) -> dict[str, list[EmailMessage]]:
    out: dict[str, list[EmailMessage]] = {}
    for rcpts, mail in received:
        for r in rcpts:
            out.setdefault(r, []).append(mail)
    return out


def text_of(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def html_of(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())

