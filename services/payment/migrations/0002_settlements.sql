-- Settlements and contributions (docs/adr/0010-paying-and-clearing.md). The wallet takes the money; this
-- service keeps what was asked, what each source paid, and the answers.
CREATE TABLE settlements (
    setl_id            text PRIMARY KEY,
    purpose            text NOT NULL CHECK (purpose IN ('settlement', 'contribution')),
    sender             char(6) NOT NULL,
    msgid              text NOT NULL,
    psn_no             text NOT NULL,           -- the patient, or the insured person of a contribution
    payer_psn_no       text,                    -- the provider (acct_used_flag 2) or the contribution's payer
    mdtrt_id           text,
    fixmedins_code     text,
    institution_admdvs char(6),
    med_type           text,
    insutype           text,
    year               integer,
    medfee_sumamt      numeric(16,2),
    fund_pay_sumamt    numeric(16,2),
    psn_part_amt       numeric(16,2) NOT NULL CHECK (psn_part_amt >= 0),
    acct_used_flag     text NOT NULL,
    use_wallet         boolean NOT NULL,
    setl_time          timestamptz NOT NULL,
    state              text NOT NULL CHECK (state IN ('debiting', 'completed', 'refused', 'cancelling', 'cancelled')),
    acct_pay           numeric(16,2),
    acct_mulaid_pay    numeric(16,2),
    wallet_pay         numeric(16,2),
    psn_cash_pay       numeric(16,2),
    balc               numeric(16,2),
    wallet_balc        numeric(16,2),
    refusal_code       text,
    undo_kind          text CHECK (undo_kind IN ('cancellation', 'reversal')),
    undo_sender        char(6),
    undo_msgid         text,
    requested_at       timestamptz NOT NULL,
    completed_at       timestamptz,
    cancelled_at       timestamptz,
    UNIQUE (sender, msgid),
    -- what was paid adds up to the personal part, to the fen
    CHECK (state NOT IN ('completed', 'cancelling', 'cancelled')
           OR acct_pay + wallet_pay + psn_cash_pay = psn_part_amt AND acct_mulaid_pay <= acct_pay AND psn_cash_pay >= 0)
);
CREATE INDEX settlements_by_setl_time ON settlements (setl_time);

-- Which account or lot paid how much, funded by which region, spent in which.
CREATE TABLE settlement_portions (
    setl_id          text NOT NULL REFERENCES settlements (setl_id),
    seq              integer NOT NULL,
    source           text NOT NULL CHECK (source IN ('wallet', 'own_account', 'provider_account')),
    payer_psn_no     text NOT NULL,
    lot_id           text,
    funding_admdvs   char(6) NOT NULL,
    spending_admdvs  char(6) NOT NULL,
    amount           numeric(16,2) NOT NULL CHECK (amount > 0),
    PRIMARY KEY (setl_id, seq)
);

-- Reversals (like 2601) by the original's (sender, msgid): what happened, and a block on a late original.
CREATE TABLE reversals (
    sender          char(6) NOT NULL,
    omsgid          text NOT NULL,
    otype           text NOT NULL,
    reversal_msgid  text NOT NULL,
    outcome         text NOT NULL CHECK (outcome IN ('original_blocked', 'original_undone', 'nothing_applied')),
    setl_id         text,
    at              timestamptz NOT NULL,
    PRIMARY KEY (sender, omsgid)
);
