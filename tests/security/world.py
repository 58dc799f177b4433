"""Two organisations with one API token per role, and one of every kind of record a route can name."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from checkin.context import AppContext
from checkin.domain.model import Role
from checkin.domain.principal import Principal
from checkin.services.accounts import create_api_token, create_user
from checkin.services.legal_holds import place
from checkin.storage.tables import (
    alerts,
    catch_ups,
    deliveries,
    enrolments,
    organisations,
    tasks,
    webhook_endpoints,
)
from checkin.storage.tables import users as users_table
from checkin.web.fields import AnyJson, Bool, Choice, ClockTime, Day, Field, Int, ListOf, Obj, Str, When
from tests import factories
from tests.security.records import mark, password_hash

ROLE_ORDER = (Role.TUTOR, Role.EVENTS_TEAM, Role.DSL, Role.PROGRAMME_MANAGER, Role.ADMIN)
PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")
SPARE_EMAIL = "spare.tutor@example.org"


@dataclass
class World:
    ids: dict[str, Any] = field(default_factory=dict)
    tokens: dict[Role, str] = field(default_factory=dict)
    other_admin_token: str = ""

    def headers(self, role: Role | None) -> dict[str, str]:
        return {} if role is None else {"authorization": f"Bearer {self.tokens[role]}"}

    def fill(self, path: str) -> tuple[str, list[str]]:
        """The path with this world's ids in it, and the names of parameters it has no record for."""
        unknown = [name for name in PARAM.findall(path) if name not in self.ids]
        return PARAM.sub(lambda m: str(self.ids.get(m.group(1), 987654321)), path), unknown


async def _token(ctx: AppContext, org_id: int, role: Role, email: str) -> tuple[int, str]:
    """A staff member who signs in only with an API token (no password, so no slow hashing)."""
    user_id = await create_user(ctx.db, org_id, email, email.split("@")[0].replace(".", " ").title(), role,
                                None, ctx.clock())
    principal = Principal(user_id, org_id, role, email, "token")
    return user_id, (await create_api_token(ctx.db, principal, "matrix", ctx.clock()))["token"]


async def build(ctx: AppContext) -> World:
    world = World()
    org_id = ctx.extras["org_id"]
    now = ctx.clock()
    users: dict[Role, int] = {}
    for role in ROLE_ORDER:
        users[role], world.tokens[role] = await _token(ctx, org_id, role, f"{role.value}@example.org")
    spare = await factories._insert(ctx, users_table, org_id=org_id, email=SPARE_EMAIL, name="Spare Tutor",
                                    role=Role.TUTOR.value, password_hash=password_hash(), created_at=now)
    programme_id = await factories.programme(ctx)
    person_id = await factories.person(ctx, "Ava", "Example", ap_pupil=True)
    contact_id = await factories.contact(ctx, person_id, "emergency", "Pat Example", phone="07700 900123")
    session_id = await factories.session(ctx, programme_id, now + timedelta(minutes=30),
                                         tutor_ids=(users[Role.TUTOR],), person_ids=(person_id,))
    tutor = Principal(users[Role.TUTOR], org_id, Role.TUTOR, "Tutor", "token")
    await mark(ctx, session_id, person_id, tutor, now)
    enrolment_id = await factories._insert(ctx, enrolments, person_id=person_id, programme_id=programme_id,
                                           updated_at=now)
    alert_id = await factories._insert(ctx, alerts, org_id=org_id, rule_id="AP-DSL", kind="safeguarding",
                                       severity="safeguarding", session_id=session_id, person_id=person_id,
                                       title="No contact", why="Matrix", facts={}, created_at=now)
    delivery_id = "matrix-delivery-1"

    async def insert_delivery(tx: Any) -> None:
        await tx.conn.execute(sa.insert(deliveries).values(
            id=delivery_id, alert_id=alert_id, org_id=org_id, kind="safeguarding", channel="email",
            recipient="dsl@example.org", text="Matrix", payload={}, state="failed", created_at=now))

    await ctx.db.write(insert_delivery)
    webhook_id = await factories._insert(ctx, webhook_endpoints, org_id=org_id, url="http://127.0.0.1:9/hook",
                                         secret="s" * 32, kinds=[], created_at=now)
    task_id = await factories._insert(ctx, tasks, org_id=org_id, kind="call_contacts", session_id=session_id,
                                      person_id=person_id, title="Call", facts={}, created_at=now)
    catch_up_id = await factories._insert(ctx, catch_ups, person_id=person_id, session_id=session_id,
                                          kind="materials", created_at=now)
    admin = Principal(users[Role.ADMIN], org_id, Role.ADMIN, "Admin", "token")
    hold = await place(ctx, admin, person_id=person_id, session_id=None, reason="Matrix", now=now)
    world.ids = {"session_id": session_id, "person_id": person_id, "programme_id": programme_id,
                 "contact_id": contact_id, "enrolment_id": enrolment_id, "user_id": spare, "alert_id": alert_id,
                 "delivery_id": delivery_id, "webhook_id": webhook_id, "task_id": task_id,
                 "catch_up_id": catch_up_id, "hold_id": hold["id"], "kind": "people",
                 "record_type": "checkin_attempts"}
    other_org = await factories._insert(ctx, organisations, name="Elsewhere Learning", safeguarding_chain=[],
                                        bank_holidays=[], created_at=now)
    _, world.other_admin_token = await _token(ctx, other_org, Role.ADMIN, "other.admin@example.org")
    return world


def example(f: Field) -> Any:
    """A value the field accepts (required parts only), so a request gets past parsing to the handler."""
    if isinstance(f, Obj):
        return {name: example(sub) for name, sub in f.fields.items() if sub.required}
    if isinstance(f, Str):
        if f.email:
            return "matrix@example.org"
        return "Matrix"[:f.max_len] if f.min_len <= 6 else "M" * f.min_len
    if isinstance(f, Int):
        return max(f.minimum if f.minimum is not None else 1, 1)
    if isinstance(f, Bool):
        return False
    if isinstance(f, Choice):
        return f.values()[0]
    if isinstance(f, When):
        return "2026-03-01T09:00:00+00:00"  # the day before the test clock: in the past, not too far
    if isinstance(f, Day):
        return "2026-03-01"
    if isinstance(f, ClockTime):
        return "09:00"
    if isinstance(f, ListOf):
        return []
    if isinstance(f, AnyJson):
        return {} if f.kind == "object" else []
    return None
