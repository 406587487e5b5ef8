//! The stint planner on hostile input: any bytes as a `POST /api/strategy/plan` body, and
//! requests built from raw bits (NaN, infinities, negatives, huge and tiny values) so that the
//! planner itself, not just the JSON decoder, is exercised. It must return a plan or a precise
//! error, never panic; a returned plan must keep its invariants.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pitbox_strategy::{DriverSpec, PlanRequest, Race, plan};

fn check(req: &PlanRequest) {
    if let Ok(p) = plan(req) {
        let laps: u32 = p.stints.iter().map(|s| s.laps).sum();
        assert_eq!(laps, p.race_laps);
        assert_eq!(p.stops as usize + 1, p.stints.len());
        assert!(p.total_race_time_s.is_finite() && p.finish_fuel_l.is_finite());
    }
}

fn f(bytes: &[u8], i: usize) -> f64 {
    let mut b = [0u8; 8];
    for (k, slot) in b.iter_mut().enumerate() {
        *slot = bytes.get(i * 8 + k).copied().unwrap_or(0);
    }
    // Mostly plausible magnitudes, sometimes raw bits (NaN, infinities, subnormals).
    if b[7] & 0x80 == 0 { f64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])) / 1_000.0 } else { f64::from_le_bytes(b) }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = serde_json::from_slice::<PlanRequest>(data) {
        check(&req);
    }
    let n = usize::from(data.first().copied().unwrap_or(1) % 4) + 1;
    let req = PlanRequest {
        race: if data.get(1).is_some_and(|b| b & 1 == 1) {
            Race { laps: None, minutes: Some(f(data, 1)) }
        } else {
            Race { laps: Some(u32::from(data.get(2).copied().unwrap_or(10)) * 4), minutes: None }
        },
        lap_time_s: f(data, 2),
        fuel_per_lap_l: f(data, 3),
        tank_l: f(data, 4),
        start_fuel_l: data.get(3).is_some_and(|b| b & 1 == 1).then(|| f(data, 5)),
        fuel_margin_l: data.get(3).is_some_and(|b| b & 2 == 2).then(|| f(data, 6)),
        pit_lane_s: f(data, 7),
        refuel_lps: f(data, 8),
        tyre_change_s: f(data, 9),
        tyres_every_stints: data.get(4).map(|b| u32::from(*b % 5)),
        drivers: (0..n)
            .map(|i| DriverSpec {
                id: format!("d{i}"),
                max_stint_minutes: data.get(5 + i).is_some_and(|b| b & 1 == 1).then(|| f(data, 10 + i)),
                lap_time_s: data.get(5 + i).is_some_and(|b| b & 2 == 2).then(|| f(data, 14 + i)),
                driven_minutes: data.get(5 + i).is_some_and(|b| b & 4 == 4).then(|| f(data, 21 + i)),
            })
            .collect(),
        min_driver_minutes: data.get(9).is_some_and(|b| b & 1 == 1).then(|| f(data, 18)),
        max_driver_minutes: data.get(9).is_some_and(|b| b & 2 == 2).then(|| f(data, 19)),
        first_stint_driven_minutes: data.get(9).is_some_and(|b| b & 4 == 4).then(|| f(data, 20)),
    };
    check(&req);
});
