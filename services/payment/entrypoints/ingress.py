"""Ingress messages the payment service answers: translate, call the handler."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Any

from services.payment import handlers, registry, settlements
from services.payment.adapters.institution_repository import InstitutionRepository
from services.payment.adapters.registry_repository import RegistryRepository
from services.payment.adapters.settlement_repository import SettlementRepository
from services.payment.domain import commands
from services.payment.domain.institutions import Institution
from shared.contracts import province as p
from shared.contracts.envelope import Envelope
from shared.messaging.consumer import Handler, MessageContext
from shared.messaging.messages import Decision


def setl_id_for(sender: str, msgid: str, key: bytes) -> str:
    """Deterministic (a retried handler names the same settlement) yet unguessable without the platform key."""
    digest = hmac.new(key, f"settlement:{sender}:{msgid}".encode(), hashlib.sha256).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


async def on_institution_upserted(ctx: MessageContext, env: Envelope[Any]) -> Decision:
    b: p.InstitutionUpserted = env.body
    cmd = commands.UpsertInstitution(
        Institution(b.fixmedins_code, b.fixmedins_name, b.fixmedins_type, b.admdvs, b.wallet_enabled), env.sender
    )
    return await handlers.upsert_institution(cmd, InstitutionRepository(ctx.conn), ctx.clock)


async def on_registry_query(ctx: MessageContext, env: Envelope[Any]) -> Decision:
    return await registry.query_registry(env.body, env.msgid, env.sender, RegistryRepository(ctx.conn))


def make_handlers(identity_key: bytes, trusted: frozenset[str] = frozenset()) -> dict[str, Handler]:
    async def on_settlement_requested(ctx: MessageContext, env: Envelope[Any]) -> Decision:
        return await settlements.request_settlement(
            setl_id_for(env.sender, env.msgid, identity_key),
            env.sender,
            env.msgid,
            env.body,
            SettlementRepository(ctx.conn),
            ctx.clock,
            trusted,
        )

    async def on_contribution_requested(ctx: MessageContext, env: Envelope[Any]) -> Decision:
        return await settlements.request_contribution(
            setl_id_for(env.sender, env.msgid, identity_key),
            env.sender,
            env.msgid,
            env.body,
            SettlementRepository(ctx.conn),
            ctx.clock,
        )

    async def on_cancel_requested(ctx: MessageContext, env: Envelope[Any]) -> Decision:
        return await settlements.cancel_settlement(
            env.sender, env.msgid, env.body, SettlementRepository(ctx.conn), ctx.clock, trusted
        )

    async def on_reversal_requested(ctx: MessageContext, env: Envelope[Any]) -> Decision:
        return await settlements.reverse(env.sender, env.msgid, env.body, SettlementRepository(ctx.conn), ctx.clock)

    return {
        "institution.upserted": on_institution_upserted,
        "registry.query-requested": on_registry_query,
        "settlement.requested": on_settlement_requested,
        "contribution.requested": on_contribution_requested,
        "settlement.cancel-requested": on_cancel_requested,
        "reversal.requested": on_reversal_requested,
    }
