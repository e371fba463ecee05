"""Playing provinces in end-to-end tests: enrol people, bind them, confirm, terminate."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.contracts.topics import EVENT_TOPICS, INGRESS_TOPICS, PROVINCE_TOPICS, dlq_topic
from tests.support.kafka import Publisher, Record, Watcher, envelope

ALL_OUTPUT = [*PROVINCE_TOPICS, *EVENT_TOPICS.values(), *(dlq_topic(t) for t in INGRESS_TOPICS)]
SURNAMES = "王李张刘陈杨黄赵吴周"


@dataclass(frozen=True)
class Member:
    psn_no: str
    certno: str
    name: str
    region: str


class Provinces:
    """Provincial systems; `now` is the platform's business clock (the provinces keep the same time)."""

    def __init__(self, publisher: Publisher, watcher: Watcher, now: Callable[[], datetime]) -> None:
        self.pub = publisher
        self.w = watcher
        self.now = now

    async def ask(
        self, topic: str, type_: str, body: dict[str, Any], sender: str, key: str, msgid: str | None = None
    ) -> dict[str, Any]:
        msg = envelope(type_, body, sender=sender, msgid=msgid, sent_at=self.now())
        await self.pub.send(topic, msg, key=key)
        return await self.w.result_for(msg["msgid"])

    async def enrol(
        self,
        region: str,
        insutype: str = "310",
        account: bool = True,
        status: str = "1",
        change: str = "enrol",
        member: Member | None = None,
        effective: str = "2026-01-01",
    ) -> Member:
        m = member or Member(
            f"{region}{random.randrange(10**14):014d}",
            f"{region}19{random.randrange(50, 99)}0{random.randrange(1, 9)}1{random.randrange(1, 9)}"
            f"{random.randrange(1000, 9999)}",
            random.choice(SURNAMES) + random.choice(["伟", "芳", "秀英", "建国", "敏"]),
            region,
        )
        body = {
            "psn_no": m.psn_no,
            "psn_name": m.name,
            "psn_cert_type": "01",
            "certno": m.certno,
            "insutype": insutype,
            "psn_insu_stas": status,
            "insuplc_admdvs": m.region,
            "has_personal_account": account,
            "change_reason": change,
            "effective_at": f"{effective}T00:00:00+08:00",
        }
        result = await self.ask("ingress.enrollment.v1", "enrollment.changed", body, m.region, m.psn_no)
        assert result["status"] == "completed", result
        return m

    async def enrol_many(self, region: str, n: int, **kwargs: Any) -> list[Member]:
        return list(await asyncio.gather(*(self.enrol(region, **kwargs) for _ in range(n))))

    async def bind(
        self,
        provider: Member,
        recipient: Member,
        kinship: str = "parent",
        *,
        certno: str | None = None,
        name: str | None = None,
        msgid: str | None = None,
    ) -> dict[str, Any]:
        body = {
            "provider_psn_no": provider.psn_no,
            "recipient_psn_no": recipient.psn_no,
            "kinship": kinship,
            "recipient_certno": certno or recipient.certno,
            "recipient_name": name or recipient.name,
        }
        return await self.ask(
            "ingress.relationship.v1", "relationship.bind-requested", body, provider.region, provider.psn_no, msgid
        )

    async def confirm(self, relationship_id: str, recipient: Member, msgid: str | None = None) -> dict[str, Any]:
        body = {"relationship_id": relationship_id, "recipient_psn_no": recipient.psn_no}
        return await self.ask(
            "ingress.relationship.v1", "relationship.bind-confirmed", body, recipient.region, recipient.psn_no, msgid
        )

    async def terminate(self, relationship_id: str, by: Member, msgid: str | None = None) -> dict[str, Any]:
        body = {"relationship_id": relationship_id, "requested_by_psn_no": by.psn_no}
        return await self.ask(
            "ingress.relationship.v1", "relationship.terminate-requested", body, by.region, by.psn_no, msgid
        )

    async def bound(self, provider: Member, recipient: Member, kinship: str = "parent") -> str:
        """Request and confirm: an established relationship's id."""
        requested = await self.bind(provider, recipient, kinship)
        assert requested["status"] == "accepted", requested
        confirmed = await self.confirm(requested["relationship_id"], recipient)
        assert confirmed["status"] == "completed", confirmed
        return str(requested["relationship_id"])

    def notifications(self, type_: str, relationship_id: str) -> list[Record]:
        return self.w.matching(
            lambda r: (
                isinstance(r.value, dict)
                and r.value.get("type") == type_
                and r.topic.startswith("province.")
                and r.value["body"].get("relationship_id") == relationship_id
            )
        )

    def events(self, type_: str, relationship_id: str) -> list[Record]:
        return self.w.matching(
            lambda r: (
                r.topic == "relationship.events.v1"
                and r.value.get("type") == type_
                and r.value["body"].get("relationship_id") == relationship_id
            )
        )


