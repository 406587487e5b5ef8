//! Live video from the driver's PC (issue 24, docs/video.md): a source (the deterministic test
//! pattern; Windows window or monitor capture is still to come), the openh264 encoder on a
//! thread of its own, and the sending side of the relay link.
//!
//! Frames go as binary messages on the agent's existing WebSocket (`crate::relay`), never into
//! the spool. Telemetry always wins: a frame is handed to the socket only through
//! [`pitbox_video::sender::VideoSender`], told whether a text message (telemetry) is waiting for
//! the socket and how many video bytes are still being written; a frame that does not fit is
//! dropped, the stream then waits for a keyframe, and repeated drops lower the bitrate.
//! The encoder idles while no link is up (nothing to send to).

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::{Sink, SinkExt};
use pitbox_video::sender::{FrameAction, LinkState, SenderConfig, VideoSender};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// Where the picture comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VideoSource {
    /// The deterministic test pattern (`pitbox_video::pattern`): colour bars, a moving box, the
    /// frame number and capture time as marks.
    TestPattern,
    /// The first window whose title contains this text (Windows.Graphics.Capture, Windows only).
    Window(String),
    /// A monitor by number, from 1 as Windows' display settings number them (Windows only).
    Monitor(u32),
}

impl FromStr for VideoSource {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s == "test-pattern" {
            return Ok(VideoSource::TestPattern);
        }
        if let Some(title) = s.strip_prefix("window:") {
            if title.trim().is_empty() {
                return Err("--video window:TITLE needs the window's title".into());
            }
            return Ok(VideoSource::Window(title.to_string()));
        }
        if let Some(n) = s.strip_prefix("monitor:") {
            return match n.trim().parse::<u32>() {
                Ok(k) if k >= 1 => Ok(VideoSource::Monitor(k)),
                _ => Err(format!("--video monitor:N needs a monitor number from 1 (the first), got {n:?}")),
            };
        }
        Err(format!("unknown video source {s:?}: use test-pattern, window:TITLE or monitor:N"))
    }
}

impl std::fmt::Display for VideoSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VideoSource::TestPattern => f.write_str("test-pattern"),
            VideoSource::Window(t) => write!(f, "window:{t}"),
            VideoSource::Monitor(n) => write!(f, "monitor:{n}"),
        }
    }
}

/// `WIDTHxHEIGHT`, e.g. `1280x720`: even sides, at least the test pattern's 512×192, at most
/// 3840 (what the encoder takes).
pub fn parse_size(s: &str) -> Result<(usize, usize), String> {
    let (w, h) = s
        .trim()
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("video size {s:?} must be WIDTHxHEIGHT, e.g. 1280x720"))?;
    let w: usize = w.trim().parse().map_err(|_| format!("video width {w:?} is not a number"))?;
    let h: usize = h.trim().parse().map_err(|_| format!("video height {h:?} is not a number"))?;
    let (min_w, min_h) = (pitbox_video::pattern::MIN_WIDTH, pitbox_video::pattern::MIN_HEIGHT);
    let max = pitbox_video::frame::MAX_DIMENSION;
    if w < min_w || h < min_h || w > max || h > max || !w.is_multiple_of(2) || !h.is_multiple_of(2) {
        return Err(format!("video size {w}x{h}: sides must be even, from {min_w}x{min_h} to {max}x{max}"));
    }
    Ok((w, h))
}

/// What the driver sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoSettings {
    pub source: VideoSource,
    pub width: usize,
    pub height: usize,
    pub fps: u32,
    pub bitrate_bps: u32,
    /// The hardware encoder where there is one (`auto`), or one of the two for sure.
    pub encoder: pitbox_video::EncoderChoice,
}

impl VideoSource {
    /// What the driver's window sends when the driver accepts the pit wall's request and the
    /// agent was started without `--video`: the iRacing window on Windows; elsewhere (no screen
    /// capture) the test pattern.
    pub fn on_request_default() -> VideoSource {
        if cfg!(windows) { VideoSource::Window("iRacing.com Simulator".into()) } else { VideoSource::TestPattern }
    }
}

impl VideoSettings {
    /// 1280×720, 30 fps, 3 Mbit/s of `source`, the hardware encoder if there is one.
    pub fn new(source: VideoSource) -> VideoSettings {
        VideoSettings {
            source,
            width: 1280,
            height: 720,
            fps: 30,
            bitrate_bps: 3_000_000,
            encoder: pitbox_video::EncoderChoice::Auto,
        }
    }
}

/// Video as the agent is set up for it: what is captured and how it is sent, and whether it is
/// sent from the start (`--video`) or only once the driver turns it on in the window or accepts
/// the pit wall's request (`--video-capture`, the default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoPlan {
    pub settings: VideoSettings,
    pub at_start: bool,
}

