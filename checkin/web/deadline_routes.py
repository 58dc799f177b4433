"""The watcher made visible: upcoming and recently fired deadlines, with what each did."""

from __future__ import annotations

from typing import Any

from checkin.services.deadline_views import STATES, list_deadlines
from checkin.web.endpoint import MANAGERS, Api, Call
from checkin.web.fields import Choice, Int, Obj

api = Api()


@api.route("GET", "/api/deadlines", roles=MANAGERS, tag="deadlines",
           summary="Upcoming (soonest first) or fired (latest first) deadlines, optionally of one session",
           query=Obj({"session_id": Int(required=False, minimum=1),
                      "state": Choice(choices=STATES, required=False, default="upcoming"),
                      "limit": Int(required=False, minimum=1, maximum=500, default=100)}))
async def deadlines(call: Call) -> list[dict[str, Any]]:
    q = call.query
    return await list_deadlines(call.ctx.db, call.actor, session_id=q["session_id"], state=q["state"],
                                limit=q["limit"])
