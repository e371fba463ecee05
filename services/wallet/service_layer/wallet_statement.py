"""The member's statement (interface v1.1): `wallet.statement-requested` -> `wallet.statement`, to the requester's
province only. Asked by the person's insured province or a trusted gateway; anyone else is refused NOT_A_PARTY
(also for a person never enrolled: only a trusted gateway is told UNKNOWN_PERSON).
What it lists and how it pages: services/wallet/domain/statements.py."""

from __future__ import annotations

from datetime import timedelta

from services.wallet.domain import commands
from services.wallet.domain.statements import FREEZES, PAGE, ZERO_BALANCE, after_cursor, day_start
from services.wallet.service_layer.context import WalletContext
from shared.clock import BUSINESS_TZ
from shared.contracts import province as p
from shared.contracts.reasons import ReasonCode
from shared.contracts.topics import province_topic
from shared.messaging.messages import Decision, Outgoing


async def wallet_statement(cmd: commands.RequestStatement, ctx: WalletContext, page: int = PAGE) -> Decision:
    q = cmd.request
    after = after_cursor(q.cursor)
    if after is None:
        return Decision.rejected(ReasonCode.INVALID_MESSAGE, "cursor: not one this platform gave")
    person = await ctx.members.person(q.psn_no)
    if not ctx.caller.may_ask_about(person.insuplc_admdvs if person else None):  # the same for nobody and for others
        return Decision.rejected(
            ReasonCode.NOT_A_PARTY, "a statement is asked by the person's insured province or the national gateway"
        )
    if person is None:
        return Decision.rejected(ReasonCode.UNKNOWN_PERSON, "the person is not enrolled on the platform")
    statements = ctx.statements
    balances = await statements.balances(q.psn_no)  # first: locks the accounts, so the rest agrees with it
    start, end = day_start(q.from_date), day_start(q.to_date + timedelta(days=1))
    rows = await statements.movements(q.psn_no, start, end, after, page + 1)
    quota = [
        p.QuotaOfRegion(provider_admdvs=admdvs, amount=amount) for admdvs, amount in await statements.quota(q.psn_no)
    ]
    freezes = await statements.freezes(q.psn_no, start, end, FREEZES) if after == 0 else []
    statement = p.WalletStatement(
        omsgid=ctx.caller.msgid,
        psn_no=q.psn_no,
        wallet_balc=balances.get("wallet", ZERO_BALANCE),
        acct_balc=balances.get("personal"),
        frozen=await ctx.members.frozen(q.psn_no),
        quota=quota,
        movements=[
            p.StatementMovement(
                at=r.at.astimezone(BUSINESS_TZ),
                kind=r.kind,
                account=r.account,
                amount=r.amount,
                balance_after=r.balance_after,
                transfer_id=r.transfer_id,
                setl_id=r.setl_id,
            )
            for r in rows[:page]
        ],
        freezes=[
            p.FreezeListed(
                at=f.at.astimezone(BUSINESS_TZ),
                action=f.action,
                by="national" if f.sender in ctx.caller.national_operators else "province",
                changed=f.changed,
                reason=f.reason,
            )
            for f in freezes
        ],
        next_cursor=str(rows[page - 1].id) if len(rows) > page else None,
    )
    body = statement.model_dump(mode="json", exclude_none=True)
    return Decision.completed([Outgoing(province_topic(ctx.caller.sender), q.psn_no, "wallet.statement", body)])
