"""Programmes (with their attendance policy and completion requirements) and their cohorts."""

from __future__ import annotations

from typing import Any

from checkin.services import cohorts, programmes
from checkin.services.programme_policy import FOLLOW_UP_STYLES
from checkin.web.endpoint import MANAGERS, STAFF, Api, Call
from checkin.web.fields import AnyJson, Bool, Choice, Day, Int, ListOf, Obj, Str

api = Api()

PROGRAMME = Obj({
    "name": Str(min_len=1, max_len=200),
    "preset": Str(max_len=40, required=False, default=None,
                  description="a preset id from GET /api/presets; fills whatever of policy, requirements and "
                              "code_set is not sent"),
    "code_set": Str(max_len=32, required=False, default=None),
    "policy": AnyJson(required=False),
    "requirements": AnyJson(kind="array", required=False),
    "reasons": ListOf(Obj({"reason": Str(min_len=1, max_len=200), "accepted": Bool()}), max_items=50,
                      required=False),
    "follow_up_style": Choice(FOLLOW_UP_STYLES, required=False),
    "point_of_contact_email": Str(max_len=320, email=True, required=False),
    "weekly_report_to": ListOf(Str(min_len=1, max_len=320, email=True), max_items=50, required=False),
    "qr_rotation_seconds": Int(minimum=5, maximum=300, required=False),
    "grace_minutes": Int(minimum=0, maximum=240, required=False),
})
COHORT = Obj({"name": Str(min_len=1, max_len=200), "starts_on": Day(required=False, nullable=True),
              "ends_on": Day(required=False, nullable=True)})


@api.route("GET", "/api/programmes", roles=STAFF, summary="The organisation's programmes", tag="programmes")
async def list_programmes(call: Call) -> list[dict[str, Any]]:
    return await programmes.list_programmes(call.ctx, call.actor)


@api.route("POST", "/api/programmes", roles=MANAGERS, summary="Create a programme, from a preset or a policy",
           tag="programmes", body=PROGRAMME, status=201)
async def create_programme(call: Call) -> dict[str, Any]:
    return await programmes.create_programme(call.ctx, call.actor, call.body, call.now)


@api.route("GET", "/api/programmes/{programme_id:int}", roles=STAFF, summary="One programme", tag="programmes")
async def get_programme(call: Call) -> dict[str, Any]:
    return await programmes.get_programme(call.ctx, call.actor, call.params["programme_id"])


@api.route("PATCH", "/api/programmes/{programme_id:int}", roles=MANAGERS, tag="programmes", body=PROGRAMME,
           summary="Change a programme; a new policy re-plans its sessions' deadlines")
async def change_programme(call: Call) -> dict[str, Any]:
    return await programmes.update_programme(call.ctx, call.actor, call.params["programme_id"], call.body,
                                             call.now)


@api.route("GET", "/api/programmes/{programme_id:int}/cohorts", roles=STAFF, summary="A programme's cohorts",
           tag="programmes")
async def list_cohorts(call: Call) -> list[dict[str, Any]]:
    return await cohorts.list_cohorts(call.ctx, call.actor, call.params["programme_id"])


@api.route("POST", "/api/programmes/{programme_id:int}/cohorts", roles=MANAGERS, summary="Add a cohort",
           tag="programmes", body=COHORT, status=201)
async def create_cohort(call: Call) -> dict[str, Any]:
    return await cohorts.create_cohort(call.ctx, call.actor, call.params["programme_id"], call.body, call.now)
