"""The platform's books: each service's own invariants, and conservation across services, to the fen.

Each service is read with its own database role (as an operator would run each service's check); the
comparison happens here, outside any service:
  * money spent = money debited: what the wallet's ledger took from accounts and lots, by (funding
    region, spending region), equals what the payment service says its settlements and contributions
    kept (cancelled ones gave everything back);
  * clearing = cross-region spending minus cancellations plus carries: the clearing service's obligations over
    all months, forward minus reverse, equal the cross-region part of the same totals plus the personal-account
    money the wallet carried from one region's fund to another (ADR 0021): every obligation is backed by money
    its debtor's fund held;
  * per-fund conservation (the wallet's check `funds_hold_what_they_issued`, shown as a table): for every region,
    what its fund credited, plus or minus what was carried, minus what that money paid, equals the personal
    accounts and the quota attributed to it.

    python -m tools.books            # exit 1 when anything does not balance
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, field
from decimal import Decimal

from services.clearing.adapters import books as clearing_books
from services.clearing.adapters.clearing_repository import ClearingRepository
from services.payment.adapters import books as payment_books
from services.wallet.adapters import books as wallet_books
from shared.db.pool import connect
from shared.settings import PlatformSettings

Pairs = dict[tuple[str, str], Decimal]


@dataclass
class PlatformBooks:
    problems: dict[str, list[str]] = field(default_factory=dict)
    spent: Decimal = Decimal("0.00")
    cross_region: Decimal = Decimal("0.00")
    cleared: Decimal = Decimal("0.00")
    carried: Decimal = Decimal("0.00")
    funds: list[wallet_books.FundPosition] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return all(not v for v in self.problems.values())

    def lines(self) -> list[str]:
        out = [
            f"spent from accounts and quota (kept): {self.spent}",
            f"  of which across regions:           {self.cross_region}",
            f"carried between funds (moves, credits): {self.carried}",
            f"obligations in clearing (all months): {self.cleared}",
            "per fund (credited + carried in - carried out - paid = in accounts + in wallets):",
            f"  {'region':<7} {'credited':>12} {'carried in':>11} {'carried out':>11} {'paid':>11}"
            f" {'in accounts':>12} {'in wallets':>11}",
            *(
                f"  {f.admdvs:<7} {f.credited:>12} {f.carried_in:>11} {f.carried_out:>11} {f.paid:>11}"
                f" {f.in_accounts:>12} {f.in_wallets:>11}{'' if f.balanced else '  DOES NOT BALANCE'}"
                for f in self.funds
            ),
        ]
        for name, offenders in self.problems.items():
            mark = (
                "ok" if not offenders else f"FAILED: {', '.join(offenders[:5])}{' ...' if len(offenders) > 5 else ''}"
            )
            out.append(f"  {name:<48} {mark}")
        out.append("the books balance" if self.balanced else "THE BOOKS DO NOT BALANCE")
        return out


def _differences(left: Pairs, right: Pairs) -> list[str]:
    keys = sorted(set(left) | set(right))
    zero = Decimal("0.00")
    return [
        f"{a}->{b}: {left.get((a, b), zero)} vs {right.get((a, b), zero)}"
        for a, b in keys
        if left.get((a, b), zero) != right.get((a, b), zero)
    ]


async def platform_books(settings: PlatformSettings) -> PlatformBooks:
    books = PlatformBooks()
    wallet = await connect(settings.dsn("wallet"))
    payment = await connect(settings.dsn("payment"))
    clearing = await connect(settings.dsn("clearing"))
    try:
        for service, checks in (
            ("wallet", await wallet_books.check_books(wallet)),
            ("payment", await payment_books.check_books(payment)),
            ("clearing", await clearing_books.check_books(clearing)),
        ):
            books.problems.update({f"{service}: {name}": offenders for name, offenders in checks.items()})
        spent = {k: Decimal(v) for k, v in (await wallet_books.spending_by_region_pair(wallet)).items()}
        paid = await payment_books.paid_by_region_pair(payment)
        taken = await wallet_books.spent_by_settlement(wallet)
        kept = await payment_books.kept_by_settlement(payment)
        carried = await wallet_books.carried_by_region_pair(wallet)
        books.funds = await wallet_books.fund_positions(wallet)
        cleared = await ClearingRepository(clearing).totals_by_pair()
    finally:
        for conn in (wallet, payment, clearing):
            await conn.close()
    cross = {k: v for k, v in paid.items() if k[0] != k[1]}
    zero = Decimal("0.00")
    books.problems["platform: each settlement took what the payment service says it kept"] = [
        f"{setl_id}: wallet {taken.get(setl_id, zero)} vs payment {kept.get(setl_id, zero)}"
        for setl_id in sorted(set(taken) | set(kept))
        if taken.get(setl_id, zero) != kept.get(setl_id, zero)
    ]
    books.problems["platform: money spent = money debited at the funding accounts"] = _differences(spent, paid)
    owed = {k: cross.get(k, zero) + carried.get(k, zero) for k in set(cross) | set(carried)}
    books.problems["platform: clearing = cross-region spending - cancellations + carries"] = _differences(
        {k: v for k, v in cleared.items() if v}, {k: v for k, v in owed.items() if v}
    )
    books.spent = sum(paid.values(), Decimal("0.00"))
    books.cross_region = sum(cross.values(), Decimal("0.00"))
    books.cleared = sum(cleared.values(), Decimal("0.00"))
    books.carried = sum(carried.values(), Decimal("0.00"))
    return books


async def _main() -> int:
    books = await platform_books(PlatformSettings())
    print("\n".join(books.lines()))
    return 0 if books.balanced else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(_main()))
