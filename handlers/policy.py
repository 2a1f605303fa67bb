"""Who holds which role. Roles come from configuration (directory users and groups); what each
role may do is in the intent table (handlers/intent_table.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from handlers.identity import Person
from workers.config import Roles
from workers.roles import RoleBook

if TYPE_CHECKING:
    from workers.sources.directory import Directory

ROLES = ("user", "helpdesk", "approver", "admin")


class Policy:
    def __init__(self, roles: Roles, directory: Directory | None = None) -> None:
        """`directory` resolves configured group names to exactly one security group (RoleBook)."""
        self.roles = roles
        self.book = RoleBook(roles, directory)

    def roles_of(self, person: Person) -> set[str]:
        return self.book.roles_of(person.names, person.groups)
