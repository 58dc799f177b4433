"""Follow-ups (who was contacted, how, the outcome) and session and incident reports."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from checkin.domain.model import FollowUpOutcome
from checkin.services import followups
from checkin.web.endpoint import STAFF, Api, Call
from checkin.web.fields import Choice, Int, Obj, Str

api = Api()


@api.route("POST", "/api/follow-ups", roles=STAFF, tag="follow-ups", status=201,
           summary="Log a follow-up; the same nonce again returns the first (200, duplicate true)",
           body=Obj({"person_id": Int(minimum=1, required=False), "session_id": Int(minimum=1, required=False),
                     "alert_id": Int(minimum=1, required=False), "task_id": Int(minimum=1, required=False),
                     "contact_name": Str(max_len=200, required=False), "method": Choice(
                         followups.METHODS, required=False, default="phone"),
                     "outcome": Choice(FollowUpOutcome), "note": Str(max_len=2000, required=False),
                     "nonce": Str(max_len=100, required=False, pattern=r"[A-Za-z0-9._:-]+")}))
async def log(call: Call) -> JSONResponse:
    b = call.body
    row = await followups.log_follow_up(
        call.ctx, call.actor, person_id=b["person_id"], outcome=b["outcome"].value, method=b["method"], now=call.now,
        contact_name=b["contact_name"], note=b["note"], nonce=b["nonce"] or None, session_id=b["session_id"],
        alert_id=b["alert_id"], task_id=b["task_id"])
    return JSONResponse(row, status_code=200 if row["duplicate"] else 201)


@api.route("GET", "/api/follow-ups", roles=STAFF, tag="follow-ups",
           summary="Follow-ups, newest first (tutors: by one of their sessions or people)",
           query=Obj({"person_id": Int(minimum=1, required=False), "session_id": Int(minimum=1, required=False),
                      "alert_id": Int(minimum=1, required=False)}))
async def list_all(call: Call) -> list[dict[str, Any]]:
    q = call.query
    return await followups.list_follow_ups(call.ctx, call.actor, person_id=q["person_id"],
                                           session_id=q["session_id"], alert_id=q["alert_id"])


@api.route("POST", "/api/sessions/{session_id:int}/reports", roles=STAFF, tag="follow-ups", status=201,
           summary="Write a session report (details of action taken) or an incident report (to the DSL chain)",
           body=Obj({"kind": Choice(("session", "incident")), "text": Str(min_len=1, max_len=5000),
                     "person_id": Int(minimum=1, required=False)}))
async def write_report(call: Call) -> dict[str, Any]:
    b = call.body
    return await followups.write_report(call.ctx, call.actor, session_id=call.params["session_id"], kind=b["kind"],
                                        text=b["text"], now=call.now, person_id=b["person_id"])


@api.route("GET", "/api/sessions/{session_id:int}/reports", roles=STAFF, tag="follow-ups",
           summary="The session's session and incident reports, oldest first")
async def list_reports(call: Call) -> list[dict[str, Any]]:
    return await followups.list_reports(call.ctx, call.actor, call.params["session_id"])