/// `3000000`, `3M`, `1500k` (decimal units, bit/s), 300 kbit/s – 20 Mbit/s.
pub fn parse_bitrate(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1_000.0),
        Some((i, 'm' | 'M')) => (&t[..i], 1_000_000.0),
        _ => (t, 1.0),
    };
    let v: f64 = num.trim().parse().map_err(|_| format!("bitrate {s:?} is not a number (e.g. 3M, 1500k)"))?;
    let bps = v * mult;
    if !(bps.is_finite() && (300_000.0..=20_000_000.0).contains(&bps)) {
        return Err(format!("bitrate {s:?} must be 300k–20M bit/s"));
    }
    Ok(bps as u32)
}

/// Why video cannot start.
#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    #[error("{0}")]
    Unsupported(String),
    #[error("invalid video settings: {0}")]
    Settings(String),
    #[error("the video thread could not start: {0}")]
    Thread(std::io::Error),
}

/// One encoded frame, as its wire message.
struct Encoded {
    message: Vec<u8>,
    keyframe: bool,
}

/// What the encoder thread and the relay link share; also `GET /api/status`'s `video`.
pub struct VideoLink {
    settings: VideoSettings,
    frames: tokio::sync::Mutex<mpsc::Receiver<Encoded>>,
    /// A link is up and takes frames: the encoder works only then.
    active: AtomicBool,
    /// The driver stopped sending from the window (`POST /api/video`): no pictures are made.
    paused: AtomicBool,
    force_keyframe: AtomicBool,
    bitrate: AtomicU32,
    stop: AtomicBool,
    encoded: AtomicU64,
    sent: AtomicU64,
    dropped: AtomicU64,
    last_sent_ms: AtomicU64,
    encode_us: AtomicU64,
    /// Keyframe requests that came down from the pit wall (through relay or cloud).
    keyframe_requests: AtomicU64,
    codec: std::sync::Mutex<Option<String>>,
    error: std::sync::Mutex<Option<String>>,
    /// The encoder in use ("openh264 (software)", or the hardware one's name) and why not the
    /// hardware one when it could have been.
    encoder: std::sync::Mutex<(Option<String>, Option<String>)>,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl VideoLink {
    /// What this video was started with.
    pub fn settings(&self) -> &VideoSettings {
        &self.settings
    }

    /// `GET /api/status`'s `video`: what is configured and whether frames are going out.
    pub fn status(&self) -> serde_json::Value {
        let encoded = self.encoded.load(Ordering::Relaxed);
        serde_json::json!({
            "source": self.settings.source.to_string(),
            "size": format!("{}x{}", self.settings.width, self.settings.height),
            "fps": self.settings.fps,
            "bitrateBps": self.bitrate.load(Ordering::Relaxed),
            // A frame went out within the last second.
            "sending": self.sending(),
            "framesEncoded": encoded,
            "framesSent": self.sent.load(Ordering::Relaxed),
            "framesDropped": self.dropped.load(Ordering::Relaxed),
            "keyframeRequests": self.keyframe_requests.load(Ordering::Relaxed),
            "encodeMsPerFrame": if encoded == 0 { 0.0 } else { self.encode_us.load(Ordering::Relaxed) as f64 / encoded as f64 / 1000.0 },
            "codec": self.codec.lock().ok().and_then(|c| c.clone()),
            "error": self.error.lock().ok().and_then(|e| e.clone()),
            "paused": self.paused.load(Ordering::Relaxed),
            "encoder": self.encoder.lock().ok().and_then(|e| e.0.clone()),
            "encoderFallback": self.encoder.lock().ok().and_then(|e| e.1.clone()),
        })
    }

    fn set_encoder(&self, encoder: &pitbox_video::AnyEncoder, fallback: Option<String>) {
        if let Ok(mut e) = self.encoder.lock() {
            *e = (Some(encoder.name()), fallback);
        }
    }

    /// The driver starts (`true`) or stops sending from the window; a restart begins with a
    /// keyframe.
    pub fn set_sending(&self, on: bool) {
        if on {
            self.force_keyframe.store(true, Ordering::Relaxed);
        }
        self.paused.store(!on, Ordering::Relaxed);
    }

    /// Whether frames went out within the last second.
    pub fn sending(&self) -> bool {
        let last = self.last_sent_ms.load(Ordering::Relaxed);
        last > 0 && now_ms().saturating_sub(last) < 1000
    }

    /// A keyframe request from the relay for this stream.
    pub fn keyframe_requested(&self) {
        self.keyframe_requests.fetch_add(1, Ordering::Relaxed);
        self.force_keyframe.store(true, Ordering::Relaxed);
    }
}

/// Stops the encoder thread when dropped.
pub struct VideoHandle {
    link: Arc<VideoLink>,
}

impl Drop for VideoHandle {
    fn drop(&mut self) {
        self.link.stop.store(true, Ordering::Relaxed);
    }
}

/// Checks that `settings` can run on this machine and build, without starting anything.
pub fn check(settings: &VideoSettings) -> Result<(), VideoError> {
    if settings.fps == 0 || settings.fps > 60 {
        return Err(VideoError::Settings(format!("--video-fps {} must be 1–60", settings.fps)));
    }
    parse_size(&format!("{}x{}", settings.width, settings.height)).map_err(VideoError::Settings)?;
    if !(300_000..=20_000_000).contains(&settings.bitrate_bps) {
        return Err(VideoError::Settings(format!(
            "--video-bitrate {} bit/s must be 300 kbit/s – 20 Mbit/s",
            settings.bitrate_bps
        )));
    }
    match &settings.source {
        VideoSource::Window(_) | VideoSource::Monitor(_) if !cfg!(windows) => Err(VideoError::Unsupported(format!(
            "--video {}: window capture runs on Windows only; use --video test-pattern here",
            settings.source
        ))),
        _ => Ok(()),
    }
}

/// Starts video for the agent: the encoder thread, and the link every relay connection sends
/// from. Keep the handle while the agent runs.
pub fn start(shared: &crate::state::Shared, settings: VideoSettings) -> Result<VideoHandle, VideoError> {
    check(&settings)?;
    let (tx, rx) = mpsc::channel(4);
    let link = Arc::new(VideoLink {
        bitrate: AtomicU32::new(settings.bitrate_bps),
        settings,
        frames: tokio::sync::Mutex::new(rx),
        active: AtomicBool::new(false),
        paused: AtomicBool::new(false),
        force_keyframe: AtomicBool::new(true),
        stop: AtomicBool::new(false),
        encoded: AtomicU64::new(0),
        sent: AtomicU64::new(0),
        dropped: AtomicU64::new(0),
        last_sent_ms: AtomicU64::new(0),
        encode_us: AtomicU64::new(0),
        keyframe_requests: AtomicU64::new(0),
        codec: std::sync::Mutex::new(None),
        encoder: std::sync::Mutex::new((None, None)),
        error: std::sync::Mutex::new(None),
    });
    if shared.video.set(link.clone()).is_err() {
        return Err(VideoError::Settings("video is already running in this agent".into()));
    }
    spawn_encoder(link.clone(), shared.driver_id.clone(), tx)?;
    Ok(VideoHandle { link })
}

/// The driver's answer in the window (`POST /api/video`): start or resume sending (`true`), or
/// stop. The pit wall's pending request is answered either way. Returns the video status.
pub fn set_sending(shared: &crate::state::Shared, on: bool) -> Result<serde_json::Value, VideoError> {
    if let Ok(mut r) = shared.video_request.lock() {
        *r = None;
    }
    // Held until video runs: two answers at once start it once.
    let mut started = match shared.video_started.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    if let Some(link) = shared.video.get() {
        link.set_sending(on);
        return Ok(link.status());
    }
    if !on {
        return Ok(serde_json::Value::Null);
    }
    let settings = shared.video_on_request.lock().ok().and_then(|s| s.clone()).ok_or_else(|| {
        VideoError::Settings("video is not set up in this agent (pitbox driver sets it up at start)".into())
    })?;
    let handle = start(shared, settings)?;
    let status = handle.link.status();
    *started = Some(handle);
    Ok(status)
}

fn spawn_encoder(link: Arc<VideoLink>, stream_id: String, tx: mpsc::Sender<Encoded>) -> Result<(), VideoError> {
    std::thread::Builder::new()
        .name("pitbox-video".into())
        .spawn(move || {
            lower_thread_priority();
            if let Err(e) = encode_loop(&link, &stream_id, &tx) {
                tracing::error!(error = %e, "video stopped");
                if let Ok(mut err) = link.error.lock() {
                    *err = Some(e);
                }
            }
        })
        .map(|_| ())
        .map_err(VideoError::Thread)
}

/// The encoder thread gives way to everything else of the agent (and to the sim): telemetry
/// always wins. On Linux it runs as `SCHED_IDLE`: any other thread that wakes takes the core at
/// once. (Measured with `pitbox bench video`, release, 2 cores: telemetry p99 1.4–2.9 ms with
/// the encoder at normal priority or at nice 10, 0.30–0.54 ms as `SCHED_IDLE`, 0.34 ms without
/// video.) On Windows, whose scheduler runs a ready thread of higher priority first, it is below
/// normal. Short of CPU, video drops frames. Not fatal when refused.
fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: 0 is the calling thread; `param` lives across the call.
        if unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) } != 0 {
            tracing::debug!(error = %std::io::Error::last_os_error(), "the video thread's priority stays normal");
        }
    }
    #[cfg(windows)]
    {
        use windows_sys::Win32::System::Threading::{
            GetCurrentThread, SetThreadPriority, THREAD_PRIORITY_BELOW_NORMAL,
        };
        // SAFETY: the pseudo-handle of the calling thread needs no closing.
        if unsafe { SetThreadPriority(GetCurrentThread(), THREAD_PRIORITY_BELOW_NORMAL) } == 0 {
            tracing::debug!(error = %std::io::Error::last_os_error(), "the video thread's priority stays normal");
        }
    }
}

