"""Programme presets: a starting policy, completion requirements and code set, under one name."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from checkin.domain.completion_requirements import REQUIREMENT_PRESETS, requirements_to_json
from checkin.domain.errors import Invalid
from checkin.domain.rules.presets import preset as policy_preset


@dataclass(frozen=True, slots=True)
class ProgrammePreset:
    id: str
    name: str
    description: str
    policy: str  # a name in checkin.domain.rules.presets.PRESETS
    requirements: str | None  # a name in REQUIREMENT_PRESETS, or None for no completion requirements
    code_set: str = "plain"

    def policy_dict(self) -> dict[str, Any]:
        return policy_preset(self.policy).to_dict()

    def requirements_list(self) -> list[dict[str, Any]]:
        return requirements_to_json(REQUIREMENT_PRESETS[self.requirements]) if self.requirements else []

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "description": self.description, "policy": self.policy_dict(),
                "requirements": self.requirements_list(), "code_set": self.code_set}


_ALL = (
    ProgrammePreset("ap_tuition", "AP tuition",
                    "Pupils in alternative provision: attendance reported and no-shows chased at 15 minutes, the "
                    "DSL told within the hour, England's school attendance codes, 90% attendance expected.",
                    "ap_tuition", "ap", "dfe_2024"),
    ProgrammePreset("apprenticeship_f2f", "Apprenticeship training",
                    "Registers completed within 30 minutes, tutors in 10 minutes early, employers told of "
                    "unauthorised absence on the day, missed 1-2-1s rebooked within 5 working days.",
                    "apprenticeship_f2f", None),
    ProgrammePreset("residential_events", "Events and residentials",
                    "The events team calls anyone missing without notice 30 minutes after the start.",
                    "residential_events", None),
    ProgrammePreset("coaching", "Coaching programme",
                    "Coaching at least 3 sessions, modules 4, peer practice 2 and 80% of everything else; a "
                    "participant's cancellation under 24 hours before is a spent session.",
                    "coaching", "psw"),
    ProgrammePreset("npq_reformed", "Reformed NPQ",
                    "Events chased on the day; at least 90% of the course content engaged with.",
                    "residential_events", "npq_reformed"),
    ProgrammePreset("executive_leaders", "Executive leaders",
                    "All content, at least 80% of it live and no more than 20% by catch-up.",
                    "residential_events", "amb_executive_leaders"),
    ProgrammePreset("expert_middle_leaders", "Expert middle leaders",
                    "All content, at least 80% of it live and no more than 20% by catch-up.",
                    "residential_events", "amb_expert_middle_leaders"),
    ProgrammePreset("npq_alliance", "NPQ alliance programme",
                    "No more than 2 sessions missed, each made good by a catch-up.",
                    "residential_events", "amb_npq_alliance"),
    ProgrammePreset("future_leaders", "Future leaders",
                    "Every mandatory event attended; optional events never count against.",
                    "residential_events", "amb_future_leaders"),
    ProgrammePreset("headship", "Headship",
                    "Every mandatory event attended; optional events never count against.",
                    "residential_events", "amb_headship"),
)

PROGRAMME_PRESETS: Mapping[str, ProgrammePreset] = MappingProxyType({p.id: p for p in _ALL})


def find_preset(preset_id: str) -> ProgrammePreset:
    found = PROGRAMME_PRESETS.get(preset_id)
    if found is None:
        raise Invalid("unknown_preset", f"There is no preset {preset_id!r}.", "preset",
                      known=sorted(PROGRAMME_PRESETS))
    return found
