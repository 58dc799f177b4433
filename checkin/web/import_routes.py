"""CSV uploads of people, contacts, sessions and rosters (managers only), with a preview that writes nothing."""

from __future__ import annotations

from typing import Any

from checkin.domain.import_columns import ImportKind
from checkin.services.imports import columns, import_kind, run_import
from checkin.web.endpoint import MANAGERS, Api, Call
from checkin.web.fields import Bool, Obj

api = Api()
CSV_TYPES = frozenset({"text/csv", "text/plain", "application/csv", "application/vnd.ms-excel"})


@api.route("GET", "/api/imports", roles=MANAGERS, summary="The import kinds and the columns of each file",
           tag="imports")
async def list_kinds(call: Call) -> list[dict[str, Any]]:
    return [{"kind": kind.value, "columns": columns(kind)} for kind in ImportKind]


@api.route("POST", "/api/imports/{kind}", roles=MANAGERS, tag="imports",
           summary="Import a CSV file (body text/csv): all rows or none; preview=true checks without writing",
           query=Obj({"preview": Bool(required=False, default=False)}), raw_body="text/csv",
           raw_types=CSV_TYPES, max_body_setting="import_max_bytes")
async def upload(call: Call) -> dict[str, Any]:
    kind = import_kind(call.params["kind"])
    outcome = await run_import(call.ctx, call.actor, kind, call.body["data"], preview=call.query["preview"],
                               now=call.now)
    return outcome.to_dict()
