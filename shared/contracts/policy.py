"""Regional policies: how each region tightens the national rules on binding and transfers. Data, not code.
Kept by the relationship service (its operators change them); the wallet follows the changes as events.

A region's effective policy is the national default, overridden field by field by its province's
row (`440000`), overridden by its pooling region's row (`440300`). Which region's policy governs
which check is decided in `relationships.decide_bind` (docs/adr/0007-which-regions-policy-applies.md).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.money import Money

NATIONAL = "000000"


Kinship = Literal[
    "spouse", "parent", "child", "sibling", "grandparent", "maternal_grandparent", "grandchild", "maternal_grandchild"
]
"""The eight close relatives of the Civil Code, by what the recipient is to the provider."""
KINSHIPS: tuple[Kinship, ...] = get_args(Kinship)
KINSHIP_NAMES: dict[str, str] = {
    "spouse": "配偶", "parent": "父母", "child": "子女", "sibling": "兄弟姐妹", "grandparent": "祖父母",
    "maternal_grandparent": "外祖父母", "grandchild": "孙子女", "maternal_grandchild": "外孙子女",
}  # fmt: skip
"""How the bureaus name them."""
MAX_TTL_SECONDS = 30 * 24 * 3600


class KinshipCap(BaseModel):
    """At most `max` active (pending or established) recipients of one provider, together, among `kinships`."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    kinships: list[Kinship] = Field(min_length=1, description="the kinships counted together (no repeats)")
    max: int = Field(ge=1, description="how many recipients among them one provider may have")

    @model_validator(mode="after")
    def _distinct(self) -> KinshipCap:
        if len(set(self.kinships)) != len(self.kinships):
            raise ValueError(f"a kinship is named twice in {self.kinships}")
        return self

    def bureau_terms(self) -> str:
        """As a bureau states it: 子女、兄弟姐妹、孙子女、外孙子女最多可授权4位."""
        return f"{'、'.join(KINSHIP_NAMES[k] for k in self.kinships)}最多可授权{self.max}位"

    def english(self) -> str:
        return f"at most {self.max} together among {', '.join(self.kinships)}"


class RegionalPolicy(BaseModel):
    """Every field is documented here and in docs/policies.md; `None` means no limit."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    max_active_recipients_per_provider: int | None = Field(
        None, ge=1, description="active (pending or established) recipients one provider may have; Hunan: 10"
    )
    kinship_caps: list[KinshipCap] = Field(
        default_factory=list,
        description="caps over sets of kinships, each counted together; Tianjin: "
        "[{'kinships': ['child', 'sibling', 'grandchild', 'maternal_grandchild'], 'max': 4}]",
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
    region can lift its province's cap); `kinship_caps` replaces the inherited list as a whole (`null` or
    `[]`: none here)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    max_active_recipients_per_provider: int | None = Field(None, ge=1)
    kinship_caps: list[KinshipCap] | None = None
    recipient_single_provider: bool | None = None
    bound_recipient_may_provide: bool | None = None
    two_way_allowed: bool | None = None
    bind_request_ttl_seconds: int | None = Field(None, ge=1, le=MAX_TTL_SECONDS)
    transfer_min_amount: Money | None = None
    transfer_max_amount: Money | None = None
    transfers_per_day: int | None = Field(None, ge=1, le=100)


_NULLABLE = {"max_active_recipients_per_provider", "kinship_caps"}
TIANJIN_CAP: dict[str, Any] = {"kinships": ["child", "sibling", "grandchild", "maternal_grandchild"], "max": 4}
"""子女、兄弟姐妹、孙子女、外孙子女最多可授权4位 (RULES.md section 2)."""

# National defaults and the published provincial variations (RULES.md section 2).
SEED: dict[str, dict[str, Any]] = {
    NATIONAL: {},
    "120000": {"kinship_caps": [TIANJIN_CAP]},  # Tianjin
    "430000": {"max_active_recipients_per_provider": 10},  # Hunan
    "370000": {"recipient_single_provider": True, "bound_recipient_may_provide": False},  # Shandong
    "450000": {"two_way_allowed": True},  # Guangxi
}


LEGACY_GROUP_CAPS = "max_recipients_per_kinship_group"
"""Caps per hard-coded kinship group, the legacy terms of rows and events."""
LEGACY_GROUPS: dict[str, list[str]] = {
    "immediate": ["spouse", "parent", "child"],
    "extended": ["sibling", "grandparent", "maternal_grandparent", "grandchild", "maternal_grandchild"],
}
LEGACY_TIANJIN_SEED: dict[str, Any] = {LEGACY_GROUP_CAPS: {"immediate": 4}}
"""What the first seed stored for 120000: wrong (RULES.md had the rule wrong), replaced by the bureau's rule."""


