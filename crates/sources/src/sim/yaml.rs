//! The simulator's session info, written the way iRacing writes it (one-space indents, `- `
//! list items, values verbatim).

use super::Sim;
use std::fmt::Write;

pub(super) fn session_yaml(sim: &Sim) -> String {
    let cfg = &sim.cfg;
    let t = cfg.track;
    let car = &cfg.car;
    let mut y = String::with_capacity(8 * 1024);
    // Writing to a String cannot fail.
    let _ = writeln!(y, "---");
    let _ = writeln!(y, "WeekendInfo:");
    let _ = writeln!(y, " TrackName: {}", t.name);
    let _ = writeln!(y, " TrackID: {}", t.id);
    let _ = writeln!(y, " TrackLength: {:.2} km", sim.track.length / 1000.0);
    let _ = writeln!(y, " TrackDisplayName: {}", t.display_name);
    let _ = writeln!(y, " TrackDisplayShortName: {}", t.display_name);
    let _ = writeln!(y, " TrackConfigName: {}", t.config_name);
    let _ = writeln!(y, " TrackCity: {}", t.city);
    let _ = writeln!(y, " TrackCountry: {}", t.country);
    let _ = writeln!(y, " TrackNumTurns: {}", sim.track.corners.len());
    let _ = writeln!(y, " SeriesID: 0");
    let _ = writeln!(y, " SeasonID: 0");
    let _ = writeln!(y, " SessionID: {}", super::SIM_SESSION_ID);
    let _ = writeln!(y, " SubSessionID: {}", sim.sub_session_id);
    let _ = writeln!(y, " LeagueID: 0");
    let _ = writeln!(y, " Official: 0");
    let _ = writeln!(y, " EventType: Race");
    let _ = writeln!(y, " Category: Road");
    let _ = writeln!(y, " SimMode: full");
    let _ = writeln!(y, " TeamRacing: 1");
    let _ = writeln!(y, " NumCarClasses: 1");
    let _ = writeln!(y, " BuildType: Release");
    let _ = writeln!(y, " BuildVersion: pitbox-sim {} seed {}", env!("CARGO_PKG_VERSION"), cfg.seed);
    let _ = writeln!(y, " WeekendOptions:");
    let _ = writeln!(y, "  NumStarters: {}", sim.cars.len());
    let _ = writeln!(y);
    let _ = writeln!(y, "SessionInfo:");
    let _ = writeln!(y, " CurrentSessionNum: {}", sim.session_num());
    let _ = writeln!(y, " Sessions:");
    for (num, (kind, laps)) in sim.sessions().into_iter().enumerate() {
        let _ = writeln!(y, " - SessionNum: {num}");
        match laps {
            Some(l) => {
                let _ = writeln!(y, "   SessionLaps: {l}");
            }
            None => {
                let _ = writeln!(y, "   SessionLaps: unlimited");
            }
        }
        let _ = writeln!(y, "   SessionTime: unlimited");
        let _ = writeln!(y, "   SessionNumLapsToAvg: 0");
        let _ = writeln!(y, "   SessionType: {}", kind.sdk_type());
        let _ = writeln!(y, "   SessionTrackRubberState: moderate usage");
        let _ = writeln!(y, "   SessionName: {}", kind.sdk_name());
    }
    let _ = writeln!(y);
    let _ = writeln!(y, "SplitTimeInfo:");
    let _ = writeln!(y, " Sectors:");
    for (i, s) in t.sectors.iter().enumerate() {
        let _ = writeln!(y, " - SectorNum: {i}");
        let _ = writeln!(y, "   SectorStartPct: {s:.6}");
    }
    let _ = writeln!(y);
    let _ = writeln!(y, "DriverInfo:");
    let _ = writeln!(y, " DriverCarIdx: {}", cfg.player_car_idx);
    let p = &sim.cars[cfg.player_car_idx];
    let _ = writeln!(y, " DriverUserID: {}", p.drivers[p.driver].user_id);
    let _ = writeln!(y, " PaceCarIdx: -1");
    let _ = writeln!(y, " DriverCarIdleRPM: {:.3}", car.idle_rpm);
    let _ = writeln!(y, " DriverCarRedLine: {:.3}", car.redline_rpm);
    let _ = writeln!(y, " DriverCarFuelKgPerLtr: 0.750");
    let _ = writeln!(y, " DriverCarFuelMaxLtr: {:.3}", car.tank_l);
    let _ = writeln!(y, " DriverCarMaxFuelPct: 1.000");
    let _ = writeln!(y, " DriverCarEstLapTime: {:.4}", t.reference_lap_s);
    let _ = writeln!(y, " Drivers:");
    for c in &sim.cars {
        let d = &c.drivers[c.driver];
        let initials: String = d.name.split_whitespace().filter_map(|w| w.chars().next()).collect();
        let (team_id, team_name) =
            if c.team_id != 0 { (c.team_id, c.team_name.clone()) } else { (d.user_id, d.name.clone()) };
        let _ = writeln!(y, " - CarIdx: {}", c.idx);
        let _ = writeln!(y, "   UserName: {}", d.name);
        let _ = writeln!(y, "   AbbrevName: {}", abbrev(&d.name));
        let _ = writeln!(y, "   Initials: {initials}");
        let _ = writeln!(y, "   UserID: {}", d.user_id);
        let _ = writeln!(y, "   TeamID: {team_id}");
        let _ = writeln!(y, "   TeamName: {team_name}");
        let _ = writeln!(y, "   CarNumber: \"{}\"", c.number);
        let _ = writeln!(y, "   CarNumberRaw: {}", c.number);
        let _ = writeln!(y, "   CarPath: {}", car.path);
        let _ = writeln!(y, "   CarClassID: {}", car.class_id);
        let _ = writeln!(y, "   CarID: {}", car.id);
        let _ = writeln!(y, "   CarIsPaceCar: 0");
        let _ = writeln!(y, "   CarIsAI: 0");
        let _ = writeln!(y, "   CarScreenName: {}", car.screen_name);
        let _ = writeln!(y, "   CarScreenNameShort: {}", car.short_name);
        let _ = writeln!(y, "   CarClassShortName: {}", car.class_short_name);
        let _ = writeln!(y, "   CarClassEstLapTime: {:.4}", t.reference_lap_s);
        let _ = writeln!(y, "   IRating: {}", d.irating);
        let _ = writeln!(y, "   LicString: A 4.{:02}", d.user_id % 100);
        let _ = writeln!(y, "   IsSpectator: 0");
    }
    let _ = writeln!(y);
    let _ = writeln!(y, "...");
    y
}

fn abbrev(name: &str) -> String {
    let mut parts = name.split_whitespace();
    let first = parts.next().unwrap_or("");
    let last = parts.last().unwrap_or("");
    match first.chars().next() {
        Some(c) if !last.is_empty() => format!("{last}, {c}"),
        _ => name.to_string(),
    }
}
