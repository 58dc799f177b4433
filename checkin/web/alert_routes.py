"""Alerts for the DSL and admins (feed, detail, acknowledge, decide, close), concerns, the outbox and webhooks."""

from __future__ import annotations

from typing import Any

from checkin.domain.model import AlertSeverity, Role
from checkin.services import outbox, safeguarding
from checkin.web.endpoint import STAFF, Api, Call
from checkin.web.fields import Bool, Choice, Int, ListOf, Obj, Str

api = Api()
SAFEGUARDING = frozenset({Role.DSL, Role.ADMIN})
ADMIN = frozenset({Role.ADMIN})
DELIVERY_STATES = ("pending", "sent", "failed", "disabled", "undeliverable")


@api.route("GET", "/api/alerts", roles=SAFEGUARDING, tag="alerts",
           summary="Alerts, most urgent first (state: active = open or acknowledged)",
           query=Obj({"state": Choice(safeguarding.STATES, required=False, default="active"),
                      "severity": Choice(AlertSeverity, required=False),
                      "limit": Int(minimum=1, maximum=500, required=False, default=200)}))
async def list_alerts(call: Call) -> list[dict[str, Any]]:
    q = call.query
    severity = q["severity"].value if q["severity"] else None
    return await safeguarding.list_alerts(call.ctx, call.actor, state=q["state"], severity=severity,
                                          limit=q["limit"])


@api.route("GET", "/api/alerts/{alert_id:int}", roles=SAFEGUARDING, tag="alerts",
           summary="One alert with its facts, whole timeline and deliveries (the viewing is audited)")
async def get_alert(call: Call) -> dict[str, Any]:
    return await safeguarding.alert_detail(call.ctx, call.actor, call.params["alert_id"], call.now)


@api.route("POST", "/api/alerts/{alert_id:int}/acknowledge", roles=SAFEGUARDING, tag="alerts",
           summary="Acknowledge an alert: stops its DSL-ACK escalation",
           body=Obj({"note": Str(max_len=1000, required=False)}))
async def acknowledge(call: Call) -> dict[str, Any]:
    return await safeguarding.acknowledge(call.ctx, call.actor, call.params["alert_id"], call.now,
                                          call.body["note"])


@api.route("POST", "/api/alerts/{alert_id:int}/decisions", roles=SAFEGUARDING, tag="alerts", status=201,
           summary="Record a decision or action on the alert's timeline (acknowledges an open alert)",
           body=Obj({"decision": Str(min_len=1, max_len=2000)}))
async def decide(call: Call) -> dict[str, Any]:
    return await safeguarding.record_decision(call.ctx, call.actor, call.params["alert_id"],
                                              call.body["decision"], call.now)


@api.route("POST", "/api/alerts/{alert_id:int}/close", roles=SAFEGUARDING, tag="alerts",
           summary="Close the alert with its outcome", body=Obj({"outcome": Str(min_len=1, max_len=1000)}))
async def close(call: Call) -> dict[str, Any]:
    return await safeguarding.close_alert(call.ctx, call.actor, call.params["alert_id"], call.body["outcome"],
                                          call.now)


@api.route("POST", "/api/sessions/{session_id:int}/concerns", roles=STAFF, tag="alerts", status=201,
           summary="Raise a safeguarding or wellbeing concern about someone in the session (to the DSL chain)",
           body=Obj({"person_id": Int(minimum=1), "kind": Choice(("safeguarding", "wellbeing")),
                     "note": Str(min_len=1, max_len=2000)}))
async def concern(call: Call) -> dict[str, Any]:
    b = call.body
    return await safeguarding.raise_concern(call.ctx, call.actor, session_id=call.params["session_id"],
                                            person_id=b["person_id"], kind=b["kind"], note=b["note"], now=call.now)


@api.route("GET", "/api/deliveries", roles=SAFEGUARDING, tag="alerts",
           summary="The outbox: every e-mail and webhook with its state, attempts and last error",
           query=Obj({"state": Choice(DELIVERY_STATES, required=False), "channel": Choice(("email", "webhook"),
                                                                                         required=False),
                      "limit": Int(minimum=1, maximum=500, required=False, default=200)}))
async def list_deliveries(call: Call) -> list[dict[str, Any]]:
    q = call.query
    return await outbox.list_deliveries(call.ctx, call.actor, state=q["state"], channel=q["channel"],
                                        limit=q["limit"])


@api.route("POST", "/api/deliveries/{delivery_id}/retry", roles=ADMIN, tag="alerts",
           summary="Queue a failed, undeliverable or disabled delivery again")
async def retry(call: Call) -> dict[str, Any]:
    return await outbox.retry_delivery(call.ctx, call.actor, str(call.params["delivery_id"])[:64], call.now)


_URL = r"https?://\S+"


@api.route("GET", "/api/webhooks", roles=ADMIN, tag="alerts", summary="The organisation's webhook endpoints")
async def list_webhooks(call: Call) -> list[dict[str, Any]]:
    return await outbox.list_endpoints(call.ctx, call.actor)


@api.route("POST", "/api/webhooks", roles=ADMIN, tag="alerts", status=201,
           summary="Add a webhook endpoint (kinds: alert kinds or rule ids it hears; empty = all); "
                   "the signing secret is returned once",
           body=Obj({"url": Str(min_len=8, max_len=500, pattern=_URL),
                     "kinds": ListOf(Str(min_len=1, max_len=40), max_items=50, required=False, default=[]),
                     "secret": Str(max_len=100, required=False)}))
async def create_webhook(call: Call) -> dict[str, Any]:
    b = call.body
    return await outbox.create_endpoint(call.ctx, call.actor, b["url"], b["kinds"], b["secret"], call.now)


@api.route("PATCH", "/api/webhooks/{webhook_id:int}", roles=ADMIN, tag="alerts",
           summary="Turn a webhook endpoint on or off, or change the kinds it hears",
           body=Obj({"active": Bool(required=False),
                     "kinds": ListOf(Str(min_len=1, max_len=40), max_items=50, required=False)}))
async def update_webhook(call: Call) -> dict[str, Any]:
    return await outbox.update_endpoint(call.ctx, call.actor, call.params["webhook_id"], call.body, call.now)
