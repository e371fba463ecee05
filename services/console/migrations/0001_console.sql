-- The operators' console (issue 13, ADR 0019): its operators, their audit log, and a read model built from the
-- platform's event streams and the provinces' notifications. No other schema is read.

CREATE TABLE operators (
    name           text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_.-]{1,39}$'),
    password_hash  text NOT NULL,  -- argon2id (argon2-cffi), never the password
    role           text NOT NULL CHECK (role IN ('viewer', 'operator')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    disabled_at    timestamptz
);

-- Every replay and month close, and every login, refused or not. Written in the same transaction as nothing
-- else: it is the record of what an operator asked for, before the console does it.
CREATE TABLE audit_log (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    operator   text NOT NULL,
    action     text NOT NULL,
    target     text NOT NULL,
    outcome    text NOT NULL,
    detail     jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_by_at ON audit_log (at DESC);

-- Transfers and settlements as the streams tell them.
CREATE TABLE sagas (
    kind        text NOT NULL CHECK (kind IN ('transfer', 'settlement')),
    saga_id     text NOT NULL,
    state       text NOT NULL,
    state_rank  integer NOT NULL,  -- a state is never replaced by an earlier one (streams are read out of step)
    amount      numeric(16,2),
    psn_no      text,            -- the provider (transfer) or the patient (settlement); masked on every page
    other_psn_no text,           -- the recipient of a transfer
    region      char(6),
    detail      text,
    started_at  timestamptz,     -- business time, from the events
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (kind, saga_id)
);
CREATE INDEX sagas_by_state ON sagas (kind, state, started_at);
CREATE INDEX sagas_by_psn ON sagas (psn_no);
CREATE INDEX sagas_by_other_psn ON sagas (other_psn_no);

-- One saga's timeline: each event or notification that named it.
CREATE TABLE saga_steps (
    kind        text NOT NULL,
    saga_id     text NOT NULL,
    at          timestamptz NOT NULL,
    type        text NOT NULL,
    msgid       text NOT NULL,
    topic       text NOT NULL,
    detail      text,
    PRIMARY KEY (kind, saga_id, msgid)
);

-- The answers provinces got (request.result), by the msgid they answer.
CREATE TABLE answers (
    answer_msgid text PRIMARY KEY,
    omsgid       text NOT NULL,
    otype        text NOT NULL,
    status       text NOT NULL,
    reason_code  text,
    topic        text NOT NULL,
    kind         text,
    saga_id      text,
    at           timestamptz NOT NULL
);
CREATE INDEX answers_by_omsgid ON answers (omsgid);

-- Clearing months: open while obligations come in, then closed; statements and their answers.
CREATE TABLE months (
    period       char(6) PRIMARY KEY,
    items        integer NOT NULL DEFAULT 0,
    closed_at    timestamptz,
    statements   integer,
    gross        numeric(16,2)
);
CREATE TABLE statement_answers (
    statement_id text PRIMARY KEY,
    period       char(6) NOT NULL,
    admdvs       char(6) NOT NULL,
    answer       text NOT NULL,
    reason       text,
    at           timestamptz NOT NULL
);

-- Where the read model stands in each partition it follows (written with what it applied).
CREATE TABLE read_positions (
    topic      text NOT NULL,
    partition  integer NOT NULL,
    next_offset bigint NOT NULL,
    PRIMARY KEY (topic, partition)
);
