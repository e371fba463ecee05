"""The ports of the wallet's service layer: what its use cases need from storage, as Protocols. PostgreSQL
implements them in services/wallet/adapters/ (one transaction per message), memory in adapters/memory.py (unit
tests); tests/ports/ runs one abstract test per port against both, so the fakes stay honest.

Every method runs inside the caller's unit of work: what it locks stays locked until that commits."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from services.wallet.domain.ledger import Account, AccountKind, Entry, LedgerTransfer
from services.wallet.domain.payments import Debit, LotLeft, PaymentState, TakenPayment
from services.wallet.domain.statements import FreezeRecord, Movement
from services.wallet.domain.transfers import Lot, Party, QuotaTransfer, RelationshipCopy, TransferFacts
from shared.contracts.policy import RegionalPolicy


class Ledger(Protocol):
    """Accounts and their transfers (pending, posted, voided). Reads lock; writes store balances the domain
    computed (domain/ledger.py) with the ledger transfer and the statement's lines."""

    async def ensure_account(self, account_id: str, kind: AccountKind, admdvs: str) -> None: ...

    async def ensure_and_lock(self, *accounts: tuple[str, AccountKind, str]) -> dict[str, Account]: ...

    async def lock(self, *account_ids: str) -> dict[str, Account]: ...

    async def hot_accounts(self, *accounts: tuple[str, AccountKind, str]) -> dict[str, Account]:
        """Accounts many transactions change at once (a region's fund, its spending), made when missing and not
        locked: each comes back `increments_only`, and what the transaction adds to it reaches the stored balances
        at the transaction's end (ADR 0026). A debit that must not overdraw such an account takes `lock`."""

    async def save_posted_transfer(self, transfer: LedgerTransfer) -> None: ...

    async def save_pending_transfer(self, transfer: LedgerTransfer) -> None: ...

    async def resolve_pending(
        self, transfer_id: uuid.UUID, state: str, debit: Account, credit: Account, entry: Entry
    ) -> None: ...

    async def change_fund(self, account_id: str, admdvs: str) -> None:
        """The (locked) personal account belongs to `admdvs`'s fund from now on (domain/funds.py)."""


class QuotaTransfers(Protocol):
    """The transfer sagas (QuotaTransfer), with their timelines."""

    async def add(self, transfer: QuotaTransfer) -> None:
        """A new pending transfer and its `new_steps`."""

    async def get_for_update(self, transfer_id: str) -> QuotaTransfer | None: ...

    async def save(self, transfer: QuotaTransfer) -> None:
        """A pending transfer resolved (completed or returned), and its `new_steps`. Raises when the stored one was
        not pending any more."""

    async def parties(self, transfer_id: str) -> tuple[str, str] | None:
        """(from, to) without a lock: to take the people's locks before the transfer's."""

    async def overdue_between(self, from_psn_no: str, to_psn_no: str, now: datetime) -> QuotaTransfer | None:
        """The waiting transfer between the two whose deadline has passed, locked."""

    async def pending_past(self, now: datetime, limit: int) -> list[QuotaTransfer]:
        """Waiting transfers past their deadline, oldest deadline first, locked (skipping those locked already)."""

    async def pending_of_relationship(self, relationship_id: str) -> list[QuotaTransfer]:
        """Its waiting transfers, locked, by transfer_id."""

    async def pending_of(self, psn_no: str) -> list[QuotaTransfer]:
        """Waiting transfers from or to the person, locked, by transfer_id."""


