"""Zoom participant reports and CSV mark files in: preview, review doubtful matches, import."""

from __future__ import annotations

from typing import Any

from checkin.domain.errors import DomainError
from checkin.services import mark_import, zoom_import
from checkin.web.endpoint import STAFF, Api, Call, read_limited
from checkin.web.fields import Bool, Int, ListOf, Obj, Str

api = Api()
CSV_TYPES = {"text/csv", "text/plain", "application/csv", "application/vnd.ms-excel"}
MAX_REPORT = 10_485_760  # the confirm call carries the report again, inside JSON


async def csv_upload(call: Call) -> bytes:
    ctype = call.request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in CSV_TYPES:
        raise DomainError("unsupported_media_type", "Send the file as text/csv.", status=415)
    return await read_limited(call.request, call.ctx.settings.import_max_bytes)


@api.route("POST", "/api/sessions/{session_id:int}/zoom-report", roles=STAFF, tag="imports",
           summary="Zoom participant report (body text/csv): preview=true shows matches and marks; false imports "
                   "when no match is doubtful (else 422 review_required)",
           query=Obj({"preview": Bool(required=False, default=False),
                      "day_first": Bool(required=False, default=False, description="dates written DD/MM/YYYY"),
                      "mark_absent": Bool(required=False, default=True,
                                          description="mark roster members missing from the report absent")}))
async def zoom_report(call: Call) -> dict[str, Any]:
    data = await csv_upload(call)
    q, sid = call.query, call.params["session_id"]
    if q["preview"]:
        return await zoom_import.preview_zoom(call.ctx, call.actor, sid, data, day_first=q["day_first"])
    return await zoom_import.import_zoom(call.ctx, call.actor, sid, data, now=call.now, day_first=q["day_first"],
                                         mark_absent=q["mark_absent"])


@api.route("POST", "/api/sessions/{session_id:int}/zoom-report/confirm", roles=STAFF, tag="imports",
           max_body=MAX_REPORT,
           summary="Import a Zoom report with a person chosen (or null: skip) for each doubtful attendee",
           body=Obj({
               "report": Str(min_len=1, max_len=MAX_REPORT, description="the report file's text"),
               "choices": ListOf(Obj({"attendee": Int(minimum=0), "person_id": Int(minimum=1, nullable=True)}),
                                 max_items=5000, required=False, default=[]),
               "day_first": Bool(required=False, default=False),
               "mark_absent": Bool(required=False, default=True),
           }))
async def zoom_confirm(call: Call) -> dict[str, Any]:
    b = call.body
    choices = {c["attendee"]: c["person_id"] for c in b["choices"]}
    return await zoom_import.import_zoom(call.ctx, call.actor, call.params["session_id"], b["report"].encode(),
                                         now=call.now, choices=choices, day_first=b["day_first"],
                                         mark_absent=b["mark_absent"])


@api.route("POST", "/api/mark-imports", roles=STAFF, tag="imports",
           summary="CSV of marks by code or by time (body text/csv), all rows or none; preview=true writes nothing",
           query=Obj({"preview": Bool(required=False, default=False),
                      "session_id": Int(minimum=1, required=False, nullable=True,
                                        description="the session, when the file has no session column")}))
async def mark_file(call: Call) -> dict[str, Any]:
    data = await csv_upload(call)
    return await mark_import.import_marks(call.ctx, call.actor, data, preview=call.query["preview"], now=call.now,
                                          session_id=call.query["session_id"])
