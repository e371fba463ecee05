"""The wallet's ports in memory, for unit tests of the use cases: the same behaviour as the PostgreSQL adapters
(tests/ports/ proves it, one abstract test per port), without a server. Reads hand out copies and only the
writes store them, as rows do; what PostgreSQL refuses (a second pending transfer between two people, a
resolution of a transfer no longer pending, a ledger transfer id used twice), this refuses too."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from services.wallet.domain.ledger import (
    Account,
    AccountKind,
    Entry,
    LedgerTransfer,
    MovementKind,
    member_of,
    personal_account_id,
    posted_kinds,
    take_increments,
    wallet_account_id,
)
from services.wallet.domain.payments import Debit, LotLeft, PaymentState, TakenPayment
from services.wallet.domain.statements import FreezeRecord, Movement
from services.wallet.domain.transfers import Lot, Party, QuotaTransfer, RelationshipCopy, State, TransferFacts
from services.wallet.service_layer.context import WalletContext
from shared.caller import Caller
from shared.contracts.policy import RegionalPolicy, transfer_policy


class UniqueViolationError(Exception):
    """What PostgreSQL's unique constraints would refuse."""


@dataclass
class _Relationship:
    provider: str
    recipient: str
    provider_admdvs: str
    recipient_admdvs: str
    established: bool
    version: int
    ended_at: datetime | None = None


@dataclass
class _Lot:
    wallet_psn_no: str
    provider_psn_no: str
    funding_admdvs: str
    relationship_id: str
    amount: Decimal
    remaining: Decimal
    created_at: datetime


@dataclass
class _Payment:
    purpose: str
    psn_no: str
    state: PaymentState
    refusal_code: str | None
    debited_at: datetime
    refunded_at: datetime | None = None


@dataclass
class _Debit:
    debit: Debit  # as recorded: its relationship and parties are its lot's
    transfer_id: uuid.UUID
    refund_transfer_id: uuid.UUID | None = None


@dataclass
class MemoryWallet:
    """The wallet service's tables, as dicts."""

    people: dict[str, tuple[Party, datetime, int]] = field(default_factory=dict)
    relationships: dict[str, _Relationship] = field(default_factory=dict)
    regions: dict[str, bool] = field(default_factory=dict)
    policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    wallets: dict[str, str] = field(default_factory=dict)
    freezes: dict[str, str | None] = field(default_factory=dict)  # psn_no -> frozen_by (None: not frozen)
    freeze_history: list[tuple[str, FreezeRecord, str]] = field(default_factory=list)  # psn_no, request, msgid
    lots: dict[str, _Lot] = field(default_factory=dict)
    transfers: dict[str, QuotaTransfer] = field(default_factory=dict)
    steps: dict[str, list[tuple[datetime, str, str | None]]] = field(default_factory=dict)
    accounts: dict[str, Account] = field(default_factory=dict)
    ledger_transfers: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    movements: list[dict[str, Any]] = field(default_factory=list)  # a movement's id is its place (from 1)
    payments: dict[str, _Payment] = field(default_factory=dict)
    payment_debits: dict[str, dict[int, _Debit]] = field(default_factory=dict)  # setl_id -> seq -> debit

    def context(self, caller: Caller) -> WalletContext:
        return WalletContext(
            caller,
            members=MemoryMembers(self),
            transfers=MemoryQuotaTransfers(self),
            ledger=MemoryLedger(self),
            payments=MemoryPayments(self),
            statements=MemoryStatements(self),
        )


