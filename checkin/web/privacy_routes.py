"""Data protection: retention periods, the purge, legal holds, and a person's export and erasure."""

from __future__ import annotations

from typing import Any

from checkin.domain.model import Role
from checkin.services import legal_holds, retention, subject_access
from checkin.web.endpoint import Api, Call
from checkin.web.fields import Bool, Int, Obj, Str

api = Api()
ADMIN = frozenset({Role.ADMIN})
HOLDERS = frozenset({Role.ADMIN, Role.DSL})


@api.route("GET", "/api/retention", roles=ADMIN, tag="data protection",
           summary="How long each kind of record is kept (days), with defaults and minimums")
async def get_retention(call: Call) -> list[dict[str, Any]]:
    async with call.ctx.db.read() as conn:
        return await retention.settings_json(conn, call.actor.org_id)


@api.route("PUT", "/api/retention/{record_type}", roles=ADMIN, tag="data protection",
           body=Obj({"keep_days": Int(minimum=1, maximum=36_500)}),
           summary="Change one record type's retention period; below its minimum is refused (below_minimum)")
async def put_retention(call: Call) -> dict[str, Any]:
    return await retention.set_keep_days(call.ctx, call.actor, call.params["record_type"], call.body["keep_days"],
                                         call.now)


@api.route("POST", "/api/retention/purge", roles=ADMIN, tag="data protection", body=Obj({}),
           summary="Run the retention purge now (it also runs daily at 03:00); returns counts deleted")
async def run_purge(call: Call) -> dict[str, Any]:
    counts = await retention.purge(call.ctx, call.now, call.actor)
    return {"deleted": counts.get(call.actor.org_id, {})}


@api.route("GET", "/api/legal-holds", roles=HOLDERS, tag="data protection",
           query=Obj({"all": Bool(required=False, default=False, description="include released holds")}),
           summary="Legal holds of the organisation (active ones unless all=true)")
async def get_holds(call: Call) -> list[dict[str, Any]]:
    async with call.ctx.db.read() as conn:
        return await legal_holds.list_holds(conn, call.actor.org_id, active_only=not call.query["all"])


@api.route("POST", "/api/legal-holds", roles=HOLDERS, tag="data protection", status=201,
           body=Obj({"person_id": Int(required=False, minimum=1, nullable=True),
                     "session_id": Int(required=False, minimum=1, nullable=True),
                     "reason": Str(min_len=1, max_len=1000)}),
           summary="Hold one person's or one session's records from purge and erasure")
async def post_hold(call: Call) -> dict[str, Any]:
    b = call.body
    return await legal_holds.place(call.ctx, call.actor, person_id=b["person_id"], session_id=b["session_id"],
                                   reason=b["reason"], now=call.now)


@api.route("POST", "/api/legal-holds/{hold_id:int}/release", roles=ADMIN, tag="data protection",
           body=Obj({"note": Str(required=False, max_len=1000)}), summary="Release a legal hold")
async def release_hold(call: Call) -> dict[str, Any]:
    return await legal_holds.release(call.ctx, call.actor, call.params["hold_id"], call.body["note"], call.now)


@api.route("GET", "/api/people/{person_id:int}/export", roles=ADMIN, tag="data protection",
           summary="Everything held about one person, as JSON (a subject access request); audited")
async def export_person(call: Call) -> dict[str, Any]:
    return await subject_access.export(call.ctx, call.actor, call.params["person_id"], call.now)


@api.route("POST", "/api/people/{person_id:int}/erase", roles=ADMIN, tag="data protection",
           body=Obj({"reason": Str(min_len=1, max_len=1000)}),
           summary="Erase a person on request; refused with legal_hold or retention_applies (409)")
async def erase_person(call: Call) -> dict[str, Any]:
    return await subject_access.erase(call.ctx, call.actor, call.params["person_id"], call.body["reason"], call.now)
