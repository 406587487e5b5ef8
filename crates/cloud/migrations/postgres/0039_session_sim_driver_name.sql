-- Issue 21: the name the sim gives the driver of a session (from session_info's driver list, the
-- line of the driver's own car), shown on the pit wall beside the team profile's name.
ALTER TABLE sessions ADD COLUMN sim_driver_name TEXT;
