-- An ended relationship never comes back in the wallet's copy (a late or replayed "established" is ignored).
ALTER TABLE relationships ADD COLUMN ended_at timestamptz;
UPDATE relationships SET ended_at = updated_at WHERE NOT established;
