"""Who is acting: a signed-in staff member, an integration token, or the system itself."""

from __future__ import annotations

from dataclasses import dataclass

from checkin.domain.model import Role


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int | None
    org_id: int
    role: Role
    name: str
    via: str  # "cookie" | "token" | "system"
    csrf_token: str = ""
    session_id: int | None = None

    @property
    def label(self) -> str:
        return f"{self.name} ({self.role.value})" if self.user_id else self.name

    def has(self, *roles: Role) -> bool:
        return self.role in roles


def system(org_id: int, name: str = "watcher") -> Principal:
    return Principal(None, org_id, Role.ADMIN, name, "system")