/// Where the encoder's pictures come from: the test pattern, drawn on time, or the screen
/// capture's thread (Windows), started again when the window it captured is gone.
enum Pictures {
    Pattern {
        pattern: pitbox_video::TestPattern,
        next: std::time::Instant,
        number: u32,
    },
    #[cfg_attr(not(windows), allow(dead_code))]
    Screen {
        target: pitbox_video::capture::ScreenTarget,
        running: Option<(pitbox_video::capture::ScreenCapture, std::sync::mpsc::Receiver<CapturedFrame>)>,
        retry_at: std::time::Instant,
        said: Option<String>,
    },
}

use pitbox_video::capture::CapturedFrame;

impl Pictures {
    fn open(s: &VideoSettings) -> Result<Pictures, String> {
        let now = std::time::Instant::now();
        Ok(match &s.source {
            VideoSource::TestPattern => Pictures::Pattern {
                pattern: pitbox_video::TestPattern::new(s.width, s.height, s.fps).map_err(|e| e.to_string())?,
                next: now,
                number: 0,
            },
            VideoSource::Window(t) => Pictures::Screen {
                target: pitbox_video::capture::ScreenTarget::Window(t.clone()),
                running: None,
                retry_at: now,
                said: None,
            },
            VideoSource::Monitor(n) => Pictures::Screen {
                target: pitbox_video::capture::ScreenTarget::Monitor(*n as usize),
                running: None,
                retry_at: now,
                said: None,
            },
        })
    }

