-- Names are not stored in clear (issue 11, part 4): only their keyed hash (shared.identity.name_hash), as the
-- certificate number. Rows from before are hashed when the service starts (adapters/people_repository.py,
-- hash_stored_names), which clears psn_name; the column stays only for them.
ALTER TABLE people ADD COLUMN name_hash text;
ALTER TABLE people ALTER COLUMN psn_name DROP NOT NULL;
