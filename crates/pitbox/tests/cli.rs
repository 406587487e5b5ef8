//! The `pitbox` binary as a user runs it: protocol validation, config precedence, honest
//! "not built yet" subcommands.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn pitbox() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pitbox"));
    cmd.env_remove("PITBOX_CONFIG").env_remove("PITBOX_LOG").env_remove("RUST_LOG");
    cmd
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../model/tests/spec_examples")
}

fn run_with_stdin(mut cmd: Command, input: &[u8]) -> Output {
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn validate_accepts_every_spec_example() {
    let mut checked = 0;
    for entry in std::fs::read_dir(examples()).unwrap() {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
        let mut cmd = pitbox();
        cmd.args(["protocol", "validate"]);
        let expected = if let Some(model) = stem.strip_prefix("rest__") {
            cmd.args(["--as", model]);
            format!("ok {model}\n")
        } else {
            format!("ok {}\n", stem.trim_start_matches("ws__"))
        };
        let out = cmd.arg(&path).output().unwrap();
        assert!(out.status.success(), "{stem}: {}", stdout(&out));
        assert_eq!(stdout(&out), expected);
        checked += 1;
    }
    assert!(checked >= 20);
}

#[test]
fn validate_names_the_field_and_rule_and_exits_1() {
    let text = std::fs::read_to_string(examples().join("ws__telemetry_update.json")).unwrap();
    let cases = [
        ("\"throttle\": 87.5", "\"throttle\": 187.5", "error: data.throttle: must be between 0 and 100, got 187.5"),
        ("\"gear\": 4", "\"gear\": -3", "error: data.gear: must be between -1 and 12, got -3"),
        ("\"trackPosition\": 0.3421", "\"trackPosition\": 1.5", "error: data.trackPosition: must be between 0 and 1"),
        ("\"frontLeft\": 8.5", "\"frontLeft\": 101", "error: data.tireWear.frontLeft: must be between 0 and 100"),
        ("\"driverId\": \"drv-1\",", "", "error: data.driverId: required field missing"),
        ("\"type\": \"telemetry_update\"", "\"type\": \"telemetry\"", "error: type: unknown message type `telemetry`"),
        ("\"speed\": 187.3", "\"speed\": \"fast\"", "error: data.speed: invalid type: string \"fast\", expected f64"),
    ];
    for (from, to, expected) in cases {
        assert!(text.contains(from), "example lacks {from}");
        let out = run_with_stdin(
            {
                let mut c = pitbox();
                c.args(["protocol", "validate", "-"]);
                c
            },
            text.replace(from, to).as_bytes(),
        );
        assert_eq!(out.status.code(), Some(1), "{to}");
        assert!(stdout(&out).starts_with(expected), "{to}: got {}", stdout(&out));
    }
}

#[test]
fn validate_reads_json_lines_and_reports_each() {
    let good = r#"{"type":"ping","data":{"id":1,"timestamp":"2026-11-26T16:00:00Z"}}"#;
    let bad = r#"{"type":"ping","data":{"id":-1,"timestamp":"2026-11-26T16:00:00Z"}}"#;
    let mut cmd = pitbox();
    cmd.args(["protocol", "validate"]);
    let out = run_with_stdin(cmd, format!("{good}\n{bad}\n{good}\n").as_bytes());
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "line 1: ok ping");
    assert!(lines[1].starts_with("line 2: error: data.id: invalid value: integer `-1`"), "{}", lines[1]);
    assert_eq!(lines[2], "line 3: ok ping");
}

#[test]
fn validate_refuses_oversized_and_garbage_input_cleanly() {
    let mut cmd = pitbox();
    cmd.args(["protocol", "validate"]);
    let big = format!(r#"{{"type":"ping","data":{{"pad":"{}"}}}}"#, "x".repeat(300 * 1024));
    let out = run_with_stdin(cmd, big.as_bytes());
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("over the limit of 262144 bytes"));
    let mut cmd = pitbox();
    cmd.args(["protocol", "validate"]);
    let out = run_with_stdin(cmd, b"\x00\xff garbage {{{");
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).starts_with("error: not valid JSON"), "{}", stdout(&out));
}

#[test]
fn unknown_model_is_a_clear_error() {
    let out = pitbox().args(["protocol", "validate", "--as", "nope", "-"]).stdin(Stdio::null()).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown model `nope`; known: login_request"));
}

#[test]
fn missing_file_is_a_clear_error() {
    let out = pitbox().args(["protocol", "validate", "/nonexistent/x.json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open /nonexistent/x.json"));
}

