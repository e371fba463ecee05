-- When a cancellation or reversal started (to tell operators which undoings wait for the wallet too long).
ALTER TABLE settlements ADD COLUMN undo_requested_at timestamptz;
