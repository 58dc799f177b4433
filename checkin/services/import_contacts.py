"""Contacts files: each row is one contact of a person, matched by person, kind and name.

Re-importing a file updates those contacts in place; a new contact goes after the person's
existing contacts of its kind, so a file lists each person's contacts in calling order.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.context import AppContext
from checkin.domain.imports import ContactRow
from checkin.domain.model import Channel
from checkin.domain.principal import Principal
from checkin.services.import_plan import KindPlan, RowOutcome, audit_many, audit_row, changes, insert_many, jsonable
from checkin.services.import_refs import PersonRefs, rows_where_in
from checkin.storage.database import Tx
from checkin.storage.tables import contacts

OPTIONAL = ("relationship", "phone", "email", "organisation", "preferred_channel")


def contact_key(person_id: int, kind: str, name: str) -> tuple[int, str, str]:
    return person_id, kind, " ".join(name.casefold().split())


@dataclass
class ContactStep:
    row: int
    person_id: int
    contact: Any  # the existing row, or None to create
    values: dict[str, Any]
    priority: int = 0


@dataclass
class ContactsPlan(KindPlan):
    steps: list[ContactStep] = field(default_factory=list)

    async def write(self, tx: Tx, ctx: AppContext, actor: Principal, now: datetime) -> None:
        new = [s for s in self.steps if s.contact is None]
        rows = [{"person_id": s.person_id, "priority": s.priority, "created_at": now, **s.values} for s in new]
        audits = [audit_row(now, actor, "create", "contact", contact_id, person_id=s.person_id,
                            after=jsonable(s.values) | {"priority": s.priority, "via": "import"})
                  for s, contact_id in zip(new, await insert_many(tx.conn, contacts, rows), strict=True)]
        for step in self.steps:
            diff = changes(step.contact, step.values) if step.contact is not None else {}
            if diff:
                await tx.conn.execute(sa.update(contacts).where(contacts.c.id == step.contact.id).values(**diff))
                audits.append(audit_row(now, actor, "update", "contact", step.contact.id, person_id=step.person_id,
                                        before={k: getattr(step.contact, k) for k in diff},
                                        after=diff | {"via": "import"}))
        await audit_many(tx.conn, audits)


async def plan_contacts(conn: AsyncConnection, org_id: int, header: Collection[str],
                        rows: Sequence[ContactRow]) -> ContactsPlan:
    plan = ContactsPlan()
    refs = await PersonRefs.for_refs(conn, org_id, [r.person_ref for r in rows])
    resolved = [(r, refs.resolve(r.row, "person_ref", r.person_ref, plan.problems)) for r in rows]
    person_ids = {pid for _, pid in resolved if pid is not None}
    existing = await rows_where_in(conn, contacts, contacts.c.person_id, person_ids)
    by_key = {contact_key(c.person_id, c.kind, c.name): c for c in existing}
    next_priority: dict[tuple[int, str], int] = {}
    for c in existing:
        slot = (c.person_id, c.kind)
        next_priority[slot] = max(next_priority.get(slot, 0), c.priority + 1)
    seen: dict[tuple[int, str, str], int] = {}
    for r, person_id in resolved:
        if r.preferred_channel == Channel.WEBHOOK:
            plan.problem(r.row, "preferred_channel", "invalid_choice",
                         "A person's contact is reached by email or phone; webhooks are set up for the organisation.")
            continue
        if person_id is None:
            continue
        key = contact_key(person_id, r.kind.value, r.name)
        if key in seen:
            plan.problem(r.row, "name", "duplicate", f"This row repeats row {seen[key]} for the same person.")
            continue
        seen[key] = r.row
        values: dict[str, Any] = {"kind": r.kind.value, "name": r.name}
        values |= {name: str(getattr(r, name)) for name in OPTIONAL if name in header}
        contact = by_key.get(key)
        if contact is None:
            values.setdefault("preferred_channel", r.preferred_channel.value)
            slot = (person_id, r.kind.value)
            priority = next_priority.get(slot, 0)
            next_priority[slot] = priority + 1
            plan.steps.append(ContactStep(r.row, person_id, None, values, priority))
            plan.outcomes.append(RowOutcome(r.row, created=True))
        else:
            plan.steps.append(ContactStep(r.row, person_id, contact, values))
            plan.outcomes.append(RowOutcome(r.row, updated=bool(changes(contact, values))))
    return plan
