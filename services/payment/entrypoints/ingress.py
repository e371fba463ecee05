"""Ingress messages the payment service answers: translate, call the handler."""

from __future__ import annotations

import hashlib
import hmac
import uuid

from services.payment.domain import commands
from services.payment.domain.institutions import Institution
from services.payment.entrypoints.unit_of_work import postgres_context
from services.payment.service_layer.cancel_settlement import cancel_settlement
from services.payment.service_layer.query_registry import query_registry
from services.payment.service_layer.register_institution import register_institution
from services.payment.service_layer.request_payment import request_contribution, request_settlement
from services.payment.service_layer.reverse import reverse
from shared.caller import Caller
from shared.contracts import province as p
from shared.messaging.consumer import Handler, MessageContext
from shared.messaging.dispatch import Routes
from shared.messaging.messages import Decision


def setl_id_for(sender: str, msgid: str, key: bytes) -> str:
    """Deterministic (a retried handler names the same settlement) yet unguessable without the platform key."""
    digest = hmac.new(key, f"settlement:{sender}:{msgid}".encode(), hashlib.sha256).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def make_handlers(identity_key: bytes, trusted: frozenset[str] = frozenset()) -> dict[str, Handler]:
    async def on_institution_upserted(b: p.InstitutionUpserted, caller: Caller, ctx: MessageContext) -> Decision:
        institution = Institution(b.fixmedins_code, b.fixmedins_name, b.fixmedins_type, b.admdvs, b.wallet_enabled)
        return await register_institution(commands.UpsertInstitution(institution), postgres_context(ctx.conn, caller))

    async def on_settlement_requested(b: p.SettlementRequested, caller: Caller, ctx: MessageContext) -> Decision:
        cmd = commands.RequestSettlement(setl_id_for(caller.sender, caller.msgid, identity_key), b)
        return await request_settlement(cmd, postgres_context(ctx.conn, caller))

    async def on_contribution_requested(b: p.ContributionRequested, caller: Caller, ctx: MessageContext) -> Decision:
        cmd = commands.RequestContribution(setl_id_for(caller.sender, caller.msgid, identity_key), b)
        return await request_contribution(cmd, postgres_context(ctx.conn, caller))

    async def on_registry_query(b: p.RegistryQueryRequested, caller: Caller, ctx: MessageContext) -> Decision:
        return await query_registry(commands.QueryRegistry(b), postgres_context(ctx.conn, caller))

    async def on_cancel_requested(b: p.SettlementCancelRequested, caller: Caller, ctx: MessageContext) -> Decision:
        return await cancel_settlement(commands.CancelSettlement(b), postgres_context(ctx.conn, caller))

    async def on_reversal_requested(b: p.ReversalRequested, caller: Caller, ctx: MessageContext) -> Decision:
        return await reverse(commands.Reverse(b), postgres_context(ctx.conn, caller))

    routes = Routes(trusted=trusted)
    routes.on(p.InstitutionUpserted, on_institution_upserted)
    routes.on(p.RegistryQueryRequested, on_registry_query)
    routes.on(p.SettlementRequested, on_settlement_requested)
    routes.on(p.ContributionRequested, on_contribution_requested)
    routes.on(p.SettlementCancelRequested, on_cancel_requested)
    routes.on(p.ReversalRequested, on_reversal_requested)
    return routes.handlers()
