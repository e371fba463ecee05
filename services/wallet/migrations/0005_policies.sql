-- The wallet's copy of the regional policy rows (from relationship.policy-changed): transfer limits.
CREATE TABLE policies (
    admdvs    char(6) PRIMARY KEY,
    settings  jsonb NOT NULL,
    version   integer NOT NULL
);
