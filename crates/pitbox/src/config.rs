//! Layered configuration: command-line flags > environment variables > config file > defaults.
//!
//! Every setting is a clap argument with an `env = "PITBOX_…"` name. The config file (TOML) is
//! applied by exporting its values as those environment variables *before* clap parses, unless
//! the variable is already set: so one mechanism gives one precedence for every subcommand.
//! `[relay] listen = "…"` becomes `PITBOX_RELAY_LISTEN`; top-level keys become `PITBOX_<KEY>`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// Default config file, read from the working directory when present.
pub const DEFAULT_CONFIG_FILE: &str = "pitbox.toml";

/// The config file named by `--config` / `PITBOX_CONFIG`, or `./pitbox.toml` when it exists.
pub fn config_path(args: &[String]) -> Option<(PathBuf, bool)> {
    let mut iter = args.iter().skip(1);
    while let Some(arg) = iter.next() {
        if arg == "--" {
            break;
        }
        if arg == "--config" {
            return iter.next().map(|p| (PathBuf::from(p), true));
        }
        if let Some(p) = arg.strip_prefix("--config=") {
            return Some((PathBuf::from(p), true));
        }
    }
    if let Some(p) = std::env::var_os("PITBOX_CONFIG") {
        return Some((PathBuf::from(p), true));
    }
    let default = PathBuf::from(DEFAULT_CONFIG_FILE);
    if default.exists() {
        return Some((default, false));
    }
    // `pitbox driver` also finds the file `pitbox driver init` wrote in the data folder
    // (%LOCALAPPDATA%\PitBox\driver\pitbox.toml on Windows), so a driver never needs --config.
    let driver = pitbox_driver::init::default_config_path();
    (subcommand(args) == Some("driver") && driver.exists()).then_some((driver, false))
}

/// The first argument that is not a global option (the subcommand's name).
fn subcommand(args: &[String]) -> Option<&str> {
    let mut iter = args.iter().skip(1);
    while let Some(a) = iter.next() {
        match a.as_str() {
            "--config" | "--log" => {
                iter.next();
            }
            s if s.starts_with('-') => {}
            s => return Some(s),
        }
    }
    None
}

/// Flattens a TOML document into `PITBOX_*` variable names and string values.
pub fn flatten(text: &str, origin: &Path) -> Result<BTreeMap<String, String>> {
    let table: toml::Table =
        toml::from_str(text).with_context(|| format!("config file {} is not valid TOML", origin.display()))?;
    let mut out = BTreeMap::new();
    walk(&table, "PITBOX", &mut out, origin)?;
    Ok(out)
}

fn env_name(prefix: &str, key: &str) -> String {
    let mut name = String::with_capacity(prefix.len() + key.len() + 1);
    name.push_str(prefix);
    name.push('_');
    for c in key.chars() {
        name.push(if c == '-' || c == '.' { '_' } else { c.to_ascii_uppercase() });
    }
    name
}

fn walk(table: &toml::Table, prefix: &str, out: &mut BTreeMap<String, String>, origin: &Path) -> Result<()> {
    for (key, value) in table {
        if !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            bail!("config file {}: key `{key}` may only contain letters, digits, '_' and '-'", origin.display());
        }
        let name = env_name(prefix, key);
        match value {
            toml::Value::Table(t) => walk(t, &name, out, origin)?,
            toml::Value::String(s) => {
                out.insert(name, s.clone());
            }
            toml::Value::Integer(i) => {
                out.insert(name, i.to_string());
            }
            toml::Value::Float(f) => {
                out.insert(name, f.to_string());
            }
            toml::Value::Boolean(b) => {
                out.insert(name, b.to_string());
            }
            toml::Value::Array(items) => {
                let mut parts = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        toml::Value::String(s) => parts.push(s.clone()),
                        toml::Value::Integer(i) => parts.push(i.to_string()),
                        toml::Value::Float(f) => parts.push(f.to_string()),
                        toml::Value::Boolean(b) => parts.push(b.to_string()),
                        _ => bail!("config file {}: `{key}` may only list plain values", origin.display()),
                    }
                }
                out.insert(name, parts.join(","));
            }
            toml::Value::Datetime(d) => {
                out.insert(name, d.to_string());
            }
        }
    }
    Ok(())
}

/// Loads the config file (if any) into the environment, below variables already set.
/// Returns the file used, for logging.
pub fn apply(args: &[String]) -> Result<Option<PathBuf>> {
    let Some((path, explicit)) = config_path(args) else { return Ok(None) };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if !explicit && e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read config file {}", path.display())),
    };
    for (name, value) in flatten(&text, &path)? {
        if std::env::var_os(&name).is_none() {
            // SAFETY: called from `main` before any other thread exists (no runtime yet).
            unsafe { std::env::set_var(&name, value) };
        }
    }
    Ok(Some(path))
}

