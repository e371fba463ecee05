-- Relationships (共济关系) and the regional policy table (docs/policies.md).
CREATE TABLE relationships (
    relationship_id     text PRIMARY KEY,
    provider_psn_no     text NOT NULL,
    recipient_psn_no    text NOT NULL,
    kinship             text NOT NULL,
    kinship_group       text NOT NULL CHECK (kinship_group IN ('immediate', 'extended')),
    status              text NOT NULL CHECK (status IN ('pending', 'established', 'ended')),
    provider_admdvs     char(6) NOT NULL,
    recipient_admdvs    char(6) NOT NULL,
    requested_at        timestamptz NOT NULL,
    expires_at          timestamptz NOT NULL,
    established_at      timestamptz,
    ended_at            timestamptz,
    end_reason          text,
    end_detail          text,
    requested_by_msgid  text NOT NULL,
    CHECK (provider_psn_no <> recipient_psn_no),
    CHECK ((status = 'ended') = (ended_at IS NOT NULL)),
    CHECK ((status = 'pending') OR established_at IS NOT NULL OR end_reason IS NOT NULL)
);
-- No second active relationship for the same pair, even when two requests race.
CREATE UNIQUE INDEX relationships_one_active_per_pair ON relationships (provider_psn_no, recipient_psn_no)
    WHERE status <> 'ended';
CREATE INDEX relationships_active_by_provider ON relationships (provider_psn_no) WHERE status <> 'ended';
CREATE INDEX relationships_active_by_recipient ON relationships (recipient_psn_no) WHERE status <> 'ended';
CREATE INDEX relationships_pending_by_expiry ON relationships (expires_at) WHERE status = 'pending';

CREATE TABLE policies (
    admdvs      char(6) PRIMARY KEY,
    settings    jsonb NOT NULL,
    version     integer NOT NULL DEFAULT 1,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text NOT NULL
);