class MemoryMembers:
    def __init__(self, db: MemoryWallet) -> None:
        self.db = db

    async def upsert_person(self, p: Party, effective_at: datetime, version: int = 0) -> bool:
        old = self.db.people.get(p.psn_no)
        if old is not None:
            _, old_at, old_version = old
            newer = old_version < version if version > 0 else old_version == 0 and old_at <= effective_at
            if not newer:
                return False
        self.db.people[p.psn_no] = (p, effective_at, version)
        return True

    async def relationship_established(self, rel: RelationshipCopy) -> bool:
        old = self.db.relationships.get(rel.relationship_id)
        if old is not None and (old.ended_at is not None or old.version >= (rel.version or 0)):
            return False
        self.db.relationships[rel.relationship_id] = _Relationship(
            rel.provider_psn_no, rel.recipient_psn_no, rel.provider_admdvs, rel.recipient_admdvs, True, rel.version or 0
        )
        return True

    async def person(self, psn_no: str) -> Party | None:
        found = self.db.people.get(psn_no)
        return None if found is None else found[0]

    async def people(self, *psn_nos: str) -> dict[str, Party]:
        return {x: self.db.people[x][0] for x in psn_nos if x in self.db.people}

    async def lock_people(self, *psn_nos: str) -> None:
        return None  # one task at a time in memory

    async def policy_for(self, admdvs: str) -> RegionalPolicy:
        levels = {"000000", admdvs[:2] + "0000", admdvs}
        return transfer_policy(admdvs, {a: s for a, s in self.db.policies.items() if a in levels})

    async def transfer_facts(
        self, from_psn_no: str, to_psn_no: str, sender_admdvs: str | None, day: str
    ) -> TransferFacts:
        wallet_region = self.db.wallets.get(to_psn_no)
        return TransferFacts(
            wallet_region=wallet_region,
            relationship_id=await self.established_relationship(from_psn_no, to_psn_no),
            sender_region_enabled=self.db.regions.get(sender_admdvs or "", False),
            recipient_region_enabled=wallet_region is not None and self.db.regions.get(wallet_region, False),
            pending_to=any(
                t.from_psn_no == from_psn_no and t.to_psn_no == to_psn_no and t.state is State.PENDING
                for t in self.db.transfers.values()
            ),
            sent_today=sum(
                1 for t in self.db.transfers.values() if t.from_psn_no == from_psn_no and t.business_day == day
            ),
            sender_frozen=await self.frozen(from_psn_no),
            recipient_frozen=await self.frozen(to_psn_no),
        )

    async def region_enabled(self, admdvs: str) -> bool:
        return self.db.regions.get(admdvs, False)

    async def set_region_wallet_status(self, admdvs: str, enabled: bool) -> bool:
        if self.db.regions.get(admdvs) == enabled:
            return False
        self.db.regions[admdvs] = enabled
        return True

    async def open_wallet(self, psn_no: str, usage_admdvs: str, at: datetime) -> bool:
        if psn_no in self.db.wallets:
            return False
        self.db.wallets[psn_no] = usage_admdvs
        return True

    async def wallet_region(self, psn_no: str) -> str | None:
        return self.db.wallets.get(psn_no)

    async def frozen(self, psn_no: str) -> bool:
        return self.db.freezes.get(psn_no) is not None

    async def any_frozen(self, *psn_nos: str) -> bool:
        return any([await self.frozen(x) for x in psn_nos])

    async def frozen_by(self, psn_no: str) -> str | None:
        return self.db.freezes.get(psn_no)

    async def record_freeze(self, psn_no: str, request: FreezeRecord, msgid: str, frozen_by: str | None) -> None:
        if request.changed:
            self.db.freezes[psn_no] = frozen_by
        self.db.freeze_history.append((psn_no, request, msgid))

    async def established_relationship(self, provider: str, recipient: str) -> str | None:
        for relationship_id, r in self.db.relationships.items():
            if r.provider == provider and r.recipient == recipient and r.established:
                return relationship_id
        return None

    async def relationship_ended(self, rel: RelationshipCopy, at: datetime) -> None:
        old = self.db.relationships.get(rel.relationship_id)
        if old is None:
            parties = (rel.provider_psn_no, rel.recipient_psn_no, rel.provider_admdvs, rel.recipient_admdvs)
            self.db.relationships[rel.relationship_id] = _Relationship(*parties, False, rel.version or 0, at)
            return
        old.established = False
        old.version = max(old.version, rel.version or 0)
        old.ended_at = old.ended_at or at

    async def add_lot(self, lot: Lot, relationship_id: str, at: datetime) -> None:
        if lot.lot_id in self.db.lots:
            raise UniqueViolationError(f"lot {lot.lot_id} exists")
        amount = lot.remaining
        self.db.lots[lot.lot_id] = _Lot(
            lot.wallet_psn_no, lot.provider_psn_no, lot.funding_admdvs, relationship_id, amount, amount, at
        )

    async def lock_lots_of(self, relationship_id: str) -> list[Lot]:
        mine = sorted(
            ((x.created_at, lot_id, x) for lot_id, x in self.db.lots.items() if x.relationship_id == relationship_id),
            key=lambda t: (t[0], t[1]),
        )
        return [Lot(lot_id, x.wallet_psn_no, x.provider_psn_no, x.remaining, x.funding_admdvs) for _, lot_id, x in mine]

    async def empty_lot(self, lot_id: str) -> None:
        self.db.lots[lot_id].remaining = Decimal("0.00")


