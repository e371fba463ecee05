-- The wallet's copies keep the version of the relationship service's last change they applied, and an ended
-- relationship stays ended (ended_at), so a replayed, late or out-of-order event never revives or regresses
-- one (ADR 0012). Rows copied before: version 0, ended ones marked ended.
ALTER TABLE relationships ADD COLUMN version integer NOT NULL DEFAULT 0;
UPDATE relationships SET ended_at = coalesce(ended_at, updated_at) WHERE NOT established;
ALTER TABLE relationships ADD CONSTRAINT relationships_ended_is_not_established
    CHECK (ended_at IS NULL OR NOT established);
ALTER TABLE people ADD COLUMN version integer NOT NULL DEFAULT 0;
