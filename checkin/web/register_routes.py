"""The tablet register's endpoints: the day's sessions, the snapshot, marks, completion, tutor check-in, socket."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from checkin.domain.model import MarkStatus
from checkin.services import register
from checkin.services.marking import MarkResult
from checkin.web.endpoint import STAFF, Api, Call
from checkin.web.fields import Bool, Choice, Day, Int, Obj, Str, When
from checkin.web.register_socket import register_socket

api = Api()
TAG = "register"

MARK = Obj({
    "person_id": Int(minimum=1),
    "status": Choice(choices=MarkStatus),
    "code": Str(max_len=8, required=False, nullable=True, default=None,
                description="a code from the programme's code set; omitted = the default for the status"),
    "reason": Str(max_len=500, required=False,
                  description="absence reason, or why a mark is changed after the register is complete"),
    "note": Str(max_len=1000, required=False),
    "arrived_at": When(required=False, nullable=True),
    "departed_at": When(required=False, nullable=True),
    "client_time": When(description="when the mark was made on the device (offline marks keep it)"),
    "nonce": Str(min_len=8, max_len=100, pattern=r"[A-Za-z0-9._:-]+",
                 description="unique per mark; resending the same nonce records nothing new"),
    "device": Str(max_len=100, required=False),
})


def _result(result: MarkResult) -> dict[str, Any]:
    return {"history_id": result.history_id, "duplicate": result.duplicate, "changed": result.changed,
            "late_entry": result.late_entry, "seq": result.seq, "current": result.current}


@api.route("GET", "/api/register/sessions", roles=STAFF, tag=TAG,
           summary="Sessions on a day (default today, organisation time), soonest first; tutors see their own",
           query=Obj({"date": Day(required=False), "mine": Bool(required=False, default=False)}))
async def day_sessions(call: Call) -> list[dict[str, Any]]:
    return await register.day_sessions(call.ctx, call.actor, call.query["date"], bool(call.query["mine"]))


@api.route("GET", "/api/sessions/{session_id:int}/register", roles=STAFF, tag=TAG,
           summary="The register snapshot: session, roster with current marks and notices, windows, seq")
async def get_register(call: Call) -> dict[str, Any]:
    return await register.snapshot(call.ctx, call.actor, call.params["session_id"])


@api.route("POST", "/api/sessions/{session_id:int}/marks", roles=STAFF, tag=TAG, body=MARK, status=201,
           summary="Record a mark (201); the same nonce again records nothing and answers 200 with the first result")
async def post_mark(call: Call) -> Any:
    result = await register.submit_mark(call.ctx, call.actor, call.params["session_id"], call.body)
    if result.duplicate:
        return JSONResponse(_result(result), status_code=200)
    return _result(result)


@api.route("POST", "/api/sessions/{session_id:int}/complete", roles=STAFF, tag=TAG, body=Obj({}),
           summary="Complete the register (409 register_incomplete lists who is still unmarked)")
async def complete(call: Call) -> dict[str, Any]:
    return await register.complete_register(call.ctx, call.actor, call.params["session_id"])


@api.route("POST", "/api/sessions/{session_id:int}/tutor-checkin", roles=STAFF, tag=TAG, body=Obj({}),
           summary="Record the signed-in tutor's arrival at the session (TUTOR-EARLY)")
async def tutor_checkin(call: Call) -> dict[str, Any]:
    return await register.tutor_checkin(call.ctx, call.actor, call.params["session_id"])


api.websocket("/ws/sessions/{session_id:int}", roles=STAFF,
              summary="Live register: snapshot or missed deltas, then numbered deltas")(register_socket)
