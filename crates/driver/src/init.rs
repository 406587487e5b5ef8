//! First run and signing in. `pitbox driver init` asks for the team's cloud (and relay) address
//! and the driver's username and password, signs in (`POST /api/auth/login`) and writes
//! `pitbox.toml` in the data folder with the addresses, and `login.json` beside it with the
//! sign-in (the refresh token the agent renews its access token with, see
//! [`pitbox_auth::login`]); `pitbox driver login` writes only `login.json` (signing in again, or
//! on a machine configured by hand). Nobody pastes a token or guesses an id: the agent takes its
//! driver id from the token. Both files are readable by the user only (see [`crate::private`]).

use anyhow::{Context, Result, bail};
use pitbox_auth::login::{CloudClient, LOGIN_FILE, StoredLogin};
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

/// The config file for this sign-in: the commented template with the addresses filled in. The
/// token and the driver id are not in it: the agent renews its token from `login.json` in
/// `data_dir` and reads its id from the token.
pub fn config_for(relay_url: &str, cloud: &str, data_dir: &Path) -> String {
    let mut out = String::new();
    for line in super::cli::config_template().lines() {
        let l = match line {
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

/// Signs in at `cloud` and returns what `login.json` keeps; refuses accounts that cannot drive.
pub async fn sign_in(cloud: &str, username: &str, password: &str) -> Result<StoredLogin> {
    let client = CloudClient::new(cloud)?;
    let (who, refresh_token) = client
        .sign_in(
            username,
            password,
            &["driver", "admin"],
            "the driver agent needs a driver's login (ask your team's engineer for one)",
        )
        .await?;
    Ok(StoredLogin {
        cloud: client.base().to_string(),
        username: who.user.username,
        user_id: who.user.id,
        role: who.user.role,
        refresh_token,
        access_token: Some(who.token),
        relay_id: None,
        relay_name: None,
    })
}

/// Writes `login.json` in `data_dir` (readable by the user only, replaced atomically).
pub fn save_login(data_dir: &Path, login: &StoredLogin) -> Result<PathBuf> {
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let path = data_dir.join(LOGIN_FILE);
    crate::private::write_private(&path, &login.to_json())?;
    Ok(path)
}

/// Reads the password: one line of `input` (`--password-stdin`, or typed at the prompt with
/// echo off).
pub fn read_password(input: &mut dyn BufRead, out: &mut dyn Write, prompt: bool) -> Result<String> {
    let password = if prompt {
        let _hidden = crate::private::HiddenInput::new();
        let p = ask(input, out, "Password: ")?;
        writeln!(out)?;
        p
    } else {
        let mut line = String::new();
        input.read_line(&mut line).context("reading the password from standard input")?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    if password.is_empty() {
        bail!("the password is empty");
    }
    Ok(password)
}

/// What `pitbox driver login` is given; the rest is asked.
#[derive(Debug, Clone, Default)]
pub struct LoginAnswers {
    pub cloud: Option<String>,
    pub username: Option<String>,
    /// The password is the first line of the input, without a prompt.
    pub password_stdin: bool,
}

/// Asks for the username (unless given) and the password (at a prompt with echo off, or the
/// first line of `input`), and signs in at `cloud`: the shared step of `login` and `init`.
fn ask_and_sign_in(
    cloud: &str,
    username: Option<String>,
    prompt_password: bool,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> Result<StoredLogin> {
    let username = match username {
        Some(u) => u,
        None => ask(input, out, "Username: ")?,
    };
    let username = username.trim().to_string();
    if username.is_empty() {
        bail!("the username is empty");
    }
    let password = read_password(input, out, prompt_password)?;
    let rt =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the async runtime")?;
    rt.block_on(sign_in(cloud, &username, &password))
}

/// `pitbox driver login`: signs in and writes `login.json` in `data_dir`. Returns the driver id.
pub fn run_login(data_dir: &Path, given: LoginAnswers, input: &mut dyn BufRead, out: &mut dyn Write) -> Result<String> {
    let previous = StoredLogin::load(&data_dir.join(LOGIN_FILE)).ok().flatten();
    let cloud = match given.cloud.or_else(|| previous.as_ref().map(|p| p.cloud.clone())) {
        Some(c) => normalise_cloud(&c)?,
        None => normalise_cloud(&ask(input, out, "Cloud address (e.g. https://pitbox.example.com): ")?)?,
    };
    let login = ask_and_sign_in(&cloud, given.username, !given.password_stdin, input, out)?;
    let path = save_login(data_dir, &login)?;
    writeln!(out, "signed in as {} (driver id {})", login.username, login.user_id)?;
    writeln!(out, "wrote {} (readable by you only): the agent renews its token from it by itself", path.display())?;
    writeln!(out, "Start the agent with `pitbox driver --data-dir \"{}\"`.", data_dir.display())?;
    Ok(login.user_id)
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
    let login = ask_and_sign_in(&cloud, given.username, true, input, out)?;
    let data_dir =
        path.parent().filter(|p| !p.as_os_str().is_empty()).map(Path::to_path_buf).unwrap_or_else(|| ".".into());
    let login_path = save_login(&data_dir, &login)?;
    let text = config_for(&relay, &cloud, &data_dir);
    crate::private::write_private(path, text.as_bytes())?;
    writeln!(out, "logged in as {} (driver id {})", login.username, login.user_id)?;
    writeln!(
        out,
        "wrote {} and {} (readable by you only); the agent renews its token by itself:",
        path.display(),
        login_path.display()
    )?;
    writeln!(out, "`pitbox driver login` signs in again if the team's admin ends this sign-in.")?;
    writeln!(out, "Start the agent with `PitBox Driver.cmd` or `pitbox driver --config \"{}\"`.", path.display())?;
    Ok(login.user_id)
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
    fn the_config_carries_the_addresses_and_stays_valid_toml() {
        let text = config_for("ws://r:1", "https://c", Path::new("C:\\Users\\x\\PitBox"));
        assert!(!text.contains("\ntoken ="), "the token is renewed from login.json, not kept here");
        assert!(!text.contains("\nid ="), "the id comes from the token");
        assert!(text.contains("relay_url = \"ws://r:1\"\n"));
        assert!(text.contains("data_dir = \"C:\\\\Users\\\\x\\\\PitBox\"\n"));
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
