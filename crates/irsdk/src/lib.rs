//! # pitbox-irsdk — the iRacing SDK layer of PitBox
//!
//! This crate owns everything about iRacing's telemetry format and nothing else:
//!
//! - the binary layout: the 112-byte `irsdk_header`, the `.ibt` disk sub-header, the 144-byte
//!   variable headers, the session-info text and the row buffers ([`header`], [`var`],
//!   [`layout`]), all bounds-checked with typed errors ([`IrsdkError`]);
//! - `.ibt` files, memory-mapped ([`ibt::IbtFile`]), and an `.ibt` writer ([`writer`]);
//! - the live shared-memory reader ([`live`]): a portable core over any mapped region, with the
//!   Windows memory map behind `cfg(windows)`;
//! - publishing that memory as iRacing does, without iRacing ([`serve`]; `--serve-iracing`);
//! - typed access: [`VarHandle`]s looked up once, typed flags and enums ([`flags`]);
//! - session info: iRacing's not-quite-YAML ([`yaml`]) and typed structs ([`session`]);
//! - bounded import of a file as validated samples ([`import`], the cloud's upload path);
//! - the lap table ([`laps`]), the mapping of SDK units to the wire model ([`mapping`]);
//! - iRacing's pit commands, the broadcast messages a `pit_command` becomes ([`broadcast`]);
//! - the `pitbox ibt …` and `pitbox bench ibt` commands as library code ([`cli`]).

pub mod broadcast;
pub mod cli;
pub mod error;
pub mod export;
pub mod flags;
pub mod header;
pub mod ibt;
pub mod import;
pub mod laps;
pub mod layout;
pub mod live;
pub mod mapping;
pub mod parquet_export;
pub mod serve;
pub mod session;
pub mod var;
pub mod writer;
pub mod yaml;

pub use error::{IrsdkError, Result};
pub use header::{DiskHeader, Header, VarBuf};
pub use ibt::{FileInfo, IbtFile, Truncation};
pub use layout::Layout;
pub use session::SessionInfo;
pub use var::{Value, VarHandle, VarHeader, VarType, VarValue};
