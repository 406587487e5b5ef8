//! Golden, round-trip, spec-example, broken-variant and bad-input tests for the wire protocol.

use std::fs;
use std::path::{Path, PathBuf};

use pitbox_model::control::ErrorCode;
use pitbox_model::protocol::{DEFAULT_MAX_FRAME_BYTES, MESSAGE_SPECS, MESSAGE_TYPES};
use pitbox_model::schema::{all_schema_files, model_spec};
use pitbox_model::{DecodeError, Message, decode};
use serde_json::{Value, json};

fn dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join(name)
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn golden(kind: &str) -> Value {
    let text = fs::read_to_string(dir("golden").join(format!("{kind}.json"))).expect("golden file");
    serde_json::from_str(&text).expect("golden is JSON")
}

#[test]
fn every_message_type_has_a_golden_example_that_round_trips_exactly() {
    for kind in MESSAGE_TYPES {
        let value = golden(kind);
        let bytes = serde_json::to_vec(&value).unwrap();
        let msg = decode(&bytes).unwrap_or_else(|e| panic!("golden {kind} rejected: {e}"));
        assert_eq!(msg.type_name(), *kind);
        // Rust -> JSON gives exactly the golden JSON (same keys, same values).
        let encoded: Value = serde_json::from_str(&msg.to_json()).unwrap();
        assert_eq!(encoded, value, "encoding of {kind} differs from golden");
        // JSON -> Rust -> JSON -> Rust is stable.
        let again = decode(msg.to_json().as_bytes()).unwrap();
        assert_eq!(again, msg);
    }
}

#[test]
fn message_table_has_no_duplicates_and_matches_the_enum() {
    let mut names: Vec<_> = MESSAGE_SPECS.iter().map(|s| s.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), MESSAGE_SPECS.len());
    assert!(MESSAGE_TYPES.contains(&"connection_established"));
    assert!(MESSAGE_TYPES.len() >= 20);
}

#[test]
fn every_spec_example_validates() {
    let mut n = 0;
    for entry in fs::read_dir(dir("spec_examples")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let bytes = fs::read(&path).unwrap();
        if let Some(kind) = name.strip_prefix("ws__") {
            let msg = decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(msg.type_name(), kind);
        } else if let Some(model) = name.strip_prefix("rest__") {
            let spec = model_spec(model).unwrap_or_else(|| panic!("no model {model}"));
            spec.check(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        } else {
            panic!("unexpected example file {name}");
        }
        n += 1;
    }
    assert!(n >= 20, "only {n} spec examples");
}

fn set(value: &mut Value, pointer: &str, new: Value) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let target = value.pointer_mut(parent).unwrap_or_else(|| panic!("no {parent}"));
    match target {
        Value::Object(map) => {
            if new.is_null() && key.starts_with('-') {
                map.remove(&key[1..]);
            } else {
                map.insert(key.to_string(), new);
            }
        }
        Value::Array(items) => items[key.parse::<usize>().unwrap()] = new,
        _ => panic!("not a container at {parent}"),
    }
}

