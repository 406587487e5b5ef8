//! Property tests: the decoder never panics, validators accept exactly their ranges, and valid
//! messages round-trip.

use pitbox_model::telemetry::{TelemetryUpdate, TireWear};
use pitbox_model::{Message, decode};
use proptest::prelude::*;

fn base_update() -> TelemetryUpdate {
    let golden = include_str!("golden/telemetry_update.json");
    match decode(golden.as_bytes()) {
        Ok(Message::TelemetryUpdate(u)) => u,
        other => panic!("golden: {other:?}"),
    }
}

fn valid_update() -> impl Strategy<Value = TelemetryUpdate> {
    (
        (0.0..=600.0f64, 0.0..=30_000.0f64, -1..=12i32, 0.0..=100.0f64, 0.0..=100.0f64),
        (-1800.0..=1800.0f64, 0.0..=1.0f64, 0..=100_000u32, 0..=64u32, 0.0..=100.0f64),
        proptest::array::uniform4(0.0..=100.0f64),
        (proptest::option::of(-90.0..=90.0f64), proptest::option::of(0u64..u64::MAX), "[a-z0-9_-]{1,64}"),
    )
        .prop_map(
            |((speed, rpm, gear, throttle, brake), (steer, pos, lap, sector, fuel), wear, (lat, seq, id))| {
                let mut u = base_update();
                u.driver_id = id;
                u.speed = speed;
                u.rpm = rpm;
                u.gear = gear;
                u.throttle = throttle;
                u.brake = brake;
                u.steering_angle = steer;
                u.track_position = pos;
                u.lap = lap;
                u.sector = sector;
                u.fuel_level = fuel;
                u.tire_wear =
                    TireWear { front_left: wear[0], front_right: wear[1], rear_left: wear[2], rear_right: wear[3] };
                u.latitude = lat;
                u.sequence = seq;
                u
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn valid_updates_round_trip(u in valid_update()) {
        let msg = Message::TelemetryUpdate(u);
        prop_assert!(msg.validate().is_ok(), "{:?}", msg.validate());
        let back = decode(msg.to_json().as_bytes());
        prop_assert_eq!(back.as_ref().ok(), Some(&msg), "{:?}", back);
    }

    #[test]
    fn throttle_accepted_exactly_in_range(t in -1_000.0..1_000.0f64) {
        let mut u = base_update();
        u.throttle = t;
        let r = Message::TelemetryUpdate(u).validate();
        if (0.0..=100.0).contains(&t) {
            prop_assert!(r.is_ok());
        } else {
            let errs = r.unwrap_err();
            prop_assert_eq!(errs.0.len(), 1);
            prop_assert_eq!(&errs.0[0].field, "data.throttle");
        }
    }

    #[test]
    fn track_position_and_gear_accepted_exactly_in_range(p in -2.0..2.0f64, g in -10..20i32) {
        let mut u = base_update();
        u.track_position = p;
        u.gear = g;
        let r = Message::TelemetryUpdate(u).validate();
        let ok = (0.0..=1.0).contains(&p) && (-1..=12).contains(&g);
        prop_assert_eq!(r.is_ok(), ok);
    }

    #[test]
    fn non_finite_numbers_are_rejected(which in 0..4usize) {
        let mut u = base_update();
        let bad = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, f64::NAN][which];
        u.speed = bad;
        let errs = Message::TelemetryUpdate(u).validate().unwrap_err();
        prop_assert!(errs.0[0].rule.contains("finite"));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode(&bytes);
    }

    #[test]
    fn mutated_golden_messages_never_panic(idx in 0usize..64, pos in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let kind = pitbox_model::protocol::MESSAGE_TYPES[idx % pitbox_model::protocol::MESSAGE_TYPES.len()];
        let path = format!("{}/tests/golden/{kind}.json", env!("CARGO_MANIFEST_DIR"));
        let mut bytes = std::fs::read(path).unwrap();
        let i = pos.index(bytes.len());
        bytes[i] = byte;
        let c = cut.index(bytes.len() + 1);
        let _ = decode(&bytes[..c]);
        let _ = decode(&bytes);
    }
}
