"""Ingress messages the payment service answers."""

from __future__ import annotations

from typing import Any

from services.payment import handlers
from services.payment.adapters.institution_repository import InstitutionRepository
from services.payment.domain import commands
from services.payment.domain.institutions import Institution
from shared.contracts import province as p
from shared.contracts.envelope import Envelope
from shared.messaging.consumer import Decision, Handler, MessageContext


async def on_institution_upserted(ctx: MessageContext, env: Envelope[Any]) -> Decision:
    b: p.InstitutionUpserted = env.body
    cmd = commands.UpsertInstitution(
        Institution(b.fixmedins_code, b.fixmedins_name, b.fixmedins_type, b.admdvs, b.wallet_enabled)
    )
    return await handlers.upsert_institution(cmd, InstitutionRepository(ctx.conn), ctx.clock)


HANDLERS: dict[str, Handler] = {"institution.upserted": on_institution_upserted}
