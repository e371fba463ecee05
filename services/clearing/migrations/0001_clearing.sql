-- Monthly clearing (docs/adr/0010-paying-and-clearing.md). Obligations (items) per business month; a
-- closed month's items, pair totals and statements never change.
CREATE TABLE periods (
    period       char(6) PRIMARY KEY,
    state        text NOT NULL CHECK (state IN ('closed')),
    closed_at    timestamptz NOT NULL,
    closed_by    text NOT NULL,
    items        integer NOT NULL,
    statements   integer NOT NULL
);

-- One row per cross-region portion of a payment (forward) and per portion of its cancellation (reverse):
-- the funding region (debtor) owes the spending region (creditor).
CREATE TABLE items (
    item_id          text PRIMARY KEY,         -- setl_id:seq:f | setl_id:seq:r
    setl_id          text NOT NULL,
    seq              integer NOT NULL,
    direction        text NOT NULL CHECK (direction IN ('forward', 'reverse')),
    period           char(6) NOT NULL,
    natural_month    char(6) NOT NULL,         -- the settlement's own business month
    debtor_admdvs    char(6) NOT NULL,
    creditor_admdvs  char(6) NOT NULL,
    amount           numeric(16,2) NOT NULL CHECK (amount > 0),
    source           text NOT NULL,
    purpose          text NOT NULL,
    recorded_at      timestamptz NOT NULL,
    CHECK (debtor_admdvs <> creditor_admdvs)
);
CREATE INDEX items_by_period ON items (period);

-- Per closed month and unordered pair of regions (a < b): the gross both ways (forward - reverse) and the net.
CREATE TABLE pair_totals (
    period     char(6) NOT NULL REFERENCES periods (period),
    region_a   char(6) NOT NULL,
    region_b   char(6) NOT NULL,
    a_owes_b   numeric(16,2) NOT NULL,
    b_owes_a   numeric(16,2) NOT NULL,
    net_a_to_b numeric(16,2) NOT NULL,      -- a_owes_b - b_owes_a: what a pays b (negative: b pays a)
    items      integer NOT NULL,
    PRIMARY KEY (period, region_a, region_b),
    CHECK (region_a < region_b AND net_a_to_b = a_owes_b - b_owes_a)
);

-- One statement per closed month and region: what it owes and is owed, line by counterpart (pair_totals).
CREATE TABLE statements (
    statement_id   text PRIMARY KEY,
    period         char(6) NOT NULL REFERENCES periods (period),
    admdvs         char(6) NOT NULL,
    owes           numeric(16,2) NOT NULL,
    owed           numeric(16,2) NOT NULL,
    net            numeric(16,2) NOT NULL,     -- owed - owes
    counterparts   integer NOT NULL,
    issued_at      timestamptz NOT NULL,
    answer         text NOT NULL DEFAULT 'issued' CHECK (answer IN ('issued', 'confirmed', 'disputed')),
    UNIQUE (period, admdvs),
    CHECK (net = owed - owes)
);

CREATE TABLE statement_answers (
    statement_id  text NOT NULL REFERENCES statements (statement_id),
    sender        char(6) NOT NULL,
    msgid         text NOT NULL,
    answer        text NOT NULL CHECK (answer IN ('confirmed', 'disputed')),
    reason        text,
    at            timestamptz NOT NULL,
    PRIMARY KEY (sender, msgid)
);

-- A closed month never changes: no item joins it, none leaves, and its totals and statements stay.
CREATE FUNCTION closed_months_never_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE p char(6);
BEGIN
    p := CASE WHEN TG_OP = 'INSERT' THEN NEW.period ELSE OLD.period END;
    IF TG_TABLE_NAME = 'items' AND EXISTS (SELECT 1 FROM periods WHERE period = p) THEN
        RAISE EXCEPTION 'month % is closed: items cannot change', p;
    END IF;
    IF TG_TABLE_NAME = 'items' AND TG_OP = 'INSERT' THEN
        RETURN NEW;
    END IF;
    IF TG_TABLE_NAME = 'statements' AND TG_OP = 'UPDATE'
       AND (NEW.statement_id, NEW.period, NEW.admdvs, NEW.owes, NEW.owed, NEW.net, NEW.counterparts, NEW.issued_at)
           IS NOT DISTINCT FROM
           (OLD.statement_id, OLD.period, OLD.admdvs, OLD.owes, OLD.owed, OLD.net, OLD.counterparts, OLD.issued_at) THEN
        RETURN NEW;  -- only the region's answer changes
    END IF;
    RAISE EXCEPTION '% of closed month % cannot change', TG_TABLE_NAME, p;
END $$;
CREATE TRIGGER items_frozen BEFORE INSERT OR UPDATE OR DELETE ON items
    FOR EACH ROW EXECUTE FUNCTION closed_months_never_change();
CREATE TRIGGER pair_totals_frozen BEFORE UPDATE OR DELETE ON pair_totals
    FOR EACH ROW EXECUTE FUNCTION closed_months_never_change();
CREATE TRIGGER statements_frozen BEFORE UPDATE OR DELETE ON statements
    FOR EACH ROW EXECUTE FUNCTION closed_months_never_change();
CREATE TRIGGER periods_frozen BEFORE UPDATE OR DELETE ON periods
    FOR EACH ROW EXECUTE FUNCTION closed_months_never_change();
