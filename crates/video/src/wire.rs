//! The binary WebSocket messages of the video links (driver → relay → cloud → dashboard, and
//! keyframe requests back up). JSON stays for everything else; a binary message on a video link
//! is one of these. Big-endian throughout, as JavaScript's `DataView` reads by default.
//!
//! Video frame (`kind` 1):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 1 | magic `0x56` (`'V'`) |
//! | 1 | 1 | version, `1` |
//! | 2 | 1 | kind: `1` frame |
//! | 3 | 1 | flags: bit 0 keyframe; the other bits must be 0 |
//! | 4 | 8 | sequence number, u64 (per stream, +1 per encoded frame, gaps = dropped frames) |
//! | 12 | 8 | capture time, unix ms, u64 |
//! | 20 | 1 | stream id length `s`, 1–[`MAX_STREAM_ID_LEN`] |
//! | 21 | s | stream id (the driver id), UTF-8 |
//! | 21+s | 1 | codec length `c`, 1–[`MAX_CODEC_LEN`] |
//! | 22+s | c | codec string (printable ASCII, e.g. `avc1.42C01F`) |
//! | 22+s+c | 4 | payload length `p`, u32, 1–[`MAX_PAYLOAD_LEN`] |
//! | 26+s+c | p | payload: one H.264 access unit, Annex-B; SPS and PPS first on keyframes |
//!
//! Nothing may follow the payload. Keyframe request (`kind` 2): magic, version, kind `2`,
//! flags `0`, stream id length, stream id.

/// First byte of every video message.
pub const MAGIC: u8 = 0x56;
/// The format version this code writes and reads.
pub const VERSION: u8 = 1;
/// `kind` of a video frame.
pub const KIND_FRAME: u8 = 1;
/// `kind` of a keyframe request.
pub const KIND_KEYFRAME_REQUEST: u8 = 2;
/// Flag bit: the payload is a keyframe (IDR with SPS and PPS).
pub const FLAG_KEYFRAME: u8 = 0x01;
/// Longest stream id in bytes (driver ids are short).
pub const MAX_STREAM_ID_LEN: usize = 64;
/// Longest codec string in bytes (`avc1.42C01F` is 11).
pub const MAX_CODEC_LEN: usize = 32;
/// Largest payload: a 720p keyframe at 3 Mbit/s is tens of KiB; 1 MiB leaves room for 1080p
/// keyframes at higher rates and bounds what a relay buffers per frame.
pub const MAX_PAYLOAD_LEN: usize = 1 << 20;
/// Bytes of a frame message besides stream id, codec and payload.
pub const FRAME_OVERHEAD: usize = 26;
/// The longest video message there can be (a frame with every field at its limit): what a
/// server lets through its frame-size check for a binary message starting with [`MAGIC`].
pub const MAX_MESSAGE_LEN: usize = FRAME_OVERHEAD + MAX_STREAM_ID_LEN + MAX_CODEC_LEN + MAX_PAYLOAD_LEN;

/// Why bytes are not a video message (or a frame cannot be built).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VideoFrameError {
    #[error("truncated at {field}: needs {needed} bytes from offset {offset}, {available} left")]
    Truncated { field: &'static str, offset: usize, needed: usize, available: usize },
    #[error("bad magic byte 0x{0:02x} (expected 0x56)")]
    BadMagic(u8),
    #[error("unsupported video message version {0}")]
    UnsupportedVersion(u8),
    #[error("unknown video message kind {0}")]
    UnknownKind(u8),
    #[error("expected a video frame, got message kind {0}")]
    NotAFrame(u8),
    #[error("reserved flag bits set: 0x{0:02x}")]
    ReservedFlags(u8),
    #[error("stream id is {0} bytes (1–{MAX_STREAM_ID_LEN})")]
    StreamIdLength(usize),
    #[error("codec string is {0} bytes (1–{MAX_CODEC_LEN})")]
    CodecLength(usize),
    #[error("{0} is not valid UTF-8")]
    BadUtf8(&'static str),
    #[error("codec string has a character other than printable ASCII")]
    BadCodec,
    #[error("payload is empty")]
    EmptyPayload,
    #[error("payload of {len} bytes is over the limit of {MAX_PAYLOAD_LEN}")]
    PayloadTooLarge { len: usize },
    #[error("{0} bytes after the payload")]
    TrailingBytes(usize),
}

/// An encoded frame to send. Built through [`VideoFrame::new`], so it always encodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoFrame {
    stream_id: String,
    sequence: u64,
    capture_ms: u64,
    keyframe: bool,
    codec: String,
    payload: Vec<u8>,
}

