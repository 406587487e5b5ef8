-- Issue 25 §5: the lap of the team's history a driver's cues before the corner are made against,
-- chosen on the pit wall (PUT /api/drivers/{id}/cue-reference). One per driver; no row means the
-- driver's own best valid lap. Times are Unix milliseconds (UTC).
CREATE TABLE cue_references (
    driver_id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL,
    lap_id TEXT NOT NULL,
    name TEXT NOT NULL,
    lap_time_s DOUBLE PRECISION NOT NULL,
    set_by TEXT NOT NULL,
    set_at BIGINT NOT NULL
);
