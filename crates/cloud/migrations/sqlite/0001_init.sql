-- PitBox cloud schema, version 1. Times are Unix milliseconds (UTC); flags are 0/1 integers.
-- migrations/postgres/0001_init.sql is this file with BLOB spelt BYTEA (a test checks it).

CREATE TABLE teams (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    team_id TEXT REFERENCES teams (id),
    created_at BIGINT NOT NULL
);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    family_id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

CREATE TABLE driver_profiles (
    user_id TEXT PRIMARY KEY REFERENCES users (id),
    team_id TEXT NOT NULL REFERENCES teams (id),
    name TEXT NOT NULL,
    number BIGINT NOT NULL,
    status TEXT NOT NULL,
    role TEXT NOT NULL,
    avatar_url TEXT NOT NULL,
    telemetry_connected BIGINT NOT NULL,
    last_active BIGINT NOT NULL
);
CREATE INDEX driver_profiles_team ON driver_profiles (team_id);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL,
    driver_id TEXT NOT NULL,
    track TEXT,
    car TEXT,
    source TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    last_sample_at BIGINT NOT NULL
);
CREATE INDEX sessions_team ON sessions (team_id, started_at);
CREATE INDEX sessions_driver ON sessions (driver_id, last_sample_at);

CREATE TABLE laps (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id),
    team_id TEXT NOT NULL,
    driver_id TEXT NOT NULL,
    lap BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    ended_at BIGINT NOT NULL,
    sample_count BIGINT NOT NULL,
    UNIQUE (session_id, lap)
);

-- Samples accepted but not yet compacted into a chunk: one row per (group commit, driver, lap),
-- each a zstd-compressed columnar block. The compactor turns them into telemetry_chunks.
CREATE TABLE telemetry_staging (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    driver_id TEXT NOT NULL,
    lap BIGINT NOT NULL,
    first_at BIGINT NOT NULL,
    last_at BIGINT NOT NULL,
    sample_count BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX telemetry_staging_lap ON telemetry_staging (session_id, lap);

-- Compacted telemetry: one object per chunk in the object store.
CREATE TABLE telemetry_chunks (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    driver_id TEXT NOT NULL,
    lap BIGINT NOT NULL,
    first_at BIGINT NOT NULL,
    last_at BIGINT NOT NULL,
    sample_count BIGINT NOT NULL,
    object_key TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX telemetry_chunks_lap ON telemetry_chunks (session_id, lap);

-- Relay uplink: the last batch stored per driver (idempotency by driverId + sequence).
CREATE TABLE uplink_sequences (
    driver_id TEXT PRIMARY KEY,
    last_sequence BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE team_messages (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams (id),
    content TEXT NOT NULL,
    sender_id TEXT NOT NULL,
    sender_name TEXT NOT NULL,
    priority TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    attachment TEXT
);
CREATE INDEX team_messages_team ON team_messages (team_id, sent_at);

CREATE TABLE message_reads (
    message_id TEXT NOT NULL REFERENCES team_messages (id),
    user_id TEXT NOT NULL,
    read_at BIGINT NOT NULL,
    PRIMARY KEY (message_id, user_id)
);

CREATE TABLE handoffs (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams (id),
    requester_id TEXT NOT NULL,
    requester_name TEXT NOT NULL,
    target_driver_id TEXT NOT NULL,
    target_driver_name TEXT NOT NULL,
    reason TEXT NOT NULL,
    urgency TEXT NOT NULL,
    requested_at BIGINT NOT NULL,
    status TEXT NOT NULL,
    telemetry_snapshot TEXT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX handoffs_team ON handoffs (team_id, requested_at);

-- Third-party API keys, encrypted with the master key (ChaCha20-Poly1305, the name as AAD).
CREATE TABLE secrets (
    name TEXT PRIMARY KEY,
    nonce BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    updated_at BIGINT NOT NULL
);
