"""Portfolios: trading accounts that hold cash, positions, strategies and limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from omoitrade.core.errors import ValidationError
from omoitrade.model.enums import RiskProfile
from omoitrade.model.fields import normalize_fields
from omoitrade.model.identifiers import OrganizationId, PortfolioId
from omoitrade.model.money import require_non_negative, require_positive
from omoitrade.model.timestamps import require_utc


@dataclass(slots=True, eq=False)
class Portfolio:
    """A trading account of an organization, valued in ``base_currency``."""

    id: PortfolioId
    organization_id: OrganizationId
    name: str
    base_currency: str
    initial_capital: Decimal
    current_equity: Decimal
    cash: Decimal
    margin_available: Decimal
    created_at: datetime
    risk_profile: RiskProfile = RiskProfile.MODERATE
    connected_exchanges: list[str] = field(default_factory=list)
    updated_at: datetime | None = None

    def __post_init__(self) -> None:
        normalize_fields(self)
        if not self.name.strip():
            raise ValidationError("name", "must not be empty")
        if len(self.base_currency) < 3:
            raise ValidationError("base_currency", "must be a currency code", self.base_currency)
        require_positive("initial_capital", self.initial_capital)
        require_non_negative("margin_available", self.margin_available)
        require_utc("created_at", self.created_at)
        require_utc("updated_at", self.updated_at)
        if self.updated_at is None:
            self.updated_at = self.created_at

    @classmethod
    def open(
        cls,
        id: PortfolioId,
        organization_id: OrganizationId,
        name: str,
        base_currency: str,
        initial_capital: Decimal,
        at: datetime,
        risk_profile: RiskProfile = RiskProfile.MODERATE,
    ) -> Portfolio:
        """A new portfolio whose equity, cash and margin all start at ``initial_capital``."""
        return cls(
            id=id,
            organization_id=organization_id,
            name=name,
            base_currency=base_currency,
            initial_capital=initial_capital,
            current_equity=initial_capital,
            cash=initial_capital,
            margin_available=initial_capital,
            created_at=at,
            risk_profile=risk_profile,
        )
