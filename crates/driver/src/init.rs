//! First run: `pitbox driver init` asks for the team's cloud (and relay) address and the
//! driver's username and password, logs in (`POST /api/auth/login`), and writes `pitbox.toml` in
//! the data folder with the token it got back and the driver id from that login, so nobody
//! pastes a token or guesses an id. The file holds a credential: it is made readable by the user
//! only (see [`crate::private`]).

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

/// The config file `pitbox driver` reads when none is named: `pitbox.toml` in the data folder.
pub fn default_config_path() -> PathBuf {
    crate::voice::default_data_dir().join("pitbox.toml")
}

/// What the first run asks for; a field given on the command line is not asked again.
#[derive(Debug, Clone, Default)]
pub struct InitAnswers {
    pub cloud: Option<String>,
    pub relay: Option<String>,
    pub username: Option<String>,
}

#[derive(Debug, Deserialize)]
struct LoginUser {
    id: String,
    username: String,
    role: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LoginResponse {
    token: String,
    expires_in: Option<u64>,
    user: LoginUser,
}

#[derive(Debug, Deserialize)]
struct ApiError {
    error: ApiErrorBody,
}

#[derive(Debug, Deserialize)]
struct ApiErrorBody {
    code: String,
    message: String,
}

/// An `http(s)://host[:port]` address without a trailing slash; a bare host gets `https://`.
pub fn normalise_cloud(input: &str) -> Result<String> {
    let s = input.trim().trim_end_matches('/');
    if s.is_empty() {
        bail!(
            "the cloud address is empty: give the address of the team's PitBox cloud, e.g. https://pitbox.example.com"
        );
    }
    let s = if s.contains("://") { s.to_string() } else { format!("https://{s}") };
    if !(s.starts_with("http://") || s.starts_with("https://")) || s.len() <= "https://".len() {
        bail!("cloud address `{input}`: expected http://HOST[:PORT] or https://HOST[:PORT]");
    }
    if s.chars().any(|c| c.is_whitespace() || c == '"' || c == '\\') {
        bail!("cloud address `{input}` contains spaces, quotes or backslashes");
    }
    Ok(s)
}

/// The relay the agent streams to: given, or else the cloud's own WebSocket (`wss://HOST/ws`).
pub fn relay_for(cloud: &str, given: Option<&str>) -> Result<String> {
    match given.map(str::trim).filter(|s| !s.is_empty()) {
        Some(r) => {
            let r = if r.contains("://") { r.to_string() } else { format!("ws://{r}") };
            if !(r.starts_with("ws://") || r.starts_with("wss://")) {
                bail!("relay address `{r}`: expected ws://HOST:PORT or wss://HOST[:PORT][/PATH]");
            }
            if r.chars().any(|c| c.is_whitespace() || c == '"' || c == '\\') {
                bail!("relay address `{r}` contains spaces, quotes or backslashes");
            }
            Ok(r)
        }
        None => {
            let rest = cloud
                .strip_prefix("https://")
                .map(|h| ("wss", h))
                .or_else(|| cloud.strip_prefix("http://").map(|h| ("ws", h)));
            match rest {
                Some((scheme, host)) => Ok(format!("{scheme}://{}/ws", host.trim_end_matches('/'))),
                None => bail!("cloud address `{cloud}` is not http(s)"),
            }
        }
    }
}

/// A TOML basic string (JSON string escapes are valid TOML escapes).
fn toml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// The config file for this login: the commented template with the answers filled in.
pub fn config_for(driver_id: &str, token: &str, relay_url: &str, cloud: &str, data_dir: &Path) -> String {
    let mut out = String::new();
    for line in super::cli::config_template().lines() {
        let l = match line {
            "# id = \"driver-1\"" => format!("id = {}", toml_string(driver_id)),
            "# token = \"\"" => format!("token = {}", toml_string(token)),
            "relay_url = \"ws://127.0.0.1\"" => format!("relay_url = {}", toml_string(relay_url)),
            "cloud_endpoint = \"http://127.0.0.1:8080\"" => format!("cloud_endpoint = {}", toml_string(cloud)),
            "# data_dir = \"C:/PitBox/data\"" => {
                format!("data_dir = {}", toml_string(&data_dir.to_string_lossy()))
            }
            other => other.to_string(),
        };
        out.push_str(&l);
        out.push('\n');
    }
    out
}

fn ask(input: &mut dyn BufRead, out: &mut dyn Write, prompt: &str) -> Result<String> {
    write!(out, "{prompt}")?;
    out.flush()?;
    let mut line = String::new();
    if input.read_line(&mut line).context("reading the answer")? == 0 {
        bail!("no answer to `{}` (end of input)", prompt.trim_end_matches([':', ' ']));
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Logs in at `cloud` and returns (token, user id, username, role, lifetime seconds).
async fn login(cloud: &str, username: &str, password: &str) -> Result<LoginResponse> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .context("setting up the HTTP client")?;
    let body = serde_json::json!({ "username": username, "password": password });
    let resp = client
        .post(format!("{cloud}/api/auth/login"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .with_context(|| format!("cannot reach the cloud at {cloud}"))?;
    let status = resp.status();
    let bytes = resp.bytes().await.with_context(|| format!("reading the answer of {cloud}"))?;
    if status.is_success() {
        return serde_json::from_slice(&bytes)
            .with_context(|| format!("{cloud}/api/auth/login answered something that is not a PitBox login"));
    }
    match serde_json::from_slice::<ApiError>(&bytes) {
        Ok(e) if e.error.code == "invalid_credentials" => {
            bail!("the cloud refused the login: wrong username or password")
        }
        Ok(e) => bail!("the cloud refused the login ({status}): {} ({})", e.error.message, e.error.code),
        Err(_) => bail!("{cloud}/api/auth/login answered {status}: is this a PitBox cloud?"),
    }
}

/// Runs the first-run questions on `input`/`out`, logs in and writes the config to `path`.
/// Returns the driver id.
pub fn run_init(
    path: &Path,
    force: bool,
    given: InitAnswers,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> Result<String> {
    if path.exists() && !force {
        bail!("{} exists; pass --force to replace it (e.g. to log in again)", path.display());
    }
    writeln!(out, "PitBox driver set-up: your team's PitBox address and your PitBox login.")?;
    let cloud = match given.cloud {
        Some(c) => normalise_cloud(&c)?,
        None => normalise_cloud(&ask(input, out, "Cloud address (e.g. https://pitbox.example.com): ")?)?,
    };
    let relay_default = relay_for(&cloud, None)?;
    let relay = match given.relay {
        Some(r) => relay_for(&cloud, Some(&r))?,
        None => relay_for(&cloud, Some(&ask(input, out, &format!("Relay address [{relay_default}]: "))?))?,
    };
    let username = match given.username {
        Some(u) => u,
        None => ask(input, out, "Username: ")?,
    };
    let username = username.trim().to_string();
    if username.is_empty() {
        bail!("the username is empty");
    }
    let password = {
        let _hidden = crate::private::HiddenInput::new();
        let p = ask(input, out, "Password: ")?;
        writeln!(out)?;
        p
    };
    if password.is_empty() {
        bail!("the password is empty");
    }
    let rt =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the async runtime")?;
    let who = rt.block_on(login(&cloud, &username, &password))?;
    if !matches!(who.user.role.as_str(), "driver" | "admin") {
        bail!(
            "{} is a PitBox {}: the driver agent needs a driver's login (ask your team's engineer for one)",
            who.user.username,
            who.user.role
        );
    }
    let data_dir =
        path.parent().filter(|p| !p.as_os_str().is_empty()).map(Path::to_path_buf).unwrap_or_else(|| ".".into());
    std::fs::create_dir_all(&data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let text = config_for(&who.user.id, &who.token, &relay, &cloud, &data_dir);
    crate::private::write_private(path, text.as_bytes())?;
    let hours = who.expires_in.map(|s| s / 3600).unwrap_or(24);
    writeln!(out, "logged in as {} (driver id {})", who.user.username, who.user.id)?;
    writeln!(out, "wrote {} (readable by you only); the token is valid for {hours} h: run", path.display())?;
    writeln!(out, "`pitbox driver init --force` to log in again when it runs out.")?;
    writeln!(out, "Start the agent with `PitBox Driver.cmd` or `pitbox driver --config \"{}\"`.", path.display())?;
    Ok(who.user.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_and_the_relay_defaults_to_the_cloud() {
        assert_eq!(normalise_cloud(" pitbox.example.com/ ").unwrap(), "https://pitbox.example.com");
        assert_eq!(normalise_cloud("http://127.0.0.1:8080").unwrap(), "http://127.0.0.1:8080");
        assert!(normalise_cloud("").unwrap_err().to_string().contains("empty"));
        assert!(normalise_cloud("ftp://x").is_err());
        assert!(normalise_cloud("http://a b").is_err());
        assert_eq!(relay_for("https://p.example.com", None).unwrap(), "wss://p.example.com/ws");
        assert_eq!(relay_for("http://127.0.0.1:8080", Some("")).unwrap(), "ws://127.0.0.1:8080/ws");
        assert_eq!(relay_for("http://x", Some("10.0.0.2:8765")).unwrap(), "ws://10.0.0.2:8765");
        assert!(relay_for("http://x", Some("http://10.0.0.2")).is_err());
    }

    #[test]
    fn the_config_carries_the_login_and_stays_valid_toml() {
        let text = config_for("usr-1", "a.b\"c", "ws://r:1", "https://c", Path::new("C:\\Users\\x\\PitBox"));
        assert!(text.contains("id = \"usr-1\"\n"));
        assert!(text.contains("token = \"a.b\\\"c\"\n"));
        assert!(text.contains("relay_url = \"ws://r:1\"\n"));
        assert!(text.contains("data_dir = \"C:\\\\Users\\\\x\\\\PitBox\"\n"));
        assert!(!text.contains("driver-1"));
    }

    #[test]
    fn missing_answers_and_an_existing_file_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pitbox.toml");
        let mut out = Vec::new();
        let e = run_init(&path, false, InitAnswers::default(), &mut &b""[..], &mut out).unwrap_err();
        assert!(e.to_string().contains("no answer"), "{e}");
        std::fs::write(&path, "x").unwrap();
        let e = run_init(&path, false, InitAnswers::default(), &mut &b""[..], &mut out).unwrap_err();
        assert!(e.to_string().contains("--force"), "{e}");
        // Nothing listens on port 9 of loopback: a clear "cannot reach".
        let e = run_init(&path, true, InitAnswers::default(), &mut &b"http://127.0.0.1:9\n\nana\npw\n"[..], &mut out)
            .unwrap_err();
        assert!(format!("{e:#}").contains("cannot reach the cloud at http://127.0.0.1:9"), "{e:#}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "x", "a failed login leaves the file alone");
    }
}
