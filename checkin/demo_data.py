"""The demo's invented organisation: every name, school, employer, address and number here is fictional.

Phone numbers come from Ofcom's drama range (07700 900000 to 900999) and e-mail addresses
from the reserved example.org and example.com domains, so nothing here can reach anyone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from checkin.domain.model import Role

ORG_NAME = "Riverside Learning Partnership (demo)"
LA_AP_ADDRESS = "la-ap-admissions@example.org"
AP_OFFICE_EMAIL = "ap-office@example.org"
PASSWORD = "demo-password-2026"  # printed by `run.py --demo`; a demo database is never a real one


@dataclass(frozen=True)
class DemoStaff:
    key: str
    email: str
    name: str
    role: Role
    job: str


STAFF = (
    DemoStaff("admin", "admin@example.org", "Robin Ashdown", Role.ADMIN, "administrator"),
    DemoStaff("manager", "manager@example.org", "Morgan Ellery", Role.PROGRAMME_MANAGER, "programme manager"),
    DemoStaff("tutor", "tutor@example.org", "Sam Tavener", Role.TUTOR, "AP tutor (today's 1:1s)"),
    DemoStaff("tutor2", "tutor2@example.org", "Jordan Pryce", Role.TUTOR, "workshop tutor and coach"),
    DemoStaff("events", "events@example.org", "Casey Lindqvist", Role.EVENTS_TEAM, "events team"),
    DemoStaff("dsl", "dsl@example.org", "Niamh Corrigan", Role.DSL, "designated safeguarding lead"),
    DemoStaff("deputy", "deputy.dsl@example.org", "Owen Farrant", Role.DSL, "deputy DSL"),
)


@dataclass(frozen=True)
class DemoProgramme:
    key: str
    name: str
    preset: str


PROGRAMMES = (
    DemoProgramme("ap", "AP Tuition", "ap_tuition"),
    DemoProgramme("apprenticeship", "Digital Skills Apprenticeship", "apprenticeship_f2f"),
    DemoProgramme("residential", "Leadership Residential", "residential_events"),
    DemoProgramme("coaching", "Wellbeing Coaching", "coaching"),
)

SCHOOLS = ("Hollowmere Academy", "Quillstone High School", "Brackenridge Community School")
EMPLOYERS = ("Fenwick Hale Engineering", "Marrowfield Logistics", "Pennant Street Digital", "Corvin Health Trust")

FIRST_NAMES = ("Amara", "Bilal", "Callum", "Dalia", "Elias", "Freya", "Gideon", "Hana", "Ivo", "Jasmin", "Kofi",
               "Lowri", "Mateo", "Nadia", "Orla", "Pavel", "Qasim", "Rhea", "Soren", "Talia", "Umar", "Vesna",
               "Wren", "Xander", "Yusra", "Zane")
LAST_NAMES = ("Abernethy", "Brightwater", "Castellan", "Dunmore", "Everdell", "Fairbairn", "Greywell", "Holloway",
              "Ingleby", "Jessop", "Kestrel", "Larkspur", "Merriweather", "Northcote", "Oakhart", "Penhallow",
              "Quenby", "Rowntree", "Stoneleigh", "Thistlewood")

FIRST_PARTNERS = ("Alex", "Jamie", "Kit", "Rowan", "Sasha", "Taylor", "Drew", "Quinn")


def names(offset: int, count: int) -> Iterator[tuple[str, str]]:
    """`count` distinct invented (first, last) names; different offsets give different people."""
    for i in range(offset, offset + count):
        yield FIRST_NAMES[i % len(FIRST_NAMES)], LAST_NAMES[(i * 7 + i // len(FIRST_NAMES)) % len(LAST_NAMES)]


class Phones:
    """Numbers handed out in order from the 07700 900xxx drama range."""

    def __init__(self, start: int = 100) -> None:
        self.next = start

    def take(self) -> str:
        if self.next > 999:
            raise ValueError("the demo ran out of 07700 900xxx numbers")
        number = f"07700 900{self.next:03d}"
        self.next += 1
        return number


def email(first: str, last: str, domain: str = "example.org") -> str:
    return f"{first}.{last}@{domain}".lower()
