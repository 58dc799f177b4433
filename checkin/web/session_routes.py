"""Sessions and their rosters; tutors reach only the sessions they teach."""

from __future__ import annotations

from typing import Any

from checkin.domain.model import CancelledBy, Role, SessionKind, SessionMode
from checkin.services import rosters, session_views, sessions
from checkin.web.endpoint import MANAGERS, STAFF, Api, Call
from checkin.web.fields import Bool, Choice, Day, Int, ListOf, Obj, Str, When

api = Api()


def _session_fields() -> dict[str, Any]:
    return {
        "title": Str(min_len=1, max_len=200),
        "kind": Choice(SessionKind),
        "element": Str(max_len=60, required=False, description="the programme element it counts towards"),
        "mode": Choice(SessionMode),
        "starts_at": When(),
        "ends_at": When(),
        "location": Str(max_len=200, required=False),
        "mandatory": Bool(required=False, default=True),
        "tutor_ids": ListOf(Int(minimum=1), max_items=20, required=False),
        "cohort_id": Int(minimum=1, required=False, nullable=True),
        "external_ref": Str(max_len=100, required=False, nullable=True, default=None),
    }


NEW_SESSION = Obj({"programme_id": Int(minimum=1)} | _session_fields())
SESSION_CHANGE = Obj(_session_fields())
CANCEL = Obj({"cancelled_by": Choice(CancelledBy), "reason": Str(min_len=1, max_len=500)})
ROSTER = Obj({"person_ids": ListOf(Int(minimum=1), max_items=2000)})
LISTING = Obj({
    "date": Day(required=False, description="the sessions held on a calendar day in the organisation's time zone"),
    "programme_id": Int(minimum=1, required=False),
    "tutor_id": Int(minimum=1, required=False),
    "mine": Bool(required=False, default=False),
    "limit": Int(minimum=1, maximum=1000, required=False, default=500),
    "offset": Int(minimum=0, required=False, default=0),
})


@api.route("GET", "/api/sessions", roles=STAFF, tag="sessions", query=LISTING,
           summary="Sessions by start time (tutors always get only their own)")
async def list_sessions(call: Call) -> list[dict[str, Any]]:
    q = call.query
    return await session_views.list_sessions(call.ctx, call.actor, day=q["date"], programme_id=q["programme_id"],
                                             tutor_id=q["tutor_id"], mine=q["mine"], limit=q["limit"],
                                             offset=q["offset"])


@api.route("POST", "/api/sessions", roles=MANAGERS, summary="Schedule a session", tag="sessions",
           body=NEW_SESSION, status=201)
async def create_session(call: Call) -> dict[str, Any]:
    return await sessions.create_session(call.ctx, call.actor, call.body, call.now)


@api.route("GET", "/api/sessions/{session_id:int}", roles=STAFF, summary="One session", tag="sessions")
async def get_session(call: Call) -> dict[str, Any]:
    return await session_views.get_session(call.ctx, call.actor, call.params["session_id"])


@api.route("PATCH", "/api/sessions/{session_id:int}", roles=MANAGERS, tag="sessions", body=SESSION_CHANGE,
           summary="Change a session; rescheduling moves its deadlines")
async def change_session(call: Call) -> dict[str, Any]:
    return await sessions.update_session(call.ctx, call.actor, call.params["session_id"], call.body, call.now)


@api.route("POST", "/api/sessions/{session_id:int}/cancel", roles=MANAGERS | {Role.TUTOR}, tag="sessions",
           body=CANCEL, summary="Cancel a session (tutors: their own); its pending deadlines are dropped")
async def cancel_session(call: Call) -> dict[str, Any]:
    return await sessions.cancel_session(call.ctx, call.actor, call.params["session_id"],
                                         call.body["cancelled_by"], call.body["reason"], call.now)


@api.route("GET", "/api/sessions/{session_id:int}/roster", roles=STAFF, tag="sessions",
           summary="Who is expected, with each person's enrolment status in the session's programme")
async def get_roster(call: Call) -> list[dict[str, Any]]:
    return await rosters.get_roster(call.ctx, call.actor, call.params["session_id"])


@api.route("PUT", "/api/sessions/{session_id:int}/roster", roles=MANAGERS, tag="sessions", body=ROSTER,
           summary="Replace the roster; the session's deadlines are re-planned")
async def set_roster(call: Call) -> list[dict[str, Any]]:
    return await rosters.set_roster(call.ctx, call.actor, call.params["session_id"], call.body["person_ids"],
                                    call.now)
