"""People, their contacts (emergency contacts audited when shown) and their enrolments."""

from __future__ import annotations

from typing import Any

from checkin.domain.model import ContactKind, EnrolmentStatus, Role
from checkin.services import contacts, enrolments, people
from checkin.web.endpoint import MANAGERS, STAFF, Api, Call
from checkin.web.fields import Bool, Choice, Day, Int, Obj, Str

api = Api()
PHONE = r"\+?[0-9 ()-]{6,30}"
# Those who act on contacts: tutors only read them, for people on their own rosters.
CONTACT_EDITORS = frozenset({Role.ADMIN, Role.PROGRAMME_MANAGER, Role.DSL, Role.EVENTS_TEAM})

PERSON = Obj({
    "first_name": Str(min_len=1, max_len=200),
    "last_name": Str(min_len=1, max_len=200),
    "email": Str(max_len=320, email=True, required=False),
    "external_ref": Str(max_len=100, required=False, nullable=True, default=None),
    "ap_pupil": Bool(required=False),
    "on_school_roll": Bool(required=False),
    "school": Str(max_len=200, required=False),
    "employer": Str(max_len=200, required=False),
    "date_of_birth": Day(required=False, nullable=True),
})
SEARCH = Obj({
    "q": Str(max_len=200, required=False),
    "programme_id": Int(minimum=1, required=False),
    "limit": Int(minimum=1, maximum=500, required=False, default=50),
    "offset": Int(minimum=0, required=False, default=0),
})
CONTACT = Obj({
    "kind": Choice(ContactKind),
    "name": Str(min_len=1, max_len=200),
    "relationship": Str(max_len=100, required=False),
    "phone": Str(max_len=40, pattern=PHONE, required=False),
    "email": Str(max_len=320, email=True, required=False),
    "organisation": Str(max_len=200, required=False),
    "preferred_channel": Choice(("email", "phone"), required=False),
    "priority": Int(minimum=0, maximum=100, required=False, description="0 is called first"),
})


def _enrolment_fields() -> dict[str, Any]:
    return {"cohort_id": Int(minimum=1, required=False, nullable=True),
            "status": Choice(EnrolmentStatus, required=False),
            "starts_on": Day(required=False, nullable=True), "ends_on": Day(required=False, nullable=True)}


NEW_ENROLMENT = Obj({"programme_id": Int(minimum=1)} | _enrolment_fields())
ENROLMENT_CHANGE = Obj(_enrolment_fields())


@api.route("GET", "/api/people", roles=STAFF, tag="people", query=SEARCH,
           summary="Search people by name, e-mail or reference (tutors: people on their rosters)")
async def list_people(call: Call) -> list[dict[str, Any]]:
    q = call.query
    return await people.list_people(call.ctx, call.actor, q=q["q"], programme_id=q["programme_id"],
                                    limit=q["limit"], offset=q["offset"])


@api.route("POST", "/api/people", roles=MANAGERS, summary="Add a person", tag="people", body=PERSON, status=201)
async def create_person(call: Call) -> dict[str, Any]:
    return await people.create_person(call.ctx, call.actor, call.body, call.now)


@api.route("GET", "/api/people/{person_id:int}", roles=STAFF, summary="One person", tag="people")
async def get_person(call: Call) -> dict[str, Any]:
    return await people.get_person(call.ctx, call.actor, call.params["person_id"])


@api.route("PATCH", "/api/people/{person_id:int}", roles=MANAGERS, summary="Change a person's details",
           tag="people", body=PERSON)
async def change_person(call: Call) -> dict[str, Any]:
    return await people.update_person(call.ctx, call.actor, call.params["person_id"], call.body, call.now)


@api.route("GET", "/api/people/{person_id:int}/contacts", roles=STAFF, tag="people",
           summary="A person's contacts (tutors: only for people they teach); showing emergency contacts is audited")
async def list_contacts(call: Call) -> list[dict[str, Any]]:
    return await contacts.list_contacts(call.ctx, call.actor, call.params["person_id"], call.now)


@api.route("POST", "/api/people/{person_id:int}/contacts", roles=CONTACT_EDITORS, summary="Add a contact",
           tag="people", body=CONTACT, status=201)
async def create_contact(call: Call) -> dict[str, Any]:
    return await contacts.create_contact(call.ctx, call.actor, call.params["person_id"], call.body, call.now)


@api.route("PATCH", "/api/contacts/{contact_id:int}", roles=CONTACT_EDITORS, summary="Change a contact",
           tag="people", body=CONTACT)
async def change_contact(call: Call) -> dict[str, Any]:
    return await contacts.update_contact(call.ctx, call.actor, call.params["contact_id"], call.body, call.now)


@api.route("DELETE", "/api/contacts/{contact_id:int}", roles=CONTACT_EDITORS, summary="Remove a contact",
           tag="people")
async def delete_contact(call: Call) -> dict[str, Any]:
    return await contacts.delete_contact(call.ctx, call.actor, call.params["contact_id"], call.now)


@api.route("GET", "/api/people/{person_id:int}/enrolments", roles=STAFF, summary="A person's enrolments",
           tag="people")
async def list_enrolments(call: Call) -> list[dict[str, Any]]:
    return await enrolments.list_enrolments(call.ctx, call.actor, call.params["person_id"])


@api.route("POST", "/api/people/{person_id:int}/enrolments", roles=MANAGERS, summary="Enrol a person",
           tag="people", body=NEW_ENROLMENT, status=201)
async def create_enrolment(call: Call) -> dict[str, Any]:
    return await enrolments.create_enrolment(call.ctx, call.actor, call.params["person_id"], call.body, call.now)


@api.route("PATCH", "/api/enrolments/{enrolment_id:int}", roles=MANAGERS, tag="people", body=ENROLMENT_CHANGE,
           summary="Change an enrolment's cohort, status or dates")
async def change_enrolment(call: Call) -> dict[str, Any]:
    return await enrolments.update_enrolment(call.ctx, call.actor, call.params["enrolment_id"], call.body,
                                             call.now)
