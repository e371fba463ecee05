"""SQL for the ledger. A use case locks the member accounts it changes in id order, in one statement, before it
changes them. The lock is `FOR NO KEY UPDATE` (and the upsert of `ensure_and_lock` changes no key): it serialises
the balances' read-modify-write and does not conflict with the key-share locks that other transactions' foreign
keys (a transfer row naming the account) hold until they commit.

A hot account (a region's fund or spending: every credit or payment of the region changes it) is not locked while a
transaction works: its changes are collected and added to its row in one statement just before the commit, in id
order (ADR 0026). A refund is the exception: it debits its region's spending, so it locks that row like a member
account. Cycles of waits are then possible (ADR 0026 gives one); the database detects them and the batch is retried
like any transient failure."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from services.wallet.domain.ledger import (
    Account,
    AccountKind,
    Entry,
    LedgerTransfer,
    MovementKind,
    member_of,
    posted_kinds,
    take_increments,
)
from shared.db.pool import Conn


class AccountIncrements:
    """One transaction's changes to hot accounts, by account, until they are added to the rows."""

    def __init__(self) -> None:
        self._totals: dict[str, Account] = {}

    def collect(self, account: Account) -> None:
        """Take what `account` (increments only) has collected; it starts again from zero."""
        total = self._totals.get(account.id)
        if total is None:
            total = self._totals[account.id] = Account(account.id, account.kind, account.admdvs, increments_only=True)
        take_increments(total, account)

    async def flush(self, conn: Conn, account_ids: Iterable[str] | None = None) -> None:
        """Add the collected changes (of `account_ids` only, if given) to the rows, in id order, in one statement."""
        wanted = sorted(self._totals if account_ids is None else set(account_ids) & self._totals.keys())
        totals = [self._totals.pop(x) for x in wanted]
        if totals:
            await add_to_accounts(conn, totals)


async def add_to_accounts(conn: Conn, totals: list[Account]) -> None:
    """Add changes to hot accounts' rows. The rows are taken in id order (the ORDER BY feeds the upsert in that
    order), so two transactions adding to the same accounts never wait on each other in a cycle; the balances'
    CHECK constraints judge the result."""
    await conn.execute(
        """INSERT INTO accounts AS a (id, kind, admdvs, debits_pending, debits_posted, credits_pending, credits_posted)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::numeric[], $5::numeric[], $6::numeric[],
                                $7::numeric[]) ORDER BY 1
           ON CONFLICT (id) DO UPDATE SET debits_pending = a.debits_pending + EXCLUDED.debits_pending,
                                          debits_posted = a.debits_posted + EXCLUDED.debits_posted,
                                          credits_pending = a.credits_pending + EXCLUDED.credits_pending,
                                          credits_posted = a.credits_posted + EXCLUDED.credits_posted""",
        [a.id for a in totals],
        [a.kind.value for a in totals],
        [a.admdvs for a in totals],
        [a.debits_pending for a in totals],
        [a.debits_posted for a in totals],
        [a.credits_pending for a in totals],
        [a.credits_posted for a in totals],
    )