/// A decoded frame, borrowing from the received message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoFrameRef<'a> {
    pub stream_id: &'a str,
    pub sequence: u64,
    pub capture_ms: u64,
    pub keyframe: bool,
    pub codec: &'a str,
    pub payload: &'a [u8],
}

/// Any video message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoMessage<'a> {
    Frame(VideoFrameRef<'a>),
    /// A viewer (through relay or cloud) asks the stream's sender for a keyframe.
    KeyframeRequest {
        stream_id: &'a str,
    },
}

fn check_stream_id(id: &str) -> Result<(), VideoFrameError> {
    if id.is_empty() || id.len() > MAX_STREAM_ID_LEN {
        return Err(VideoFrameError::StreamIdLength(id.len()));
    }
    Ok(())
}

fn check_codec(codec: &[u8]) -> Result<(), VideoFrameError> {
    if codec.is_empty() || codec.len() > MAX_CODEC_LEN {
        return Err(VideoFrameError::CodecLength(codec.len()));
    }
    if !codec.iter().all(u8::is_ascii_graphic) {
        return Err(VideoFrameError::BadCodec);
    }
    Ok(())
}

fn check_payload(len: usize) -> Result<(), VideoFrameError> {
    match len {
        0 => Err(VideoFrameError::EmptyPayload),
        len if len > MAX_PAYLOAD_LEN => Err(VideoFrameError::PayloadTooLarge { len }),
        _ => Ok(()),
    }
}

impl VideoFrame {
    /// Checks the bounds the decoder checks, so what is built can be sent and read back.
    pub fn new(
        stream_id: impl Into<String>,
        sequence: u64,
        capture_ms: u64,
        keyframe: bool,
        codec: impl Into<String>,
        payload: Vec<u8>,
    ) -> Result<Self, VideoFrameError> {
        let (stream_id, codec) = (stream_id.into(), codec.into());
        check_stream_id(&stream_id)?;
        check_codec(codec.as_bytes())?;
        check_payload(payload.len())?;
        Ok(Self { stream_id, sequence, capture_ms, keyframe, codec, payload })
    }

    pub fn stream_id(&self) -> &str {
        &self.stream_id
    }

    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    pub fn capture_ms(&self) -> u64 {
        self.capture_ms
    }

    pub fn keyframe(&self) -> bool {
        self.keyframe
    }

    pub fn codec(&self) -> &str {
        &self.codec
    }

    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    pub fn as_ref(&self) -> VideoFrameRef<'_> {
        VideoFrameRef {
            stream_id: &self.stream_id,
            sequence: self.sequence,
            capture_ms: self.capture_ms,
            keyframe: self.keyframe,
            codec: &self.codec,
            payload: &self.payload,
        }
    }
}

impl VideoFrameRef<'_> {
    pub fn to_owned(&self) -> VideoFrame {
        VideoFrame {
            stream_id: self.stream_id.to_owned(),
            sequence: self.sequence,
            capture_ms: self.capture_ms,
            keyframe: self.keyframe,
            codec: self.codec.to_owned(),
            payload: self.payload.to_vec(),
        }
    }

    /// The size of this frame as a message.
    pub fn encoded_len(&self) -> usize {
        FRAME_OVERHEAD + self.stream_id.len() + self.codec.len() + self.payload.len()
    }
}

/// The message bytes of a frame.
pub fn encode(frame: &VideoFrame) -> Vec<u8> {
    let f = frame.as_ref();
    let mut out = Vec::with_capacity(f.encoded_len());
    out.extend_from_slice(&[MAGIC, VERSION, KIND_FRAME, if f.keyframe { FLAG_KEYFRAME } else { 0 }]);
    out.extend_from_slice(&f.sequence.to_be_bytes());
    out.extend_from_slice(&f.capture_ms.to_be_bytes());
    // Lengths fit their fields: VideoFrame::new checked them against the bounds.
    out.push(f.stream_id.len() as u8);
    out.extend_from_slice(f.stream_id.as_bytes());
    out.push(f.codec.len() as u8);
    out.extend_from_slice(f.codec.as_bytes());
    out.extend_from_slice(&(f.payload.len() as u32).to_be_bytes());
    out.extend_from_slice(f.payload);
    out
}

/// The message bytes of a keyframe request for `stream_id`.
pub fn encode_keyframe_request(stream_id: &str) -> Result<Vec<u8>, VideoFrameError> {
    check_stream_id(stream_id)?;
    let mut out = vec![MAGIC, VERSION, KIND_KEYFRAME_REQUEST, 0, stream_id.len() as u8];
    out.extend_from_slice(stream_id.as_bytes());
    Ok(out)
}