class Members(Protocol):
    """The wallet's copies of people, relationships, regions and policies (from relationship.events.v1 and the
    provinces), its wallets, freezes and lots."""

    async def upsert_person(self, p: Party, effective_at: datetime, version: int = 0) -> bool:
        """Keep the newest copy (by the relationship service's version). True when the copy changed."""

    async def relationship_established(self, rel: RelationshipCopy) -> bool:
        """Copy an establishment unless the copy is newer (ended is final). True when applied."""

    async def person(self, psn_no: str) -> Party | None: ...

    async def people(self, *psn_nos: str) -> dict[str, Party]: ...

    async def lock_people(self, *psn_nos: str) -> None:
        """Taken first on every path a freeze stops, in one order."""

    async def policy_for(self, admdvs: str) -> RegionalPolicy: ...

    async def transfer_facts(
        self, from_psn_no: str, to_psn_no: str, sender_admdvs: str | None, day: str
    ) -> TransferFacts: ...

    async def region_enabled(self, admdvs: str) -> bool: ...

    async def set_region_wallet_status(self, admdvs: str, enabled: bool) -> bool:
        """True when it changed."""

    async def open_wallet(self, psn_no: str, usage_admdvs: str, at: datetime) -> bool:
        """True when newly opened (an opened wallet keeps its usage region)."""

    async def wallet_region(self, psn_no: str) -> str | None:
        """The usage region of the person's wallet; None when none is open."""

    async def frozen(self, psn_no: str) -> bool: ...

    async def any_frozen(self, *psn_nos: str) -> bool: ...

    async def frozen_by(self, psn_no: str) -> str | None: ...

    async def record_freeze(self, psn_no: str, request: FreezeRecord, msgid: str, frozen_by: str | None) -> None:
        """The request (with the sender's msgid) in the history, whatever it changed; and when it changed something,
        the person's state (frozen_by None: not frozen)."""

    async def established_relationship(self, provider: str, recipient: str) -> str | None: ...

    async def relationship_ended(self, rel: RelationshipCopy, at: datetime) -> None:
        """An end is final, whatever arrives after it (or arrived before it)."""

    async def add_lot(self, lot: Lot, relationship_id: str, at: datetime) -> None:
        """A new lot of quota from `relationship_id`: all it holds (`remaining`) is left to spend."""

    async def lock_lots_of(self, relationship_id: str) -> list[Lot]:
        """All the relationship's lots, locked (spent ones too), by (created_at, lot_id)."""

    async def empty_lot(self, lot_id: str) -> None: ...


class Payments(Protocol):
    """The payments the payment service asked the wallet to take, what each took from which source (lots of
    quota included: a debit spends its lot, a refund gives it back) and their refunds."""

    async def payment_of(self, setl_id: str) -> TakenPayment | None:
        """The payment's record, locked."""

    async def unspent_lots(self, wallet_psn_no: str) -> list[LotLeft]:
        """The wallet's lots with quota left, oldest first, locked (before any account: the lock order)."""

    async def record_payment(
        self, setl_id: str, purpose: str, psn_no: str, state: PaymentState, refusal_code: str | None, at: datetime
    ) -> None:
        """The one answer to a payment (a second for the same setl_id is refused)."""

    async def record_debit(self, setl_id: str, debit: Debit, transfer_id: uuid.UUID) -> None:
        """What one source gave, posted as the ledger transfer `transfer_id` (its lot, if any, has that much less
        left; the debit's relationship and parties are not stored: they are the lot's)."""

    async def debits_of(self, setl_id: str) -> list[Debit]:
        """What the payment took, by seq, with each lot's relationship and parties."""

    async def lock_lots(self, lot_ids: list[str]) -> None: ...

    async def record_refund(
        self, setl_id: str, seq: int, lot_id: str | None, amount: Decimal, refund: uuid.UUID
    ) -> None:
        """A source got back what it gave (its lot, if any, has that much more left)."""

    async def mark_refunded(self, setl_id: str, at: datetime) -> None:
        """A debited payment is refunded (anything else stays as it is)."""

    async def relationship_ended(self, relationship_id: str) -> bool:
        """The wallet's copy of the relationship says it ended (False when it has none)."""

    async def record_refund_returned(self, lot_id: str, amount: Decimal) -> None:
        """Refunded quota of an ended relationship went on to the provider: it leaves the lot again."""


class Statements(Protocol):
    """What a member's statement reads: balances first (they lock the person's accounts for share, so what
    follows agrees with them), quota by funding region, movements and the freeze history."""

    async def balances(self, psn_no: str) -> dict[str, Decimal]:
        """'personal' and 'wallet' -> what may be spent now (holds counted), for the accounts the person has."""

    async def quota(self, psn_no: str) -> list[tuple[str, Decimal]]:
        """(funding region, quota left) of the person's wallet, by region, regions with none left omitted."""

    async def movements(self, psn_no: str, start: datetime, end: datetime, after_id: int, limit: int) -> list[Movement]:
        """Movements at [start, end), oldest first (in the order they happened), after the cursor's id."""

    async def freezes(self, psn_no: str, start: datetime, end: datetime, limit: int) -> list[FreezeRecord]:
        """The last `limit` freeze requests at [start, end), oldest first."""
