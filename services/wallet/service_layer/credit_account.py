"""A region of the member's insured province credits the member's personal account from its fund. The account
belongs to the fund of the member's insured region (ADR 0021): a credit from a sibling region is carried over to
it at once, and that region owes the insured region the amount at clearing."""

from __future__ import annotations

from decimal import Decimal

from services.wallet.domain import commands, events, funds
from services.wallet.domain.ledger import (
    ZERO,
    AccountKind,
    Entry,
    LedgerTransfer,
    fund_account_id,
    personal_account_id,
    post_transfer,
    transfer_id_for,
)
from services.wallet.service_layer.carry_over import carry_over
from services.wallet.service_layer.context import WalletContext
from shared.contracts.reasons import ReasonCode
from shared.contracts.topics import same_province
from shared.messaging.messages import Decision, published


async def credit_account(cmd: commands.CreditAccount, ctx: WalletContext, max_amount: Decimal) -> Decision:
    if cmd.amount <= ZERO or cmd.amount > max_amount:
        return Decision.rejected(
            ReasonCode.AMOUNT_OUT_OF_RANGE, f"a credit is a positive amount of at most {max_amount:.2f}"
        )
    await ctx.members.lock_people(cmd.psn_no)  # as a move does: the account's fund stays put meanwhile
    person = await ctx.members.person(cmd.psn_no)
    # a person's account is credited by their region; whether a person is enrolled is told to nobody else (a person
    # never enrolled has no insured province: no province may credit them)
    if person is None or not same_province(cmd.admdvs, person.insuplc_admdvs):
        return Decision.rejected(
            ReasonCode.SENDER_NOT_ALLOWED,
            f"{cmd.psn_no}'s personal account is credited by their insured province, not {cmd.admdvs}",
        )
    personal, fund = personal_account_id(cmd.psn_no), fund_account_id(cmd.admdvs)
    accounts = await ctx.ledger.ensure_and_lock((personal, AccountKind.PERSONAL, person.insuplc_admdvs))
    issuing = (await ctx.ledger.hot_accounts((fund, AccountKind.FUND, cmd.admdvs)))[fund]  # a fund may go negative
    transfer_id, now = transfer_id_for(cmd.client_id), ctx.caller.now()
    post_transfer(issuing, accounts[personal], cmd.amount)
    await ctx.ledger.save_posted_transfer(
        LedgerTransfer(
            transfer_id,
            cmd.client_id,
            issuing,
            accounts[personal],
            cmd.amount,
            code=f"credit.{cmd.kind}",
            entry=Entry(at=now, transfer_id=str(transfer_id)),
        ),
    )
    carry = funds.into_account(accounts[personal], cmd.admdvs, cmd.amount, funds.CarryCause.CREDIT, str(transfer_id))
    carried = await carry_over(carry, ctx.ledger, now)
    credited = events.PersonalAccountCredited(
        transfer_id=str(transfer_id),
        psn_no=cmd.psn_no,
        admdvs=cmd.admdvs,
        amount=cmd.amount,
        period=cmd.period,
        kind=cmd.kind,
        balance=accounts[personal].balance,
        occurred_at=now,
    )
    return Decision.completed([published(credited, cmd.psn_no), *carried])
