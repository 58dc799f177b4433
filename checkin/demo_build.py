"""Writing the demo's day: staff, programmes from presets, people with contacts, sessions set around now.

Sessions are placed relative to the moment the demo is loaded (some under way, some to
come) so the register's countdowns and the live windows have something to show; they are
kept inside today's date in the organisation's zone whatever the hour.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from checkin.context import AppContext
from checkin.demo_data import (
    AP_OFFICE_EMAIL,
    EMPLOYERS,
    FIRST_PARTNERS,
    LA_AP_ADDRESS,
    ORG_NAME,
    PASSWORD,
    PROGRAMMES,
    SCHOOLS,
    STAFF,
    Phones,
    email,
    names,
)
from checkin.domain.model import MarkSource, MarkStatus, Role
from checkin.domain.principal import Principal, system
from checkin.services.accounts import hash_password
from checkin.services.deadlines import replan_session
from checkin.services.marking import record_mark
from checkin.services.programme_policy import DEFAULT_REASONS
from checkin.services.programme_presets import find_preset
from checkin.storage.audit import record
from checkin.storage.database import Tx
from checkin.storage.tables import (
    contacts,
    enrolments,
    organisations,
    people,
    programmes,
    roster,
    session_tutors,
    sessions,
    users,
)

AP_DAY = ((-100, "Maths 1:1", "Riverside Library, study room 2", "face_to_face"),
          (-40, "English 1:1", "Riverside Library, study room 2", "face_to_face"),
          (-10, "Science 1:1", "Riverside Library, study room 3", "face_to_face"),
          (30, "Maths 1:1", "Video call", "remote"),
          (120, "English 1:1", "Riverside Library, study room 2", "face_to_face"))


class DemoBuilder:
    def __init__(self, tx: Tx, ctx: AppContext, org_id: int, now: datetime) -> None:
        self.tx, self.conn, self.ctx = tx, tx.conn, ctx
        self.org_id, self.now, self.tz = org_id, now.astimezone(UTC), ctx.settings.zone
        self.phones = Phones(100)
        self.staff: dict[str, int] = {}
        self.programmes: dict[str, int] = {}
        self.admin = system(org_id, "demo loader")

    async def build(self) -> None:
        await self._staff()
        await self._organisation()
        await self._programmes()
        await self._ap_day()
        await self._workshop()
        await self._residential()
        await self._coaching()
        await record(self.conn, self.now, self.admin, "load_demo", "organisation", self.org_id)

    # Staff, organisation and programmes.

    async def _staff(self) -> None:
        staff_phones, pw_hash = Phones(1), hash_password(PASSWORD)
        for s in STAFF:
            manager = self.staff.get("dsl" if s.key == "deputy" else "manager") if s.role != Role.ADMIN else None
            self.staff[s.key] = await self._insert(users, org_id=self.org_id, email=s.email, name=s.name,
                                                   role=s.role.value, phone=staff_phones.take(),
                                                   password_hash=pw_hash, manager_id=manager, created_at=self.now)

    async def _organisation(self) -> None:
        await self.conn.execute(sa.update(organisations).where(organisations.c.id == self.org_id).values(
            name=ORG_NAME, timezone=self.ctx.settings.timezone, la_ap_address=LA_AP_ADDRESS,
            ap_office_email=AP_OFFICE_EMAIL, safeguarding_chain=[self.staff["dsl"], self.staff["deputy"]]))

    async def _programmes(self) -> None:
        for p in PROGRAMMES:
            preset = find_preset(p.preset)
            self.programmes[p.key] = await self._insert(
                programmes, org_id=self.org_id, name=p.name, preset=preset.id, code_set=preset.code_set,
                policy=preset.policy_dict(), requirements=preset.requirements_list(), reasons=list(DEFAULT_REASONS),
                point_of_contact_email=AP_OFFICE_EMAIL if p.key == "ap" else "programmes@example.org",
                weekly_report_to=[], created_at=self.now, updated_at=self.now)

    # The day's sessions.

    async def _ap_day(self) -> None:
        """An AP tutor's 1:1s: pupils on and off a school roll, each with attendance and emergency contacts."""
        for i, ((first, last), (offset, title, place, mode)) in enumerate(zip(names(0, 5), AP_DAY, strict=True)):
            on_roll = i % 2 == 0
            school = SCHOOLS[i % len(SCHOOLS)] if on_roll else ""
            pupil = await self._person("ap", first, last, f"AP-{1001 + i}", ap_pupil=True, on_school_roll=on_roll,
                                       school=school, date_of_birth=date(2010 + i % 3, 1 + i * 2, 5 + i))
            if on_roll:
                domain = school.split()[0].lower()
                await self._contact(pupil, "attendance", f"Attendance officer, {school}",
                                    email=f"attendance@{domain}.example.org", organisation=school)
            else:
                await self._contact(pupil, "attendance", "Children missing education team",
                                    email="cme-team@example.org", organisation="Riverside Council (fictional)")
            await self._contact(pupil, "emergency", f"{['Leah', 'Marcus', 'Priti', 'Dean', 'Sian'][i]} {last}",
                                relationship="parent", phone=self.phones.take(), preferred_channel="phone")
            await self._contact(pupil, "emergency", f"{['Rosa', 'Tom', 'Anil', 'Beth', 'Gwen'][i]} {last}",
                                relationship="grandparent", phone=self.phones.take(), preferred_channel="phone",
                                priority=1)
            start = self._today(offset, 60)
            session_id = await self._session("ap", f"DEMO-AP-{i + 1}", title, "ap_tuition", mode, start,
                                             start + timedelta(minutes=60), place, ["tutor"], [pupil])
            if i == 0:
                await self._mark(session_id, pupil, MarkStatus.PRESENT, start + timedelta(minutes=2), "tutor")
            elif i == 1:
                await self._mark(session_id, pupil, MarkStatus.LATE, start + timedelta(minutes=12), "tutor")

    async def _workshop(self) -> None:
        """A face-to-face apprenticeship workshop under way, for learners whose employers are told of absence."""
        learners = []
        for i, (first, last) in enumerate(names(5, 8)):
            employer = EMPLOYERS[i % len(EMPLOYERS)]
            domain = employer.split()[0].lower()
            learner = await self._person("apprenticeship", first, last, f"APP-{2001 + i}", employer=employer,
                                         email=email(first, last))
            await self._contact(learner, "employer", f"Training coordinator, {employer}",
                                email=f"training@{domain}.example.com", organisation=employer)
            await self._contact(learner, "line_manager", f"{['Alys', 'Brendan', 'Chloe', 'Dev'][i % 4]} Marlow",
                                email=f"line.manager@{domain}.example.com", phone=self.phones.take(),
                                organisation=employer)
            learners.append(learner)
        start = self._today(-20, 150)
        session_id = await self._session("apprenticeship", "DEMO-APP-1", "Data essentials workshop", "workshop",
                                         "face_to_face", start, start + timedelta(minutes=150),
                                         "Riverside Centre, room 4", ["tutor2"], learners, element="workshops")
        await self.conn.execute(sa.update(session_tutors).where(session_tutors.c.session_id == session_id)
                                .values(checked_in_at=min(start - timedelta(minutes=12), self.now)))
        for n, learner in enumerate(learners[:6]):
            await self._mark(session_id, learner, MarkStatus.PRESENT, start + timedelta(minutes=n % 3), "tutor2")
        await self._mark(session_id, learners[6], MarkStatus.LATE, start + timedelta(minutes=8), "tutor2")

    async def _residential(self) -> None:
        """Two days, today and tomorrow, for 40 participants checking in by QR code."""
        group = []
        for i, (first, last) in enumerate(names(13, 40)):
            person = await self._person("residential", first, last, f"RES-{3001 + i}",
                                        email=email(first, last, "example.com"), school=SCHOOLS[i % len(SCHOOLS)])
            await self._contact(person, "emergency", f"{FIRST_PARTNERS[i % len(FIRST_PARTNERS)]} {last}",
                                relationship="partner", phone=self.phones.take(), preferred_channel="phone")
            group.append(person)
        start = self._today(-15, 360)
        day_one = await self._session("residential", "DEMO-RES-1", "Leadership residential: day 1", "residential",
                                      "face_to_face", start, start + timedelta(minutes=360),
                                      "Larchwood Conference Centre", ["tutor2"], group, element="residentials")
        tomorrow = self.now.astimezone(self.tz).date() + timedelta(days=1)
        await self._session("residential", "DEMO-RES-2", "Leadership residential: day 2", "residential",
                            "face_to_face", self._local(tomorrow, time(9)), self._local(tomorrow, time(16)),
                            "Larchwood Conference Centre", ["tutor2"], group, element="residentials")
        for n, person in enumerate(group[:28]):
            await self._mark(day_one, person, MarkStatus.PRESENT, start + timedelta(minutes=n % 15 - 10), None)

    async def _coaching(self) -> None:
        """A weekly coaching series: four weeks done (one missed through illness) and four to come."""
        (first, last), = names(53, 1)
        person = await self._person("coaching", first, last, "COA-4001", email=email(first, last, "example.com"),
                                    employer="Hollowmere Academy")
        await self._contact(person, "line_manager", "Imogen Stratton", email="head@hollowmere.example.org",
                            organisation="Hollowmere Academy")
        today = self.now.astimezone(self.tz).date()
        for number, week in enumerate((-4, -3, -2, -1, 1, 2, 3, 4), start=1):
            start = self._local(today + timedelta(weeks=week), time(16))
            session_id = await self._session("coaching", f"DEMO-COA-{number}", f"Coaching session {number}",
                                             "coaching", "remote", start, start + timedelta(minutes=45),
                                             "Video call", ["tutor2"], [person], element="coaching")
            if week == -2:
                await self._mark(session_id, person, MarkStatus.ABSENT_AUTHORISED, start, "tutor2", "Illness")
            elif week < 0:
                await self._mark(session_id, person, MarkStatus.PRESENT, start, "tutor2")

    # Rows.

    async def _insert(self, table: sa.Table, **values: Any) -> int:
        return int((await self.conn.execute(sa.insert(table).values(**values).returning(table.c.id))).scalar_one())

    async def _person(self, programme: str, first: str, last: str, ref: str, **values: Any) -> int:
        person_id = await self._insert(people, org_id=self.org_id, first_name=first, last_name=last,
                                       external_ref=ref, created_at=self.now, **values)
        await self._insert(enrolments, person_id=person_id, programme_id=self.programmes[programme],
                           status="active", updated_at=self.now)
        return person_id

    async def _contact(self, person_id: int, kind: str, name: str, *, preferred_channel: str = "email",
                       **values: Any) -> None:
        await self._insert(contacts, person_id=person_id, kind=kind, name=name, preferred_channel=preferred_channel,
                           created_at=self.now, **values)

    async def _session(self, programme: str, ref: str, title: str, kind: str, mode: str, starts_at: datetime,
                       ends_at: datetime, location: str, tutors: list[str], person_ids: list[int],
                       element: str = "") -> int:
        session_id = await self._insert(
            sessions, org_id=self.org_id, programme_id=self.programmes[programme], external_ref=ref, title=title,
            kind=kind, element=element, mode=mode, starts_at=starts_at, ends_at=ends_at,
            timezone=self.ctx.settings.timezone, location=location, created_at=self.now, updated_at=self.now)
        for key in tutors:
            await self.conn.execute(sa.insert(session_tutors).values(session_id=session_id, user_id=self.staff[key]))
        for person_id in person_ids:
            await self.conn.execute(sa.insert(roster).values(session_id=session_id, person_id=person_id,
                                                             added_at=self.now))
        await replan_session(self.tx, self.ctx, session_id, self.now)
        return session_id

    async def _mark(self, session_id: int, person_id: int, status: MarkStatus, at: datetime, tutor: str | None,
                    reason: str = "") -> None:
        """A mark as the tutor's tablet (or, without a tutor, a QR check-in) made it at `at`."""
        names = {s.key: s.name for s in STAFF}
        actor = None if tutor is None else Principal(self.staff[tutor], self.org_id, Role.TUTOR, names[tutor], "cookie")
        at = min(at, self.now)
        arrived = at if status in (MarkStatus.PRESENT, MarkStatus.LATE) else None
        await record_mark(self.tx, self.ctx, session_id=session_id, person_id=person_id, status=status, code=None,
                          source=MarkSource.TABLET if actor else MarkSource.QR, actor=actor, now=self.now,
                          device="demo", client_time=at, arrived_at=arrived, reason=reason)

    # Times.

    def _local(self, day: date, at: time) -> datetime:
        return datetime.combine(day, at, tzinfo=self.tz).astimezone(UTC)

    def _today(self, offset_minutes: int, minutes: int) -> datetime:
        """Now plus the offset on a five-minute boundary, kept inside today so the session ends by midnight."""
        base = self.now.replace(second=0, microsecond=0)
        start = base - timedelta(minutes=base.minute % 5) + timedelta(minutes=offset_minutes)
        today = self.now.astimezone(self.tz).date()
        first, last = self._local(today, time(0, 5)), self._local(today + timedelta(days=1), time(0))
        return max(first, min(start, last - timedelta(minutes=minutes + 5)))

