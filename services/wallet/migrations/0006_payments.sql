-- Paying from wallets and personal accounts (docs/adr/0010-paying-and-clearing.md).
-- Money spent leaves the ledger into the spending region's `spending` account; a refund moves it back.
ALTER TABLE accounts DROP CONSTRAINT accounts_kind_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_kind_check CHECK (kind IN ('personal', 'fund', 'wallet', 'spending'));

-- One row per payment the payment service asked for (its setl_id): debited, refused or refunded.
CREATE TABLE payments (
    setl_id       text PRIMARY KEY,
    purpose       text NOT NULL CHECK (purpose IN ('settlement', 'contribution')),
    psn_no        text NOT NULL,
    state         text NOT NULL CHECK (state IN ('debited', 'refused', 'refunded')),
    refusal_code  text,
    debited_at    timestamptz NOT NULL,
    refunded_at   timestamptz
);

-- What each payment took, source by source: lots (oldest first) then a personal account. A refund puts
-- exactly these back (refund_transfer_id set); a row never changes otherwise.
CREATE TABLE payment_debits (
    setl_id             text NOT NULL REFERENCES payments (setl_id),
    seq                 integer NOT NULL,
    source              text NOT NULL CHECK (source IN ('wallet', 'own_account', 'provider_account')),
    payer_psn_no        text NOT NULL,
    account_id          text NOT NULL REFERENCES accounts (id),
    lot_id              text REFERENCES lots (lot_id),
    funding_admdvs      char(6) NOT NULL,
    spending_admdvs     char(6) NOT NULL,
    amount              numeric(16,2) NOT NULL CHECK (amount > 0),
    transfer_id         uuid NOT NULL UNIQUE REFERENCES transfers (id),
    refund_transfer_id  uuid UNIQUE REFERENCES transfers (id),
    PRIMARY KEY (setl_id, seq),
    CHECK ((source = 'wallet') = (lot_id IS NOT NULL))
);
CREATE INDEX payment_debits_by_lot ON payment_debits (lot_id) WHERE lot_id IS NOT NULL;