#[test]
fn config_file_sits_below_env_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("pitbox.toml");
    let cfg_arg = cfg.to_str().unwrap().to_string();
    // A 68-byte message; the limit decides whether it passes, so each layer's win is visible.
    let msg = br#"{"type":"ping","data":{"id":1,"timestamp":"2026-11-26T16:00:00Z"}}"#;
    let check = |env: Option<&str>, flag: Option<&str>| {
        let mut cmd = pitbox();
        cmd.args(["--config", &cfg_arg, "protocol", "validate"]);
        if let Some(v) = env {
            cmd.env("PITBOX_PROTOCOL_MAX_BYTES", v);
        }
        if let Some(v) = flag {
            cmd.args(["--max-bytes", v]);
        }
        run_with_stdin(cmd, msg).status.success()
    };
    std::fs::write(&cfg, "[protocol]\nmax-bytes = 10\n").unwrap();
    assert!(!check(None, None), "file sets the limit below the message");
    assert!(check(Some("1000"), None), "environment beats file");
    assert!(!check(Some("1000"), Some("10")), "flag beats environment");
    assert!(check(None, Some("1000")), "flag beats file");
    // A broken config file is refused with its name.
    std::fs::write(&cfg, "[relay\n").unwrap();
    let out = pitbox().args(["--config", cfg.to_str().unwrap(), "protocol", "types"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pitbox.toml is not valid TOML"));
    // A named file that does not exist is an error, not silently ignored.
    let out = pitbox().args(["--config", "/nonexistent/p.toml", "protocol", "types"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read config file /nonexistent/p.toml"));
}

#[test]
fn schema_command_writes_what_is_checked_in() {
    let dir = tempfile::tempdir().unwrap();
    let out = pitbox().args(["protocol", "schema", "--out", dir.path().to_str().unwrap()]).output().unwrap();
    assert!(out.status.success());
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/schema");
    for name in ["telemetry_update.json", "model/login_request.json"] {
        let written = std::fs::read_to_string(dir.path().join(name)).unwrap();
        let checked_in = std::fs::read_to_string(repo.join(name)).unwrap();
        assert_eq!(written, checked_in, "{name}");
    }
}

#[test]
fn configuration_reference_is_generated_and_checked_in() {
    let out = pitbox().args(["config", "reference"]).output().unwrap();
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("`PITBOX_PROTOCOL_MAX_BYTES` | `[protocol] max-bytes` | `262144`"), "{text}");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md");
    if std::env::var_os("PITBOX_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        checked_in, text,
        "docs/configuration.md is stale: PITBOX_UPDATE_DOCS=1 cargo test -p pitbox --test cli"
    );
}

/// A driver token from the offline set-up (`pitbox token`, a name checks outside rely on).
fn offline_token(dir: &Path, user: &str) -> String {
    let o = pitbox()
        .args(["token", "--data-dir"])
        .arg(dir)
        .args(["--user-id", user, "--role", "driver", "--team", "team-a"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    stdout(&o).trim().to_string()
}

#[test]
fn driver_takes_its_id_from_the_token_and_refuses_another() {
    let dir = tempfile::tempdir().unwrap();
    let token = offline_token(dir.path(), "usr-7f3a");
    let o = pitbox()
        .args(["driver", "--driver-id", "driver-1", "--relay-url", "ws://127.0.0.1:9", "--token", &token])
        .args(["--listen", "127.0.0.1:0", "--voice-enabled", "false", "--source", "sim"])
        .env("PITBOX_DRIVER_DATA_DIR", dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(err.contains("--driver-id driver-1 does not match the token, which belongs to driver usr-7f3a"), "{err}");
}

#[test]
fn logs_written_to_a_pipe_or_file_have_no_colour_codes() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    // Without a token the agent warns at once that telemetry stays local.
    let mut child = pitbox()
        .args(["driver", "--listen", "127.0.0.1:0", "--voice-enabled", "false", "--source", "sim"])
        .env("PITBOX_DRIVER_DATA_DIR", dir.path())
        .env_remove("NO_COLOR")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    let found = loop {
        match lines.next() {
            Some(Ok(l)) => {
                let hit = l.contains("no relay token");
                seen.push(l);
                if hit {
                    break true;
                }
            }
            _ => break false,
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(found, "no warning logged: {seen:?}");
    assert!(seen.iter().all(|l| !l.contains('\u{1b}')), "escape codes in the log: {seen:?}");
    assert!(seen.iter().any(|l| l.contains("WARN")), "{seen:?}");
}

/// Issue 23 §9–10: `pitbox user` manages accounts offline, on the database a running cloud reads
/// (its nodes apply the revocations these write within seconds: crates/cloud/tests/accounts.rs).
/// Issue 21 finding 6: the database flags go before or after the subcommand, and a command run
/// where there is no database says so instead of creating an empty one.
#[test]
fn user_and_team_commands_take_their_flags_anywhere_and_never_invent_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("cloud");
    let data = data.to_str().unwrap();
    let mut team = pitbox();
    team.args(["team", "add", "Apex", "--data-dir", data]);
    let o = team.output().unwrap();
    assert!(o.status.success(), "{o:?}");
    for args in [
        vec!["user", "list", "--data-dir", data],
        vec!["user", "--data-dir", data, "list"],
        vec!["team", "list", "--data-dir", data],
    ] {
        let o = pitbox().args(&args).output().unwrap();
        assert!(o.status.success(), "{args:?}: {o:?}");
    }
    let elsewhere = dir.path().join("wrong-folder");
    let elsewhere = elsewhere.to_str().unwrap();
    for args in [
        vec!["user", "list", "--data-dir", elsewhere],
        vec!["team", "list", "--data-dir", elsewhere],
        vec!["user", "unlock", "ana", "--data-dir", elsewhere],
    ] {
        let o = pitbox().args(&args).output().unwrap();
        assert!(!o.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("there is no PitBox database in"), "{args:?}: {err}");
    }
    assert!(!dir.path().join("wrong-folder").exists(), "no empty database was created");
}

#[test]
fn user_commands_manage_accounts_and_the_owner() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap().to_string();
    let user = |args: &[&str], stdin: &[u8]| {
        let mut cmd = pitbox();
        cmd.args(["user", "--data-dir", &data]).args(args);
        run_with_stdin(cmd, stdin)
    };
    let mut team = pitbox();
    team.args(["team", "--data-dir", &data, "add", "Apex"]);
    assert!(team.output().unwrap().status.success());
    let add = |name: &str, role: &str, owner: bool| {
        let mut args = vec!["add", "--username", name, "--role", role, "--team", "Apex", "--password-stdin"];
        if owner {
            args.push("--owner");
        }
        user(&args, b"a long password\n")
    };
    let o = add("ops", "admin", true);
    assert!(o.status.success(), "{o:?}");
    assert!(stdout(&o).contains("the deployment's owner"), "{}", stdout(&o));
    assert!(add("ana", "driver", false).status.success());
    let list = stdout(&user(&["list"], b""));
    let flags = |name: &str| {
        list.lines()
            .find(|l| l.split('\t').nth(1) == Some(name))
            .map(|l| l.rsplit('\t').next().unwrap_or("").to_string())
    };
    assert_eq!(flags("ops").as_deref(), Some("owner"), "{list}");
    assert_eq!(flags("ana").as_deref(), Some("-"), "{list}");

    let o = user(&["passwd", "ana", "--password-stdin"], b"short\n");
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("password"), "{o:?}");
    assert!(user(&["passwd", "ana", "--password-stdin"], b"another long password\n").status.success());
    assert!(user(&["role", "ana", "viewer"], b"").status.success());
    assert!(user(&["disable", "ana"], b"").status.success());
    let list = stdout(&user(&["list"], b""));
    assert!(list.lines().any(|l| l.contains("\tana\tviewer\t") && l.ends_with("disabled")), "{list}");
    assert!(user(&["enable", "ana"], b"").status.success());
    assert!(user(&["unlock", "ana"], b"").status.success());
    let o = user(&["delete", "ana"], b"");
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("--yes"), "{o:?}");
    assert!(user(&["delete", "ana", "--yes"], b"").status.success());
    let o = user(&["disable", "ana"], b"");
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("no user `ana`"), "{o:?}");
    assert!(user(&["owner", "ops", "--remove"], b"").status.success());
    assert!(!stdout(&user(&["list"], b"")).contains("owner"));
}

/// Issue 23 §11: a secret given as a flag shows in the process list, so the command warns and
/// names the safe ways; given through the environment, it does not.
#[test]
fn a_secret_on_the_command_line_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap().to_string();
    // An invalid key stops the start right after the check, so nothing is served.
    let mut flag = pitbox();
    flag.args(["cloud", "--data-dir", &data, "--listen", "127.0.0.1:0", "--master-key", "not-a-key"]);
    let o = flag.output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(err.contains("--master-key on the command line is visible") && err.contains("--master-key-file"), "{err}");
    let mut env = pitbox();
    env.args(["cloud", "--data-dir", &data, "--listen", "127.0.0.1:0"]).env("PITBOX_CLOUD_MASTER_KEY", "not-a-key");
    let o = env.output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(!err.contains("visible"), "no warning for the environment: {err}");
}
