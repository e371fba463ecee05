-- Messaging tables every service has in its own schema.

-- Tracking records: the last offset whose effects are committed, per consumer and partition.
-- Written in the same transaction as the effects, so a redelivered record is recognised even when
-- the Kafka offset commit was lost (see docs/adr/0003-inbox-outbox-and-tracking.md).
CREATE TABLE consumer_positions (
    consumer    text        NOT NULL,
    topic       text        NOT NULL,
    partition   integer     NOT NULL,
    last_offset bigint      NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, topic, partition)
);

-- Inbox: one row per (sender, msgid) ever answered, with the answer, so a repeat gets it again.
CREATE TABLE inbox (
    sender       text        NOT NULL,
    msgid        text        NOT NULL,
    type         text        NOT NULL,
    status       text        NOT NULL CHECK (status IN ('completed', 'accepted', 'rejected')),
    reason_code  text,
    result       jsonb       NOT NULL,
    topic        text        NOT NULL,
    partition    integer     NOT NULL,
    "offset"     bigint      NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    repeats      integer     NOT NULL DEFAULT 0,
    last_repeat_at timestamptz,
    PRIMARY KEY (sender, msgid)
);
CREATE INDEX inbox_received_at ON inbox (received_at);

-- Outbox: messages to publish, written in the transaction that decided them.
CREATE TABLE outbox (
    id           bigserial   PRIMARY KEY,
    msgid        text        NOT NULL UNIQUE,
    topic        text        NOT NULL,
    key          text        NOT NULL,
    type         text        NOT NULL,
    value        bytea       NOT NULL,
    headers      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
