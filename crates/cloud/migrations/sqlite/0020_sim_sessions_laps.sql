-- Issue 20: sessions as the sim defines them and laps as the sim timed them.
-- Nothing is deleted: sessions stored before this migration keep their rows and are marked
-- legacy = 1 (their laps were lap-counter buckets, not timed laps); the old laps table stays the
-- index of stored telemetry by lap counter.

ALTER TABLE sessions ADD COLUMN legacy BIGINT NOT NULL DEFAULT 0;
UPDATE sessions SET legacy = 1;

-- The sim's identity of the session (see docs/cloud.md): the key, iRacing's own SessionType,
-- track configuration, series, the driver's car index and number, and the event (subsession).
ALTER TABLE sessions ADD COLUMN sim_session_id TEXT;
ALTER TABLE sessions ADD COLUMN session_type TEXT;
ALTER TABLE sessions ADD COLUMN track_config TEXT;
ALTER TABLE sessions ADD COLUMN series TEXT;
ALTER TABLE sessions ADD COLUMN car_idx BIGINT;
ALTER TABLE sessions ADD COLUMN car_number TEXT;
ALTER TABLE sessions ADD COLUMN event_id TEXT;
ALTER TABLE sessions ADD COLUMN sim_started_at BIGINT;
CREATE UNIQUE INDEX sessions_sim_key ON sessions (driver_id, sim_session_id);

-- One row per lap as cut by pitbox_irsdk::laps: times are session seconds; lap_time is
-- iRacing's own (NULL when incomplete); invalid is a comma-separated list of reasons;
-- sectors a JSON array of seconds.
CREATE TABLE sim_laps (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id),
    team_id TEXT NOT NULL,
    driver_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    lap BIGINT NOT NULL,
    start_time DOUBLE PRECISION,
    end_time DOUBLE PRECISION,
    lap_time DOUBLE PRECISION,
    complete BIGINT NOT NULL,
    valid BIGINT NOT NULL,
    invalid TEXT NOT NULL,
    in_lap BIGINT NOT NULL,
    out_lap BIGINT NOT NULL,
    sectors TEXT NOT NULL,
    fuel_used DOUBLE PRECISION,
    started_at BIGINT NOT NULL,
    ended_at BIGINT NOT NULL,
    UNIQUE (session_id, seq)
);
CREATE INDEX sim_laps_team ON sim_laps (team_id, session_id);