    /// The next picture and its capture time; `None` when there is none this time round (not
    /// sending, or the capture has nothing yet). Never waits more than one frame interval.
    fn next(&mut self, s: &VideoSettings, sending: bool) -> Option<(pitbox_video::I420Frame, u64)> {
        let period = Duration::from_secs_f64(1.0 / f64::from(s.fps.max(1)));
        match self {
            Pictures::Pattern { pattern, next, number } => {
                let now = std::time::Instant::now();
                if *next > now {
                    std::thread::sleep(*next - now);
                }
                // A thread woken late skips the pictures it missed instead of bursting them.
                *next = (*next + period).max(std::time::Instant::now());
                *number = number.wrapping_add(1);
                if !sending {
                    return None;
                }
                let capture_ms = now_ms();
                Some((pattern.frame(*number, capture_ms), capture_ms))
            }
            Pictures::Screen { target, running, retry_at, said } => {
                if running.is_none() {
                    if std::time::Instant::now() < *retry_at {
                        std::thread::sleep(period);
                        return None;
                    }
                    // The window may not be open yet (iRacing started after the agent): try
                    // again every 2 s, saying why once.
                    *retry_at = std::time::Instant::now() + Duration::from_secs(2);
                    let (tx, rx) = std::sync::mpsc::sync_channel(2);
                    let settings =
                        pitbox_video::capture::CaptureSettings { width: s.width, height: s.height, fps: s.fps };
                    match pitbox_video::capture::start(target, settings, tx) {
                        Ok(c) => {
                            tracing::info!(source = %s.source, "video capture started");
                            *said = None;
                            *running = Some((c, rx));
                        }
                        Err(e) => {
                            let e = e.to_string();
                            if said.as_deref() != Some(e.as_str()) {
                                tracing::warn!(source = %s.source, error = %e, "video capture not running; trying again every 2 s");
                                *said = Some(e);
                            }
                            return None;
                        }
                    }
                }
                let (_, rx) = running.as_ref()?;
                match rx.recv_timeout(period) {
                    Ok(c) if sending => Some((c.picture, c.capture_ms)),
                    Ok(_) | Err(std::sync::mpsc::RecvTimeoutError::Timeout) => None,
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                        tracing::warn!(source = %s.source, "video capture ended (the window closed?); trying again");
                        *running = None;
                        None
                    }
                }
            }
        }
    }
}

