"""Quota of an ended relationship goes from the recipient's wallet back to the provider's personal account:
the step the end of a relationship and a refund into an ended relationship's lot share."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from services.wallet.domain import events, funds
from services.wallet.domain.ledger import Account, Entry, LedgerTransfer, post_transfer
from services.wallet.domain.transfers import ReturnReason
from services.wallet.service_layer.carry_over import carry_over
from services.wallet.service_layer.ports import Ledger
from shared.contracts import province as p
from shared.messaging.messages import Outgoing, published, to_provinces


def return_id_for(lot_id: str, relationship_id: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"medaid:quota-return:{lot_id}:{relationship_id}")


async def return_quota(
    lot_id: str,
    relationship_id: str,
    wallet: Account,
    personal: Account,
    amount: Decimal,
    funding_admdvs: str,
    transfer_id: uuid.UUID,
    client_id: str,
    regions: Sequence[str],
    ledger: Ledger,
    now: datetime,
) -> list[Outgoing]:
    """A posted transfer from the (locked) wallet to the (locked) personal account; the caller updates the lot.
    Quota of a lot funded by another fund than the provider's account belongs to now (the provider moved) is
    carried over to it (ADR 0021). The provinces are told."""
    provider, recipient = personal.id.removeprefix("personal:"), wallet.id.removeprefix("wallet:")
    post_transfer(wallet, personal, amount)
    await ledger.save_posted_transfer(
        LedgerTransfer(
            transfer_id,
            client_id,
            wallet,
            personal,
            amount,
            code="quota.return",
            entry=Entry(at=now, transfer_id=lot_id),
        ),
    )
    notice = p.TransferReturned(
        transfer_id=lot_id,
        from_psn_no=provider,
        to_psn_no=recipient,
        amount=amount,
        reason=ReturnReason.RELATIONSHIP_ENDED.value,
    )
    returned = events.QuotaReturned(
        lot_id=lot_id,
        relationship_id=relationship_id,
        wallet_psn_no=recipient,
        provider_psn_no=provider,
        amount=amount,
        occurred_at=now,
    )
    carry = funds.into_account(personal, funding_admdvs, amount, funds.CarryCause.QUOTA_RETURN, str(transfer_id))
    carried = await carry_over(carry, ledger, now)
    return [*to_provinces(regions, "transfer.returned", notice, provider), published(returned, provider), *carried]
