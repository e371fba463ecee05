"""Reconciliation per region and month (like national interface 3201, with 3202's detail), for operators.

Two sides are compared item by item: what the payment service says was paid across regions (each
cross-region portion of a settlement or contribution, and its reverse when cancelled) and what the
clearing service recorded as obligations for the month. The report gives both sides' totals (owes:
the region's fund supplied money spent elsewhere; owed: money from elsewhere was spent in the region),
the statement's totals when the month is closed and the region's answer, `balanced` or not, and the
differing items.

    python -m tools.reconcile --region 610100 --period 202611 [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from shared.db.pool import connect
from shared.settings import PlatformSettings

ZERO = Decimal("0.00")
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass
class Side:
    owes: Decimal = ZERO
    owed: Decimal = ZERO
    items: int = 0

    def add(self, region: str, debtor: str, amount: Decimal, forward: bool) -> None:
        signed = amount if forward else -amount
        if debtor == region:
            self.owes += signed
        else:
            self.owed += signed
        self.items += 1


@dataclass
class Report:
    region: str
    period: str
    closed: bool
    payment: Side
    clearing: Side
    statement: dict[str, Any] | None
    differing: list[dict[str, Any]] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        same = (self.payment.owes, self.payment.owed) == (self.clearing.owes, self.clearing.owed)
        if self.statement is not None:
            same = same and (Decimal(self.statement["owes"]), Decimal(self.statement["owed"])) == (
                self.clearing.owes,
                self.clearing.owed,
            )
        return same and not self.differing

    def lines(self) -> list[str]:
        out = [f"reconciliation {self.region} {self.period} ({'closed' if self.closed else 'open'})"]
        for name, side in (("payment side ", self.payment), ("clearing side", self.clearing)):
            out.append(f"  {name}: owes {side.owes:>14} owed {side.owed:>14} ({side.items} items)")
        if self.statement is not None:
            s = self.statement
            out.append(
                f"  statement {s['statement_id']}: owes {s['owes']} owed {s['owed']} net {s['net']} ({s['answer']})"
            )
        out.append(f"  {'BALANCED' if self.balanced else 'NOT BALANCED'}; {len(self.differing)} differing items")
        out += [f"    {d}" for d in self.differing[:50]]
        return out


async def reconcile(settings: PlatformSettings, region: str, period: str) -> Report:
    payment = await connect(settings.dsn("payment"))
    clearing = await connect(settings.dsn("clearing"))
    try:
        recorded = {
            r["item_id"]: dict(r)
            for r in await clearing.fetch(
                """SELECT item_id, direction, debtor_admdvs, creditor_admdvs, amount FROM items
                   WHERE period = $1 AND $2 IN (debtor_admdvs, creditor_admdvs)""",
                period,
                region,
            )
        }
        elsewhere = {
            r["item_id"]: r["period"]
            for r in await clearing.fetch(
                "SELECT item_id, period FROM items WHERE period <> $1 AND $2 IN (debtor_admdvs, creditor_admdvs)",
                period,
                region,
            )
        }
        closed = bool(await clearing.fetchval("SELECT true FROM periods WHERE period = $1", period))
        statement_row = await clearing.fetchrow(
            "SELECT statement_id, owes, owed, net, answer FROM statements WHERE period = $1 AND admdvs = $2",
            period,
            region,
        )
        rows = await payment.fetch(
            """SELECT p.setl_id, p.seq, p.funding_admdvs, p.spending_admdvs, p.amount, s.state, s.setl_time,
                      s.cancelled_at
               FROM settlement_portions p JOIN settlements s USING (setl_id)
               WHERE p.funding_admdvs <> p.spending_admdvs AND $1 IN (p.funding_admdvs, p.spending_admdvs)""",
            region,
        )
    finally:
        await payment.close()
        await clearing.close()
    paid: dict[str, dict[str, Any]] = {}
    for r in rows:
        base = {"debtor_admdvs": r["funding_admdvs"], "creditor_admdvs": r["spending_admdvs"], "amount": r["amount"]}
        month = r["setl_time"].astimezone(SHANGHAI).strftime("%Y%m")
        paid[f"{r['setl_id']}:{r['seq']}:f"] = {**base, "direction": "forward", "month": month}
        if r["state"] == "cancelled":
            cancel_month = r["cancelled_at"].astimezone(SHANGHAI).strftime("%Y%m")
            paid[f"{r['setl_id']}:{r['seq']}:r"] = {**base, "direction": "reverse", "month": cancel_month}
    report = Report(
        region,
        period,
        closed,
        Side(),
        Side(),
        None if statement_row is None else {k: str(v) for k, v in dict(statement_row).items()},
    )
    for item_id, c in recorded.items():
        report.clearing.add(region, c["debtor_admdvs"], c["amount"], c["direction"] == "forward")
        p = paid.get(item_id)
        if p is None:
            report.differing.append({"item_id": item_id, "problem": "in clearing, unknown to payment", **_wire(c)})
            continue
        report.payment.add(region, p["debtor_admdvs"], p["amount"], p["direction"] == "forward")
        if (p["debtor_admdvs"], p["creditor_admdvs"], p["amount"]) != (
            c["debtor_admdvs"],
            c["creditor_admdvs"],
            c["amount"],
        ):
            report.differing.append(
                {"item_id": item_id, "problem": "differs", "payment": _wire(p), "clearing": _wire(c)}
            )
    for item_id, p in paid.items():
        if item_id not in recorded and item_id not in elsewhere and p["month"] <= period:
            report.payment.add(region, p["debtor_admdvs"], p["amount"], p["direction"] == "forward")
            report.differing.append({"item_id": item_id, "problem": "paid, not in clearing", **_wire(p)})
    return report


def _wire(d: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in d.items()}


async def _main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--region", required=True)
    parser.add_argument("--period", required=True)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = await reconcile(PlatformSettings(), args.region, args.period)
    if args.json:
        data = asdict(report)
        data["balanced"] = report.balanced
        print(json.dumps(data, default=str, ensure_ascii=False, indent=1))
    else:
        print("\n".join(report.lines()))
    return 0 if report.balanced else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(_main()))