/// The encoder thread: one picture every 1/fps while a link is up, encoded and handed to the
/// link (a full hand-over queue drops the frame and asks for a keyframe).
fn encode_loop(link: &VideoLink, stream_id: &str, tx: &mpsc::Sender<Encoded>) -> Result<(), String> {
    use pitbox_video::{AnyEncoder, EncoderSettings, VideoFrame};
    let s = &link.settings;
    let mut pictures = Pictures::open(s)?;
    let settings = EncoderSettings {
        width: s.width,
        height: s.height,
        fps: s.fps,
        bitrate_bps: s.bitrate_bps,
        ..EncoderSettings::default()
    };
    let opened = pitbox_video::choice::open(settings, s.encoder).map_err(|e| format!("video encoder: {e}"))?;
    let mut encoder = opened.encoder;
    tracing::info!(encoder = %encoder.name(), fallback = ?opened.fallback, "video encoder");
    link.set_encoder(&encoder, opened.fallback);
    let mut sequence = 0u64;
    while !link.stop.load(Ordering::Relaxed) {
        let on = link.active.load(Ordering::Relaxed) && !link.paused.load(Ordering::Relaxed);
        let Some((frame, capture_ms)) = pictures.next(s, on) else { continue };
        if link.force_keyframe.swap(false, Ordering::Relaxed) {
            encoder.force_keyframe();
        }
        let want = link.bitrate.load(Ordering::Relaxed);
        if want != encoder.bitrate()
            && let Err(e) = encoder.set_bitrate(want)
        {
            tracing::warn!(error = %e, "video bitrate not changed");
        }
        let started = std::time::Instant::now();
        let out = match encoder.encode(&frame, capture_ms) {
            Ok(out) => out,
            // A hardware encoder that fails mid-stream gives way to openh264 for good: the
            // stream goes on (from a keyframe) and the status says why.
            Err(e) if encoder.is_hardware() => {
                let why = format!("{} failed: {e}", encoder.name());
                tracing::warn!(reason = %why, "video goes on with openh264");
                encoder = AnyEncoder::software(EncoderSettings { bitrate_bps: encoder.bitrate(), ..settings })
                    .map_err(|e| format!("video encoder: {e}"))?;
                link.set_encoder(&encoder, Some(why));
                continue;
            }
            Err(e) => return Err(e.to_string()),
        };
        link.encode_us.fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        let Some(out) = out else { continue };
        link.encoded.fetch_add(1, Ordering::Relaxed);
        let Some(codec) = encoder.codec().map(str::to_string) else { continue };
        if let Ok(mut c) = link.codec.lock()
            && c.as_deref() != Some(codec.as_str())
        {
            *c = Some(codec.clone());
        }
        let keyframe = out.keyframe;
        let msg =
            VideoFrame::new(stream_id, sequence, capture_ms, keyframe, codec, out.data).map_err(|e| e.to_string())?;
        // +1 per encoded frame: a gap downstream means frames were dropped on the way.
        sequence += 1;
        if tx.try_send(Encoded { message: pitbox_video::encode(&msg), keyframe }).is_err() {
            link.dropped.fetch_add(1, Ordering::Relaxed);
            link.force_keyframe.store(true, Ordering::Relaxed);
        }
    }
    Ok(())
}

/// Marks the link inactive when a connection's video sender ends (aborted with the connection).
struct Active<'a>(&'a VideoLink);

impl Drop for Active<'_> {
    fn drop(&mut self) {
        self.0.active.store(false, Ordering::Relaxed);
    }
}

