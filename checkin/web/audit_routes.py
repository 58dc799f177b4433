"""The audit log, read-only: a search by person, session, actor, entity, action and time."""

from __future__ import annotations

from typing import Any

from checkin.domain.model import Role
from checkin.services.audit_query import MAX_LIMIT, AuditFilter, search_as
from checkin.web.endpoint import Api, Call
from checkin.web.fields import Int, Obj, Str, When

api = Api()
AUDIT_READERS = frozenset({Role.ADMIN, Role.DSL})

_query = Obj({
    "person_id": Int(required=False, minimum=1),
    "session_id": Int(required=False, minimum=1),
    "actor_user_id": Int(required=False, minimum=1),
    "actor": Str(required=False, max_len=200),
    "entity": Str(required=False, max_len=40),
    "entity_id": Str(required=False, max_len=64),
    "action": Str(required=False, max_len=60),
    "since": When(required=False, description="entries at or after this instant"),
    "until": When(required=False, description="entries before this instant"),
    "limit": Int(required=False, default=100, minimum=1, maximum=MAX_LIMIT),
    "offset": Int(required=False, default=0, minimum=0, maximum=10_000_000),
})


@api.route("GET", "/api/audit", roles=AUDIT_READERS, tag="audit", query=_query,
           summary="Search the append-only audit log (newest first); the search is itself audited")
async def search(call: Call) -> dict[str, Any]:
    q = call.query
    f = AuditFilter(person_id=q["person_id"], session_id=q["session_id"], actor_user_id=q["actor_user_id"],
                    actor=q["actor"], entity=q["entity"], entity_id=q["entity_id"], action=q["action"],
                    since=q["since"], until=q["until"])
    return await search_as(call.ctx, call.actor, f, limit=q["limit"], offset=q["offset"], now=call.now)
