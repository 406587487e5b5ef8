-- Issue 21: a relay on a new data folder (or a second relay) numbers a driver's uplink batches
-- from 1 again. Each sender's numbering (`telemetry_batch.origin`, '' for senders without one)
-- is kept apart, so those batches are stored instead of taken for ones already stored.
-- SQLite cannot change a primary key in place: the table is rebuilt (the same on both databases).
CREATE TABLE uplink_sequences_by_origin (
    driver_id TEXT NOT NULL,
    origin TEXT NOT NULL DEFAULT '',
    last_sequence BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (driver_id, origin)
);
INSERT INTO uplink_sequences_by_origin (driver_id, origin, last_sequence, updated_at)
    SELECT driver_id, '', last_sequence, updated_at FROM uplink_sequences;
DROP TABLE uplink_sequences;
ALTER TABLE uplink_sequences_by_origin RENAME TO uplink_sequences;
