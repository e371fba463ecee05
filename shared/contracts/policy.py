"""Regional policies: how each region tightens the national rules on binding and transfers. Data, not code.
Kept by the relationship service (its operators change them); the wallet follows the changes as events.

A region's effective policy is the national default, overridden field by field by its province's
row (`440000`), overridden by its pooling region's row (`440300`). Which region's policy governs
which check is decided in `relationships.decide_bind` (docs/adr/0007-which-regions-policy-applies.md).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.money import Money

NATIONAL = "000000"


KinshipGroup = Literal["immediate", "extended"]
MAX_TTL_SECONDS = 30 * 24 * 3600


class RegionalPolicy(BaseModel):
    """Every field is documented here and in docs/policies.md; `None` means no limit."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    max_active_recipients_per_provider: int | None = Field(
        None, ge=1, description="active (pending or established) recipients one provider may have; Hunan: 10"
    )
    max_recipients_per_kinship_group: dict[KinshipGroup, int] = Field(
        default_factory=dict,
        description="active recipients per kinship group: 'immediate' (spouse, parent, child) or 'extended' "
        "(sibling, grandparents, grandchildren); Tianjin: {'immediate': 4}",
    )
    recipient_single_provider: bool = Field(
        False, description="a recipient insured here may have only one provider; Shandong: true"
    )
    bound_recipient_may_provide: bool = Field(
        True,
        description="a person insured here who is a recipient may also be a provider (and the reverse); "
        "Shandong: false",
    )
    two_way_allowed: bool = Field(
        False, description="A may provide to B while B provides to A; both regions must allow it; Guangxi: true"
    )
    bind_request_ttl_seconds: int = Field(
        72 * 3600,
        ge=1,
        le=MAX_TTL_SECONDS,
        description="how long a bind request waits for the recipient's consent (provider's region), at most 30 days",
    )
    transfer_min_amount: Money = Field(Decimal("1.00"), description="smallest transfer (sender's region) [inferred]")
    transfer_max_amount: Money = Field(Decimal("2000.00"), description="largest transfer (sender's region)")
    transfers_per_day: int = Field(3, ge=1, le=100, description="transfers one sender may request per business day")

    @model_validator(mode="after")
    def _range(self) -> RegionalPolicy:
        if not Decimal("0.01") <= self.transfer_min_amount <= self.transfer_max_amount:
            raise ValueError("transfer_min_amount must be positive and at most transfer_max_amount")
        return self


class PolicyOverride(BaseModel):
    """One region's row. An absent field inherits; `null` for a cap means "no cap here" (so a pooling
    region can lift its province's cap); group caps merge group by group."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    max_active_recipients_per_provider: int | None = Field(None, ge=1)
    max_recipients_per_kinship_group: dict[KinshipGroup, Annotated[int, Field(ge=0)] | None] | None = None
    recipient_single_provider: bool | None = None
    bound_recipient_may_provide: bool | None = None
    two_way_allowed: bool | None = None
    bind_request_ttl_seconds: int | None = Field(None, ge=1, le=MAX_TTL_SECONDS)
    transfer_min_amount: Money | None = None
    transfer_max_amount: Money | None = None
    transfers_per_day: int | None = Field(None, ge=1, le=100)


KINSHIP_GROUPS = ("immediate", "extended")
_NULLABLE = {"max_active_recipients_per_provider", "max_recipients_per_kinship_group"}

# National defaults and the published provincial variations (RULES.md section 2).
SEED: dict[str, dict[str, Any]] = {
    NATIONAL: {},
    "120000": {"max_recipients_per_kinship_group": {"immediate": 4}},  # Tianjin
    "430000": {"max_active_recipients_per_provider": 10},  # Hunan
    "370000": {"recipient_single_provider": True, "bound_recipient_may_provide": False},  # Shandong
    "450000": {"two_way_allowed": True},  # Guangxi
}


def validate_override(settings: dict[str, Any]) -> dict[str, Any]:
    """The row as it will be stored: validated strictly (no "10" for 10, no "yes" for true)."""
    override = PolicyOverride.model_validate(settings)
    for field in settings:
        if settings[field] is None and field not in _NULLABLE:
            raise ValueError(f"{field} cannot be null: remove it from the row to inherit (--unset)")
    return override.model_dump(mode="json", include=set(settings))


def effective_policy(admdvs: str, rows: dict[str, dict[str, Any]]) -> RegionalPolicy:
    """National default <- province row <- pooling-region row, field by field (group caps group by group)."""
    merged: dict[str, Any] = {}
    groups: dict[str, int | None] = {}
    for level in (NATIONAL, admdvs[:2] + "0000", admdvs):
        for field, value in rows.get(level, {}).items():
            if field == "max_recipients_per_kinship_group":
                groups.update(value or {})
            else:
                merged[field] = value
    merged["max_recipients_per_kinship_group"] = {g: n for g, n in groups.items() if n is not None}
    return RegionalPolicy.model_validate(merged)
