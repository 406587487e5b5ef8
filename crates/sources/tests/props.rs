//! Property tests: whatever bytes a row holds, the mapped messages pass the wire validation
//! (a glitching sim must never get a driver's stream refused), and source specs never panic.

use pitbox_irsdk::Layout;
use pitbox_irsdk::header::Header;
use pitbox_model::Message;
use pitbox_sources::mapping::{StandingsMapper, TelemetryMapper, session_info};
use pitbox_sources::sim::track::RED_BULL_RING;
use pitbox_sources::sim::{Sim, SimConfig, vars};
use pitbox_sources::spec::SourceSpec;
use proptest::prelude::*;

fn layout() -> Layout {
    let (v, buf_len) = vars::var_headers();
    let header = Header { buf_len: buf_len as i32, num_vars: v.len() as i32, ..Header::default() };
    Layout::from_vars(header, v).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_row_maps_to_valid_messages(
        seed in any::<u64>(),
        words in proptest::collection::vec(any::<u32>(), 64),
        floats in proptest::collection::vec(prop_oneof![
            Just(f32::NAN), Just(f32::INFINITY), Just(-1.0f32), Just(1e30f32), -1e3f32..1e3f32
        ], 64),
    ) {
        let l = layout();
        let mut row = vec![0u8; l.buf_len()];
        // Fill the row with a mix of arbitrary words and hostile floats.
        for (i, chunk) in row.chunks_exact_mut(4).enumerate() {
            let w = if (i / 7) % 2 == 0 { words[i % 64] } else { floats[i % 64].to_bits() };
            chunk.copy_from_slice(&w.to_le_bytes());
        }
        let mut cfg = SimConfig::new(seed, &RED_BULL_RING);
        cfg.cars = 1 + (seed % 64) as usize;
        cfg.player_car_idx = 0;
        let sim = Sim::new(cfg).unwrap();
        let s = pitbox_irsdk::SessionInfo::parse(&sim.session_yaml()).unwrap();
        let mut tm = TelemetryMapper::new(&l, "driver-1").unwrap();
        tm.set_session(&s);
        let now = chrono::Utc::now();
        let t = tm.telemetry(&row, now);
        prop_assert!(Message::TelemetryUpdate(t).validate().is_ok());
        let mut sm = StandingsMapper::new(&l, "driver-1").unwrap();
        sm.observe(&row);
        let st = sm.standings(&row, Some(&s), now);
        prop_assert!(Message::StandingsUpdate(st).validate().is_ok());
        let si = session_info(&s, Some(words[0] as i32), "driver-1", now);
        prop_assert!(Message::SessionInfo(si).validate().is_ok());
    }

    #[test]
    fn source_specs_never_panic(s in ".{0,40}") {
        let _ = s.parse::<SourceSpec>();
    }
}
