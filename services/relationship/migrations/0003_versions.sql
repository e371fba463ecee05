-- Every change to a relationship or a person bumps its version; events carry it, so the other services' copies
-- keep the newest state whatever order events arrive in (ADR 0012). Existing rows: the steps they went through.
ALTER TABLE relationships ADD COLUMN version integer NOT NULL DEFAULT 1 CHECK (version >= 1);
UPDATE relationships SET version = CASE status WHEN 'pending' THEN 1 WHEN 'established' THEN 2
                                               ELSE CASE WHEN established_at IS NULL THEN 2 ELSE 3 END END;
ALTER TABLE people ADD COLUMN version integer NOT NULL DEFAULT 1 CHECK (version >= 1);