/// Sends the video of one relay connection until it is aborted. `text_waiting` counts text
/// messages waiting for the socket (telemetry first: a frame is dropped while any waits).
pub(crate) async fn send_loop<S>(link: Arc<VideoLink>, sink: Arc<tokio::sync::Mutex<S>>, text_waiting: Arc<AtomicUsize>)
where
    S: Sink<WsMessage> + Unpin + Send + 'static,
    S::Error: std::fmt::Display,
{
    let mut frames = link.frames.lock().await;
    // Frames encoded for an earlier connection are stale.
    while frames.try_recv().is_ok() {}
    let _active = Active(&link);
    link.active.store(true, Ordering::Relaxed);
    link.force_keyframe.store(true, Ordering::Relaxed);
    // Video bytes handed to the writer and not yet written to the socket.
    let queued = Arc::new(AtomicUsize::new(0));
    let (to_writer, mut writer_rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let writer = {
        let queued = queued.clone();
        tokio::spawn(async move {
            while let Some(m) = writer_rx.recv().await {
                let len = m.len();
                let r = sink.lock().await.send(WsMessage::binary(m)).await;
                queued.fetch_sub(len, Ordering::Relaxed);
                if let Err(e) = r {
                    tracing::debug!(error = %e, "video write failed");
                    return;
                }
            }
        })
    };
    let _writer = AbortOnDrop(writer);
    let mut sender =
        VideoSender::new(SenderConfig { max_bitrate_bps: link.settings.bitrate_bps, ..SenderConfig::default() });
    while let Some(f) = frames.recv().await {
        let state = LinkState {
            queued_bytes: queued.load(Ordering::Relaxed),
            telemetry_waiting: text_waiting.load(Ordering::Relaxed) > 0,
        };
        let now = now_ms();
        let d = sender.on_frame(now, f.keyframe, f.message.len(), state);
        if d.request_keyframe {
            link.force_keyframe.store(true, Ordering::Relaxed);
        }
        if let Some(b) = d.set_bitrate {
            link.bitrate.store(b, Ordering::Relaxed);
        }
        match d.action {
            FrameAction::Send => {
                queued.fetch_add(f.message.len(), Ordering::Relaxed);
                if to_writer.send(f.message).is_err() {
                    return;
                }
                link.sent.fetch_add(1, Ordering::Relaxed);
                link.last_sent_ms.store(now, Ordering::Relaxed);
            }
            FrameAction::Drop(_) => {
                link.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Aborts a task when dropped (a connection's video tasks end with it).
pub(crate) struct AbortOnDrop(pub(crate) tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A binary message from the relay: a keyframe request for this driver's stream. Anything else
/// is logged and ignored (a relay sends no other binary message to a driver).
pub(crate) fn on_binary(shared: &crate::state::Shared, bytes: &[u8]) {
    match pitbox_video::decode_message(bytes) {
        Ok(pitbox_video::VideoMessage::KeyframeRequest { stream_id }) if stream_id == shared.driver_id => {
            if let Some(v) = shared.video.get() {
                v.keyframe_requested();
            }
        }
        Ok(_) => tracing::debug!("binary message from the relay that is not a keyframe request for this driver"),
        Err(e) => tracing::debug!(error = %e, "unreadable binary message from the relay"),
    }
}

/// `pitbox bench video`'s figures: the test pattern at 1280×720, 30 fps, 3 Mbit/s through the
/// encoder thread and the sender, into a sink that only counts.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoBench {
    pub seconds: f64,
    pub width: usize,
    pub height: usize,
    pub fps: u32,
    pub frames_encoded: u64,
    pub frames_sent: u64,
    /// Mean encode time per frame (openh264, one thread).
    pub encode_ms_per_frame: f64,
    /// The encoder thread's CPU (picture generation included), percent of one core; `None` off Linux.
    pub cpu_pct_one_core: Option<f64>,
    /// What went out, Mbit/s (the test pattern is mostly static: far below the target).
    pub bitrate_mbps: f64,
    pub target_mbps: f64,
}

fn encoder_cpu_seconds() -> Option<f64> {
    let threads = crate::bench::cpu_by_thread()?;
    Some(threads.iter().filter(|(n, _)| n == "pitbox-video").map(|x| x.1).sum())
}

/// Runs the video pipeline for `seconds` and measures it.
pub fn measure(seconds: u64) -> anyhow::Result<VideoBench> {
    use pitbox_model::rest::{CloudConfig, DriverAppConfig, RelayAgentConfig, VoiceConfig};
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let config = DriverAppConfig {
        relay_agent: RelayAgentConfig { url: "ws://127.0.0.1".into(), port: 8765 },
        cloud: CloudConfig { endpoint: "http://127.0.0.1:8080".into(), enabled: false },
        voice: VoiceConfig { enabled: false, sensitivity: 0.5, voice_id: "default".into() },
    };
    let (shared, _outbox) = crate::state::Shared::new("bench-video", "bench".into(), config);
    let settings = VideoSettings::new(VideoSource::TestPattern);
    let target_mbps = f64::from(settings.bitrate_bps) / 1e6;
    let (width, height, fps) = (settings.width, settings.height, settings.fps);
    let handle = start(&shared, settings)?;
    let link = shared.video.get().cloned().ok_or_else(|| anyhow::anyhow!("video did not start"))?;
    let bytes = Arc::new(AtomicU64::new(0));
    let counted = bytes.clone();
    let sink = Box::pin(futures_util::sink::unfold(counted, |b, m: WsMessage| async move {
        b.fetch_add(m.len() as u64, Ordering::Relaxed);
        Ok::<_, std::convert::Infallible>(b)
    }));
    let cpu0 = encoder_cpu_seconds();
    let started = std::time::Instant::now();
    rt.block_on(async {
        let task = tokio::spawn(send_loop(
            link.clone(),
            Arc::new(tokio::sync::Mutex::new(sink)),
            Arc::new(AtomicUsize::new(0)),
        ));
        tokio::time::sleep(Duration::from_secs(seconds.max(1))).await;
        task.abort();
    });
    let wall = started.elapsed().as_secs_f64();
    let cpu = match (cpu0, encoder_cpu_seconds()) {
        (Some(a), Some(b)) => Some((b - a) / wall * 100.0),
        _ => None,
    };
    drop(handle);
    let encoded = link.encoded.load(Ordering::Relaxed);
    Ok(VideoBench {
        seconds: wall,
        width,
        height,
        fps,
        frames_encoded: encoded,
        frames_sent: link.sent.load(Ordering::Relaxed),
        encode_ms_per_frame: if encoded == 0 {
            0.0
        } else {
            link.encode_us.load(Ordering::Relaxed) as f64 / encoded as f64 / 1000.0
        },
        cpu_pct_one_core: cpu,
        bitrate_mbps: bytes.load(Ordering::Relaxed) as f64 * 8.0 / wall / 1e6,
        target_mbps,
    })
}

/// Telemetry latency (a sample's `timestamp` → received by a loopback stand-in for the relay),
/// with the agent on the simulator at 60 Hz, for `seconds`, with or without video (the test
/// pattern at 720p30) on the same link: p50, p99 in ms, and the samples and video frames received.
pub fn telemetry_latency(seconds: u64, with_video: bool) -> anyhow::Result<(f64, f64, usize, u64)> {
    use futures_util::StreamExt;
    use pitbox_model::Message;
    use pitbox_model::rest::{CloudConfig, DriverAppConfig, RelayAgentConfig, VoiceConfig};
    let sink_rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).thread_name("bench-sink").enable_all().build()?;
    let latencies = Arc::new(std::sync::Mutex::new(Vec::<f64>::new()));
    let video_frames = Arc::new(AtomicU64::new(0));
    let listener = sink_rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let port = listener.local_addr()?.port();
    let (lat, vf) = (latencies.clone(), video_frames.clone());
    sink_rt.spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (lat, vf) = (lat.clone(), vf.clone());
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else { return };
                while let Some(Ok(frame)) = ws.next().await {
                    match frame {
                        WsMessage::Binary(_) => {
                            vf.fetch_add(1, Ordering::Relaxed);
                        }
                        WsMessage::Text(t) => match pitbox_model::decode(t.as_bytes()) {
                            Ok(Message::TelemetryUpdate(u)) => {
                                let ms =
                                    (chrono::Utc::now() - u.timestamp).num_microseconds().unwrap_or(0) as f64 / 1000.0;
                                if let Ok(mut l) = lat.lock() {
                                    l.push(ms);
                                }
                            }
                            Ok(Message::Authenticate(_)) => {
                                let ok = Message::AuthenticationResult(pitbox_model::control::AuthenticationResult {
                                    success: true,
                                    user_id: Some("bench-driver".into()),
                                    role: Some(pitbox_model::UserRole::Driver),
                                    team_id: Some("bench".into()),
                                    reason: None,
                                });
                                if ws.send(WsMessage::Text(ok.to_json().into())).await.is_err() {
                                    return;
                                }
                            }
                            _ => {}
                        },
                        _ => {}
                    }
                }
            });
        }
    });
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let callouts = tempfile::tempdir()?;
    rt.block_on(async {
        let source = pitbox_sources::sim::source::SimSource::start(
            pitbox_sources::sim::SimConfig::new(1, &pitbox_sources::sim::track::RED_BULL_RING),
            pitbox_sources::sim::output::LivePace { speed: 1.0 },
            pitbox_sources::live::LiveOptions::new("bench-driver"),
        )?;
        let mut settings = crate::agent::AgentSettings::new(
            "bench-driver",
            DriverAppConfig {
                relay_agent: RelayAgentConfig { url: "ws://127.0.0.1".into(), port },
                cloud: CloudConfig { endpoint: "http://127.0.0.1:8080".into(), enabled: false },
                voice: VoiceConfig { enabled: false, sensitivity: 0.5, voice_id: "default".into() },
            },
        );
        settings.token = Some("bench".into());
        settings.listen = "127.0.0.1:0".parse()?;
        settings.voice = crate::voice::VoiceSettings::wav_dir(callouts.path());
        settings.voice.spotter = false;
        settings.voice.cues = false;
        let agent = crate::agent::start(settings, Box::new(source)).await?;
        let video =
            if with_video { Some(start(&agent.shared, VideoSettings::new(VideoSource::TestPattern))?) } else { None };
        // Connected and past the first keyframe before counting.
        tokio::time::sleep(Duration::from_secs(2)).await;
        if let Ok(mut l) = latencies.lock() {
            l.clear();
        }
        let v0 = video_frames.load(Ordering::Relaxed);
        tokio::time::sleep(Duration::from_secs(seconds.max(1))).await;
        let mut l = latencies.lock().map(|l| l.clone()).unwrap_or_default();
        let frames = video_frames.load(Ordering::Relaxed) - v0;
        drop(video);
        agent.shutdown().await;
        l.sort_by(f64::total_cmp);
        let at =
            |p: f64| l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1))).copied().unwrap_or(f64::NAN);
        Ok((at(0.5), at(0.99), l.len(), frames))
    })
}