class LedgerRepository:
    def __init__(self, conn: Conn, increments: AccountIncrements | None = None) -> None:
        self.conn = conn
        self.increments = increments
        """Where hot accounts' changes wait for the transaction's end; None: they are added at once."""

    async def _collect(self, accounts: Iterable[Account]) -> list[Account]:
        """The accounts whose balances are written as they are (locked); a hot account's changes are collected
        (or, outside a kernel's transaction, added at once)."""
        locked: list[Account] = []
        hot: list[Account] = []
        for a in accounts:
            (hot if a.increments_only else locked).append(a)
        if hot and self.increments is None:
            added = AccountIncrements()
            for a in hot:
                added.collect(a)
            await added.flush(self.conn)
        elif hot:
            assert self.increments is not None
            for a in hot:
                self.increments.collect(a)
        return locked

    async def ensure_account(self, account_id: str, kind: AccountKind, admdvs: str) -> None:
        await self.ensure_accounts((account_id, kind, admdvs))

    async def ensure_accounts(self, *accounts: tuple[str, AccountKind, str]) -> None:
        """Create the accounts that do not exist yet, in one statement (in id order, as they are locked). A row
        that exists is left out before the insert, so this never waits for another transaction's change of it (only
        for another transaction's insert of the same new row)."""
        wanted = sorted(set(accounts))
        await self.conn.execute(
            """INSERT INTO accounts (id, kind, admdvs)
               SELECT v.id, v.kind, v.admdvs FROM unnest($1::text[], $2::text[], $3::text[]) AS v(id, kind, admdvs)
               WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = v.id)
               ON CONFLICT (id) DO NOTHING""",
            [a[0] for a in wanted],
            [a[1].value for a in wanted],
            [a[2] for a in wanted],
        )

    async def ensure_and_lock(self, *accounts: tuple[str, AccountKind, str]) -> dict[str, Account]:
        """`ensure_accounts` then `lock`, in one statement: the upsert takes each row's lock (changing no key), in
        id order."""
        wanted = sorted(set(accounts))
        await self._added_before_read(a[0] for a in wanted)
        rows = await self.conn.fetch(
            """INSERT INTO accounts (id, kind, admdvs) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
               ON CONFLICT (id) DO UPDATE SET kind = accounts.kind
               RETURNING id, kind, admdvs, debits_pending, debits_posted, credits_pending, credits_posted""",
            [a[0] for a in wanted],
            [a[1].value for a in wanted],
            [a[2] for a in wanted],
        )
        return {r["id"]: _account(r) for r in rows}

    async def lock(self, *account_ids: str) -> dict[str, Account]:
        await self._added_before_read(account_ids)
        rows = await self.conn.fetch(
            """SELECT id, kind, admdvs, debits_pending, debits_posted, credits_pending, credits_posted
               FROM accounts WHERE id = ANY($1::text[]) ORDER BY id FOR NO KEY UPDATE""",
            sorted(set(account_ids)),
        )
        return {r["id"]: _account(r) for r in rows}

    async def hot_accounts(self, *accounts: tuple[str, AccountKind, str]) -> dict[str, Account]:
        await self.ensure_accounts(*accounts)  # does not wait for a row that exists
        return {a[0]: Account(a[0], a[1], a[2], increments_only=True) for a in accounts}

    async def _added_before_read(self, account_ids: Iterable[str]) -> None:
        """A locked read of a hot account sees what this transaction collected for it so far."""
        if self.increments is not None:
            await self.increments.flush(self.conn, account_ids)

    async def save_posted_transfer(self, transfer: LedgerTransfer) -> None:
        """The transfer, both balances and the statement lines in one statement (one round trip)."""
        t, debit, credit, amount = transfer, transfer.debit, transfer.credit, transfer.amount
        debit_kind, credit_kind = posted_kinds(t.code, t.entry)
        lines = self._movement_rows(t.id, t.entry, (debit, debit_kind, -amount), (credit, credit_kind, amount))
        accounts = await self._collect((debit, credit))
        await self.conn.execute(
            """WITH t AS (
                 INSERT INTO transfers (id, client_id, debit_account, credit_account, amount, state, code, resolved_at)
                 VALUES ($1, $2, $3, $4, $5, 'posted', $6, now())
               ), a AS (
                 UPDATE accounts a SET debits_pending = v.dp, debits_posted = v.dpo, credits_pending = v.cp,
                                       credits_posted = v.cpo
                 FROM unnest($7::text[], $8::numeric[], $9::numeric[], $10::numeric[], $11::numeric[])
                      AS v(id, dp, dpo, cp, cpo)
                 WHERE a.id = v.id
               )
               INSERT INTO movements (psn_no, account, account_id, at, kind, amount, balance_after,
                                      ledger_transfer_id, transfer_id, setl_id)
               SELECT m.psn_no, m.account, m.account_id, m.at, m.kind, m.amount, m.balance_after, $1, m.transfer_id,
                      m.setl_id
               FROM unnest($12::text[], $13::text[], $14::text[], $15::timestamptz[], $16::text[], $17::numeric[],
                           $18::numeric[], $19::text[], $20::text[])
                    AS m(psn_no, account, account_id, at, kind, amount, balance_after, transfer_id, setl_id)""",
            t.id,
            t.client_id,
            debit.id,
            credit.id,
            amount,
            t.code,
            [a.id for a in accounts],
            [a.debits_pending for a in accounts],
            [a.debits_posted for a in accounts],
            [a.credits_pending for a in accounts],
            [a.credits_posted for a in accounts],
            *([row[i] for row in lines] for i in (0, 1, 2, 3, 4, 5, 6, 8, 9)),
        )

    async def save_accounts(self, *accounts: Account) -> None:
        """Write the accounts' balances back, in one statement (a hot account's changes wait for the end)."""
        accounts = tuple(await self._collect(accounts))
        if not accounts:
            return
        await self.conn.execute(
            """UPDATE accounts a SET debits_pending = v.dp, debits_posted = v.dpo, credits_pending = v.cp,
                                     credits_posted = v.cpo
               FROM unnest($1::text[], $2::numeric[], $3::numeric[], $4::numeric[], $5::numeric[])
                    AS v(id, dp, dpo, cp, cpo)
               WHERE a.id = v.id""",
            [a.id for a in accounts],
            [a.debits_pending for a in accounts],
            [a.debits_posted for a in accounts],
            [a.credits_pending for a in accounts],
            [a.credits_posted for a in accounts],
        )

    async def save_pending_transfer(self, transfer: LedgerTransfer) -> None:
        """A hold: the debit side's balance falls now (transfer_out); the credit side's rises only when posted."""
        t = transfer
        await self.conn.execute(
            """INSERT INTO transfers (id, client_id, debit_account, credit_account, amount, state, code)
               VALUES ($1, $2, $3, $4, $5, 'pending', $6)""",
            t.id,
            t.client_id,
            t.debit.id,
            t.credit.id,
            t.amount,
            t.code,
        )
        await self.save_accounts(t.debit, t.credit)
        await self._moved(t.id, t.entry, (t.debit, MovementKind.TRANSFER_OUT, -t.amount))

    async def resolve_pending(
        self, transfer_id: uuid.UUID, state: str, debit: Account, credit: Account, entry: Entry
    ) -> None:
        """Posted: the amount arrives on the credit side (transfer_in). Voided: it is the debit side's again
        (transfer_returned)."""
        amount = await self.conn.fetchval(
            "UPDATE transfers SET state = $2, resolved_at = now() WHERE id = $1 AND state = 'pending' RETURNING amount",
            transfer_id,
            state,
        )
        await self.save_accounts(debit, credit)
        if amount is None:
            return
        if state == "posted":
            await self._moved(transfer_id, entry, (credit, MovementKind.TRANSFER_IN, amount))
        else:
            await self._moved(transfer_id, entry, (debit, MovementKind.TRANSFER_RETURNED, amount))

    async def change_fund(self, account_id: str, admdvs: str) -> None:
        status = await self.conn.execute(
            "UPDATE accounts SET admdvs = $2 WHERE id = $1 AND kind = 'personal'", account_id, admdvs
        )
        if status != "UPDATE 1":
            raise RuntimeError(f"{account_id} is not a personal account: {status}")

    async def _moved(
        self, ledger_transfer_id: uuid.UUID, entry: Entry, *sides: tuple[Account, MovementKind, Decimal]
    ) -> None:
        """The statement's lines for a ledger change, one per member account it touched, with the balance after
        it (the account is locked: its lines are in the order its changes happened)."""
        rows = self._movement_rows(ledger_transfer_id, entry, *sides)
        if rows:
            await self.conn.executemany(
                """INSERT INTO movements (psn_no, account, account_id, at, kind, amount, balance_after,
                                          ledger_transfer_id, transfer_id, setl_id)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
                rows,
            )

    @staticmethod
    def _movement_rows(
        ledger_transfer_id: uuid.UUID, entry: Entry, *sides: tuple[Account, MovementKind, Decimal]
    ) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        for account, kind, amount in sides:
            member = member_of(account)
            if member is not None:
                psn_no, which = member
                rows.append(
                    (
                        psn_no,
                        which,
                        account.id,
                        entry.at,
                        kind.value,
                        amount,
                        account.balance,
                        ledger_transfer_id,
                        entry.transfer_id,
                        entry.setl_id,
                    )
                )
        return rows


def _account(r: Any) -> Account:
    return Account(
        r["id"],
        AccountKind(r["kind"]),
        r["admdvs"],
        r["debits_pending"],
        r["debits_posted"],
        r["credits_pending"],
        r["credits_posted"],
    )
