-- Retention (issue 11, part 4; shared/messaging/retention.py): after MEDAID_RETENTION_DAYS a published outbox row
-- is deleted (the topic holds the record for its own retention) and an inbox row keeps only the core of its
-- answer (status, reason code, the ids the sender goes on with): the idempotency key stays for ever.
ALTER TABLE inbox ADD COLUMN payload_purged boolean NOT NULL DEFAULT false;
CREATE INDEX inbox_payload_kept ON inbox (received_at) WHERE NOT payload_purged;
CREATE INDEX outbox_created_at ON outbox (created_at);