/// (message, JSON pointer to change, new value (null with a '-' key removes it), field named, code)
fn broken_variants() -> Vec<(&'static str, &'static str, Value, &'static str, ErrorCode)> {
    use ErrorCode::*;
    vec![
        ("telemetry_update", "/data/throttle", json!(100.5), "data.throttle", ValidationFailed),
        ("telemetry_update", "/data/throttle", json!(-1), "data.throttle", ValidationFailed),
        ("telemetry_update", "/data/brake", json!(101), "data.brake", ValidationFailed),
        ("telemetry_update", "/data/trackPosition", json!(1.01), "data.trackPosition", ValidationFailed),
        ("telemetry_update", "/data/fuelLevel", json!(120), "data.fuelLevel", ValidationFailed),
        ("telemetry_update", "/data/tireWear/rearLeft", json!(-3), "data.tireWear.rearLeft", ValidationFailed),
        ("telemetry_update", "/data/gear", json!(-2), "data.gear", ValidationFailed),
        ("telemetry_update", "/data/speed", json!("fast"), "data.speed", ValidationFailed),
        ("telemetry_update", "/data/-driverId", Value::Null, "data.driverId", ValidationFailed),
        ("telemetry_update", "/data/driverId", json!(""), "data.driverId", ValidationFailed),
        ("telemetry_update", "/data/driverId", json!("a".repeat(65)), "data.driverId", ValidationFailed),
        ("telemetry_update", "/data/timestamp", json!("yesterday"), "data.timestamp", ValidationFailed),
        ("telemetry_update", "/data/latitude", json!(91), "data.latitude", ValidationFailed),
        ("telemetry_update", "/data/lap", json!(-1), "data.lap", ValidationFailed),
        ("telemetry_update", "/data/tireWear", json!({"frontLeft": 1}), "data.tireWear.frontRight", ValidationFailed),
        ("team_message", "/data/priority", json!("critical"), "data.priority", ValidationFailed),
        ("team_message", "/data/content", json!(""), "data.content", ValidationFailed),
        ("team_message", "/data/content", json!("x".repeat(4001)), "data.content", ValidationFailed),
        ("team_message", "/data/attachment/type", json!("video"), "data.attachment.type", ValidationFailed),
        ("team_message", "/data/attachment/url", json!("javascript:alert(1)"), "data.attachment.url", ValidationFailed),
        ("handoff_request", "/data/urgency", json!("asap"), "data.urgency", ValidationFailed),
        ("handoff_request", "/data/status", json!("done"), "data.status", ValidationFailed),
        ("handoff_request", "/data/targetDriverId", json!("drv-1"), "data.targetDriverId", ValidationFailed),
        (
            "handoff_request",
            "/data/telemetrySnapshot/throttle",
            json!(300),
            "data.telemetrySnapshot.throttle",
            ValidationFailed,
        ),
        ("handoff_response", "/data/status", json!("pending"), "data.status", ValidationFailed),
        ("ai_coaching", "/data/confidence", json!(1.5), "data.confidence", ValidationFailed),
        ("ai_coaching", "/data/priority", json!("meh"), "data.priority", ValidationFailed),
        ("authenticate", "/data/clientType", json!("toaster"), "data.clientType", ValidationFailed),
        ("authenticate", "/data/version", json!("one"), "data.version", ValidationFailed),
        ("authentication_result", "/data/role", json!("superuser"), "data.role", ValidationFailed),
        ("subscribe", "/data/maxRateHz", json!(1000), "data.maxRateHz", ValidationFailed),
        ("subscribe", "/data/channels", json!(["gossip"]), "data.channels[0]", ValidationFailed),
        ("standings_update", "/data/entries/0/carIdx", json!(64), "data.entries[0].carIdx", ValidationFailed),
        (
            "standings_update",
            "/data/entries/1/trackPosition",
            json!(2),
            "data.entries[1].trackPosition",
            ValidationFailed,
        ),
        ("session_info", "/data/sectors", json!([0.0, 0.6, 0.3]), "data.sectors", ValidationFailed),
        ("telemetry_batch", "/data/sequence", json!(0), "data.sequence", ValidationFailed),
        ("telemetry_batch", "/data/samples", json!([]), "data.samples", ValidationFailed),
        ("error", "/data/code", json!("oops"), "data.code", ValidationFailed),
        ("ping", "/type", json!("ping_pong"), "type", UnknownType),
        ("ping", "/-data", Value::Null, "data", InvalidMessage),
        ("ping", "/-type", Value::Null, "type", InvalidMessage),
    ]
}

#[test]
fn every_broken_variant_is_rejected_naming_the_field() {
    for (kind, pointer, new, field, code) in broken_variants() {
        let mut value = golden(kind);
        set(&mut value, pointer, new);
        let bytes = serde_json::to_vec(&value).unwrap();
        let err = decode(&bytes).expect_err(&format!("{kind} {pointer} should be rejected"));
        assert_eq!(err.code(), code, "{kind} {pointer}: {err}");
        assert_eq!(err.field().as_deref(), Some(field), "{kind} {pointer}: {err}");
        assert!(err.to_string().contains(field), "message names the field: {err}");
    }
}

#[test]
fn range_errors_say_the_rule_and_the_value() {
    let mut value = golden("telemetry_update");
    set(&mut value, "/data/throttle", json!(140));
    let err = decode(&serde_json::to_vec(&value).unwrap()).unwrap_err();
    assert_eq!(err.to_string(), "data.throttle: must be between 0 and 100, got 140");
}

#[test]
fn every_broken_rule_is_reported_not_just_the_first() {
    let mut value = golden("telemetry_update");
    set(&mut value, "/data/throttle", json!(140));
    set(&mut value, "/data/brake", json!(-5));
    let err = decode(&serde_json::to_vec(&value).unwrap()).unwrap_err();
    match err {
        DecodeError::Invalid(errs) => assert_eq!(errs.0.len(), 2),
        other => panic!("{other}"),
    }
}

