-- Issue 23 §2: which relay forwarded what. One row per relay credential and driver: messages and
-- samples accepted from that relay for that driver, and when (Unix ms). Written every few
-- seconds from the nodes' counts (pitbox_cloud::relays).
CREATE TABLE relay_forwards (
    relay_id TEXT NOT NULL,
    driver_id TEXT NOT NULL,
    team_id TEXT NOT NULL,
    relay_name TEXT NOT NULL,
    messages BIGINT NOT NULL,
    samples BIGINT NOT NULL,
    first_at BIGINT NOT NULL,
    last_at BIGINT NOT NULL,
    PRIMARY KEY (relay_id, driver_id)
);
CREATE INDEX relay_forwards_team ON relay_forwards (team_id, last_at);