def _levels(admdvs: str) -> list[str]:
    return list(dict.fromkeys((NATIONAL, admdvs[:2] + "0000", admdvs)))


def upgrade_row(admdvs: str, settings: dict[str, Any], rows: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """A row in the new terms when it carries the legacy group caps, else None. `rows` is the table as it stood
    before any row was upgraded. The row keeps what its region meant: the legacy caps were merged group by
    group down national <- province <- region, the new ones replace the list, so the row's list gets every
    group cap its region had, inherited ones included (a lifted or absent one: none; a list of none is `null`,
    which lifts the province's). Tianjin's first seed ({"immediate": 4} in 120000, wherever it is inherited)
    becomes the bureau's rule. A legacy cap of 0 (none of a group at all) has no equivalent and is dropped:
    `legacy_bans` finds those, for the operators."""
    if LEGACY_GROUP_CAPS not in settings:
        return None
    groups: dict[str, tuple[int | None, str]] = {}
    for level in _levels(admdvs):
        source = settings if level == admdvs else rows.get(level, {})
        for group, cap in (source.get(LEGACY_GROUP_CAPS) or {}).items():
            if group in LEGACY_GROUPS:
                groups[group] = (cap, level)
    caps: list[dict[str, Any]] = []
    for group, (cap, level) in groups.items():
        if not cap:
            continue
        tianjin_seed = (group, cap, level) == ("immediate", 4, "120000")
        caps.append(TIANJIN_CAP if tianjin_seed else {"kinships": LEGACY_GROUPS[group], "max": cap})
    row = {k: v for k, v in settings.items() if k != LEGACY_GROUP_CAPS}
    row.setdefault("kinship_caps", caps or None)
    return row


def legacy_bans(settings: dict[str, Any]) -> list[str]:
    """The legacy groups a row capped at 0, which the upgrade cannot keep."""
    return [g for g, cap in (settings.get(LEGACY_GROUP_CAPS) or {}).items() if cap == 0]


TRANSFER_FIELDS = frozenset({"transfer_min_amount", "transfer_max_amount", "transfers_per_day"})
"""The fields a follower of transfers (the wallet) needs: it reads only these, so a field it does not know yet
(a release of the relationship service ahead of it) never breaks its copy."""


def transfer_policy(admdvs: str, rows: dict[str, dict[str, Any]]) -> RegionalPolicy:
    """The effective policy of a region's transfer fields only (the others at their defaults)."""
    return effective_policy(
        admdvs, {lvl: {k: v for k, v in r.items() if k in TRANSFER_FIELDS} for lvl, r in rows.items()}
    )


def validate_override(settings: dict[str, Any]) -> dict[str, Any]:
    """The row as it will be stored: validated strictly (no "10" for 10, no "yes" for true)."""
    override = PolicyOverride.model_validate(settings)
    for field in settings:
        if settings[field] is None and field not in _NULLABLE:
            raise ValueError(f"{field} cannot be null: remove it from the row to inherit (--unset)")
    return override.model_dump(mode="json", include=set(settings))


def effective_policy(admdvs: str, rows: dict[str, dict[str, Any]]) -> RegionalPolicy:
    """National default <- province row <- pooling-region row, field by field (a row's `kinship_caps` replaces
    the inherited list). Rows still in the legacy terms are read as `upgrade_row` would write them."""
    merged: dict[str, Any] = {}
    for level in _levels(admdvs):
        row = rows.get(level, {})
        upgraded = upgrade_row(level, row, rows)
        merged.update(row if upgraded is None else upgraded)
    merged["kinship_caps"] = merged.get("kinship_caps") or []
    return RegionalPolicy.model_validate(merged)
