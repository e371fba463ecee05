-- Freezing a wallet (interface v1.1): while frozen, the person's wallet receives and pays nothing and their
-- personal account sends nothing (services/wallet/freezes.py). The quota stays where it is. Every freeze and
-- unfreeze request the wallet accepted is kept, with its reason, who asked and whether it changed anything.
CREATE TABLE freezes (
    psn_no      text PRIMARY KEY,
    frozen      boolean NOT NULL,
    frozen_by   text CHECK (frozen_by IN ('province', 'national')),  -- who may lift it: a national freeze, only it
    reason      text NOT NULL,
    changed_at  timestamptz NOT NULL,
    CHECK (frozen = (frozen_by IS NOT NULL))
);

CREATE TABLE freeze_history (
    psn_no   text NOT NULL,
    seq      integer NOT NULL,
    at       timestamptz NOT NULL,
    action   text NOT NULL CHECK (action IN ('frozen', 'unfrozen')),
    changed  boolean NOT NULL,
    reason   text NOT NULL,
    sender   char(6) NOT NULL,
    msgid    text NOT NULL,
    PRIMARY KEY (psn_no, seq)
);

ALTER TABLE transfer_sagas DROP CONSTRAINT transfer_sagas_return_reason_check;
ALTER TABLE transfer_sagas ADD CONSTRAINT transfer_sagas_return_reason_check
    CHECK (return_reason IN ('declined', 'expired', 'relationship_ended', 'frozen'));
CREATE INDEX transfer_sagas_pending_to ON transfer_sagas (to_psn_no) WHERE state = 'pending';
CREATE INDEX transfer_sagas_pending_from ON transfer_sagas (from_psn_no) WHERE state = 'pending';