class Wallets:
    """The wallet side of a family: regions, credits, wallets, transfers; and waiting for the wallet's copies."""

    def __init__(self, provinces: Provinces, wallet_dsn: str) -> None:
        self.p = provinces
        self.dsn = wallet_dsn

    async def enable(self, region: str, enabled: bool = True) -> None:
        result = await self.p.ask(
            "ingress.registry.v1",
            "region.wallet-status-changed",
            {"admdvs": region, "wallet_enabled": enabled},
            region,
            region,
        )
        assert result["status"] == "completed", result

    async def credit(self, member: Member, amount: str) -> None:
        result = await self.p.ask(
            "ingress.enrollment.v1",
            "account.credited",
            {"psn_no": member.psn_no, "amount": amount, "period": "202611"},
            member.region,
            member.psn_no,
        )
        assert result["status"] == "completed", result

    async def _wait_for(self, sql: str, *args: Any) -> None:
        import asyncpg

        conn = await asyncpg.connect(self.dsn)
        try:
            for _ in range(200):
                if await conn.fetchval(sql, *args):
                    return
                await asyncio.sleep(0.05)
        finally:
            await conn.close()
        raise AssertionError(f"the wallet never saw: {sql} {args}")

    async def knows(self, *members: Member) -> None:
        for m in members:
            await self._wait_for("SELECT true FROM people WHERE psn_no = $1", m.psn_no)

    async def knows_relationship(self, relationship_id: str, established: bool = True) -> None:
        await self._wait_for(
            "SELECT true FROM relationships WHERE relationship_id = $1 AND established = $2",
            relationship_id,
            established,
        )

    async def open(self, member: Member) -> dict[str, Any]:
        # no waiting for the wallet's copy of the member: an enrolment answered is applied everywhere (ADR 0012)
        return await self.p.ask(
            "ingress.wallet.v1",
            "wallet.open-requested",
            {"psn_no": member.psn_no, "usage_admdvs": member.region, "phone": "13800000000"},
            member.region,
            member.psn_no,
        )

    async def family(
        self, provider_region: str, recipient_region: str, credit: str = "5000.00"
    ) -> tuple[Member, Member, str]:
        """Both regions on, a credited provider, a recipient with a wallet, an established relationship."""
        await self.enable(provider_region)
        await self.enable(recipient_region)
        provider = await self.p.enrol(provider_region)
        recipient = await self.p.enrol(recipient_region, insutype="390", account=False)
        await self.credit(provider, credit)
        opened = await self.open(recipient)
        assert opened["status"] == "completed", opened
        rid = await self.p.bound(provider, recipient, "parent")
        return provider, recipient, rid

    async def transfer(
        self,
        provider: Member,
        recipient: Member,
        amount: str,
        *,
        verified: bool = True,
        certno: str | None = None,
        msgid: str | None = None,
        sender: str | None = None,
    ) -> dict[str, Any]:
        body = {
            "from_psn_no": provider.psn_no,
            "to_psn_no": recipient.psn_no,
            "to_certno": certno or recipient.certno,
            "to_name": recipient.name,
            "amount": amount,
            "verification": "face",
            "verified": verified,
        }
        return await self.p.ask(
            "ingress.wallet.v1", "transfer.requested", body, sender or provider.region, provider.psn_no, msgid
        )

    async def answer(self, kind: str, transfer_id: str, recipient: Member, msgid: str | None = None) -> dict[str, Any]:
        return await self.p.ask(
            "ingress.wallet.v1",
            f"transfer.{kind}",
            {"transfer_id": transfer_id, "psn_no": recipient.psn_no},
            recipient.region,
            recipient.psn_no,
            msgid,
        )

    async def balances(self, provider: Member, recipient: Member) -> tuple[Any, Any]:
        import asyncpg

        conn = await asyncpg.connect(self.dsn)
        try:
            rows = {
                r["id"]: r["balance"]
                for r in await conn.fetch(
                    """SELECT id, credits_posted - debits_posted - debits_pending AS balance
                       FROM accounts WHERE id = ANY($1)""",
                    [f"personal:{provider.psn_no}", f"wallet:{recipient.psn_no}"],
                )
            }
        finally:
            await conn.close()
        return rows.get(f"personal:{provider.psn_no}"), rows.get(f"wallet:{recipient.psn_no}")


