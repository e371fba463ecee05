-- (sender, msgid) pairs that another service answered first (from <service>.msgids.v1): a msgid is unique per
-- sender platform-wide, so a second use here is refused MSGID_REUSED (ADR 0013).
CREATE TABLE msgids_elsewhere (
    sender      text        NOT NULL,
    msgid       text        NOT NULL,
    service     text        NOT NULL,
    type        text        NOT NULL,
    claimed_at  timestamptz NOT NULL,
    PRIMARY KEY (sender, msgid)
);
