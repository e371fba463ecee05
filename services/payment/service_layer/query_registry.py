"""Registry listings (interface v1.1): `registry.query-requested` -> `registry.listing` to the requester's
province only; `next_cursor` until the last page. What is listed and how it pages: services/payment/domain/
registry.py. The registry is public information: any province's system may ask about any region."""

from __future__ import annotations

from dataclasses import asdict

from services.payment.domain import commands
from services.payment.domain.registry import PAGE, after_cursor
from services.payment.service_layer.context import PaymentContext
from shared.contracts import province as p
from shared.contracts.reasons import ReasonCode
from shared.contracts.topics import province_topic
from shared.messaging.messages import Decision, Outgoing


async def query_registry(cmd: commands.QueryRegistry, ctx: PaymentContext, page: int = PAGE) -> Decision:
    q = cmd.request
    after = after_cursor(q.cursor, q.what)
    if after is None:
        return Decision.rejected(ReasonCode.INVALID_MESSAGE, "cursor: not one this platform gave")
    items: list[p.RegionListed] | list[p.InstitutionListed]
    if q.what == "regions":
        regions = await ctx.registry.regions(q.admdvs, after[0], page + 1)
        items = [p.RegionListed(admdvs=r.admdvs, wallet_enabled=r.wallet_enabled) for r in regions[:page]]
        last = regions[page - 1].admdvs if len(regions) > page else None
    else:
        found = await ctx.registry.institutions(q.admdvs, q.fixmedins_type, after, page + 1)
        items = [p.InstitutionListed(**asdict(i)) for i in found[:page]]
        last = f"{found[page - 1].admdvs}:{found[page - 1].fixmedins_code}" if len(found) > page else None
    listing = p.RegistryListing(omsgid=ctx.caller.msgid, what=q.what, items=items, next_cursor=last)
    body = listing.model_dump(mode="json", exclude_none=True)
    return Decision.completed([Outgoing(province_topic(ctx.caller.sender), q.admdvs, "registry.listing", body)])
