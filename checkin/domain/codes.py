"""Attendance code sets: the letters a register shows, and how each counts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from checkin.domain.errors import Invalid, NotFound
from checkin.domain.model import Category, MarkStatus

_P, _A, _U, _N = Category.PRESENT, Category.AUTHORISED, Category.UNAUTHORISED, Category.NOT_POSSIBLE
_S = MarkStatus


class UnknownCodeSet(NotFound, KeyError):
    """No code set has this name."""

    def __str__(self) -> str:
        return self.message


class UnknownCode(NotFound, KeyError):
    """The code set has no such code."""

    def __str__(self) -> str:
        return self.message


class NoCodeForStatus(Invalid):
    """The code set has no code for this mark status (a school register has no catch-up code)."""


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    label: str
    status: MarkStatus
    category: Category
    description: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "label": self.label, "status": self.status.value,
                "category": self.category.value, "description": self.description}


@dataclass(frozen=True, slots=True)
class CodeSet:
    """A named set of codes with the default code for each mark status.

    `defaults` maps a status onto a code; `late_after_close` is the code for an arrival after
    the register closed (England's U) and `afternoon` maps morning codes onto their afternoon
    twin ("/" → "\\"), both optional.
    """

    name: str
    title: str
    codes: tuple[Code, ...]
    defaults: Mapping[MarkStatus, str]
    late_after_close: str | None = None
    afternoon: Mapping[str, str] = field(default_factory=dict)
    _by_code: Mapping[str, Code] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_code = {c.code: c for c in self.codes}
        if len(by_code) != len(self.codes):
            raise ValueError(f"code set {self.name!r} repeats a code")
        named = [*self.defaults.values(), *self.afternoon.keys(), *self.afternoon.values()]
        if self.late_after_close is not None:
            named.append(self.late_after_close)
        missing = sorted(set(named) - by_code.keys())
        if missing:
            raise ValueError(f"code set {self.name!r} names unknown codes {missing}")
        object.__setattr__(self, "_by_code", MappingProxyType(by_code))

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def get(self, code: str) -> Code | None:
        return self._by_code.get(code)

    def lookup(self, code: str) -> Code:
        """The code, or UnknownCode (404, field "code")."""
        found = self._by_code.get(code)
        if found is None:
            raise UnknownCode("unknown_code", f"{code!r} is not a code in the {self.title} set", "code",
                              code_set=self.name)
        return found

    def in_category(self, category: Category) -> tuple[Code, ...]:
        return tuple(c for c in self.codes if c.category == category)

    def default_for(self, status: MarkStatus, late_after_register_closed: bool = False, *,
                    afternoon: bool = False) -> Code:
        """The code a mark of `status` gets when nobody picked one."""
        if status == MarkStatus.LATE and late_after_register_closed and self.late_after_close:
            return self._by_code[self.late_after_close]
        code = self.defaults.get(status)
        if code is None:
            raise NoCodeForStatus("no_code_for_status",
                                  f"The {self.title} set has no code for {status.value.replace('_', ' ')}",
                                  "status", code_set=self.name, mark_status=status.value)
        if afternoon:
            code = self.afternoon.get(code, code)
        return self._by_code[code]

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "title": self.title, "codes": [c.to_dict() for c in self.codes]}


def _codes(rows: Iterable[tuple[str, str, MarkStatus, Category, str]]) -> tuple[Code, ...]:
    return tuple(Code(*row) for row in rows)


PLAIN = CodeSet(
    name="plain",
    title="Plain",
    codes=_codes([
        ("P", "Present", _S.PRESENT, _P, "Attended the session from the start."),
        ("L", "Late", _S.LATE, _P, "Attended, arriving after the start and any grace period."),
        ("E", "Left early", _S.LEFT_EARLY, _P,
         "Attended but left before the end; the share missed is recorded."),
        ("A", "Authorised absence", _S.ABSENT_AUTHORISED, _A, "Absent with notice and an accepted reason."),
        ("U", "Unauthorised absence", _S.ABSENT_UNAUTHORISED, _U,
         "Absent without notice or without an accepted reason."),
        ("N", "No contact", _S.NO_CONTACT, _U, "Did not arrive and nobody has been reached yet."),
        # A catch-up makes content good but is not attendance at the session itself.
        ("C", "Catch-up completed", _S.CATCH_UP, _A,
         "Missed live, made good by an alternative session or confirmed catch-up materials."),
        ("X", "Not expected", _S.NOT_POSSIBLE, _N,
         "Not counted: cancelled by the coach or provider, force majeure, or not yet enrolled."),
    ]),
    defaults={_S.PRESENT: "P", _S.LATE: "L", _S.LEFT_EARLY: "E", _S.ABSENT_AUTHORISED: "A",
              _S.ABSENT_UNAUTHORISED: "U", _S.NO_CONTACT: "N", _S.CATCH_UP: "C", _S.NOT_POSSIBLE: "X"},
)

# England: School Attendance (Pupil Registration) (England) Regulations 2024, in force 19 August 2024,
# with the categories of "Working together to improve school attendance" (August 2024).
DFE_2024 = CodeSet(
    name="dfe_2024",
    title="England school attendance codes (2024)",
    codes=_codes([
        ("/", "Present (AM)", _S.PRESENT, _P, "Present at morning registration."),
        ("\\", "Present (PM)", _S.PRESENT, _P, "Present at afternoon registration."),
        ("L", "Late before register closed", _S.LATE, _P, "Arrived late but before the register closed."),
        ("K", "LA-arranged provision", _S.PRESENT, _P,
         "Attending education provision arranged by the local authority."),
        ("V", "Educational visit", _S.PRESENT, _P, "Attending an educational visit or trip."),
        ("P", "Sporting activity", _S.PRESENT, _P, "Participating in an approved sporting activity."),
        ("W", "Work experience", _S.PRESENT, _P, "Attending work experience."),
        ("B", "Other approved education", _S.PRESENT, _P,
         "Attending any other approved, supervised educational activity off-site."),
        ("C1", "Performance or employment", _S.ABSENT_AUTHORISED, _A,
         "Leave of absence for a regulated performance or regulated employment abroad."),
        ("M", "Medical or dental", _S.ABSENT_AUTHORISED, _A,
         "Leave of absence for a medical or dental appointment."),
        ("J1", "Interview", _S.ABSENT_AUTHORISED, _A,
         "Leave of absence for an interview for employment or admission to another institution."),
        ("S", "Study leave", _S.ABSENT_AUTHORISED, _A, "Leave of absence to study for a public examination."),
        ("C2", "Part-time timetable", _S.ABSENT_AUTHORISED, _A,
         "Leave of absence for a compulsory school age pupil on an agreed part-time timetable."),
        ("C", "Exceptional circumstances", _S.ABSENT_AUTHORISED, _A,
         "Leave of absence granted for exceptional circumstances."),
        ("T", "Parent travelling", _S.ABSENT_AUTHORISED, _A,
         "Parent travelling for occupational purposes (mobile child)."),
        ("R", "Religious observance", _S.ABSENT_AUTHORISED, _A,
         "Day set apart for religious observance by the parents' religious body."),
        ("I", "Illness", _S.ABSENT_AUTHORISED, _A, "Illness, not a medical or dental appointment."),
        ("E", "Suspended or excluded", _S.ABSENT_AUTHORISED, _A,
         "Suspended or permanently excluded, and no alternative provision made."),
        ("G", "Holiday not granted", _S.ABSENT_UNAUTHORISED, _U,
         "Holiday in term time not granted by the school."),
        ("N", "Reason not yet provided", _S.NO_CONTACT, _U,
         "Absent and the reason is not yet established; replace once it is known."),
        ("O", "Other unauthorised", _S.ABSENT_UNAUTHORISED, _U, "Absent in other or unknown circumstances."),
        ("U", "Late after register closed", _S.LATE, _U,
         "Arrived after the register closed; counts as an unauthorised absence."),
        ("X", "Not of compulsory school age", _S.NOT_POSSIBLE, _N,
         "Non-compulsory school age pupil not required to attend this session."),
        ("Q", "Lack of access arrangements", _S.NOT_POSSIBLE, _N,
         "Unable to attend because the local authority's access arrangements are lacking."),
        ("Y1", "Transport not available", _S.NOT_POSSIBLE, _N,
         "Unable to attend: transport normally provided is not available."),
        ("Y2", "Widespread travel disruption", _S.NOT_POSSIBLE, _N,
         "Unable to attend: widespread disruption to travel."),
        ("Y3", "Part of premises closed", _S.NOT_POSSIBLE, _N,
         "Unable to attend: part of the school premises is closed."),
        ("Y4", "Whole school closed", _S.NOT_POSSIBLE, _N,
         "Unable to attend: the whole school site is unexpectedly closed."),
        ("Y5", "Criminal justice detention", _S.NOT_POSSIBLE, _N,
         "Unable to attend: the pupil is in criminal justice detention."),
        ("Y6", "Public health guidance or law", _S.NOT_POSSIBLE, _N,
         "Unable to attend in accordance with public health guidance or law."),
        ("Y7", "Other unavoidable cause", _S.NOT_POSSIBLE, _N,
         "Unable to attend because of any other unavoidable cause."),
        ("D", "Dual registered", _S.NOT_POSSIBLE, _N,
         "Dual registered and attending the other school; not a possible session here."),
        ("Z", "Not yet on roll", _S.NOT_POSSIBLE, _N, "Prospective pupil not yet on the admission register."),
        ("#", "Planned school closure", _S.NOT_POSSIBLE, _N, "Planned whole-school closure."),
    ]),
    # A register is taken at the start, so a pupil who left early was present at registration.
    defaults={_S.PRESENT: "/", _S.LATE: "L", _S.LEFT_EARLY: "/", _S.ABSENT_AUTHORISED: "C",
              _S.ABSENT_UNAUTHORISED: "O", _S.NO_CONTACT: "N", _S.NOT_POSSIBLE: "Y7"},
    late_after_close="U",
    afternoon={"/": "\\"},
)

CODE_SETS: Mapping[str, CodeSet] = MappingProxyType({s.name: s for s in (PLAIN, DFE_2024)})


def code_set(name: str) -> CodeSet:
    """The code set called `name`, or UnknownCodeSet (404, field "code_set")."""
    found = CODE_SETS.get(name)
    if found is None:
        raise UnknownCodeSet("unknown_code_set", f"There is no code set called {name!r}", "code_set",
                             known=sorted(CODE_SETS))
    return found
