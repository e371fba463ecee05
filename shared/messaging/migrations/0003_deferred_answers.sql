-- An ingress message may wait for its answer while a saga crosses services (Decision.deferred).
ALTER TABLE inbox DROP CONSTRAINT inbox_status_check;
ALTER TABLE inbox ADD CONSTRAINT inbox_status_check CHECK (status IN ('completed', 'accepted', 'rejected', 'deferred'));
