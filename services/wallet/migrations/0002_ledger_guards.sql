-- Transfers: only a pending transfer's state (and resolution time) may change; nothing is deleted.
CREATE OR REPLACE FUNCTION transfers_final_state_is_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.state IN ('posted', 'voided') THEN
        RAISE EXCEPTION 'transfer % is % and can never change', OLD.id, OLD.state;
    END IF;
    IF (NEW.id, NEW.client_id, NEW.debit_account, NEW.credit_account, NEW.amount, NEW.code, NEW.created_at)
       IS DISTINCT FROM
       (OLD.id, OLD.client_id, OLD.debit_account, OLD.credit_account, OLD.amount, OLD.code, OLD.created_at) THEN
        RAISE EXCEPTION 'transfer % can change only its state', OLD.id;
    END IF;
    RETURN NEW;
END $$;

CREATE FUNCTION transfers_are_never_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'transfer % cannot be deleted: void it instead', OLD.id;
END $$;
DROP TRIGGER transfers_no_delete ON transfers;
CREATE TRIGGER transfers_no_delete BEFORE DELETE ON transfers FOR EACH ROW EXECUTE FUNCTION transfers_are_never_deleted();
