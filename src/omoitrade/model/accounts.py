"""Tenants and people: organizations own portfolios; users act on them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from omoitrade.core.errors import ValidationError
from omoitrade.model.enums import UserRole
from omoitrade.model.fields import normalize_fields
from omoitrade.model.identifiers import OrganizationId, UserId
from omoitrade.model.timestamps import require_utc

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


@dataclass(slots=True, eq=False)
class Organization:
    """A tenant: everything it owns is invisible to other organizations."""

    id: OrganizationId
    name: str
    slug: str
    created_at: datetime
    is_active: bool = True

    def __post_init__(self) -> None:
        normalize_fields(self)
        if not self.name.strip():
            raise ValidationError("name", "must not be empty")
        if _SLUG.fullmatch(self.slug) is None:
            raise ValidationError(
                "slug", "must be lowercase letters and digits joined by '-'", self.slug
            )
        require_utc("created_at", self.created_at)


@dataclass(slots=True, eq=False)
class User:
    """A person who signs in; ``role`` bounds what they may do in their organization."""

    id: UserId
    organization_id: OrganizationId
    email: str
    display_name: str
    role: UserRole
    created_at: datetime
    password_hash: str | None = None
    is_active: bool = True

    def __post_init__(self) -> None:
        normalize_fields(self)
        if _EMAIL.fullmatch(self.email) is None:
            raise ValidationError("email", "must be an e-mail address", self.email)
        require_utc("created_at", self.created_at)