/// The configuration reference (Markdown): every setting of every subcommand with its flag,
/// environment variable, config-file key, default and meaning, read from the clap definitions.
pub fn reference(root: &clap::Command) -> String {
    let mut out = String::from(
        "# Configuration reference\n\n\
         Generated by `pitbox config reference`; a test fails when this file and the code disagree.\n\n\
         Precedence, highest first: command-line flag, environment variable, config file, default.\n\
         The config file is TOML (`--config FILE`, `PITBOX_CONFIG`, or `./pitbox.toml`): the variable\n\
         `PITBOX_RELAY_LISTEN` is the key `listen` in section `[relay]`; `PITBOX_LOG` is the top-level key `log`.\n",
    );
    section(root, "pitbox", &[], &mut out);
    out
}

fn file_key(env: &str) -> String {
    let rest = env.trim_start_matches("PITBOX_").to_ascii_lowercase();
    match rest.split_once('_') {
        Some((section, key)) => format!("[{section}] {}", key.replace('_', "-")),
        None => rest,
    }
}

/// One command's table, then its subcommands'. A global flag is listed once, with the command
/// that defines it (`inherited`: the global flags of the commands above, which clap copies down).
fn section(cmd: &clap::Command, path: &str, inherited: &[String], out: &mut String) {
    let rows: Vec<String> = cmd
        .get_arguments()
        .filter(|a| !(a.is_global_set() && inherited.iter().any(|i| i == a.get_id().as_str())))
        .filter_map(|a| {
            let env = a.get_env()?.to_string_lossy().into_owned();
            let flag = a.get_long().map(|l| format!("`--{l}`")).unwrap_or_default();
            let default =
                a.get_default_values().iter().map(|v| v.to_string_lossy().into_owned()).collect::<Vec<_>>().join(",");
            let default = if default.is_empty() { "—".to_string() } else { format!("`{default}`") };
            let help = a.get_help().map(|h| h.to_string()).unwrap_or_default().replace('|', "\\|");
            Some(format!("| {flag} | `{env}` | `{}` | {default} | {help} |\n", file_key(&env)))
        })
        .collect();
    if !rows.is_empty() {
        out.push_str(&format!(
            "\n## `{path}`\n\n| flag | environment | config file | default | meaning |\n|---|---|---|---|---|\n"
        ));
        for row in rows {
            out.push_str(&row);
        }
    }
    let mut globals = inherited.to_vec();
    globals.extend(cmd.get_arguments().filter(|a| a.is_global_set()).map(|a| a.get_id().to_string()));
    for sub in cmd.get_subcommands() {
        section(sub, &format!("{path} {}", sub.get_name()), &globals, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_become_prefixed_variables() {
        let vars = flatten(
            "log = \"debug\"\n[relay]\nlisten = \"0.0.0.0:8765\"\nmax-frame-bytes = 1024\n[relay.uplink]\nenabled = true\nchannels = [\"a\", \"b\"]\n",
            Path::new("t.toml"),
        )
        .unwrap();
        assert_eq!(vars["PITBOX_LOG"], "debug");
        assert_eq!(vars["PITBOX_RELAY_LISTEN"], "0.0.0.0:8765");
        assert_eq!(vars["PITBOX_RELAY_MAX_FRAME_BYTES"], "1024");
        assert_eq!(vars["PITBOX_RELAY_UPLINK_ENABLED"], "true");
        assert_eq!(vars["PITBOX_RELAY_UPLINK_CHANNELS"], "a,b");
    }

    #[test]
    fn bad_files_name_the_problem() {
        let err = flatten("[relay\nlisten=1", Path::new("bad.toml")).unwrap_err();
        assert!(format!("{err:#}").contains("bad.toml"));
        let err = flatten("\"we ird\" = 1", Path::new("bad.toml")).unwrap_err();
        assert!(err.to_string().contains("we ird"));
    }

    #[test]
    fn config_flag_is_found_before_parsing() {
        let args: Vec<String> = ["pitbox", "relay", "--config", "x.toml"].iter().map(|s| s.to_string()).collect();
        assert_eq!(config_path(&args), Some((PathBuf::from("x.toml"), true)));
        let args: Vec<String> = ["pitbox", "--config=y.toml"].iter().map(|s| s.to_string()).collect();
        assert_eq!(config_path(&args).map(|(p, _)| p), Some(PathBuf::from("y.toml")));
    }
}
