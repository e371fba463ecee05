-- A row the broker will never accept (too large, topic refused) is set aside with the reason instead
-- of blocking every row behind it; operators see it here and in the relay's error log.
ALTER TABLE outbox ADD COLUMN failed_at timestamptz, ADD COLUMN failure text;
DROP INDEX outbox_unpublished;
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL AND failed_at IS NULL;
