-- The wallet ledger (docs/adr/0004-ledger.md): accounts change only through transfers.
CREATE TABLE accounts (
    id              text PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('personal', 'fund', 'wallet')),
    admdvs          char(6) NOT NULL,
    debits_pending  numeric(16,2) NOT NULL DEFAULT 0 CHECK (debits_pending >= 0),
    debits_posted   numeric(16,2) NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
    credits_pending numeric(16,2) NOT NULL DEFAULT 0 CHECK (credits_pending >= 0),
    credits_posted  numeric(16,2) NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- personal accounts and wallets can never be overdrawn, holds included
    CONSTRAINT never_overdrawn CHECK (kind = 'fund' OR credits_posted - debits_posted - debits_pending >= 0)
);

CREATE TABLE transfers (
    id              uuid PRIMARY KEY,
    client_id       text NOT NULL UNIQUE,
    debit_account   text NOT NULL REFERENCES accounts (id),
    credit_account  text NOT NULL REFERENCES accounts (id),
    amount          numeric(16,2) NOT NULL CHECK (amount > 0),
    state           text NOT NULL CHECK (state IN ('pending', 'posted', 'voided')),
    code            text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    resolved_at     timestamptz,
    CHECK (debit_account <> credit_account)
);
CREATE INDEX transfers_debit ON transfers (debit_account);
CREATE INDEX transfers_credit ON transfers (credit_account);

-- A final state never changes again.
CREATE FUNCTION transfers_final_state_is_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.state IN ('posted', 'voided') THEN
        RAISE EXCEPTION 'transfer % is % and can never change', OLD.id, OLD.state;
    END IF;
    IF NEW.amount <> OLD.amount OR NEW.debit_account <> OLD.debit_account OR NEW.credit_account <> OLD.credit_account THEN
        RAISE EXCEPTION 'transfer % can change only its state', OLD.id;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER transfers_final BEFORE UPDATE ON transfers FOR EACH ROW EXECUTE FUNCTION transfers_final_state_is_final();
CREATE TRIGGER transfers_no_delete BEFORE DELETE ON transfers FOR EACH ROW EXECUTE FUNCTION transfers_final_state_is_final();

CREATE TABLE regions (
    admdvs          char(6) PRIMARY KEY,
    wallet_enabled  boolean NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
