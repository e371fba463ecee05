-- The latest Kafka timestamp a consumer has processed on a partition: a record at or below the stored offset
-- is a redelivery only when it is no newer than that; a newer one comes from a recreated or reset topic and is
-- processed (issue 10: never skip silently). -1: not known yet (positions from before this migration).
ALTER TABLE consumer_positions ADD COLUMN max_timestamp bigint NOT NULL DEFAULT -1;
