"""Personal-account money changes fund (ADR 0021, domain/funds.py): the step the move of a member, a credit from
a sibling region, a quota return and a refund share. The caller holds the personal account's lock."""

from __future__ import annotations

from datetime import datetime

from services.wallet.domain import events
from services.wallet.domain.funds import Carry
from services.wallet.domain.ledger import FUND_CARRY, AccountKind, Entry, LedgerTransfer, fund_account_id, post_transfer
from services.wallet.service_layer.ports import Ledger
from shared.messaging.messages import Outgoing, published


async def carry_over(carry: Carry | None, ledger: Ledger, now: datetime) -> list[Outgoing]:
    """A posted transfer from the receiving fund's account to the giving fund's (the receiving fund now answers
    for the money), and the event clearing turns into what the giving fund owes. Nothing when nothing moves."""
    if carry is None:
        return []
    giving, receiving = fund_account_id(carry.from_admdvs), fund_account_id(carry.to_admdvs)
    funds = await ledger.hot_accounts(
        (giving, AccountKind.FUND, carry.from_admdvs), (receiving, AccountKind.FUND, carry.to_admdvs)
    )
    post_transfer(funds[receiving], funds[giving], carry.amount)
    await ledger.save_posted_transfer(
        LedgerTransfer(
            carry.ledger_id, carry.carry_id, funds[receiving], funds[giving], carry.amount, FUND_CARRY, Entry(at=now)
        ),
    )
    carried = events.FundBalanceCarried(
        carry_id=carry.carry_id,
        psn_no=carry.psn_no,
        from_admdvs=carry.from_admdvs,
        to_admdvs=carry.to_admdvs,
        amount=carry.amount,
        cause=carry.cause.value,
        occurred_at=now,
    )
    return [published(carried, carry.psn_no)]
