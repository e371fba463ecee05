CREATE TABLE institutions (
    fixmedins_code  text PRIMARY KEY,
    fixmedins_name  text NOT NULL,
    fixmedins_type  text NOT NULL CHECK (fixmedins_type IN ('1', '2')),
    admdvs          char(6) NOT NULL,
    wallet_enabled  boolean NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
