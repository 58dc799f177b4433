"""Absence notices, force majeure, catch-ups and the staged escalation (PSW-ESCALATE)."""

from __future__ import annotations

from typing import Any

from checkin.domain.model import CancelledBy, Role
from checkin.services import catchup, escalation, force_majeure, notices
from checkin.web.endpoint import MANAGERS, STAFF, Api, Call
from checkin.web.fields import Choice, Int, Obj, Str, When

api = Api()
# FORCE-MAJEURE: "staff can mark a whole event as affected"; the events team runs the events.
FORCE_MAJEURE_ROLES = frozenset({Role.ADMIN, Role.PROGRAMME_MANAGER, Role.EVENTS_TEAM})


@api.route("POST", "/api/sessions/{session_id:int}/notices", roles=STAFF, tag="notices", status=201,
           summary="Record an absence notice or a cancellation (NOTICE, LATE-CANCEL); shown live on the register",
           body=Obj({
               "person_id": Int(minimum=1),
               "reason": Str(min_len=1, max_len=200, description="for an absence, one of the programme's reasons"),
               "given_by": Str(max_len=200, required=False, description="who gave the notice"),
               "received_at": When(required=False, nullable=True, description="defaults to now"),
               "kind": Choice(notices.KINDS, required=False, default="absence"),
               "cancelled_by": Choice(CancelledBy, required=False, nullable=True,
                                      description="for a cancellation: participant, coach or provider"),
           }))
async def create_notice(call: Call) -> dict[str, Any]:
    b = call.body
    cancelled_by = b["cancelled_by"].value if b["cancelled_by"] is not None else None
    return await notices.record_notice(call.ctx, call.actor, call.params["session_id"], person_id=b["person_id"],
                                       reason=b["reason"], given_by=b["given_by"], now=call.now,
                                       received_at=b["received_at"], kind=b["kind"], cancelled_by=cancelled_by)


@api.route("GET", "/api/sessions/{session_id:int}/notices", roles=STAFF, tag="notices",
           summary="The session's notices, oldest first, with how late each came")
async def session_notices(call: Call) -> list[dict[str, Any]]:
    return await notices.list_notices(call.ctx, call.actor, call.params["session_id"])


@api.route("POST", "/api/sessions/{session_id:int}/force-majeure", roles=FORCE_MAJEURE_ROLES, tag="notices",
           summary="Mark the whole session affected (FORCE-MAJEURE): participants told, absences left out",
           body=Obj({"reason": Str(min_len=1, max_len=500)}))
async def declare_force_majeure(call: Call) -> dict[str, Any]:
    return await force_majeure.declare_force_majeure(call.ctx, call.actor, call.params["session_id"],
                                                     call.body["reason"], call.now)


@api.route("GET", "/api/people/{person_id:int}/catch-ups", roles=STAFF, tag="catch-up",
           summary="The participant's catch-ups, and whether each is confirmed")
async def person_catch_ups(call: Call) -> list[dict[str, Any]]:
    return await catchup.list_catch_ups(call.ctx, call.actor, call.params["person_id"])


@api.route("POST", "/api/people/{person_id:int}/catch-ups", roles=STAFF, tag="catch-up", status=201,
           summary="Record a catch-up (CATCH-UP): an alternative session, or materials with form and reflective log",
           body=Obj({
               "session_id": Int(minimum=1, description="the session missed"),
               "kind": Choice(catchup.KINDS),
               "alternative_session_id": Int(minimum=1, required=False, nullable=True),
               "form_completed_at": When(required=False, nullable=True),
               "reflective_log": Str(max_len=20000, required=False),
           }))
async def create_catch_up(call: Call) -> dict[str, Any]:
    b = call.body
    return await catchup.record_catch_up(call.ctx, call.actor, call.params["person_id"], session_id=b["session_id"],
                                         kind=b["kind"], now=call.now,
                                         alternative_session_id=b["alternative_session_id"],
                                         form_completed_at=b["form_completed_at"],
                                         reflective_log=b["reflective_log"])


@api.route("POST", "/api/catch-ups/{catch_up_id:int}/confirm", roles=STAFF, tag="catch-up",
           summary="Confirm catch-up materials with the completion form's date and the reflective log",
           body=Obj({"form_completed_at": When(), "reflective_log": Str(min_len=1, max_len=20000)}))
async def confirm_catch_up(call: Call) -> dict[str, Any]:
    return await catchup.confirm_materials(call.ctx, call.actor, call.params["catch_up_id"],
                                           form_completed_at=call.body["form_completed_at"],
                                           reflective_log=call.body["reflective_log"], now=call.now)


@api.route("GET", "/api/escalation-stages", roles=STAFF, tag="escalation",
           summary="The PSW-ESCALATE stages in order, with whose step each is")
async def stages(call: Call) -> list[dict[str, Any]]:
    return [s.to_dict() for s in (*escalation.STAGES, escalation.RESOLVED)]


@api.route("GET", "/api/people/{person_id:int}/escalations", roles=STAFF, tag="escalation",
           summary="The participant's escalation in a programme: history, current stage, what may come next",
           query=Obj({"programme_id": Int(minimum=1)}))
async def get_escalation(call: Call) -> dict[str, Any]:
    return await escalation.get_escalation(call.ctx, call.actor, call.params["person_id"],
                                           call.query["programme_id"])


@api.route("POST", "/api/people/{person_id:int}/escalations", roles=MANAGERS, tag="escalation", status=201,
           summary="Record the next escalation stage (who and when are recorded); stages are not skipped",
           body=Obj({"programme_id": Int(minimum=1), "stage": Choice(tuple(escalation.BY_ID)),
                     "note": Str(max_len=2000, required=False)}))
async def record_stage(call: Call) -> dict[str, Any]:
    b = call.body
    return await escalation.record_stage(call.ctx, call.actor, call.params["person_id"],
                                         programme_id=b["programme_id"], stage=b["stage"], note=b["note"],
                                         now=call.now)