class MemoryQuotaTransfers:
    def __init__(self, db: MemoryWallet) -> None:
        self.db = db

    def _copy(self, t: QuotaTransfer) -> QuotaTransfer:
        return replace(t, new_steps=[])

    def _write_steps(self, t: QuotaTransfer, at: datetime) -> None:
        self.db.steps.setdefault(t.transfer_id, []).extend((at, step, detail) for step, detail in t.new_steps)
        t.new_steps.clear()

    async def add(self, transfer: QuotaTransfer) -> None:
        if transfer.transfer_id in self.db.transfers:
            raise UniqueViolationError(f"transfer {transfer.transfer_id} exists")
        if any(
            t.state is State.PENDING and (t.from_psn_no, t.to_psn_no) == (transfer.from_psn_no, transfer.to_psn_no)
            for t in self.db.transfers.values()
        ):
            raise UniqueViolationError("one pending transfer per sender and recipient")
        self.db.transfers[transfer.transfer_id] = replace(self._copy(transfer), state=State.PENDING)
        self._write_steps(transfer, transfer.requested_at)

    async def get_for_update(self, transfer_id: str) -> QuotaTransfer | None:
        found = self.db.transfers.get(transfer_id)
        return None if found is None else self._copy(found)

    async def save(self, transfer: QuotaTransfer) -> None:
        stored = self.db.transfers.get(transfer.transfer_id)
        if stored is None or stored.state is not State.PENDING:
            raise RuntimeError(f"transfer {transfer.transfer_id} was not pending")
        self.db.transfers[transfer.transfer_id] = replace(
            stored, state=transfer.state, return_reason=transfer.return_reason, resolved_at=transfer.resolved_at
        )
        self._write_steps(transfer, transfer.resolved_at or transfer.requested_at)

    async def parties(self, transfer_id: str) -> tuple[str, str] | None:
        found = self.db.transfers.get(transfer_id)
        return None if found is None else (found.from_psn_no, found.to_psn_no)

    def _pending(self) -> list[QuotaTransfer]:
        return [self._copy(t) for t in self.db.transfers.values() if t.state is State.PENDING]

    async def overdue_between(self, from_psn_no: str, to_psn_no: str, now: datetime) -> QuotaTransfer | None:
        found = [t for t in self._pending() if (t.from_psn_no, t.to_psn_no) == (from_psn_no, to_psn_no)]
        return next((t for t in found if t.overdue(now)), None)

    async def pending_past(self, now: datetime, limit: int) -> list[QuotaTransfer]:
        return sorted((t for t in self._pending() if t.overdue(now)), key=lambda t: t.deadline)[:limit]

    async def pending_of_relationship(self, relationship_id: str) -> list[QuotaTransfer]:
        found = (t for t in self._pending() if t.relationship_id == relationship_id)
        return sorted(found, key=lambda t: t.transfer_id)

    async def pending_of(self, psn_no: str) -> list[QuotaTransfer]:
        found = (t for t in self._pending() if psn_no in (t.from_psn_no, t.to_psn_no))
        return sorted(found, key=lambda t: t.transfer_id)


