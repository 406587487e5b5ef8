//! The relay → cloud uplink frame and its dedupe rule.
//!
//! Framing: a binary WebSocket frame is exactly one zstd frame (it starts with zstd's magic
//! `28 B5 2F FD`) whose content is one UTF-8 JSON envelope, `{"type": "telemetry_batch", ...}`.
//! The receiver bounds both sizes (compressed: the frame limit; decompressed:
//! [`MAX_DECOMPRESSED_BYTES`]) before it parses, then decodes and validates the envelope with
//! `pitbox_model::decode_with_limit`. `ack` flows back as a JSON text frame.
//!
//! Dedupe: batches of a driver carry `sequence` 1, 2, 3… without gaps within their sender's
//! numbering (`origin`: one per spool; see [`numbering`]). The receiver stores a batch when its
//! sequence is the next one of that numbering, acknowledges (without storing again) any sequence
//! it already has, and refuses a gap (it acknowledges what it has so the sender resends from
//! there).

use std::collections::HashMap;
use std::io::Read;

use pitbox_model::control::{ErrorCode, TelemetryBatch};
use pitbox_model::{DecodeError, Message};

/// Largest decompressed batch accepted, bytes (2,000 samples of about 700 bytes fit easily).
pub const MAX_DECOMPRESSED_BYTES: usize = 4 * 1024 * 1024;
/// zstd's frame magic number, little-endian on the wire.
pub const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];
/// Default compression level (fast; telemetry JSON compresses about 8:1 at this level).
pub const DEFAULT_LEVEL: i32 = 3;

