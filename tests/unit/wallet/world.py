"""A small wallet world in memory for the use-case tests: two people of two provinces, related, both regions
switched on, the provider credited and the recipient's wallet open. Built through the use cases themselves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from services.wallet.adapters.memory import MemoryMembers, MemoryWallet
from services.wallet.domain import commands
from services.wallet.domain.ledger import personal_account_id, wallet_account_id
from services.wallet.domain.payments import PaymentOrder, Purpose
from services.wallet.domain.transfers import Party, RelationshipCopy, TransferRequest
from services.wallet.service_layer.answer_transfer import answer_transfer
from services.wallet.service_layer.context import WalletContext
from services.wallet.service_layer.credit_account import credit_account
from services.wallet.service_layer.open_wallet import open_wallet
from services.wallet.service_layer.request_transfer import request_transfer
from services.wallet.service_layer.switch_region import set_region_wallet_status
from shared.caller import Caller
from shared.clock import BUSINESS_TZ
from shared.messaging.messages import Decision
from tests.support.clock import FixedClock

NOON = datetime(2030, 3, 14, 12, 0, tzinfo=BUSINESS_TZ)  # a fixed business instant: nothing reads today's date
PROVIDER = Party("P440300000000000001", "c-P", "n-P", "440300", may_provide=True, may_receive=False)
RECIPIENT = Party("R610100000000000001", "c-R", "n-R", "610100", may_provide=False, may_receive=True)
GUANGDONG, SHAANXI = "440300", "610100"
RELATIONSHIP = "rel-1"
MAX_CREDIT = Decimal("100000.00")


def money(x: str) -> Decimal:
    return Decimal(x)


@dataclass
class World:
    db: MemoryWallet
    clock: FixedClock

    def as_(self, sender: str, **kw: Any) -> WalletContext:
        """The unit of work of a message signed by `sender`."""
        return self.db.context(Caller(self.clock, sender, **kw))

    @property
    def platform(self) -> WalletContext:
        return self.db.context(Caller(self.clock))

    def balance(self, account_id: str) -> Decimal:
        return self.db.accounts[account_id].balance

    @property
    def provider_balance(self) -> Decimal:
        return self.balance(personal_account_id(PROVIDER.psn_no))

    @property
    def wallet_balance(self) -> Decimal:
        return self.balance(wallet_account_id(RECIPIENT.psn_no))

    def request(self, amount: str = "100.00", **kw: Any) -> commands.RequestTransfer:
        req = TransferRequest(
            from_psn_no=kw.pop("from_psn_no", PROVIDER.psn_no),
            to_psn_no=kw.pop("to_psn_no", RECIPIENT.psn_no),
            to_certno_hash=kw.pop("to_certno_hash", RECIPIENT.certno_hash),
            to_name_hash=kw.pop("to_name_hash", RECIPIENT.name_hash),
            amount=money(amount),
            verified=kw.pop("verified", True),
        )
        n = len(self.db.transfers) + len(self.db.ledger_transfers)
        return commands.RequestTransfer(
            transfer_id=kw.pop("transfer_id", f"t-{n}"), client_id=f"440300:m{n}", request=req
        )

    def order(self, amount: str = "80.00", **kw: Any) -> commands.TakePayment:
        """A settlement of the recipient's in its insured region, wallet first then the own account."""
        n = len(self.db.payments)
        fields: dict[str, Any] = {
            "setl_id": f"setl-{n}", "purpose": Purpose.SETTLEMENT, "psn_no": RECIPIENT.psn_no, "payer_psn_no": None,
            "spending_admdvs": SHAANXI, "amount": money(amount), "use_wallet": True, "acct_used_flag": "1",
        }  # fmt: skip
        return commands.TakePayment(PaymentOrder(**{**fields, **kw}))

    async def granted(self, amount: str = "100.00") -> str:
        """Quota from the provider in the recipient's wallet: a transfer requested and accepted (its lot)."""
        decision = ok(await request_transfer(self.request(amount), self.as_(GUANGDONG)))
        transfer_id = decision.ids["transfer_id"]
        answer = commands.AnswerTransfer(transfer_id=transfer_id, psn_no=RECIPIENT.psn_no, accepting=True)
        ok(await answer_transfer(answer, self.as_(SHAANXI)))
        return transfer_id

    async def credited(self, psn_no: str, region: str, amount: str) -> None:
        """The insured region credits the person's personal account."""
        n = len(self.db.ledger_transfers)
        credit = commands.CreditAccount(f"{region}:c{n}", psn_no, region, money(amount), "203003", "contribution")
        ok(await credit_account(credit, self.as_(region), MAX_CREDIT))


def ok(decision: Decision) -> Decision:
    assert decision.status in ("completed", "accepted"), (decision.reason_code, decision.reason)
    return decision


async def world(balance: str = "500.00", at: datetime = NOON) -> World:
    w = World(MemoryWallet(), FixedClock(at))
    members = MemoryMembers(w.db)
    for person in (PROVIDER, RECIPIENT):
        await members.upsert_person(person, at, version=1)
    await members.relationship_established(
        RelationshipCopy(RELATIONSHIP, PROVIDER.psn_no, RECIPIENT.psn_no, GUANGDONG, SHAANXI, version=1)
    )
    for region in (GUANGDONG, SHAANXI):
        ok(await set_region_wallet_status(commands.SetRegionWalletStatus(region, True), w.as_(region)))
    ok(await open_wallet(commands.OpenWallet(RECIPIENT.psn_no, SHAANXI), w.as_(SHAANXI)))
    credit = commands.CreditAccount("440300:c1", PROVIDER.psn_no, GUANGDONG, money(balance), "203003", "contribution")
    ok(await credit_account(credit, w.as_(GUANGDONG), MAX_CREDIT))
    return w
