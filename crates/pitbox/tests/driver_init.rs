//! First run of the driver agent against a real `pitbox cloud`: `pitbox driver init` asks for the
//! addresses and the login on standard input, signs in, and writes pitbox.toml with the addresses
//! and login.json with the sign-in — its token is the cloud's for that driver, and a wrong
//! password writes nothing. `pitbox driver login` and `pitbox relay login` sign machines in
//! (issue 21): the files are the user's alone, an engineer links a relay that then connects to
//! the cloud, a driver cannot, and a `--driver-id` that is not the sign-in's is refused.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn pitbox() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pitbox"));
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("PITBOX_") {
            cmd.env_remove(k);
        }
    }
    cmd.env_remove("RUST_LOG");
    cmd
}

fn with_stdin(mut cmd: Command, input: &str) -> Output {
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

struct Cloud(Child);

impl Drop for Cloud {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// (status, body) of an HTTP/1.1 GET with an optional bearer token.
fn get(port: u16, path: &str, token: Option<&str>) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}Connection: close\r\n\r\n").ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    let status = resp.split(' ').nth(1)?.parse().ok()?;
    Some((status, resp.split_once("\r\n\r\n")?.1.to_string()))
}

fn db(cmd: &mut Command, dir: &Path) {
    cmd.args(["--data-dir", dir.to_str().unwrap()]);
}

