"""PSW-ESCALATE: the staged escalation per participant and programme, each stage with who and when.

PSW 2.4: explanation requested (2.4.2, a singular unexplained absence) or a reminder of
expectations (2.4.3, emerging concerns) opens it; then the partnerships team contacts the
organisation (2.4.4), withdrawal is considered (2.4.5), a decision is made (2.4.6) and the
participant may appeal (2.4.7). Stages are not skipped once started. "Resolved" closes the
escalation at any stage, after which a new one can be opened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.context import AppContext
from checkin.domain.errors import Conflict, Invalid
from checkin.domain.principal import Principal
from checkin.services.ownership import person_for, reference
from checkin.services.records import jsonable
from checkin.storage.audit import record
from checkin.storage.database import Tx
from checkin.storage.tables import escalations, programmes, users


@dataclass(frozen=True)
class Stage:
    id: str
    label: str
    who: str  # whose step it is under the policy
    clause: str
    note_required: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "who": self.who, "clause": self.clause,
                "note_required": self.note_required}


STAGES: tuple[Stage, ...] = (
    Stage("explanation_requested", "Explanation requested",
          "The programme team asks the participant to explain the absence.", "PSW 2.4.2"),
    Stage("reminder_of_expectations", "Reminder of expectations",
          "The programme team reminds the participant of the programme's expectations and offers support.",
          "PSW 2.4.3"),
    Stage("partnerships_contact", "Partnerships team contacts the organisation",
          "The partnerships team agrees an action plan or further support with the participant's organisation.",
          "PSW 2.4.4"),
    Stage("withdrawal_considered", "Withdrawal considered",
          "The programme team considers withdrawing the participant from the programme.", "PSW 2.4.5"),
    Stage("decision", "Decision",
          "The principal programme lead decides, in consultation with the managers and the organisation.",
          "PSW 2.4.6", note_required=True),
    Stage("appeal", "Appeal",
          "The participant appeals; a meeting with the principal programme lead is arranged.", "PSW 2.4.7",
          note_required=True),
)
RESOLVED = Stage("resolved", "Resolved", "Staff close the escalation: the concern has been dealt with.", "PSW 2.4.1",
                 note_required=True)
BY_ID = {s.id: s for s in (*STAGES, RESOLVED)}
ORDER = [s.id for s in STAGES]
OPENERS = ("explanation_requested", "reminder_of_expectations")


def allowed_next(history: list[str]) -> list[str]:
    """The stages that may be recorded after `history` (oldest first)."""
    current = history[-1] if history else None
    if current is None or current == RESOLVED.id:
        return list(OPENERS)
    after = ORDER[ORDER.index(current) + 1:ORDER.index(current) + 2]
    return [*after, RESOLVED.id]


async def _history(conn: AsyncConnection, person_id: int, programme_id: int) -> list[Any]:
    return list((await conn.execute(
        sa.select(escalations, users.c.name.label("recorded_by_name"))
        .outerjoin(users, users.c.id == escalations.c.recorded_by)
        .where(escalations.c.person_id == person_id, escalations.c.programme_id == programme_id)
        .order_by(escalations.c.at, escalations.c.id))).all())


def _entry(row: Any) -> dict[str, Any]:
    stage = BY_ID.get(row.stage)
    return {"id": row.id, "stage": row.stage, "label": stage.label if stage else row.stage,
            "who": stage.who if stage else "", "note": row.note, "recorded_by": row.recorded_by,
            "recorded_by_name": row.recorded_by_name or "", "at": jsonable(row.at)}


async def escalation_view(conn: AsyncConnection, person_id: int, programme_id: int) -> dict[str, Any]:
    """The escalation's history, where it stands and what may come next."""
    rows = await _history(conn, person_id, programme_id)
    stages = [r.stage for r in rows]
    current = stages[-1] if stages else None
    return {"programme_id": programme_id, "person_id": person_id, "history": [_entry(r) for r in rows],
            "current": current, "open": current is not None and current != RESOLVED.id,
            "next": [BY_ID[s].to_dict() for s in allowed_next(stages)],
            "stages": [s.to_dict() for s in STAGES]}


async def record_stage(ctx: AppContext, actor: Principal, person_id: int, *, programme_id: int, stage: str,
                       note: str, now: datetime) -> dict[str, Any]:
    """Records the next stage; 409 when it skips a stage or the escalation is not at that point."""
    if stage not in BY_ID:
        raise Invalid("invalid_choice", f"stage must be one of: {', '.join(BY_ID)}", "stage")
    if BY_ID[stage].note_required and not note.strip():
        raise Invalid("note_required", f"Say what was decided or agreed at \"{BY_ID[stage].label}\".", "note")

    async def work(tx: Tx) -> dict[str, Any]:
        conn = tx.conn
        await person_for(conn, actor, person_id)
        await reference(conn, programmes, programme_id, actor.org_id, "programme_id", "programme")
        stages = [r.stage for r in await _history(conn, person_id, programme_id)]
        allowed = allowed_next(stages)
        if stage not in allowed:
            labels = ", ".join(BY_ID[s].label for s in allowed)
            raise Conflict("stage_out_of_order",
                           f"\"{BY_ID[stage].label}\" cannot be recorded now; next may come: {labels}.", "stage",
                           allowed=allowed)
        new_id = (await conn.execute(sa.insert(escalations).values(
            person_id=person_id, programme_id=programme_id, stage=stage, note=note[:2000],
            recorded_by=actor.user_id, at=now).returning(escalations.c.id))).scalar_one()
        await record(conn, now, actor, "escalate", "escalation", new_id, after={
            "programme_id": programme_id, "stage": stage, "note": note}, person_id=person_id)
        return await escalation_view(conn, person_id, programme_id)

    return await ctx.db.write(work)


async def current_stages(conn: AsyncConnection, programme_id: int) -> dict[int, str]:
    """Each participant's latest stage in the programme (for the programme page)."""
    rows = (await conn.execute(sa.select(escalations.c.person_id, escalations.c.stage)
                               .where(escalations.c.programme_id == programme_id)
                               .order_by(escalations.c.at, escalations.c.id))).all()
    return {r.person_id: r.stage for r in rows}


async def get_escalation(ctx: AppContext, actor: Principal, person_id: int, programme_id: int) -> dict[str, Any]:
    async with ctx.db.read() as conn:
        await person_for(conn, actor, person_id)
        await reference(conn, programmes, programme_id, actor.org_id, "programme_id", "programme")
        return await escalation_view(conn, person_id, programme_id)
