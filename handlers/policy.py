"""Who may do what. Roles come from configuration (directory users and groups)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from handlers.identity import Person
from workers.config import Roles
from workers.roles import RoleBook

if TYPE_CHECKING:
    from workers.sources.directory import Directory

ROLES = ("user", "helpdesk", "approver", "admin")

# What each intent needs when it is about someone else (about yourself, "user" is enough).
NEEDS = {
    "check": {"helpdesk", "admin"},
    "why": {"helpdesk", "admin"},
    "audit": {"helpdesk", "admin"},
    "history": {"helpdesk", "admin"},
}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: dict[str, str] | None = None  # en/de sentence when refused


class Policy:
    def __init__(self, roles: Roles, directory: Directory | None = None) -> None:
        """`directory` resolves configured group names to exactly one security group (RoleBook)."""
        self.roles = roles
        self.book = RoleBook(roles, directory)

    def roles_of(self, person: Person) -> set[str]:
        return self.book.roles_of(person.names, person.groups)

    def decide(self, person: Person, kind: str, about_self: bool) -> Decision:
        needed = NEEDS.get(kind)
        if needed is None or (about_self and kind != "audit"):
            return Decision(True)
        if self.roles_of(person) & needed:
            return Decision(True)
        what = {
            "check": ("look at other people's certificates", "die Zertifikate anderer Personen ansehen"),
            "why": ("ask about other people's mail", "nach der Mail anderer Personen fragen"),
            "audit": ("audit the whole tenant", "den ganzen Mandanten prüfen"),
            "history": ("see other people's change history", "den Änderungsverlauf anderer sehen"),
        }[kind]
        return Decision(
            False,
            {
                "en": f'Only helpdesk staff may {what[0]}. You can ask about yourself ("is my cert published?"), or ask the helpdesk.',
                "de": f"Nur das Helpdesk darf {what[1]}. Sie können nach sich selbst fragen („ist mein Zertifikat veröffentlicht?“) oder das Helpdesk bitten.",
            },
        )
