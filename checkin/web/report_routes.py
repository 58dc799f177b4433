"""Participant and programme reports (JSON for the pages), CSV exports and the weekly report trigger."""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response

from checkin.services import exports, reports, weekly_report
from checkin.web.endpoint import MANAGERS, STAFF, Api, Call
from checkin.web.fields import Bool, Day, Int, Obj, Str

api = Api()
RANGE = {"from": Day(required=False, nullable=True, description="first local day included"),
         "to": Day(required=False, nullable=True, description="last local day included")}


def csv_response(text: str, filename: str) -> Response:
    safe_name = re.sub(r"[^A-Za-z0-9._-]+", "-", filename).strip("-") or "export.csv"
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{safe_name}"',
                             "cache-control": "no-store"})


@api.route("GET", "/api/programmes/{programme_id:int}/report", roles=STAFF, tag="reports",
           summary="Everyone's completion status (at-risk list first), weekly percentages and punctuality")
async def programme_report(call: Call) -> dict[str, Any]:
    return await reports.programme_report(call.ctx, call.actor, call.params["programme_id"], call.now)


@api.route("GET", "/api/people/{person_id:int}/report", roles=STAFF, tag="reports",
           summary="A participant's timeline, percentages, status, notices, catch-ups and escalation per programme",
           query=Obj({"programme_id": Int(minimum=1, required=False, nullable=True)}))
async def participant_report(call: Call) -> dict[str, Any]:
    return await reports.participant_report(call.ctx, call.actor, call.params["person_id"], call.now,
                                            call.query["programme_id"])


@api.route("GET", "/api/programmes/{programme_id:int}/exports/marks.csv", roles=STAFF, tag="exports",
           summary="CSV: one row per participant per session, marked or not (columns in README ## Exports)",
           query=Obj({"person_id": Int(minimum=1, required=False, nullable=True), **RANGE}))
async def marks_csv(call: Call) -> Response:
    q, pid = call.query, call.params["programme_id"]
    text = await exports.marks_csv(call.ctx, call.actor, pid, call.now, person_id=q["person_id"], start=q["from"],
                                   end=q["to"])
    return csv_response(text, f"programme-{pid}-marks.csv")


@api.route("GET", "/api/programmes/{programme_id:int}/exports/summary.csv", roles=STAFF, tag="exports",
           summary="CSV: one row per participant with status, counts, percentages and punctuality",
           query=Obj({"at_risk": Bool(required=False, default=False, description="only the at-risk list")}))
async def summary_csv(call: Call) -> Response:
    pid = call.params["programme_id"]
    text = await exports.summary_csv(call.ctx, call.actor, pid, call.now, at_risk_only=call.query["at_risk"])
    return csv_response(text, f"programme-{pid}-{'at-risk' if call.query['at_risk'] else 'summary'}.csv")


@api.route("GET", "/api/programmes/{programme_id:int}/exports/requirements.csv", roles=STAFF, tag="exports",
           summary="CSV: one row per participant per completion requirement, with current, target and best",
           query=Obj({"person_id": Int(minimum=1, required=False, nullable=True)}))
async def requirements_csv(call: Call) -> Response:
    pid = call.params["programme_id"]
    text = await exports.requirements_csv(call.ctx, call.actor, pid, call.now, person_id=call.query["person_id"])
    return csv_response(text, f"programme-{pid}-requirements.csv")


@api.route("GET", "/api/programmes/{programme_id:int}/exports/weekly.csv", roles=STAFF, tag="exports",
           summary="CSV: attendance and punctuality per week (the programme page's chart), or one participant's",
           query=Obj({"person_id": Int(minimum=1, required=False, nullable=True)}))
async def weekly_csv(call: Call) -> Response:
    pid = call.params["programme_id"]
    text = await exports.weekly_csv(call.ctx, call.actor, pid, call.now, person_id=call.query["person_id"])
    return csv_response(text, f"programme-{pid}-weekly.csv")


@api.route("GET", "/api/exports/schools", roles=STAFF, tag="exports",
           summary="The schools of the organisation's AP pupils (one school attendance export each)")
async def schools(call: Call) -> list[dict[str, Any]]:
    return await exports.schools(call.ctx, call.actor)


@api.route("GET", "/api/exports/school-attendance.csv", roles=STAFF, tag="exports",
           summary="CSV for one school: its AP pupils' statutory codes and possible / authorised / unauthorised counts",
           query=Obj({"school": Str(min_len=1, max_len=200), **RANGE}))
async def school_csv(call: Call) -> Response:
    q = call.query
    text = await exports.school_csv(call.ctx, call.actor, q["school"], call.now, start=q["from"], end=q["to"])
    return csv_response(text, f"attendance-{q['school']}.csv")


@api.route("POST", "/api/weekly-reports/send", roles=MANAGERS, tag="reports",
           summary="Send any weekly report not yet sent for the week before the latest Monday 07:00 (idempotent)")
async def send_weekly(call: Call) -> dict[str, Any]:
    return {"sent": await weekly_report.send_weekly_reports(call.ctx, call.now, call.actor.org_id)}
