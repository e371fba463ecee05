-- The business clock this service runs with, for operators (tools/clock.py), and the latest business time it
-- has reached: a start on a clock behind it is refused, so a restart never moves business time backwards.
CREATE TABLE business_clock (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    offset_seconds double precision NOT NULL,
    started_at timestamptz NOT NULL,      -- real time of the latest start
    reached timestamptz NOT NULL          -- the latest business time seen by any instance of the service
);
