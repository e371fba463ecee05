"""The member's statement (interface v1.1), one use case: `wallet.statement-requested` -> `wallet.statement`,
to the requester's province only. Asked by the person's insured province or a trusted gateway; anyone else is
refused NOT_A_PARTY. Balances and quota are those of now; movements are those of the business dates asked
(Asia/Shanghai), oldest first, 500 a page; the cursor is where the last page ended. Counterparts are never
named: quota is shown by funding region, movements by their transfer or settlement id."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from services.wallet.adapters.statement_repository import StatementRepository
from services.wallet.adapters.wallet_repository import WalletRepository
from shared.clock import BUSINESS_TZ
from shared.contracts import province as p
from shared.contracts.reasons import ReasonCode
from shared.contracts.topics import province_topic, speaks_for
from shared.messaging.messages import Decision, Outgoing

PAGE = 500
FREEZES = 100
"""At most this many freezes (the range's last) on the first page: a page stays well inside a Kafka record."""
ZERO_BALANCE = Decimal("0.00")


def _after(cursor: str | None) -> int | None:
    """The cursor is the last movement's number on the previous page."""
    if cursor is None:
        return 0
    return int(cursor) if cursor.isdigit() and len(cursor) <= 18 else None


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=BUSINESS_TZ)


async def wallet_statement(
    q: p.WalletStatementRequested,
    omsgid: str,
    sender: str,
    people: WalletRepository,
    statements: StatementRepository,
    trusted: frozenset[str],
    national_operators: frozenset[str],
    page: int = PAGE,
) -> Decision:
    after = _after(q.cursor)
    if after is None:
        return Decision.rejected(ReasonCode.INVALID_MESSAGE, "cursor: not one this platform gave")
    person = await people.person(q.psn_no)
    if person is None:
        return Decision.rejected(ReasonCode.UNKNOWN_PERSON, "the person is not enrolled on the platform")
    if not speaks_for(sender, person.insuplc_admdvs, trusted):
        return Decision.rejected(
            ReasonCode.NOT_A_PARTY, "a statement is asked by the person's insured province or the national gateway"
        )
    balances = await statements.balances(q.psn_no)  # first: locks the accounts, so the rest agrees with it
    start, end = day_start(q.from_date), day_start(q.to_date + timedelta(days=1))
    rows = await statements.movements(q.psn_no, start, end, after, page + 1)
    quota = [
        p.QuotaOfRegion(provider_admdvs=admdvs, amount=amount) for admdvs, amount in await statements.quota(q.psn_no)
    ]
    freezes = await statements.freezes(q.psn_no, start, end, FREEZES) if after == 0 else []
    statement = p.WalletStatement(
        omsgid=omsgid,
        psn_no=q.psn_no,
        wallet_balc=balances.get("wallet", ZERO_BALANCE),
        acct_balc=balances.get("personal"),
        frozen=await people.frozen(q.psn_no),
        quota=quota,
        movements=[
            p.StatementMovement(
                at=r["at"].astimezone(BUSINESS_TZ),
                kind=r["kind"],
                account=r["account"],
                amount=r["amount"],
                balance_after=r["balance_after"],
                transfer_id=r["transfer_id"],
                setl_id=r["setl_id"],
            )
            for r in rows[:page]
        ],
        freezes=[
            p.FreezeListed(
                at=f["at"].astimezone(BUSINESS_TZ),
                action=f["action"],
                by="national" if f["sender"] in national_operators else "province",
                changed=f["changed"],
                reason=f["reason"],
            )
            for f in freezes
        ],
        next_cursor=str(rows[page - 1]["id"]) if len(rows) > page else None,
    )
    body = statement.model_dump(mode="json", exclude_none=True)
    return Decision.completed([Outgoing(province_topic(sender), q.psn_no, "wallet.statement", body)])
