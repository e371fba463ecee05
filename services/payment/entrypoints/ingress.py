"""Ingress messages the payment service answers: translate, call the handler."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Any

from services.payment.domain import commands
from services.payment.domain.institutions import Institution
from services.payment.entrypoints.unit_of_work import postgres_context
from services.payment.service_layer.cancel_settlement import cancel_settlement
from services.payment.service_layer.context import PaymentContext
from services.payment.service_layer.query_registry import query_registry
from services.payment.service_layer.register_institution import register_institution
from services.payment.service_layer.request_payment import request_contribution, request_settlement
from services.payment.service_layer.reverse import reverse
from shared.caller import Caller
from shared.contracts import province as p
from shared.contracts.envelope import Envelope
from shared.messaging.consumer import Handler, MessageContext
from shared.messaging.messages import Decision


def setl_id_for(sender: str, msgid: str, key: bytes) -> str:
    """Deterministic (a retried handler names the same settlement) yet unguessable without the platform key."""
    digest = hmac.new(key, f"settlement:{sender}:{msgid}".encode(), hashlib.sha256).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def make_handlers(identity_key: bytes, trusted: frozenset[str] = frozenset()) -> dict[str, Handler]:
    def context(ctx: MessageContext, env: Envelope[Any]) -> PaymentContext:
        """The use case's unit of work, acting for the sender whose signature the consumer verified."""
        return postgres_context(ctx.conn, Caller(ctx.clock, env.sender, env.msgid, trusted))

    async def on_institution_upserted(ctx: MessageContext, env: Envelope[Any]) -> Decision:
        b: p.InstitutionUpserted = env.body
        institution = Institution(b.fixmedins_code, b.fixmedins_name, b.fixmedins_type, b.admdvs, b.wallet_enabled)
        return await register_institution(commands.UpsertInstitution(institution), context(ctx, env))

    async def on_settlement_requested(ctx: MessageContext, env: Envelope[Any]) -> Decision:
        cmd = commands.RequestSettlement(setl_id_for(env.sender, env.msgid, identity_key), env.body)
        return await request_settlement(cmd, context(ctx, env))

    async def on_contribution_requested(ctx: MessageContext, env: Envelope[Any]) -> Decision:
        cmd = commands.RequestContribution(setl_id_for(env.sender, env.msgid, identity_key), env.body)
        return await request_contribution(cmd, context(ctx, env))

    async def on_registry_query(ctx: MessageContext, env: Envelope[Any]) -> Decision:
        return await query_registry(commands.QueryRegistry(env.body), context(ctx, env))

    async def on_cancel_requested(ctx: MessageContext, env: Envelope[Any]) -> Decision:
        return await cancel_settlement(commands.CancelSettlement(env.body), context(ctx, env))

    async def on_reversal_requested(ctx: MessageContext, env: Envelope[Any]) -> Decision:
        return await reverse(commands.Reverse(env.body), context(ctx, env))

    return {
        "institution.upserted": on_institution_upserted,
        "registry.query-requested": on_registry_query,
        "settlement.requested": on_settlement_requested,
        "contribution.requested": on_contribution_requested,
        "settlement.cancel-requested": on_cancel_requested,
        "reversal.requested": on_reversal_requested,
    }
