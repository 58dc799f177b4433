"""The organisation's settings, programme presets and staff accounts."""

from __future__ import annotations

from typing import Any

from checkin.domain.model import Role
from checkin.services import org_settings, staff
from checkin.services.orgs import get_org
from checkin.services.programme_presets import PROGRAMME_PRESETS
from checkin.web.endpoint import MANAGERS, STAFF, Api, Call
from checkin.web.fields import Bool, Choice, Day, Int, ListOf, Obj, Str

api = Api()
ADMIN = frozenset({Role.ADMIN})
PHONE = r"\+?[0-9 ()-]{6,30}"

ORG = Obj({
    "name": Str(min_len=1, max_len=200),
    "timezone": Str(min_len=1, max_len=64),
    "la_ap_address": Str(max_len=320, email=True),
    "ap_office_email": Str(max_len=320, email=True),
    "safeguarding_chain": ListOf(Int(minimum=1), max_items=20, description="staff user ids, the DSL first"),
    "bank_holidays": ListOf(Day(), max_items=400),
})


def _staff_fields(create: bool) -> dict[str, Any]:
    return {
        "email": Str(min_len=1, max_len=320, email=True),
        "name": Str(min_len=1, max_len=200),
        "role": Choice(Role),
        "password": Str(max_len=256, required=False, default=None, nullable=create,
                        description="at least 10 characters; without one the account cannot sign in"),
        "manager_id": Int(minimum=1, required=False, nullable=True),
        "phone": Str(max_len=40, pattern=PHONE, required=False),
    }


STAFF_NEW = Obj(_staff_fields(True))
STAFF_CHANGE = Obj(_staff_fields(False) | {"active": Bool(required=False)})


@api.route("GET", "/api/org", roles=STAFF, summary="The organisation's settings", tag="admin")
async def org(call: Call) -> dict[str, Any]:
    return await get_org(call.ctx.db, call.actor.org_id)


@api.route("PATCH", "/api/org", roles=ADMIN, summary="Change the organisation's settings", tag="admin", body=ORG)
async def change_org(call: Call) -> dict[str, Any]:
    return await org_settings.update_org(call.ctx, call.actor, call.body, call.now)


@api.route("GET", "/api/presets", roles=STAFF, summary="Programme presets: policy, requirements and code set",
           tag="admin")
async def presets(call: Call) -> list[dict[str, Any]]:
    return [p.to_json() for p in PROGRAMME_PRESETS.values()]


@api.route("GET", "/api/staff", roles=MANAGERS, summary="Staff accounts (filter by role and active)", tag="admin",
           query=Obj({"role": Choice(Role, required=False), "active": Bool(required=False)}))
async def list_staff(call: Call) -> list[dict[str, Any]]:
    return await staff.list_staff(call.ctx, call.actor, call.query["role"], call.query["active"])


@api.route("POST", "/api/staff", roles=ADMIN, summary="Create a staff account", tag="admin", body=STAFF_NEW,
           status=201)
async def create_staff(call: Call) -> dict[str, Any]:
    return await staff.create_staff(call.ctx, call.actor, call.body, call.now)


@api.route("PATCH", "/api/staff/{user_id:int}", roles=ADMIN, tag="admin", body=STAFF_CHANGE,
           summary="Change a staff account (a new password or deactivation signs them out everywhere)")
async def change_staff(call: Call) -> dict[str, Any]:
    return await staff.update_staff(call.ctx, call.actor, call.params["user_id"], call.body, call.now)
