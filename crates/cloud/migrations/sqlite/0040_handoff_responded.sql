-- Issue 21: a handoff remembers when and by whom it last moved (accepted, rejected, completed);
-- before, `respondedAt` stayed null after an answer. Null while pending and for older rows.
ALTER TABLE handoffs ADD COLUMN responded_at BIGINT;
ALTER TABLE handoffs ADD COLUMN responder_id TEXT;
