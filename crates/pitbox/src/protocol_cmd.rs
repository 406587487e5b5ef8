//! `pitbox protocol …`: validate messages, list types and models, write the JSON Schemas.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use pitbox_model::protocol::{DEFAULT_MAX_FRAME_BYTES, MESSAGE_SPECS};
use pitbox_model::schema::{MODEL_SPECS, all_schema_files, model_spec};

/// Work with the PitBox wire protocol.
#[derive(Debug, Args)]
pub struct ProtocolArgs {
    #[command(subcommand)]
    pub command: ProtocolCommand,
}

#[derive(Debug, Subcommand)]
pub enum ProtocolCommand {
    /// Check one JSON message (or JSON lines): prints `ok <type>` or the field and rule broken.
    ///
    /// Exit code 0 when every message is valid, 1 otherwise.
    Validate {
        /// File to read; `-` or nothing reads standard input.
        file: Option<PathBuf>,
        /// Check a REST body or data model instead of a WebSocket message (see `pitbox protocol models`).
        #[arg(long = "as", value_name = "MODEL")]
        model: Option<String>,
        /// Largest message accepted, bytes.
        #[arg(long, env = "PITBOX_PROTOCOL_MAX_BYTES", default_value_t = DEFAULT_MAX_FRAME_BYTES)]
        max_bytes: usize,
    },
    /// List every message type: direction and who may send it.
    Types,
    /// List the REST bodies and data models `validate --as` knows.
    Models,
    /// Write the JSON Schema of every message and model (as checked in under docs/schema/).
    Schema {
        /// Directory to write into.
        #[arg(long, default_value = "docs/schema")]
        out: PathBuf,
    },
}

/// Most input `validate` reads (JSON lines of many messages).
const MAX_INPUT_BYTES: u64 = 256 * 1024 * 1024;

pub fn run(args: ProtocolArgs) -> Result<std::process::ExitCode> {
    match args.command {
        ProtocolCommand::Validate { file, model, max_bytes } => validate(file, model.as_deref(), max_bytes),
        ProtocolCommand::Types => {
            println!("{:<24} {:<40} may be sent by", "type", "direction");
            for spec in MESSAGE_SPECS {
                let senders = if spec.senders.is_empty() {
                    "servers only".to_string()
                } else {
                    spec.senders.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
                };
                println!("{:<24} {:<40} {senders}", spec.name, spec.direction.describe());
            }
            Ok(std::process::ExitCode::SUCCESS)
        }
        ProtocolCommand::Models => {
            for model in MODEL_SPECS {
                println!("{:<28} {}", model.name, model.used_in);
            }
            Ok(std::process::ExitCode::SUCCESS)
        }
        ProtocolCommand::Schema { out } => {
            let files = all_schema_files();
            for (name, text) in &files {
                let path = out.join(name);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
                }
                std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
            }
            println!("wrote {} schemas to {}", files.len(), out.display());
            Ok(std::process::ExitCode::SUCCESS)
        }
    }
}

fn read_input(file: Option<&PathBuf>) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    match file {
        Some(path) if path.as_os_str() != "-" => {
            let f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
            f.take(MAX_INPUT_BYTES + 1)
                .read_to_end(&mut buf)
                .with_context(|| format!("cannot read {}", path.display()))?;
        }
        _ => {
            std::io::stdin().take(MAX_INPUT_BYTES + 1).read_to_end(&mut buf).context("cannot read standard input")?;
        }
    }
    if buf.len() as u64 > MAX_INPUT_BYTES {
        bail!("input is over {MAX_INPUT_BYTES} bytes");
    }
    Ok(buf)
}

/// Splits the input into messages: one JSON document, or JSON lines when the whole is not one.
fn split_messages(input: &[u8]) -> Vec<(Option<usize>, &[u8])> {
    let whole_is_one = serde_json::from_slice::<serde::de::IgnoredAny>(input).is_ok();
    let lines: Vec<(usize, &[u8])> = input
        .split(|b| *b == b'\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix(b"\r").unwrap_or(l)))
        .filter(|(_, l)| l.iter().any(|b| !b.is_ascii_whitespace()))
        .collect();
    if whole_is_one || lines.len() <= 1 {
        return vec![(None, input)];
    }
    let all_lines_parse = lines.iter().all(|(_, l)| serde_json::from_slice::<serde::de::IgnoredAny>(l).is_ok());
    if all_lines_parse || lines.first().is_some_and(|(_, l)| serde_json::from_slice::<serde::de::IgnoredAny>(l).is_ok())
    {
        lines.into_iter().map(|(n, l)| (Some(n), l)).collect()
    } else {
        vec![(None, input)]
    }
}

fn validate(file: Option<PathBuf>, model: Option<&str>, max_bytes: usize) -> Result<std::process::ExitCode> {
    let model = match model {
        Some(name) => Some(model_spec(name).with_context(|| {
            format!(
                "unknown model `{name}`; known: {}",
                MODEL_SPECS.iter().map(|m| m.name).collect::<Vec<_>>().join(", ")
            )
        })?),
        None => None,
    };
    let input = read_input(file.as_ref())?;
    let mut failed = 0usize;
    for (line, bytes) in split_messages(&input) {
        let prefix = line.map(|n| format!("line {n}: ")).unwrap_or_default();
        let result = match model {
            Some(spec) if bytes.len() > max_bytes => {
                Err(pitbox_model::DecodeError::TooLarge { size: bytes.len(), limit: max_bytes }).map(|()| spec.name)
            }
            Some(spec) => spec.check(bytes).map(|()| spec.name),
            None => pitbox_model::decode_with_limit(bytes, max_bytes).map(|m| m.type_name()),
        };
        match result {
            Ok(kind) => println!("{prefix}ok {kind}"),
            Err(pitbox_model::DecodeError::Invalid(errs)) => {
                failed += 1;
                for e in &errs.0 {
                    println!("{prefix}error: {e}");
                }
            }
            Err(e) => {
                failed += 1;
                println!("{prefix}error: {e}");
            }
        }
    }
    Ok(if failed == 0 { std::process::ExitCode::SUCCESS } else { std::process::ExitCode::FAILURE })
}
