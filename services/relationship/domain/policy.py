"""Regional policies: how each region tightens the national rules on binding. Data, not code.

A region's effective policy is the national default, overridden field by field by its province's
row (`440000`), overridden by its pooling region's row (`440300`). Which region's policy governs
which check is decided in `relationships.decide_bind` (docs/adr/0007-which-regions-policy-applies.md).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

NATIONAL = "000000"


class RegionalPolicy(BaseModel):
    """Every field is documented here and in docs/policies.md; `None` means no limit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_active_recipients_per_provider: int | None = Field(
        None, ge=1, description="active (pending or established) recipients one provider may have; Hunan: 10"
    )
    max_recipients_per_kinship_group: dict[str, int] = Field(
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
        72 * 3600, ge=1, description="how long a bind request waits for the recipient's consent (provider's region)"
    )


class PolicyOverride(BaseModel):
    """What one region's row sets; absent fields inherit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_active_recipients_per_provider: int | None = Field(None, ge=1)
    max_recipients_per_kinship_group: dict[str, int] | None = None
    recipient_single_provider: bool | None = None
    bound_recipient_may_provide: bool | None = None
    two_way_allowed: bool | None = None
    bind_request_ttl_seconds: int | None = Field(None, ge=1)


KINSHIP_GROUPS = ("immediate", "extended")

# National defaults and the published provincial variations (RULES.md section 2).
SEED: dict[str, dict[str, Any]] = {
    NATIONAL: {},
    "120000": {"max_recipients_per_kinship_group": {"immediate": 4}},  # Tianjin
    "430000": {"max_active_recipients_per_provider": 10},  # Hunan
    "370000": {"recipient_single_provider": True, "bound_recipient_may_provide": False},  # Shandong
    "450000": {"two_way_allowed": True},  # Guangxi
}


def validate_override(settings: dict[str, Any]) -> PolicyOverride:
    override = PolicyOverride.model_validate(settings)
    for group in override.max_recipients_per_kinship_group or {}:
        if group not in KINSHIP_GROUPS:
            raise ValueError(f"unknown kinship group {group!r}: one of {', '.join(KINSHIP_GROUPS)}")
    return override


def effective_policy(admdvs: str, rows: dict[str, dict[str, Any]]) -> RegionalPolicy:
    """National default <- province row <- pooling-region row, field by field."""
    merged: dict[str, Any] = {}
    for level in (NATIONAL, admdvs[:2] + "0000", admdvs):
        for field, value in rows.get(level, {}).items():
            if value is not None:
                merged[field] = value
    return RegionalPolicy.model_validate(merged)
