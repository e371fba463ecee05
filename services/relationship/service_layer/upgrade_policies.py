"""At start, rows still in the legacy terms (caps per hard-coded kinship group) are upgraded
once, each as a versioned change published like any other (`relationship.policy-changed`), so the wallet's copy
and analytics follow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.relationship.domain import commands
from services.relationship.domain.commands import SetPolicy
from services.relationship.service_layer.context import RelationshipContext
from services.relationship.service_layer.set_policy import set_policy
from shared.contracts.policy import LEGACY_GROUP_CAPS, legacy_bans, upgrade_row
from shared.messaging.messages import Outgoing

UPGRADED_BY = "upgrade: kinship caps (issue 16)"


@dataclass(frozen=True)
class Upgraded:
    admdvs: str
    before: dict[str, Any]
    after: dict[str, Any]
    dropped_bans: list[str]
    """Groups the legacy row banned outright, which kinship caps cannot say: operators set them anew."""


async def upgrade_policies(
    cmd: commands.UpgradePolicies, ctx: RelationshipContext
) -> tuple[list[Upgraded], list[Outgoing]]:
    table = await ctx.policies.all_for_update()  # as it stands before any row is upgraded: each row is
    # upgraded against the legacy rows above it
    upgraded: list[Upgraded] = []
    messages: list[Outgoing] = []
    for admdvs in [a for a, settings in table.items() if LEGACY_GROUP_CAPS in settings]:
        row = upgrade_row(admdvs, table[admdvs], table) or {}
        stored, changed = await set_policy(SetPolicy(admdvs, row, UPGRADED_BY, replace=True), ctx)
        upgraded.append(Upgraded(admdvs, table[admdvs], stored, legacy_bans(table[admdvs])))
        messages += changed
    return upgraded, messages
