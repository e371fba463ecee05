"""relationship.events.v1 says who a person is now. The wallet keeps the newest copy; when the person's insured
region changed (a move, 转移接续), their personal account goes with them to the new region's fund, with its whole
balance (ADR 0021): the old region's fund owes the new one that balance at clearing."""

from __future__ import annotations

from services.wallet.domain import commands, funds
from services.wallet.domain.ledger import personal_account_id
from services.wallet.service_layer.carry_over import carry_over
from services.wallet.service_layer.context import WalletContext
from shared.messaging.messages import Outgoing


async def record_person(cmd: commands.RecordPerson, ctx: WalletContext) -> list[Outgoing]:
    person = cmd.party
    await ctx.members.lock_people(person.psn_no)  # a credit, a payment or a transfer of theirs waits, or went first
    if not await ctx.members.upsert_person(person, cmd.effective_at, cmd.version):
        return []  # an older copy, or the same again
    personal = personal_account_id(person.psn_no)
    account = (await ctx.ledger.lock(personal)).get(personal)
    if account is None or account.admdvs == person.insuplc_admdvs:
        return []
    carry = funds.on_move(account, person.insuplc_admdvs, f"{person.psn_no}:{cmd.event_id}")
    await ctx.ledger.change_fund(personal, person.insuplc_admdvs)
    return await carry_over(carry, ctx.ledger, ctx.caller.now())