/// A cursor that names the field it failed on.
struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], VideoFrameError> {
        let available = self.data.len() - self.at;
        if n > available {
            return Err(VideoFrameError::Truncated { field, offset: self.at, needed: n, available });
        }
        let out = &self.data[self.at..self.at + n];
        self.at += n;
        Ok(out)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, VideoFrameError> {
        Ok(self.take(1, field)?[0])
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, VideoFrameError> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8, field)?);
        Ok(u64::from_be_bytes(b))
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, VideoFrameError> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4, field)?);
        Ok(u32::from_be_bytes(b))
    }

    fn stream_id(&mut self) -> Result<&'a str, VideoFrameError> {
        let len = usize::from(self.u8("stream id length")?);
        if len == 0 || len > MAX_STREAM_ID_LEN {
            return Err(VideoFrameError::StreamIdLength(len));
        }
        std::str::from_utf8(self.take(len, "stream id")?).map_err(|_| VideoFrameError::BadUtf8("stream id"))
    }

    fn finish(&self) -> Result<(), VideoFrameError> {
        match self.data.len() - self.at {
            0 => Ok(()),
            extra => Err(VideoFrameError::TrailingBytes(extra)),
        }
    }
}

/// Reads any video message. Never panics; every failure names what is wrong.
pub fn decode_message(data: &[u8]) -> Result<VideoMessage<'_>, VideoFrameError> {
    let mut r = Reader { data, at: 0 };
    let magic = r.u8("magic")?;
    if magic != MAGIC {
        return Err(VideoFrameError::BadMagic(magic));
    }
    let version = r.u8("version")?;
    if version != VERSION {
        return Err(VideoFrameError::UnsupportedVersion(version));
    }
    let kind = r.u8("kind")?;
    let flags = r.u8("flags")?;
    match kind {
        KIND_FRAME => {
            if flags & !FLAG_KEYFRAME != 0 {
                return Err(VideoFrameError::ReservedFlags(flags));
            }
            let sequence = r.u64("sequence")?;
            let capture_ms = r.u64("capture time")?;
            let stream_id = r.stream_id()?;
            let codec_len = usize::from(r.u8("codec length")?);
            if codec_len == 0 || codec_len > MAX_CODEC_LEN {
                return Err(VideoFrameError::CodecLength(codec_len));
            }
            let codec = r.take(codec_len, "codec")?;
            check_codec(codec)?;
            // Printable ASCII is UTF-8; the error cannot happen after check_codec.
            let codec = std::str::from_utf8(codec).map_err(|_| VideoFrameError::BadUtf8("codec"))?;
            let len = r.u32("payload length")?;
            let len = usize::try_from(len).map_err(|_| VideoFrameError::PayloadTooLarge { len: usize::MAX })?;
            // Checked before reading, so a lying length costs nothing.
            check_payload(len)?;
            let payload = r.take(len, "payload")?;
            r.finish()?;
            Ok(VideoMessage::Frame(VideoFrameRef {
                stream_id,
                sequence,
                capture_ms,
                keyframe: flags & FLAG_KEYFRAME != 0,
                codec,
                payload,
            }))
        }
        KIND_KEYFRAME_REQUEST => {
            if flags != 0 {
                return Err(VideoFrameError::ReservedFlags(flags));
            }
            let stream_id = r.stream_id()?;
            r.finish()?;
            Ok(VideoMessage::KeyframeRequest { stream_id })
        }
        other => Err(VideoFrameError::UnknownKind(other)),
    }
}

