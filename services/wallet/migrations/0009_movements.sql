-- The member's statement (interface v1.1, wallet.statement): every change to what a personal account or a
-- wallet may spend, in the order the account's row lock let it happen (id), at business time, with the
-- balance after it. Written in the same transaction as the ledger change (ledger_repository.py); append-only;
-- the books check rebuilds every amount and every balance_after from the ledger (adapters/books.py).
-- A pending transfer out lowers the personal account's balance when it is held (transfer_out) and raises it
-- again if it returns (transfer_returned); the wallet's balance rises only when the transfer is accepted.
CREATE TABLE movements (
    id                  bigserial PRIMARY KEY,
    psn_no              text NOT NULL,
    account             text NOT NULL CHECK (account IN ('personal', 'wallet')),
    account_id          text NOT NULL REFERENCES accounts (id),
    at                  timestamptz NOT NULL,
    kind                text NOT NULL CHECK (kind IN ('transfer_in', 'transfer_returned', 'payment',
                            'payment_cancelled', 'contribution', 'quota_returned', 'credit', 'transfer_out')),
    amount              numeric(16,2) NOT NULL CHECK (amount <> 0),
    balance_after       numeric(16,2) NOT NULL,
    ledger_transfer_id  uuid NOT NULL REFERENCES transfers (id),
    transfer_id         text,
    setl_id             text,
    CHECK (account_id = account || ':' || psn_no),
    UNIQUE (ledger_transfer_id, account_id, kind)
);
CREATE INDEX movements_by_person ON movements (psn_no, id);

CREATE FUNCTION movements_are_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a movement is never changed or deleted';
END $$;
CREATE TRIGGER movements_append_only BEFORE UPDATE OR DELETE ON movements
    FOR EACH ROW EXECUTE FUNCTION movements_are_kept();

-- What happened before this migration, rebuilt from the ledger in time order (database time: the ledger
-- kept no business time before).
INSERT INTO movements (psn_no, account, account_id, at, kind, amount, balance_after, ledger_transfer_id,
                       transfer_id, setl_id)
WITH member_accounts AS (
    SELECT id, split_part(id, ':', 1) AS account, substr(id, strpos(id, ':') + 1) AS psn_no
    FROM accounts WHERE kind IN ('personal', 'wallet')),
effects AS (
    -- a hold: out of the personal account when held; back if voided; into the wallet when posted
    SELECT t.id, t.debit_account AS account_id, t.created_at AS at, 1 AS phase, 'transfer_out' AS kind, -t.amount AS amount
    FROM transfers t WHERE t.code = 'transfer.hold'
    UNION ALL
    SELECT t.id, t.debit_account, t.resolved_at, 2, 'transfer_returned', t.amount
    FROM transfers t WHERE t.code = 'transfer.hold' AND t.state = 'voided'
    UNION ALL
    SELECT t.id, t.credit_account, t.resolved_at, 2, 'transfer_in', t.amount
    FROM transfers t WHERE t.code = 'transfer.hold' AND t.state = 'posted'
    UNION ALL
    SELECT t.id, t.debit_account, t.created_at, 1,
           CASE WHEN t.code = 'quota.return' THEN 'quota_returned'
                WHEN p.purpose = 'contribution' THEN 'contribution' ELSE 'payment' END,
           -t.amount
    FROM transfers t LEFT JOIN payment_debits d ON d.transfer_id = t.id LEFT JOIN payments p USING (setl_id)
    WHERE t.code <> 'transfer.hold' AND t.state = 'posted'
    UNION ALL
    SELECT t.id, t.credit_account, t.created_at, 1,
           CASE WHEN t.code = 'quota.return' THEN 'quota_returned'
                WHEN t.code = 'pay.refund' THEN 'payment_cancelled' ELSE 'credit' END,
           t.amount
    FROM transfers t WHERE t.code <> 'transfer.hold' AND t.state = 'posted')
SELECT m.psn_no, m.account, e.account_id, e.at, e.kind, e.amount,
       sum(e.amount) OVER (PARTITION BY e.account_id ORDER BY e.at, e.phase, e.id
                           ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW),
       e.id,
       CASE WHEN t.code = 'transfer.hold' THEN s.transfer_id
            WHEN t.code = 'quota.return' THEN split_part(t.client_id, ':', 2)
            WHEN t.code LIKE 'credit.%' THEN t.id::text END,
       COALESCE(d.setl_id, r.setl_id)
FROM effects e
JOIN member_accounts m ON m.id = e.account_id
JOIN transfers t ON t.id = e.id
LEFT JOIN transfer_sagas s ON s.hold_id = t.id
LEFT JOIN payment_debits d ON d.transfer_id = t.id
LEFT JOIN payment_debits r ON r.refund_transfer_id = t.id
ORDER BY e.at, e.phase, e.id;

-- New movements never leave an account below zero (the ledger guarantees it); the rows rebuilt above are in
-- database-time order, which is not always the order the account's lock gave, so they are not held to it.
ALTER TABLE movements ADD CONSTRAINT movements_never_below_zero CHECK (balance_after >= 0) NOT VALID;