#[test]
fn bad_input_gets_a_clear_error_never_a_panic() {
    let good = serde_json::to_string(&golden("telemetry_update")).unwrap();
    // Truncated at every length.
    for cut in 0..good.len() {
        let err = decode(&good.as_bytes()[..cut]).expect_err("truncated must fail");
        assert!(!err.to_string().is_empty());
    }
    // NaN / Infinity are not JSON.
    for bad in ["NaN", "Infinity", "-Infinity", "1e999"] {
        let text = good.replace("\"speed\":212.4", &format!("\"speed\":{bad}"));
        let err = decode(text.as_bytes()).unwrap_err();
        assert!(matches!(err.code(), ErrorCode::InvalidJson | ErrorCode::ValidationFailed), "{bad}: {err}");
    }
    // A 10 MB string is over the frame limit.
    let huge = format!(r#"{{"type":"team_message","data":{{"content":"{}"}}}}"#, "x".repeat(10 * 1024 * 1024));
    let err = decode(huge.as_bytes()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::FrameTooLarge);
    assert!(err.to_string().contains(&DEFAULT_MAX_FRAME_BYTES.to_string()));
    // Deep nesting in data, and at the top.
    let deep = format!(r#"{{"type":"ping","data":{}{}}}"#, "[".repeat(100_000), "]".repeat(100_000));
    assert!(decode(deep.as_bytes()).is_err());
    let deep_top = "[".repeat(200_000);
    assert_eq!(decode(deep_top.as_bytes()).unwrap_err().code(), ErrorCode::InvalidMessage);
    // Not an object, wrong envelope types, invalid UTF-8.
    for (input, code) in [
        (&b"[]"[..], ErrorCode::InvalidMessage),
        (b"42", ErrorCode::InvalidMessage),
        (b"{\"type\":7,\"data\":{}}", ErrorCode::ValidationFailed),
        (b"{\"type\":\"ping\",\"data\":[]}", ErrorCode::ValidationFailed),
        (b"{\"type\":\"ping\",\"data\":\"x\"}", ErrorCode::ValidationFailed),
        (b"\xff\xfe{}", ErrorCode::InvalidJson),
        (b"", ErrorCode::InvalidJson),
    ] {
        let err = decode(input).unwrap_err();
        assert_eq!(err.code(), code, "{:?}: {err}", String::from_utf8_lossy(input));
    }
}

#[test]
fn unknown_type_lists_the_known_ones() {
    let err = decode(br#"{"type":"telemetry_updat","data":{}}"#).unwrap_err();
    assert_eq!(err.code(), ErrorCode::UnknownType);
    assert!(err.to_string().contains("telemetry_update"));
}

#[test]
fn error_reply_carries_code_field_and_type() {
    let mut value = golden("telemetry_update");
    set(&mut value, "/data/gear", json!(-4));
    let bytes = serde_json::to_vec(&value).unwrap();
    let err = decode(&bytes).unwrap_err();
    let reply = err.to_message(pitbox_model::protocol::peek_type(&bytes).as_deref());
    let Message::Error(e) = &reply else { panic!("not an error") };
    assert_eq!(e.code, ErrorCode::ValidationFailed);
    assert_eq!(e.field.as_deref(), Some("data.gear"));
    assert_eq!(e.message_type.as_deref(), Some("telemetry_update"));
    assert!(decode(reply.to_json().as_bytes()).is_ok(), "the error reply is itself a valid message");
}

#[test]
fn handoff_state_machine_refuses_illegal_moves() {
    use pitbox_model::HandoffStatus::*;
    let legal = [(Pending, Accepted), (Pending, Rejected), (Accepted, Completed)];
    for from in pitbox_model::HandoffStatus::ALL {
        for to in pitbox_model::HandoffStatus::ALL {
            assert_eq!(from.can_become(*to), legal.contains(&(*from, *to)), "{from} -> {to}");
        }
    }
}

#[test]
fn checked_in_schemas_match_the_code() {
    let schema_dir = repo_root().join("docs/schema");
    let files = all_schema_files();
    if std::env::var_os("PITBOX_UPDATE_SCHEMA").is_some() {
        for (name, text) in &files {
            let path = schema_dir.join(name);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
    }
    let mut drift = Vec::new();
    for (name, text) in &files {
        match fs::read_to_string(schema_dir.join(name)) {
            Ok(on_disk) if &on_disk == text => {}
            Ok(_) => drift.push(format!("{name} differs")),
            Err(_) => drift.push(format!("{name} missing")),
        }
    }
    assert!(
        drift.is_empty(),
        "docs/schema drifted from the Rust types: {drift:?}\nregenerate with: PITBOX_UPDATE_SCHEMA=1 cargo test -p pitbox-model --test protocol checked_in_schemas"
    );
}

#[test]
fn protocol_doc_covers_every_message_and_its_examples_are_valid() {
    let doc = fs::read_to_string(repo_root().join("docs/protocol.md")).expect("docs/protocol.md");
    for kind in MESSAGE_TYPES {
        assert!(doc.contains(&format!("### `{kind}`")), "docs/protocol.md has no section for {kind}");
    }
    for code in ErrorCode::ALL {
        assert!(doc.contains(&format!("`{code}`")), "docs/protocol.md does not list error code {code}");
    }
    let mut examples = 0;
    for block in doc.split("```json").skip(1) {
        let body = block.split("```").next().unwrap();
        let value: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("bad JSON in doc: {e}\n{body}"));
        if value.get("type").is_some() {
            decode(body.as_bytes()).unwrap_or_else(|e| panic!("doc example rejected: {e}\n{body}"));
            examples += 1;
        }
    }
    assert!(examples >= MESSAGE_TYPES.len(), "docs/protocol.md has {examples} message examples");
}
