//! The simulator's `CarLeftRight`: the team car is side by side with other cars at times, and
//! the value always matches the cars' positions along the lap.

use pitbox_irsdk::IbtFile;
use pitbox_sources::sim::output::write_ibt;
use pitbox_sources::sim::track::RED_BULL_RING;
use pitbox_sources::sim::{CAR_LENGTH_M, Sim, SimConfig};
use std::io::Cursor;

#[test]
fn the_team_car_has_side_by_side_moments_that_match_the_positions() {
    let mut sim = Sim::new(SimConfig::new(5, &RED_BULL_RING)).expect("sim");
    let (out, _) =
        write_ibt(&mut sim, Cursor::new(Vec::new()), 60 * 60 * 20, |s| s.player_laps_completed() >= 6).expect("ibt");
    let f = IbtFile::from_bytes(out.into_inner()).expect("ibt");
    let clr = f.handle::<i32>("CarLeftRight").expect("CarLeftRight");
    let pct = f.handle::<f32>("CarIdxLapDistPct").expect("pct");
    let pit = f.handle::<bool>("CarIdxOnPitRoad").expect("pit");
    let me = f.handle::<i32>("PlayerCarIdx").expect("player");
    let len = pitbox_sources::sim::track::Track::build(&RED_BULL_RING).length;
    let mut seen = [0usize; 7];
    for row in f.rows() {
        let v = clr.get(row);
        assert!((0..=6).contains(&v), "{v}");
        seen[v as usize] += 1;
        let p = me.get(row) as usize;
        if pit.at(row, p).unwrap_or(false) {
            assert_eq!(v, 0, "off in the pit lane");
            continue;
        }
        let p_s = f64::from(pct.at(row, p).unwrap_or(0.0)) * len;
        // Cars surely overlapping and cars possibly overlapping (f32 positions: a centimetre
        // of slack at the edge), per side.
        let (mut sure, mut maybe) = ([0, 0], [0, 0]);
        for i in 0..64 {
            let x = pct.at(row, i).unwrap_or(-1.0);
            if i == p || x < 0.0 || pit.at(row, i).unwrap_or(false) {
                continue;
            }
            let d = (f64::from(x) * len - p_s + len / 2.0).rem_euclid(len) - len / 2.0;
            let side = usize::from(i > p);
            if d.abs() < CAR_LENGTH_M - 0.01 {
                sure[side] += 1;
            }
            if d.abs() < CAR_LENGTH_M + 0.01 {
                maybe[side] += 1;
            }
        }
        let (want_left, want_right) = match v {
            1 => (0, 0),
            2 => (1, 0),
            3 => (0, 1),
            4 => (1, 1),
            5 => (2, 0),
            _ => (0, 2),
        };
        let fits = |want: usize, side: usize| {
            if want == 0 { sure[side] == 0 } else { maybe[side] >= want && (want == 2 || sure[side] <= 1 || v == 4) }
        };
        assert!(fits(want_left, 0) && fits(want_right, 1), "CarLeftRight {v}, sure {sure:?}, maybe {maybe:?}");
    }
    // The grid's first laps bring cars alongside on both sides, three wide too; the simulator
    // has no car-following, so equal-pace cars can stay alongside for a long time.
    assert!(seen[1] > 0 && seen[2] > 0 && seen[3] > 0 && seen[4] > 0, "{seen:?}");
}

/// `CarIdxEstTime` is time along a reference lap, as iRacing's: it rises through the lap to the
/// track's reference lap time, slowly through corners and fast on straights (so two cars at the
/// same pace keep the same gap in it through a braking zone, where their distance shrinks).
#[test]
fn est_time_is_time_along_a_reference_lap() {
    use pitbox_sources::sim::vars::Vars;
    let mut sim = Sim::new(SimConfig::new(5, &RED_BULL_RING)).expect("sim");
    let v = Vars::new().expect("vars");
    let track = pitbox_sources::sim::track::Track::build(&RED_BULL_RING);
    let (mut pct, mut est) = ([0f32; 64], [0f32; 64]);
    let (mut prev, mut top) = (None::<(f32, f32)>, 0f32);
    // Seconds of est time per metre, slowest and fastest part of the lap.
    let (mut slow, mut fast) = (0f64, f64::INFINITY);
    while sim.player_laps_completed() < 2 {
        sim.step();
        let row = sim.row();
        v.car_pct.read_into(row, &mut pct);
        v.car_est.read_into(row, &mut est);
        let p = usize::try_from(v.player_car_idx.get(row)).expect("player");
        let (x, e) = (pct[p], est[p]);
        if let Some((px, pe)) = prev
            && x > px
            && x - px < 0.01
        {
            assert!(e >= pe, "est time went back from {pe} to {e} at {x}");
            let per_m = f64::from(e - pe) / (f64::from(x - px) * track.length);
            slow = slow.max(per_m);
            fast = fast.min(per_m);
        }
        top = top.max(e);
        prev = Some((x, e));
    }
    let lap = RED_BULL_RING.reference_lap_s;
    assert!((f64::from(top) - lap).abs() < 0.02 * lap, "est time reaches {top} s, reference lap {lap} s");
    assert!(slow > 2.5 * fast, "corners {slow:.4} s/m, straights {fast:.4} s/m");
}
