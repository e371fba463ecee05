"""Operators change a region's policy row: validated before it is stored; the change is an event."""

from __future__ import annotations

from typing import Any

from services.relationship.domain import commands, events
from services.relationship.service_layer.context import RelationshipContext
from shared.contracts.policy import effective_policy, validate_override
from shared.messaging.messages import Outgoing, published


async def set_policy(cmd: commands.SetPolicy, ctx: RelationshipContext) -> tuple[dict[str, Any], list[Outgoing]]:
    """The row as stored, and its `relationship.policy-changed` event. Invalid rows raise (ValueError or
    pydantic's ValidationError) and nothing is stored."""
    current, version = await ctx.policies.for_update(cmd.admdvs, cmd.changed_by)
    merged = {**({} if cmd.replace else current), **cmd.settings}
    for field in cmd.unset:
        merged.pop(field, None)
    stored = validate_override(merged)
    effective_policy(cmd.admdvs, {cmd.admdvs: stored})  # the row must make a valid policy
    version += 1
    await ctx.policies.save(cmd.admdvs, stored, version, cmd.changed_by)
    changed = events.PolicyChanged(
        admdvs=cmd.admdvs, settings=stored, version=version, changed_by=cmd.changed_by, occurred_at=ctx.caller.now()
    )
    return stored, [published(changed, cmd.admdvs)]