class Payments:
    """Institutions, settlements, contributions, cancellations and reversals, as provinces send them."""

    def __init__(self, provinces: Provinces) -> None:
        self.p = provinces

    async def institution(self, region: str, kind: str = "1", wallet: bool = True) -> str:
        code = f"{'H' if kind == '1' else 'P'}{region}{random.randrange(10**5):05d}"
        body = {
            "fixmedins_code": code,
            "fixmedins_name": f"{region} {'医院' if kind == '1' else '药店'}",
            "fixmedins_type": kind,
            "admdvs": region,
            "wallet_enabled": wallet,
        }
        result = await self.p.ask("ingress.registry.v1", "institution.upserted", body, region, region)
        assert result["status"] == "completed", result
        return code

    async def settle(
        self,
        patient: Member,
        institution: str,
        total: str,
        fund: str,
        *,
        part: str | None = None,
        flag: str = "0",
        provider: Member | None = None,
        wallet: bool = False,
        med_type: str | None = None,
        msgid: str | None = None,
        sender: str | None = None,
        when: str | None = None,
    ) -> dict[str, Any]:
        from decimal import Decimal

        region = institution[1:7]
        body: dict[str, Any] = {
            "mdtrt_id": f"{region}{random.randrange(10**20):020d}",
            "psn_no": patient.psn_no,
            "fixmedins_code": institution,
            "mdtrtarea_admvs": region,
            "med_type": med_type or ("11" if institution.startswith("H") else "41"),
            "medfee_sumamt": total,
            "fund_pay_sumamt": fund,
            "psn_part_amt": part or f"{Decimal(total) - Decimal(fund):.2f}",
            "acct_used_flag": flag,
            "use_wallet": wallet,
            "setl_time": when or self.p.now().isoformat(timespec="seconds"),
        }
        if provider is not None:
            body["provider_psn_no"] = provider.psn_no
        result = await self.p.ask(
            "ingress.settlement.v1", "settlement.requested", body, sender or region, patient.psn_no, msgid
        )
        result["_mdtrt_id"] = body["mdtrt_id"]
        return result

    async def cancel(
        self, settled: dict[str, Any], patient: Member, region: str, msgid: str | None = None
    ) -> dict[str, Any]:
        body = {"setl_id": settled["setl_id"], "mdtrt_id": settled["_mdtrt_id"], "psn_no": patient.psn_no}
        return await self.p.ask(
            "ingress.settlement.v1", "settlement.cancel-requested", body, region, patient.psn_no, msgid
        )

    async def reverse(self, omsgid: str, otype: str, sender: str, msgid: str | None = None) -> dict[str, Any]:
        body = {"omsgid": omsgid, "otype": otype}
        return await self.p.ask("ingress.settlement.v1", "reversal.requested", body, sender, omsgid, msgid)

    async def contribute(
        self,
        payer: Member,
        insured: Member,
        amount: str,
        insutype: str = "390",
        msgid: str | None = None,
        sender: str | None = None,
        year: int | None = None,
    ) -> dict[str, Any]:
        """For next year unless `year` says otherwise."""
        body = {
            "payer_psn_no": payer.psn_no,
            "insured_psn_no": insured.psn_no,
            "insutype": insutype,
            "amount": amount,
            "year": year or self.p.now().year + 1,
        }
        return await self.p.ask(
            "ingress.settlement.v1", "contribution.requested", body, sender or insured.region, payer.psn_no, msgid
        )

    def notices(self, type_: str, setl_id: str) -> list[Record]:
        return self.p.w.matching(
            lambda r: (
                r.topic.startswith("province.")
                and r.value.get("type") == type_
                and r.value["body"].get("setl_id") == setl_id
            )
        )
