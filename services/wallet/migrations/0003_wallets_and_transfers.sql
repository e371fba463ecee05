-- The wallet's own copies of people and relationships (from relationship.events.v1), wallets, quota
-- lots, and the transfer saga with its step history (docs/adr/0009-transfer-saga.md).
CREATE TABLE people (
    psn_no               text PRIMARY KEY,
    certno_hash          text NOT NULL,
    name_hash            text NOT NULL,
    insuplc_admdvs       char(6) NOT NULL,
    may_provide          boolean NOT NULL,
    may_receive          boolean NOT NULL,
    effective_at         timestamptz NOT NULL
);

CREATE TABLE relationships (
    relationship_id   text PRIMARY KEY,
    provider_psn_no   text NOT NULL,
    recipient_psn_no  text NOT NULL,
    established       boolean NOT NULL,
    provider_admdvs   char(6) NOT NULL,
    recipient_admdvs  char(6) NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX relationships_established_pair ON relationships (provider_psn_no, recipient_psn_no) WHERE established;

CREATE TABLE wallets (
    psn_no        text PRIMARY KEY,
    usage_admdvs  char(6) NOT NULL,
    opened_at     timestamptz NOT NULL
);

CREATE TABLE transfer_sagas (
    transfer_id      text PRIMARY KEY,
    from_psn_no      text NOT NULL,
    to_psn_no        text NOT NULL,
    relationship_id  text NOT NULL,
    amount           numeric(16,2) NOT NULL CHECK (amount > 0),
    state            text NOT NULL CHECK (state IN ('pending', 'completed', 'returned')),
    return_reason    text CHECK (return_reason IN ('declined', 'expired', 'relationship_ended')),
    business_day     char(8) NOT NULL,
    requested_at     timestamptz NOT NULL,
    deadline         timestamptz NOT NULL,
    resolved_at      timestamptz,
    hold_id          uuid NOT NULL UNIQUE REFERENCES transfers (id),
    from_admdvs      char(6) NOT NULL,
    to_admdvs        char(6) NOT NULL,
    CHECK ((state = 'returned') = (return_reason IS NOT NULL))
);
-- While one transfer to a recipient waits, the sender cannot send that recipient another.
CREATE UNIQUE INDEX transfer_sagas_one_pending_per_pair ON transfer_sagas (from_psn_no, to_psn_no) WHERE state = 'pending';
CREATE INDEX transfer_sagas_by_sender_day ON transfer_sagas (from_psn_no, business_day);
CREATE INDEX transfer_sagas_pending_deadline ON transfer_sagas (deadline) WHERE state = 'pending';
CREATE INDEX transfer_sagas_by_relationship ON transfer_sagas (relationship_id) WHERE state = 'pending';

CREATE TABLE transfer_steps (
    transfer_id  text NOT NULL REFERENCES transfer_sagas (transfer_id),
    seq          integer NOT NULL,
    at           timestamptz NOT NULL,
    step         text NOT NULL,
    detail       text,
    PRIMARY KEY (transfer_id, seq)
);

-- Quota in a wallet, by the provider (and so the region) that funded it.
CREATE TABLE lots (
    lot_id           text PRIMARY KEY,           -- the transfer that created it
    wallet_psn_no    text NOT NULL,
    provider_psn_no  text NOT NULL,
    funding_admdvs   char(6) NOT NULL,
    relationship_id  text NOT NULL,
    amount           numeric(16,2) NOT NULL CHECK (amount > 0),
    remaining        numeric(16,2) NOT NULL CHECK (remaining >= 0 AND remaining <= amount),
    created_at       timestamptz NOT NULL
);
CREATE INDEX lots_by_wallet ON lots (wallet_psn_no, created_at) WHERE remaining > 0;
CREATE INDEX lots_by_relationship ON lots (relationship_id) WHERE remaining > 0;
