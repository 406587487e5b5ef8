-- Coaching messages made after every stored lap, and synthesised speech clips.
-- Times are Unix milliseconds (UTC); durations milliseconds.

CREATE TABLE coaching_messages (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL,
    driver_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    lap BIGINT,
    priority TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX coaching_messages_driver ON coaching_messages (team_id, driver_id, created_at);
CREATE INDEX coaching_messages_session ON coaching_messages (session_id, created_at);

CREATE TABLE voice_clips (
    team_id TEXT NOT NULL,
    cache_key TEXT NOT NULL,
    object_key TEXT NOT NULL,
    duration_ms BIGINT NOT NULL,
    bytes BIGINT NOT NULL,
    provider TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (team_id, cache_key)
);
