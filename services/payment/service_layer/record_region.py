"""wallet.events.v1 says a region's wallet function was switched: the payment service keeps the copy its
registry listings show (query_registry.py)."""

from __future__ import annotations

from services.payment.domain import commands
from services.payment.service_layer.context import PaymentContext
from shared.messaging.messages import Outgoing


async def record_region(cmd: commands.RecordRegion, ctx: PaymentContext) -> list[Outgoing]:
    await ctx.registry.record_region(cmd.admdvs, cmd.wallet_enabled)
    return []