/// Reads a video frame message.
pub fn decode(data: &[u8]) -> Result<VideoFrameRef<'_>, VideoFrameError> {
    match decode_message(data)? {
        VideoMessage::Frame(f) => Ok(f),
        VideoMessage::KeyframeRequest { .. } => Err(VideoFrameError::NotAFrame(KIND_KEYFRAME_REQUEST)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> VideoFrame {
        VideoFrame::new("drv-1", 7, 1_765_000_000_123, true, "avc1.42C01F", vec![0, 0, 0, 1, 0x67]).unwrap()
    }

    #[test]
    fn layout_matches_the_table() {
        let bytes = encode(&sample());
        assert_eq!(&bytes[..4], &[0x56, 1, 1, 1]);
        assert_eq!(&bytes[4..12], &7u64.to_be_bytes());
        assert_eq!(&bytes[12..20], &1_765_000_000_123u64.to_be_bytes());
        assert_eq!(bytes[20], 5);
        assert_eq!(&bytes[21..26], b"drv-1");
        assert_eq!(bytes[26], 11);
        assert_eq!(&bytes[27..38], b"avc1.42C01F");
        assert_eq!(&bytes[38..42], &5u32.to_be_bytes());
        assert_eq!(&bytes[42..], &[0, 0, 0, 1, 0x67]);
        assert_eq!(bytes.len(), sample().as_ref().encoded_len());
        assert_eq!(decode(&bytes).unwrap(), sample().as_ref());
    }

    #[test]
    fn every_error_is_precise() {
        let good = encode(&sample());
        let with = |i: usize, b: u8| {
            let mut v = good.clone();
            v[i] = b;
            v
        };
        assert_eq!(decode(&[]), Err(VideoFrameError::Truncated { field: "magic", offset: 0, needed: 1, available: 0 }));
        assert_eq!(decode(&with(0, 0x57)), Err(VideoFrameError::BadMagic(0x57)));
        assert_eq!(decode(&with(1, 2)), Err(VideoFrameError::UnsupportedVersion(2)));
        assert_eq!(decode(&with(2, 9)), Err(VideoFrameError::UnknownKind(9)));
        assert_eq!(decode(&with(3, 3)), Err(VideoFrameError::ReservedFlags(3)));
        assert_eq!(decode(&with(20, 0)), Err(VideoFrameError::StreamIdLength(0)));
        assert_eq!(decode(&with(20, 65)), Err(VideoFrameError::StreamIdLength(65)));
        assert_eq!(decode(&with(21, 0xff)), Err(VideoFrameError::BadUtf8("stream id")));
        assert_eq!(decode(&with(26, 33)), Err(VideoFrameError::CodecLength(33)));
        assert_eq!(decode(&with(27, b' ')), Err(VideoFrameError::BadCodec));
        let mut huge = good.clone();
        huge[38..42].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(decode(&huge), Err(VideoFrameError::PayloadTooLarge { len: u32::MAX as usize }));
        let mut empty = good[..42].to_vec();
        empty[38..42].copy_from_slice(&0u32.to_be_bytes());
        assert_eq!(decode(&empty), Err(VideoFrameError::EmptyPayload));
        assert!(matches!(
            decode(&good[..good.len() - 1]),
            Err(VideoFrameError::Truncated { field: "payload", needed: 5, available: 4, .. })
        ));
        assert!(matches!(decode(&good[..10]), Err(VideoFrameError::Truncated { field: "sequence", .. })));
        let mut long = good.clone();
        long.push(0);
        assert_eq!(decode(&long), Err(VideoFrameError::TrailingBytes(1)));
    }

    #[test]
    fn construction_checks_bounds() {
        let p = || vec![1u8];
        assert_eq!(VideoFrame::new("", 0, 0, false, "avc1", p()), Err(VideoFrameError::StreamIdLength(0)));
        assert_eq!(VideoFrame::new("x".repeat(65), 0, 0, false, "avc1", p()), Err(VideoFrameError::StreamIdLength(65)));
        assert_eq!(VideoFrame::new("a", 0, 0, false, "", p()), Err(VideoFrameError::CodecLength(0)));
        assert_eq!(VideoFrame::new("a", 0, 0, false, "avc1 x", p()), Err(VideoFrameError::BadCodec));
        assert_eq!(VideoFrame::new("a", 0, 0, false, "avc1", vec![]), Err(VideoFrameError::EmptyPayload));
        assert_eq!(
            VideoFrame::new("a", 0, 0, false, "avc1", vec![0; MAX_PAYLOAD_LEN + 1]),
            Err(VideoFrameError::PayloadTooLarge { len: MAX_PAYLOAD_LEN + 1 })
        );
        assert!(VideoFrame::new("a", 0, 0, false, "avc1", vec![0; MAX_PAYLOAD_LEN]).is_ok());
    }

    #[test]
    fn keyframe_request_round_trips() {
        let bytes = encode_keyframe_request("drv-1").unwrap();
        assert_eq!(bytes, [0x56, 1, 2, 0, 5, b'd', b'r', b'v', b'-', b'1']);
        assert_eq!(decode_message(&bytes), Ok(VideoMessage::KeyframeRequest { stream_id: "drv-1" }));
        assert_eq!(decode(&bytes), Err(VideoFrameError::NotAFrame(2)));
        let mut flagged = bytes.clone();
        flagged[3] = 1;
        assert_eq!(decode_message(&flagged), Err(VideoFrameError::ReservedFlags(1)));
        assert!(encode_keyframe_request("").is_err());
    }
}