/// `pitbox bench video`: prints the figures.
pub fn bench(seconds: u64) -> anyhow::Result<VideoBench> {
    println!("video bench: test pattern → openh264 (one thread) → the driver's sender, {seconds} s");
    let r = measure(seconds)?;
    println!("  {}x{} at {} fps, target {:.1} Mbit/s CBR", r.width, r.height, r.fps, r.target_mbps);
    println!(
        "  encode: {:.2} ms/frame ({} frames encoded, {} sent)",
        r.encode_ms_per_frame, r.frames_encoded, r.frames_sent
    );
    match r.cpu_pct_one_core {
        Some(c) => println!("  encoder thread CPU: {c:.1} % of one core (goal ≤ 30 %)"),
        None => println!("  encoder thread CPU: not measured (needs Linux /proc)"),
    }
    println!(
        "  bitrate sent: {:.2} Mbit/s (the pattern is mostly static; real sim footage uses the target)",
        r.bitrate_mbps
    );
    println!(
        "telemetry first: the agent on the simulator at 60 Hz → a loopback stand-in for the relay, {seconds} s each"
    );
    for with_video in [false, true] {
        let (p50, p99, n, frames) = telemetry_latency(seconds, with_video)?;
        let label = if with_video { "with video" } else { "without video" };
        println!(
            "  {label:>13}: telemetry latency p50 {p50:.2} ms, p99 {p99:.2} ms ({n} samples, {frames} video frames)"
        );
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse() {
        assert_eq!("test-pattern".parse::<VideoSource>(), Ok(VideoSource::TestPattern));
        assert_eq!(
            "window:iRacing.com Simulator".parse::<VideoSource>(),
            Ok(VideoSource::Window("iRacing.com Simulator".into()))
        );
        assert_eq!("monitor:1".parse::<VideoSource>(), Ok(VideoSource::Monitor(1)));
        assert!("monitor:x".parse::<VideoSource>().unwrap_err().contains("monitor number"));
        assert!("window:".parse::<VideoSource>().is_err());
        assert!("camera".parse::<VideoSource>().unwrap_err().contains("test-pattern, window:TITLE or monitor:N"));
    }

    /// Telemetry always wins: the encoder thread yields the core to any other thread that wakes.
    #[cfg(target_os = "linux")]
    #[test]
    fn the_encoder_thread_gives_way_to_every_other_thread() {
        let policy = std::thread::spawn(|| {
            lower_thread_priority();
            // SAFETY: 0 is the calling thread.
            unsafe { libc::sched_getscheduler(0) }
        })
        .join()
        .unwrap();
        assert_eq!(policy, libc::SCHED_IDLE);
        // SAFETY: as above; this test's own thread is untouched.
        assert_eq!(unsafe { libc::sched_getscheduler(0) }, libc::SCHED_OTHER);
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("1280x720"), Ok((1280, 720)));
        assert_eq!(parse_size("640X360"), Ok((640, 360)));
        assert!(parse_size("1281x720").is_err());
        assert!(parse_size("100x100").is_err());
        assert!(parse_size("1280").is_err());
        assert!(parse_size("axb").is_err());
    }

    #[test]
    fn capture_is_windows_only() {
        let err = check(&VideoSettings::new(VideoSource::Window("iRacing".into())))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        if cfg!(windows) {
            assert!(err.is_empty(), "{err}");
        } else {
            assert!(err.contains("window capture runs on Windows only"), "{err}");
        }
        assert!("monitor:0".parse::<VideoSource>().unwrap_err().contains("from 1"));
        let mut s = VideoSettings::new(VideoSource::TestPattern);
        assert!(check(&s).is_ok());
        s.fps = 0;
        assert!(check(&s).is_err());
    }
}
