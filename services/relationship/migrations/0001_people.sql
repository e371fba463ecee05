-- People as the relationship service needs them. certno is never stored: only its keyed hash.
CREATE TABLE people (
    psn_no               text PRIMARY KEY,
    psn_name             text NOT NULL,
    certno_hash          text NOT NULL,
    psn_cert_type        text NOT NULL,
    insutype             text NOT NULL,
    psn_insu_stas        text NOT NULL,
    insuplc_admdvs       char(6) NOT NULL,
    has_personal_account boolean NOT NULL,
    last_change_reason   text NOT NULL,
    effective_at         timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX people_certno_hash ON people (certno_hash);