/// Why an uplink frame was refused.
#[derive(Debug, thiserror::Error)]
pub enum UplinkError {
    #[error("compressed frame is {size} bytes, over the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("binary frame is not a zstd frame (bad magic number)")]
    NotZstd,
    #[error("decompressed batch is over {limit} bytes")]
    DecompressedTooLarge { limit: usize },
    #[error("zstd: {0}")]
    Zstd(String),
    #[error("{0}")]
    Decode(#[from] DecodeError),
    #[error("binary frames carry telemetry_batch only, found `{0}`")]
    WrongType(&'static str),
    #[error("compression failed: {0}")]
    Encode(String),
}

impl UplinkError {
    /// The protocol error code for this failure.
    pub fn code(&self) -> ErrorCode {
        match self {
            UplinkError::TooLarge { .. } | UplinkError::DecompressedTooLarge { .. } => ErrorCode::FrameTooLarge,
            UplinkError::NotZstd | UplinkError::Zstd(_) | UplinkError::WrongType(_) => ErrorCode::InvalidMessage,
            UplinkError::Decode(d) => d.code(),
            UplinkError::Encode(_) => ErrorCode::InternalError,
        }
    }

    /// The `error` message to send back.
    pub fn to_message(&self) -> Message {
        match self {
            UplinkError::Decode(d) => d.to_message(Some("telemetry_batch")),
            other => {
                let field = matches!(other, UplinkError::WrongType(_)).then(|| "type".to_string());
                Message::error(other.code(), other.to_string(), field)
            }
        }
    }
}

/// Encodes a batch as an uplink binary frame.
pub fn encode_batch(batch: &TelemetryBatch, level: i32) -> Result<Vec<u8>, UplinkError> {
    BatchEncoder::new(level)?.encode(batch)
}

/// Encodes many batches with one zstd context: making a context (and zeroing its tables) per
/// batch cost more than compressing a 200 ms batch, so a sender reuses one per flush.
pub struct BatchEncoder {
    compressor: zstd::bulk::Compressor<'static>,
}

impl BatchEncoder {
    /// An encoder at zstd `level`.
    pub fn new(level: i32) -> Result<BatchEncoder, UplinkError> {
        let compressor = zstd::bulk::Compressor::new(level).map_err(|e| UplinkError::Encode(e.to_string()))?;
        Ok(BatchEncoder { compressor })
    }

    /// One uplink binary frame holding `batch`.
    pub fn encode(&mut self, batch: &TelemetryBatch) -> Result<Vec<u8>, UplinkError> {
        let json = batch_envelope(batch)?;
        self.compressor.compress(json.as_bytes()).map_err(|e| UplinkError::Encode(e.to_string()))
    }
}

/// `{"type":"telemetry_batch","data":…}` without copying the samples into a [`Message`].
fn batch_envelope(batch: &TelemetryBatch) -> Result<String, UplinkError> {
    let data = serde_json::to_string(batch).map_err(|e| UplinkError::Encode(e.to_string()))?;
    Ok(format!(r#"{{"type":"telemetry_batch","data":{data}}}"#))
}

/// Compresses an already-serialised envelope.
pub fn encode_json(json: &[u8], level: i32) -> Result<Vec<u8>, UplinkError> {
    zstd::bulk::compress(json, level).map_err(|e| UplinkError::Encode(e.to_string()))
}

/// Decompresses a frame (bounded) without parsing it.
pub fn decompress(frame: &[u8], max_compressed: usize, max_decompressed: usize) -> Result<Vec<u8>, UplinkError> {
    if frame.len() > max_compressed {
        return Err(UplinkError::TooLarge { size: frame.len(), limit: max_compressed });
    }
    if frame.len() < 4 || frame[..4] != ZSTD_MAGIC {
        return Err(UplinkError::NotZstd);
    }
    let decoder = zstd::stream::read::Decoder::with_buffer(frame).map_err(|e| UplinkError::Zstd(e.to_string()))?;
    let mut out = Vec::new();
    decoder.take(max_decompressed as u64 + 1).read_to_end(&mut out).map_err(|e| UplinkError::Zstd(e.to_string()))?;
    if out.len() > max_decompressed {
        return Err(UplinkError::DecompressedTooLarge { limit: max_decompressed });
    }
    Ok(out)
}

/// Decodes an uplink binary frame into a validated batch.
pub fn decode_frame(frame: &[u8], max_compressed: usize) -> Result<TelemetryBatch, UplinkError> {
    let json = decompress(frame, max_compressed, MAX_DECOMPRESSED_BYTES)?;
    match pitbox_model::decode_with_limit(&json, MAX_DECOMPRESSED_BYTES)? {
        Message::TelemetryBatch(b) => Ok(b),
        other => Err(UplinkError::WrongType(other.type_name())),
    }
}

/// The [`Deduper`] key of a batch's numbering: its driver and its sender's `origin`. Two
/// spools (a relay on a new data folder, a second relay) number the same driver independently.
pub fn numbering(batch: &TelemetryBatch) -> String {
    match &batch.origin {
        // A newline is in no identifier: the key of one numbering is never another's.
        Some(o) => format!("{}\n{o}", batch.driver_id),
        None => batch.driver_id.clone(),
    }
}

/// What to do with a received batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The next batch: store it, then [`Deduper::commit`] and acknowledge.
    New,
    /// Already stored: acknowledge `last` again, store nothing.
    Duplicate { last: u64 },
    /// A batch is missing before it: store nothing, acknowledge `last` (0: none yet).
    Gap { last: u64 },
}

/// Per-numbering ([`numbering`]) last stored batch sequence (the cloud keeps it durably; this is
/// the rule).
#[derive(Debug, Default, Clone)]
pub struct Deduper {
    last: HashMap<String, u64>,
}

impl Deduper {
    /// A deduper that already stored `last` for some drivers.
    pub fn with_state(last: HashMap<String, u64>) -> Deduper {
        Deduper { last }
    }

    /// The last stored sequence of a driver (0: none).
    pub fn last(&self, driver: &str) -> u64 {
        self.last.get(driver).copied().unwrap_or(0)
    }

    /// Classifies a batch.
    pub fn check(&self, driver: &str, sequence: u64) -> Verdict {
        let last = self.last(driver);
        if sequence <= last {
            Verdict::Duplicate { last }
        } else if sequence == last + 1 {
            Verdict::New
        } else {
            Verdict::Gap { last }
        }
    }

    /// Records that the batch was stored.
    pub fn commit(&mut self, driver: &str, sequence: u64) {
        let e = self.last.entry(driver.to_string()).or_insert(0);
        *e = (*e).max(sequence);
    }
}
