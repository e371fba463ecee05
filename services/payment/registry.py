"""Registry listings (interface v1.1), one use case: `registry.query-requested` -> `registry.listing` to the
requester's province only. Regions with their wallet status, or the institutions of a region or a province
(`xx0000`) with type and wallet status; 500 a page, in code order, `next_cursor` until the last page.
The registry is public information: any province's system may ask about any region."""

from __future__ import annotations

from services.payment.adapters.registry_repository import RegistryRepository
from shared.contracts import province as p
from shared.contracts.reasons import ReasonCode
from shared.contracts.topics import province_topic
from shared.messaging.messages import Decision, Outgoing

PAGE = 500


def _after(cursor: str | None, what: str) -> tuple[str, str] | None:
    """The cursor is where the last page ended: `admdvs` (regions) or `admdvs:fixmedins_code` (institutions)."""
    if cursor is None:
        return ("", "")
    admdvs, _, code = cursor.partition(":")
    if len(admdvs) != 6 or not admdvs.isdigit() or (what == "institutions") != bool(code):
        return None
    return admdvs, code


async def query_registry(
    q: p.RegistryQueryRequested, omsgid: str, sender: str, repo: RegistryRepository, page: int = PAGE
) -> Decision:
    after = _after(q.cursor, q.what)
    if after is None:
        return Decision.rejected(ReasonCode.INVALID_MESSAGE, "cursor: not one this platform gave")
    items: list[p.RegionListed] | list[p.InstitutionListed]
    if q.what == "regions":
        rows = await repo.regions(q.admdvs, after[0], page + 1)
        items = [p.RegionListed(**r) for r in rows[:page]]
        last = rows[page - 1]["admdvs"] if len(rows) > page else None
    else:
        rows = await repo.institutions(q.admdvs, q.fixmedins_type, after, page + 1)
        items = [p.InstitutionListed(**r) for r in rows[:page]]
        last = f"{rows[page - 1]['admdvs']}:{rows[page - 1]['fixmedins_code']}" if len(rows) > page else None
    listing = p.RegistryListing(omsgid=omsgid, what=q.what, items=items, next_cursor=last)
    body = listing.model_dump(mode="json", exclude_none=True)
    return Decision.completed([Outgoing(province_topic(sender), q.admdvs, "registry.listing", body)])
