"""The events team's board (today's sessions and the call list) and tasks."""

from __future__ import annotations

from typing import Any

from checkin.domain.model import Role
from checkin.services import tasks
from checkin.web.endpoint import STAFF, Api, Call
from checkin.web.fields import Choice, Day, Int, Obj, Str

api = Api()
EVENTS = frozenset({Role.EVENTS_TEAM, Role.ADMIN})


@api.route("GET", "/api/events/board", roles=EVENTS, tag="events",
           summary="Every session of the day with expected, arrived, late and missing, and the call list",
           query=Obj({"date": Day(required=False)}))
async def board(call: Call) -> dict[str, Any]:
    return await tasks.events_board(call.ctx, call.actor, call.query["date"], call.now)


@api.route("GET", "/api/tasks", roles=STAFF, tag="events",
           summary="Tasks, due soonest first (kind=events_call: the call list; tutors: their sessions only)",
           query=Obj({"kind": Str(max_len=40, required=False), "state": Choice(("open", "done", "all"),
                                                                              required=False, default="open"),
                      "session_id": Int(minimum=1, required=False), "date": Day(required=False)}))
async def list_tasks(call: Call) -> list[dict[str, Any]]:
    q = call.query
    return await tasks.list_tasks(call.ctx, call.actor, kind=q["kind"] or None,
                                  state=None if q["state"] == "all" else q["state"], session_id=q["session_id"],
                                  day=q["date"])


@api.route("POST", "/api/tasks/{task_id:int}/complete", roles=STAFF, tag="events",
           summary="Mark a task done", body=Obj({"note": Str(max_len=1000, required=False)}))
async def complete(call: Call) -> dict[str, Any]:
    return await tasks.complete_task(call.ctx, call.actor, call.params["task_id"], call.now, call.body["note"])
