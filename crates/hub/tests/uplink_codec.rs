//! Property tests of the uplink frame codec (zstd-compressed `telemetry_batch`).

use chrono::{TimeZone, Utc};
use pitbox_hub::uplink::{MAX_DECOMPRESSED_BYTES, UplinkError, decode_frame, encode_batch, encode_json};
use pitbox_model::control::TelemetryBatch;
use pitbox_model::telemetry::{TelemetryUpdate, TireWear};
use proptest::prelude::*;

const LIMIT: usize = 256 * 1024;

fn sample(driver: String) -> impl Strategy<Value = TelemetryUpdate> {
    (
        0.0..600.0f64,
        0.0..20_000.0f64,
        -1..=12i32,
        0.0..=100.0f64,
        -1_800.0..1_800.0f64,
        0.0..=1.0f64,
        0u32..500,
        0i64..4_000_000_000_000,
        proptest::option::of(-90.0..=90.0f64),
        proptest::option::of(1u64..u64::MAX / 2),
    )
        .prop_map(move |(speed, rpm, gear, pedal, steer, pos, lap, ms, lat, seq)| TelemetryUpdate {
            driver_id: driver.clone(),
            timestamp: Utc.timestamp_millis_opt(ms).single().unwrap_or_default(),
            speed,
            rpm,
            gear,
            throttle: pedal,
            brake: 100.0 - pedal,
            steering_angle: steer,
            latitude: lat,
            longitude: lat.map(|l| l * 2.0),
            track_position: pos,
            lap,
            sector: lap % 4,
            fuel_level: pedal,
            tire_wear: TireWear { front_left: pedal, front_right: 1.0, rear_left: 2.0, rear_right: 3.0 },
            position: None,
            lap_distance: None,
            lap_time: None,
            session_time: None,
            yaw_rate: None,
            lateral_accel: None,
            longitudinal_accel: None,
            fuel_liters: None,
            on_pit_road: Some(lap % 2 == 0),
            sequence: seq,
            sim_session_id: None,
            last_lap_time: None,
            on_track: None,
            in_garage: None,
            replay_playing: None,
            off_track: None,
            session_laps_remaining: None,
            session_time_remaining: None,
            pit_service_flags: None,
            pit_service_fuel_l: None,
            session_flags: None,
        })
}

fn batch() -> impl Strategy<Value = TelemetryBatch> {
    ("[a-zA-Z0-9_.:@-]{1,64}", 1u64..u64::MAX / 2, proptest::option::of("[a-zA-Z0-9_.:@-]{1,64}")).prop_flat_map(
        |(driver, sequence, origin)| {
            proptest::collection::vec(sample(driver.clone()), 1..40).prop_map(move |samples| TelemetryBatch {
                driver_id: driver.clone(),
                sequence,
                samples,
                origin: origin.clone(),
            })
        },
    )
}

proptest! {
    #[test]
    fn round_trip(b in batch(), level in 1i32..10) {
        let frame = encode_batch(&b, level).unwrap();
        prop_assert_eq!(decode_frame(&frame, LIMIT).unwrap(), b);
    }

    /// One encoder for many batches (as the relay flushes) gives frames that decode to each
    /// batch, and the JSON inside is exactly the protocol's `telemetry_batch` message.
    #[test]
    fn a_reused_encoder_frames_every_batch_as_the_message(bs in proptest::collection::vec(batch(), 1..4), level in 1i32..6) {
        let mut enc = pitbox_hub::uplink::BatchEncoder::new(level).unwrap();
        for b in &bs {
            let frame = enc.encode(b).unwrap();
            prop_assert_eq!(&decode_frame(&frame, LIMIT).unwrap(), b);
            let json = pitbox_hub::uplink::decompress(&frame, LIMIT, 1 << 24).unwrap();
            let got: serde_json::Value = serde_json::from_slice(&json).unwrap();
            let want: serde_json::Value =
                serde_json::from_str(&pitbox_model::Message::TelemetryBatch(b.clone()).to_json()).unwrap();
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = decode_frame(&bytes, LIMIT);
    }

    #[test]
    fn truncated_or_flipped_frames_are_refused_not_panicking(b in batch(), cut in 0usize..10_000, flip in any::<(usize, u8)>()) {
        let frame = encode_batch(&b, 3).unwrap();
        let cut = cut % frame.len();
        let _ = decode_frame(&frame[..cut], LIMIT);
        let mut flipped = frame.clone();
        let i = flip.0 % flipped.len();
        flipped[i] ^= flip.1 | 1;
        if let Ok(got) = decode_frame(&flipped, LIMIT) {
            // A flip zstd cannot see (e.g. inside a literal) must still yield a valid batch.
            prop_assert!(got.sequence >= 1 && !got.samples.is_empty());
        }
    }
}

#[test]
fn bombs_and_wrong_content_are_refused() {
    // 16 MiB of zeros compresses to a few hundred bytes: refused after 4 MiB of output.
    let bomb = encode_json(&vec![b' '; 16 << 20], 3).unwrap();
    assert!(bomb.len() < LIMIT);
    assert!(
        matches!(decode_frame(&bomb, LIMIT), Err(UplinkError::DecompressedTooLarge { limit }) if limit == MAX_DECOMPRESSED_BYTES)
    );
    // an oversized compressed frame is refused before decompression
    assert!(matches!(decode_frame(&vec![0x28; LIMIT + 1], LIMIT), Err(UplinkError::TooLarge { .. })));
    // not zstd
    assert!(matches!(decode_frame(b"{\"type\":\"ping\"}", LIMIT), Err(UplinkError::NotZstd)));
    // zstd, but another message type
    let ping = encode_json(br#"{"type":"ping","data":{"id":1,"timestamp":"2026-11-26T16:00:00Z"}}"#, 3).unwrap();
    let err = decode_frame(&ping, LIMIT).unwrap_err();
    assert!(matches!(err, UplinkError::WrongType("ping")));
    // zstd, a batch that breaks a rule: precise field
    let bad =
        encode_json(br#"{"type":"telemetry_batch","data":{"driverId":"d","sequence":0,"samples":[]}}"#, 3).unwrap();
    let err = decode_frame(&bad, LIMIT).unwrap_err();
    assert_eq!(err.code(), pitbox_model::control::ErrorCode::ValidationFailed);
    match err.to_message() {
        pitbox_model::Message::Error(e) => assert!(e.field.is_some_and(|f| f.starts_with("data.")), "precise field"),
        other => panic!("{other:?}"),
    }
}
