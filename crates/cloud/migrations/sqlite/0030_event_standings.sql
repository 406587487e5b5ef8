-- Issue 20 §2: standings of every car of an event (an iRacing subsession seen by the team),
-- kept per sim session so nothing is mixed across practice, qualifying and race. One row per
-- snapshot; `entries` is the JSON array of the protocol's StandingsEntry (one per CarIdx).
--   reason 'latest': the newest standings of the session (one row, updated as they come; at
--                    the end of the session it holds the final order);
--   reason 'stint':  taken when another team driver starts reporting (a driver change);
--   reason 'end':    taken when the reporting driver moves on to the next session.
-- Times are Unix milliseconds (UTC); session_time is the sim's clock in seconds.

CREATE TABLE event_standings (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    sim_session_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    reported_by TEXT NOT NULL,
    taken_at BIGINT NOT NULL,
    session_time DOUBLE PRECISION NOT NULL,
    entries TEXT NOT NULL
);
CREATE INDEX event_standings_event ON event_standings (team_id, event_id, sim_session_id);
