-- The team's current stint plan (POST /api/strategy/plan), one per team: the request as sent
-- and the plan computed from it, both JSON. Times are Unix milliseconds (UTC).

CREATE TABLE strategy_plans (
    team_id TEXT PRIMARY KEY,
    request TEXT NOT NULL,
    plan TEXT NOT NULL,
    planned_by TEXT NOT NULL,
    planned_at BIGINT NOT NULL
);