#[test]
fn driver_init_logs_in_and_writes_the_token_and_id() {
    let dir = tempfile::tempdir().unwrap();
    let cloud_dir = dir.path().join("cloud");
    let mut team = pitbox();
    team.arg("team");
    db(&mut team, &cloud_dir);
    let out = team.args(["add", "Night Owls"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut user = pitbox();
    user.arg("user");
    db(&mut user, &cloud_dir);
    user.args(["add", "--username", "ana", "--role", "driver", "--team", "Night Owls", "--password-stdin"]);
    let out = with_stdin(user, "a long password\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut viewer = pitbox();
    viewer.arg("user");
    db(&mut viewer, &cloud_dir);
    viewer.args(["add", "--username", "vic", "--role", "viewer", "--team", "Night Owls", "--password-stdin"]);
    assert!(with_stdin(viewer, "another long password\n").status.success());

    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut cloud = pitbox();
    cloud.args(["cloud", "--listen", &format!("127.0.0.1:{port}")]).stdout(Stdio::null()).stderr(Stdio::null());
    db(&mut cloud, &cloud_dir);
    let _cloud = Cloud(cloud.spawn().unwrap());
    let start = Instant::now();
    while get(port, "/health", None).is_none_or(|(s, _)| s != 200) {
        assert!(start.elapsed() < Duration::from_secs(60), "the cloud did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
    let url = format!("http://127.0.0.1:{port}");
    let cfg = dir.path().join("driver").join("pitbox.toml");
    let init = || {
        let mut c = pitbox();
        c.args(["driver", "init", "--out", cfg.to_str().unwrap()]);
        c
    };

    // A wrong password: a clear error, nothing written.
    let out = with_stdin(init(), &format!("{url}\n\nana\nnot the password\n"));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("wrong username or password"), "{err}");
    assert!(!cfg.exists());
    // A viewer's login cannot drive.
    let out = with_stdin(init(), &format!("{url}\n\nvic\nanother long password\n"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs a driver's login"), "{out:?}");
    assert!(!cfg.exists());

    // The right one: asked on standard input, as a driver types it.
    let out = with_stdin(init(), &format!("{url}\n\nana\na long password\n"));
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{said}\n{}", String::from_utf8_lossy(&out.stderr));
    for prompt in ["Cloud address", "Relay address [ws://127.0.0.1:", "Username: ", "Password: "] {
        assert!(said.contains(prompt), "no prompt {prompt:?} in {said}");
    }
    assert!(!said.contains("a long password"), "the password must not be printed");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let table: toml::Table = toml::from_str(&text).unwrap();
    let driver = table["driver"].as_table().unwrap();
    assert!(driver.get("token").is_none() && driver.get("id").is_none(), "renewed from login.json: {text}");
    let login: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(cfg.with_file_name("login.json")).unwrap()).unwrap();
    let token = login["accessToken"].as_str().unwrap();
    let id = login["userId"].as_str().unwrap();
    assert!(login["refreshToken"].as_str().is_some_and(|r| !r.is_empty()), "{login}");
    assert_eq!(driver["relay_url"].as_str(), Some(format!("ws://127.0.0.1:{port}/ws").as_str()));
    assert_eq!(driver["cloud_endpoint"].as_str(), Some(url.as_str()));
    assert_eq!(driver["source"].as_str(), Some("iracing"));
    // The token is the cloud's, for that user: the driver id is the login's.
    let (status, me) = get(port, "/api/auth/me", Some(token)).unwrap();
    assert_eq!(status, 200, "{me}");
    let me: serde_json::Value = serde_json::from_str(&me).unwrap();
    assert_eq!(me["id"].as_str(), Some(id));
    assert_eq!(me["username"].as_str(), Some("ana"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&cfg).unwrap().permissions().mode() & 0o777, 0o600);
        let login = cfg.with_file_name("login.json");
        assert_eq!(std::fs::metadata(&login).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // Running it again without --force keeps the file; the agent reads it as its config.
    let out = with_stdin(init(), "");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    let out = pitbox().args(["--config", cfg.to_str().unwrap(), "config", "reference"]).output().unwrap();
    assert!(out.status.success(), "the written file is a valid config: {}", String::from_utf8_lossy(&out.stderr));
}

/// A cloud on a free port with `args`, its data in `dir`; waits until it answers.
fn start_cloud(dir: &Path, args: &[&str]) -> (Cloud, u16) {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut cloud = pitbox();
    cloud.args(["cloud", "--listen", &format!("127.0.0.1:{port}")]).args(args);
    cloud.stdout(Stdio::null()).stderr(Stdio::null());
    db(&mut cloud, dir);
    let child = Cloud(cloud.spawn().unwrap());
    let start = Instant::now();
    while get(port, "/health", None).is_none_or(|(s, _)| s != 200) {
        assert!(start.elapsed() < Duration::from_secs(60), "the cloud did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
    (child, port)
}

fn add_user(dir: &Path, name: &str, role: &str, password: &str) {
    let mut user = pitbox();
    user.arg("user");
    db(&mut user, dir);
    user.args(["add", "--username", name, "--role", role, "--team", "Night Owls", "--password-stdin"]);
    let out = with_stdin(user, &format!("{password}\n"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn machines_sign_in_with_login_and_an_engineer_links_a_relay() {
    let dir = tempfile::tempdir().unwrap();
    let cloud_dir = dir.path().join("cloud");
    let mut team = pitbox();
    team.arg("team");
    db(&mut team, &cloud_dir);
    assert!(team.args(["add", "Night Owls"]).output().unwrap().status.success());
    add_user(&cloud_dir, "ana", "driver", "a long password");
    add_user(&cloud_dir, "eng", "engineer", "the engineer's password");
    let (_cloud, port) = start_cloud(&cloud_dir, &["--access-token-ttl", "60s"]);
    let url = format!("http://127.0.0.1:{port}");

    // The driver: the password on standard input, never on the command line.
    let driver_dir = dir.path().join("driver");
    let mut login = pitbox();
    login.args(["driver", "login", "--data-dir", driver_dir.to_str().unwrap(), "--cloud", &url]);
    login.args(["--username", "ana", "--password-stdin"]);
    let out = with_stdin(login, "a long password\n");
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{said}{}", String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("signed in as ana"), "{said}");
    let file = driver_dir.join("login.json");
    let stored: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let token = stored["accessToken"].as_str().unwrap();
    let (status, me) = get(port, "/api/auth/me", Some(token)).unwrap();
    assert_eq!(status, 200, "{me}");
    let me: serde_json::Value = serde_json::from_str(&me).unwrap();
    assert_eq!(me["id"], stored["userId"]);
    #[cfg(unix)]
    assert_eq!(mode(&file), 0o600, "the sign-in is the user's alone");
    // The cloud's setting: this token lives a minute.
    let (_, cfg) = get(port, "/api/config", None).unwrap();
    assert!(cfg.contains("\"accessTokenTtl\":60"), "{cfg}");

    // A --driver-id that is not the sign-in's: refused at start, before anything streams.
    let out = pitbox()
        .args(["driver", "--data-dir", driver_dir.to_str().unwrap(), "--source", "sim", "--driver-id", "driver-1"])
        .args(["--listen", "127.0.0.1:0", "--voice-enabled", "false"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--driver-id driver-1 does not match the sign-in, which is driver ana"), "{err}");

    // A driver links no relay; an engineer of the team does.
    let relay_dir = dir.path().join("relay");
    let relay_login = |user: &str, password: &str| {
        let mut c = pitbox();
        c.args(["relay", "login", "--data-dir", relay_dir.to_str().unwrap(), "--cloud", &url]);
        c.args(["--username", user, "--password-stdin", "--name", "pit wall"]);
        with_stdin(c, &format!("{password}\n"))
    };
    let out = relay_login("ana", "a long password");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("linked by an engineer or admin"), "{out:?}");
    assert!(!relay_dir.join("login.json").exists());
    let out = relay_login("eng", "the engineer's password");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rfile = relay_dir.join("login.json");
    #[cfg(unix)]
    assert_eq!(mode(&rfile), 0o600);
    let rstored: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&rfile).unwrap()).unwrap();
    let relay_id = rstored["relayId"].as_str().unwrap().to_string();
    // Signing in again keeps the relay's id.
    assert!(relay_login("eng", "the engineer's password").status.success());
    let again: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&rfile).unwrap()).unwrap();
    assert_eq!(again["relayId"].as_str(), Some(relay_id.as_str()));

    // `pitbox relay` with nothing but its data folder: the cloud, its keys and the credential
    // come from the sign-in, and the uplink connects.
    let rport = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut relay = pitbox();
    relay.args(["relay", "--data-dir", relay_dir.to_str().unwrap(), "--listen", &format!("127.0.0.1:{rport}")]);
    let _relay = Cloud(relay.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap());
    let start = Instant::now();
    loop {
        if let Some((200, body)) = get(rport, "/health", None) {
            let h: serde_json::Value = serde_json::from_str(&body).unwrap();
            if h["uplink"] == "connected" {
                assert_eq!(h["login"]["state"], "ok", "{h}");
                assert_eq!(h["status"], "ok", "{h}");
                break;
            }
        }
        assert!(start.elapsed() < Duration::from_secs(30), "the signed-in relay did not link to the cloud");
        std::thread::sleep(Duration::from_millis(200));
    }
}
