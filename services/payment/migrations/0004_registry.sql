-- Interface v1.1 registry listings (services/payment/registry.py): the payment service answers
-- registry.query-requested. Institutions are its own; the regions' wallet status is the wallet's, copied here
-- from wallet.events.v1 (wallet.region-wallet-status-changed).
CREATE TABLE regions (
    admdvs          char(6) PRIMARY KEY,
    wallet_enabled  boolean NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- A page of a region's or a province's institutions, in code order after a cursor, is one index range.
CREATE INDEX institutions_by_region ON institutions (admdvs, fixmedins_code);