class MemoryLedger:
    def __init__(self, db: MemoryWallet) -> None:
        self.db = db

    async def ensure_account(self, account_id: str, kind: AccountKind, admdvs: str) -> None:
        self.db.accounts.setdefault(account_id, Account(account_id, kind, admdvs))

    async def ensure_and_lock(self, *accounts: tuple[str, AccountKind, str]) -> dict[str, Account]:
        for account_id, kind, admdvs in accounts:
            await self.ensure_account(account_id, kind, admdvs)
        return await self.lock(*(a[0] for a in accounts))

    async def lock(self, *account_ids: str) -> dict[str, Account]:
        return {x: copy.copy(self.db.accounts[x]) for x in sorted(set(account_ids)) if x in self.db.accounts}

    async def hot_accounts(self, *accounts: tuple[str, AccountKind, str]) -> dict[str, Account]:
        for account_id, kind, admdvs in accounts:
            await self.ensure_account(account_id, kind, admdvs)
        return {a[0]: Account(a[0], a[1], a[2], increments_only=True) for a in accounts}

    async def change_fund(self, account_id: str, admdvs: str) -> None:
        account = self.db.accounts.get(account_id)
        if account is None or account.kind is not AccountKind.PERSONAL:
            raise RuntimeError(f"{account_id} is not a personal account")
        account.admdvs = admdvs

    def _store(self, *accounts: Account) -> None:
        for a in accounts:
            if not a.increments_only:
                self.db.accounts[a.id] = copy.copy(a)
                continue
            take_increments(self.db.accounts[a.id], a)  # a hot account's changes: added at once here

    def _new_transfer(self, t: LedgerTransfer, state: str) -> None:
        if t.id in self.db.ledger_transfers:
            raise UniqueViolationError(f"ledger transfer {t.id} exists")
        row = {"client_id": t.client_id, "debit": t.debit.id, "credit": t.credit.id, "amount": t.amount}
        self.db.ledger_transfers[t.id] = {**row, "state": state, "code": t.code}

    def _moved(
        self, ledger_transfer_id: uuid.UUID, entry: Entry, *sides: tuple[Account, MovementKind, Decimal]
    ) -> None:
        for account, kind, amount in sides:
            member = member_of(account)
            if member is not None:
                self.db.movements.append(
                    {
                        "psn_no": member[0],
                        "account": member[1],
                        "at": entry.at,
                        "kind": kind.value,
                        "amount": amount,
                        "balance_after": account.balance,
                        "ledger_transfer_id": ledger_transfer_id,
                        "transfer_id": entry.transfer_id,
                        "setl_id": entry.setl_id,
                    }
                )

    async def save_posted_transfer(self, transfer: LedgerTransfer) -> None:
        t = transfer
        debit_kind, credit_kind = posted_kinds(t.code, t.entry)
        self._new_transfer(t, "posted")
        self._moved(t.id, t.entry, (t.debit, debit_kind, -t.amount), (t.credit, credit_kind, t.amount))
        self._store(t.debit, t.credit)

    async def save_pending_transfer(self, transfer: LedgerTransfer) -> None:
        t = transfer
        self._new_transfer(t, "pending")
        self._moved(t.id, t.entry, (t.debit, MovementKind.TRANSFER_OUT, -t.amount))
        self._store(t.debit, t.credit)

    async def resolve_pending(
        self, transfer_id: uuid.UUID, state: str, debit: Account, credit: Account, entry: Entry
    ) -> None:
        self._store(debit, credit)
        row = self.db.ledger_transfers.get(transfer_id)
        if row is None or row["state"] != "pending":
            return
        row["state"] = state
        if state == "posted":
            self._moved(transfer_id, entry, (credit, MovementKind.TRANSFER_IN, row["amount"]))
        else:
            self._moved(transfer_id, entry, (debit, MovementKind.TRANSFER_RETURNED, row["amount"]))


class MemoryPayments:
    def __init__(self, db: MemoryWallet) -> None:
        self.db = db

    async def payment_of(self, setl_id: str) -> TakenPayment | None:
        found = self.db.payments.get(setl_id)
        return None if found is None else TakenPayment(setl_id, found.psn_no, found.state)

    async def unspent_lots(self, wallet_psn_no: str) -> list[LotLeft]:
        mine = sorted(
            ((x.created_at, lot_id, x) for lot_id, x in self.db.lots.items() if x.wallet_psn_no == wallet_psn_no),
            key=lambda t: (t[0], t[1]),
        )
        return [
            LotLeft(lot_id, x.provider_psn_no, x.funding_admdvs, x.remaining)
            for _, lot_id, x in mine
            if x.remaining > 0
        ]

    async def record_payment(
        self, setl_id: str, purpose: str, psn_no: str, state: PaymentState, refusal_code: str | None, at: datetime
    ) -> None:
        if setl_id in self.db.payments:
            raise UniqueViolationError(f"payment {setl_id} exists")
        self.db.payments[setl_id] = _Payment(purpose, psn_no, state, refusal_code, at)

    def _lot_changes(self, lot_id: str | None, by: Decimal) -> None:
        if lot_id is None:
            return
        lot = self.db.lots[lot_id]
        if not 0 <= lot.remaining + by <= lot.amount:  # the lots table's check
            raise ValueError(f"lot {lot_id}: {lot.remaining} + {by} is out of [0, {lot.amount}]")
        lot.remaining += by

    async def record_debit(self, setl_id: str, debit: Debit, transfer_id: uuid.UUID) -> None:
        if setl_id not in self.db.payments:
            raise KeyError(f"no payment {setl_id}")
        debits = self.db.payment_debits.setdefault(setl_id, {})
        if debit.seq in debits:
            raise UniqueViolationError(f"debit {setl_id}:{debit.seq} exists")
        self._lot_changes(debit.lot_id, -debit.amount)
        stored = replace(debit, relationship_id=None, wallet_psn_no=None, provider_psn_no=None)
        debits[debit.seq] = _Debit(stored, transfer_id)

    async def debits_of(self, setl_id: str) -> list[Debit]:
        found = []
        for _seq, d in sorted(self.db.payment_debits.get(setl_id, {}).items()):
            lot = self.db.lots.get(d.debit.lot_id) if d.debit.lot_id is not None else None
            if lot is None:
                found.append(d.debit)
            else:
                found.append(
                    replace(
                        d.debit,
                        relationship_id=lot.relationship_id,
                        wallet_psn_no=lot.wallet_psn_no,
                        provider_psn_no=lot.provider_psn_no,
                    )
                )
        return found

    async def lock_lots(self, lot_ids: list[str]) -> None:
        return None  # one task at a time in memory

    async def record_refund(
        self, setl_id: str, seq: int, lot_id: str | None, amount: Decimal, refund: uuid.UUID
    ) -> None:
        debit = self.db.payment_debits.get(setl_id, {}).get(seq)
        if debit is not None:
            debit.refund_transfer_id = refund
        self._lot_changes(lot_id, amount)

    async def mark_refunded(self, setl_id: str, at: datetime) -> None:
        found = self.db.payments.get(setl_id)
        if found is not None and found.state is PaymentState.DEBITED:
            found.state, found.refunded_at = PaymentState.REFUNDED, at

    async def relationship_ended(self, relationship_id: str) -> bool:
        found = self.db.relationships.get(relationship_id)
        return found is not None and not found.established

    async def record_refund_returned(self, lot_id: str, amount: Decimal) -> None:
        self._lot_changes(lot_id, -amount)


class MemoryStatements:
    def __init__(self, db: MemoryWallet) -> None:
        self.db = db

    async def balances(self, psn_no: str) -> dict[str, Decimal]:
        mine = (self.db.accounts.get(x) for x in (personal_account_id(psn_no), wallet_account_id(psn_no)))
        return {a.kind.value: a.balance for a in mine if a is not None}

    async def quota(self, psn_no: str) -> list[tuple[str, Decimal]]:
        by_region: dict[str, Decimal] = {}
        for lot in self.db.lots.values():
            if lot.wallet_psn_no == psn_no and lot.remaining > 0:
                by_region[lot.funding_admdvs] = by_region.get(lot.funding_admdvs, Decimal("0.00")) + lot.remaining
        return sorted(by_region.items())

    async def movements(self, psn_no: str, start: datetime, end: datetime, after_id: int, limit: int) -> list[Movement]:
        found = [
            Movement(
                id=n,
                at=m["at"],
                kind=m["kind"],
                account=m["account"],
                amount=m["amount"],
                balance_after=m["balance_after"],
                transfer_id=m["transfer_id"],
                setl_id=m["setl_id"],
            )
            for n, m in enumerate(self.db.movements, start=1)
            if m["psn_no"] == psn_no and n > after_id and start <= m["at"] < end
        ]
        return found[:limit]

    async def freezes(self, psn_no: str, start: datetime, end: datetime, limit: int) -> list[FreezeRecord]:
        found = [r for who, r, _msgid in self.db.freeze_history if who == psn_no and start <= r.at < end]
        return found[-limit:] if limit > 0 else []
