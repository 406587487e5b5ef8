//! The driver's screen as pictures: what `--video window:TITLE` and `--video monitor:N` name
//! ([`ScreenTarget`]), the capture itself on Windows (Windows.Graphics.Capture through the
//! `windows-capture` crate: [`start`]), and the step every captured picture takes before the
//! encoder, BGRA at the window's size → I420 at the stream's size ([`bgra_to_i420_fit`]).
//!
//! The capture runs on Windows only; elsewhere [`start`] says so ([`CaptureError::Unsupported`]).
//! It cannot run under wine either (no Windows.Graphics.Capture there): CI compiles it for
//! Windows and tests the conversion on every platform. Settings, as issue 24 asks: the minimum
//! update interval set to the stream's frame interval (the default gives an uneven ~50 fps), no
//! cursor, no yellow border where Windows lets an application turn it off.

use std::time::Duration;

use crate::frame::{FrameError, I420Frame, check_size};

/// What to capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScreenTarget {
    /// The first top-level window whose title contains this text (e.g. `iRacing.com Simulator`).
    Window(String),
    /// A monitor, numbered from 1 as Windows' display settings number them.
    Monitor(usize),
}

/// Why a capture target or a capture could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("unknown video source {0:?}: use window:TITLE (part of the window's title) or monitor:N (1 = the first)")]
    BadTarget(String),
    #[error("{0}")]
    Unsupported(&'static str),
    #[error("no window whose title contains {0:?} is open")]
    NoWindow(String),
    #[error("there is no monitor {0}")]
    NoMonitor(usize),
    #[error("the capture could not start: {0}")]
    Start(String),
    #[error(transparent)]
    Size(#[from] FrameError),
}

impl ScreenTarget {
    /// Parses `window:TITLE` or `monitor:N`.
    pub fn parse(spec: &str) -> Result<ScreenTarget, CaptureError> {
        if let Some(title) = spec.strip_prefix("window:") {
            let title = title.trim();
            if title.is_empty() {
                return Err(CaptureError::BadTarget(spec.to_string()));
            }
            return Ok(ScreenTarget::Window(title.to_string()));
        }
        if let Some(n) = spec.strip_prefix("monitor:") {
            return match n.trim().parse::<usize>() {
                Ok(n) if n >= 1 => Ok(ScreenTarget::Monitor(n)),
                _ => Err(CaptureError::BadTarget(spec.to_string())),
            };
        }
        Err(CaptureError::BadTarget(spec.to_string()))
    }
}

/// One captured picture, ready for the encoder.
#[derive(Debug)]
pub struct CapturedFrame {
    pub picture: I420Frame,
    /// When it was captured, milliseconds since the Unix epoch (the wire header's capture time).
    pub capture_ms: u64,
}

/// The stream's picture size and rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureSettings {
    pub width: usize,
    pub height: usize,
    pub fps: u32,
}

impl CaptureSettings {
    /// The time between two pictures.
    pub fn interval(&self) -> Duration {
        Duration::from_micros(1_000_000 / u64::from(self.fps.max(1)))
    }
}

/// A running capture; dropping it (or [`ScreenCapture::stop`]) ends it.
pub struct ScreenCapture {
    #[cfg(windows)]
    control: Option<windows_impl::Control>,
}

impl std::fmt::Debug for ScreenCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScreenCapture")
    }
}

impl ScreenCapture {
    /// Ends the capture and waits for its thread.
    pub fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        #[cfg(windows)]
        if let Some(c) = self.control.take() {
            let _ = c.stop();
        }
    }
}

impl Drop for ScreenCapture {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

/// Starts capturing `target`: every picture (at most `settings.fps` a second) is converted to
/// `settings`' size and handed to `sink`. A picture that finds the sink full is dropped: video
/// gives way, it never queues.
#[cfg(windows)]
pub fn start(
    target: &ScreenTarget,
    settings: CaptureSettings,
    sink: std::sync::mpsc::SyncSender<CapturedFrame>,
) -> Result<ScreenCapture, CaptureError> {
    check_size(settings.width, settings.height)?;
    let control = windows_impl::start(target, settings, sink)?;
    Ok(ScreenCapture { control: Some(control) })
}

/// Starts capturing `target` (Windows only: here it says so).
#[cfg(not(windows))]
pub fn start(
    _target: &ScreenTarget,
    settings: CaptureSettings,
    _sink: std::sync::mpsc::SyncSender<CapturedFrame>,
) -> Result<ScreenCapture, CaptureError> {
    check_size(settings.width, settings.height)?;
    Err(CaptureError::Unsupported(
        "window and monitor capture run on Windows only (Windows.Graphics.Capture); use --video test-pattern here",
    ))
}

/// A monitor the driver can choose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorTarget {
    /// What `monitor:N` takes: its place in Windows' list, from 1.
    pub number: usize,
    /// Its friendly name ("DELL U2720Q"), or Windows' device name when it has none.
    pub name: String,
    pub width: u32,
    pub height: u32,
}

/// What can be captured on this PC now: the driver's Settings screen offers these.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaptureTargets {
    /// The titles of the open top-level windows that can be captured, sorted, each once.
    pub windows: Vec<String>,
    pub monitors: Vec<MonitorTarget>,
    /// Why a list is empty or short (not Windows, a listing that failed).
    pub note: Option<String>,
}

/// Lists the windows and monitors that `window:TITLE` and `monitor:N` can capture.
#[cfg(windows)]
pub fn targets() -> CaptureTargets {
    windows_impl::targets()
}

/// Lists what can be captured: nothing off Windows, and the note says why.
#[cfg(not(windows))]
pub fn targets() -> CaptureTargets {
    CaptureTargets {
        note: Some("window and monitor capture run on Windows only; here the test pattern is sent".into()),
        ..CaptureTargets::default()
    }
}

/// The source pixels one output column (or row) averages: `count` samples from `start`, `step`
/// apart, at most 4 of them however large the source is (enough to keep thin lines; bounded work
/// when a 4K monitor goes out at 720p).
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    step: usize,
    count: usize,
}

impl Span {
    fn new(i: usize, n_out: usize, n_src: usize) -> Span {
        let a = i * n_src / n_out;
        let b = ((i + 1) * n_src / n_out).max(a + 1).min(n_src);
        let step = (b - a).div_ceil(4).max(1);
        Span { start: a, step, count: (b - a).div_ceil(step) }
    }
}

/// `65536 / n` for the sample counts a mean can have (1–16).
const RECIPROCAL: [u32; 17] = {
    let mut t = [0u32; 17];
    let mut n = 1;
    while n < 17 {
        t[n] = 65536 / n as u32;
        n += 1;
    }
    t
};

/// BT.709 limited-range luma of an RGB mean, in 16-bit fixed point (within 1 of [`rgb_to_yuv`]).
fn luma([r, g, b]: [u32; 3]) -> u8 {
    (16 + ((11_966 * r + 40_254 * g + 4_064 * b + 32_768) >> 16)).min(255) as u8
}

/// BT.709 limited-range Cb and Cr of an RGB mean, in 16-bit fixed point.
fn chroma([r, g, b]: [u32; 3]) -> (u8, u8) {
    let (r, g, b) = (i64::from(r), i64::from(g), i64::from(b));
    let cb = 128 + ((-6_596 * r - 22_189 * g + 28_784 * b + 32_768) >> 16);
    let cr = 128 + ((28_784 * r - 26_145 * g - 2_639 * b + 32_768) >> 16);
    (cb.clamp(0, 255) as u8, cr.clamp(0, 255) as u8)
}

/// Converts a BGRA picture (`stride` bytes a row) to an I420 picture of `width`×`height`, scaled
/// to fit with its aspect kept (black bars fill the rest). Each output pixel is the average of
/// the source pixels it covers, so text and kerbs stay readable when a 4K monitor goes out at
/// 720p. A buffer too short for its declared size is an error, never a panic.
pub fn bgra_to_i420_fit(
    bgra: &[u8],
    src_width: usize,
    src_height: usize,
    stride: usize,
    width: usize,
    height: usize,
) -> Result<I420Frame, FrameError> {
    let mut out = I420Frame::black(width, height)?;
    let needed = if src_height == 0 { 0 } else { stride.saturating_mul(src_height - 1).saturating_add(src_width * 4) };
    if src_width == 0 || src_height == 0 || stride < src_width * 4 || bgra.len() < needed {
        return Err(FrameError::BadLength { width: src_width, height: src_height, needed, got: bgra.len() });
    }
    // The largest even-sized rectangle of the source's aspect that fits, centred on even
    // coordinates so each 2×2 chroma block lies wholly inside or outside it.
    let scale = f64::min(width as f64 / src_width as f64, height as f64 / src_height as f64);
    let fit_w = (((src_width as f64 * scale) as usize) & !1).clamp(2, width);
    let fit_h = (((src_height as f64 * scale) as usize) & !1).clamp(2, height);
    let x0 = ((width - fit_w) / 2) & !1;
    let y0 = ((height - fit_h) / 2) & !1;
    let cols: Vec<Span> = (0..fit_w).map(|i| Span::new(i, fit_w, src_width)).collect();
    let (yp, up, vp) = out.planes_mut();
    let mut row_rgb = vec![[0u32; 3]; fit_w];
    let mut pair_rgb = vec![[0u32; 3]; fit_w / 2];
    for oy in 0..fit_h {
        let rows = Span::new(oy, fit_h, src_height);
        let y_row = &mut yp[(y0 + oy) * width + x0..][..fit_w];
        for ((col, out_y), acc) in cols.iter().zip(y_row.iter_mut()).zip(row_rgb.iter_mut()) {
            let mut sum = [0u32; 3];
            for r in 0..rows.count {
                let base = (rows.start + r * rows.step) * stride;
                for c in 0..col.count {
                    let p = base + (col.start + c * col.step) * 4;
                    sum[0] += u32::from(bgra[p + 2]);
                    sum[1] += u32::from(bgra[p + 1]);
                    sum[2] += u32::from(bgra[p]);
                }
            }
            // The mean without a division per pixel: at most 4×4 samples, a reciprocal each.
            let recip = RECIPROCAL[rows.count * col.count];
            let rgb = sum.map(|v| (v * recip) >> 16);
            *out_y = luma(rgb);
            *acc = rgb;
        }
        // Chroma: the average colour of each 2×2 block, written after its second row.
        for (i, p) in pair_rgb.iter_mut().enumerate() {
            for k in 0..3 {
                let two = row_rgb[2 * i][k] + row_rgb[2 * i + 1][k];
                p[k] = if oy % 2 == 0 { two } else { p[k] + two };
            }
        }
        if oy % 2 == 1 {
            let at = ((y0 + oy) / 2) * (width / 2) + x0 / 2;
            for ((p, u), v) in pair_rgb.iter().zip(up[at..].iter_mut()).zip(vp[at..].iter_mut()) {
                (*u, *v) = chroma(p.map(|c| c / 4));
            }
        }
    }
    Ok(out)
}

#[cfg(windows)]
mod windows_impl {
    //! Windows.Graphics.Capture through `windows-capture`: a free-threaded capture whose handler
    //! converts each picture and offers it to the sink.

    use super::{CaptureError, CaptureSettings, CapturedFrame, ScreenTarget, bgra_to_i420_fit};
    use std::sync::mpsc::SyncSender;
    use windows_capture::capture::{CaptureControl, Context, GraphicsCaptureApiHandler};
    use windows_capture::frame::Frame;
    use windows_capture::graphics_capture_api::InternalCaptureControl;
    use windows_capture::monitor::Monitor;
    use windows_capture::settings::{
        ColorFormat, CursorCaptureSettings, DirtyRegionSettings, DrawBorderSettings, MinimumUpdateIntervalSettings,
        SecondaryWindowSettings, Settings,
    };
    use windows_capture::window::Window;

    pub(super) type Control = CaptureControl<Handler, HandlerError>;

    #[derive(Debug, thiserror::Error)]
    pub(super) enum HandlerError {
        #[error("{0}")]
        Frame(String),
    }

    pub(super) struct Handler {
        settings: CaptureSettings,
        sink: SyncSender<CapturedFrame>,
        scratch: Vec<u8>,
        last_ms: u64,
    }

    fn now_ms() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    impl GraphicsCaptureApiHandler for Handler {
        type Flags = (CaptureSettings, SyncSender<CapturedFrame>);
        type Error = HandlerError;

        fn new(ctx: Context<Self::Flags>) -> Result<Self, Self::Error> {
            let (settings, sink) = ctx.flags;
            Ok(Handler { settings, sink, scratch: Vec::new(), last_ms: 0 })
        }

        fn on_frame_arrived(&mut self, frame: &mut Frame, _control: InternalCaptureControl) -> Result<(), Self::Error> {
            let capture_ms = now_ms();
            // Windows may still deliver faster than asked after a resize: hold the rate.
            let min_gap = self.settings.interval().as_millis() as u64 * 9 / 10;
            if capture_ms.saturating_sub(self.last_ms) < min_gap {
                return Ok(());
            }
            self.last_ms = capture_ms;
            let buffer = frame.buffer().map_err(|e| HandlerError::Frame(e.to_string()))?;
            let (w, h) = (buffer.width() as usize, buffer.height() as usize);
            let pixels = buffer.as_nopadding_buffer(&mut self.scratch);
            let picture = bgra_to_i420_fit(pixels, w, h, w * 4, self.settings.width, self.settings.height)
                .map_err(|e| HandlerError::Frame(e.to_string()))?;
            // A full sink means the encoder is behind: this picture is dropped, not queued.
            let _ = self.sink.try_send(CapturedFrame { picture, capture_ms });
            Ok(())
        }
    }

    pub(super) fn start(
        target: &ScreenTarget,
        settings: CaptureSettings,
        sink: SyncSender<CapturedFrame>,
    ) -> Result<Control, CaptureError> {
        let flags = (settings, sink);
        let started = match target {
            ScreenTarget::Window(title) => {
                start_item(Window::from_contains_name(title).map_err(|_| CaptureError::NoWindow(title.clone()))?, flags)
            }
            ScreenTarget::Monitor(n) => {
                start_item(Monitor::from_index(*n).map_err(|_| CaptureError::NoMonitor(*n))?, flags)
            }
        };
        started.map_err(|e| CaptureError::Start(e.to_string()))
    }

    pub(super) fn targets() -> super::CaptureTargets {
        let mut notes = Vec::new();
        let mut windows: Vec<String> = match Window::enumerate() {
            Ok(ws) => ws
                .iter()
                .filter_map(|w| w.title().ok())
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect(),
            Err(e) => {
                notes.push(format!("the windows cannot be listed: {e}"));
                Vec::new()
            }
        };
        windows.sort();
        windows.dedup();
        // Numbered as `Monitor::from_index` takes them: the place in this list, from 1.
        let monitors = match Monitor::enumerate() {
            Ok(ms) => ms
                .iter()
                .enumerate()
                .map(|(i, m)| super::MonitorTarget {
                    number: i + 1,
                    name: m.name().or_else(|_| m.device_name()).unwrap_or_else(|_| format!("monitor {}", i + 1)),
                    width: m.width().unwrap_or(0),
                    height: m.height().unwrap_or(0),
                })
                .collect(),
            Err(e) => {
                notes.push(format!("the monitors cannot be listed: {e}"));
                Vec::new()
            }
        };
        super::CaptureTargets { windows, monitors, note: (!notes.is_empty()).then(|| notes.join("; ")) }
    }

    /// One capture of a window or a monitor with the stream's settings: the update interval of
    /// its frame rate, no cursor, no border.
    fn start_item<T>(
        item: T,
        flags: <Handler as GraphicsCaptureApiHandler>::Flags,
    ) -> Result<Control, windows_capture::capture::GraphicsCaptureApiError<HandlerError>>
    where
        T: TryInto<windows_capture::settings::GraphicsCaptureItemType> + Send + 'static,
    {
        let interval = MinimumUpdateIntervalSettings::Custom(flags.0.interval());
        Handler::start_free_threaded(Settings::new(
            item,
            CursorCaptureSettings::WithoutCursor,
            DrawBorderSettings::WithoutBorder,
            SecondaryWindowSettings::Default,
            interval,
            DirtyRegionSettings::Default,
            ColorFormat::Bgra8,
            flags,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::yuv_to_rgb;
    use proptest::prelude::*;

    fn bgra_solid(w: usize, h: usize, stride: usize, rgb: [u8; 3]) -> Vec<u8> {
        let mut v = vec![0u8; stride * h];
        for y in 0..h {
            for x in 0..w {
                let p = y * stride + x * 4;
                v[p..p + 4].copy_from_slice(&[rgb[2], rgb[1], rgb[0], 255]);
            }
        }
        v
    }

    #[test]
    fn the_fixed_point_colours_match_the_reference_conversion() {
        for r in (0..=255u32).step_by(15) {
            for g in (0..=255u32).step_by(17) {
                for b in (0..=255u32).step_by(51) {
                    let [y, u, v] = crate::frame::rgb_to_yuv([r as u8, g as u8, b as u8]);
                    let (cu, cv) = chroma([r, g, b]);
                    assert!(
                        luma([r, g, b]).abs_diff(y) <= 1 && cu.abs_diff(u) <= 1 && cv.abs_diff(v) <= 1,
                        "{r} {g} {b}"
                    );
                }
            }
        }
    }

    #[test]
    fn targets_parse_and_bad_ones_say_what_is_expected() {
        assert_eq!(
            ScreenTarget::parse("window:iRacing.com Simulator").unwrap(),
            ScreenTarget::Window("iRacing.com Simulator".into())
        );
        assert_eq!(ScreenTarget::parse("monitor:2").unwrap(), ScreenTarget::Monitor(2));
        for bad in ["monitor:0", "monitor:x", "window:", "screen:1", ""] {
            let e = ScreenTarget::parse(bad).unwrap_err().to_string();
            assert!(e.contains("window:TITLE") && e.contains("monitor:N"), "{bad}: {e}");
        }
    }

    #[cfg(not(windows))]
    #[test]
    fn elsewhere_the_capture_says_it_runs_on_windows_only() {
        let (tx, _rx) = std::sync::mpsc::sync_channel(1);
        let settings = CaptureSettings { width: 1280, height: 720, fps: 30 };
        let e = start(&ScreenTarget::Monitor(1), settings, tx).unwrap_err().to_string();
        assert!(e.contains("Windows only"), "{e}");
    }

    #[test]
    fn a_wider_source_is_letterboxed_with_its_colour_kept() {
        // 1920×1080 red into 640×480: a 640×360 band in the middle, black above and below.
        let src = bgra_solid(1920, 1080, 1920 * 4 + 64, [200, 30, 30]);
        let f = bgra_to_i420_fit(&src, 1920, 1080, 1920 * 4 + 64, 640, 480).unwrap();
        let mid = f.rgb_at(320, 240).unwrap();
        assert!(mid.iter().zip([200u8, 30, 30]).all(|(a, b)| a.abs_diff(b) <= 6), "{mid:?}");
        let top = f.rgb_at(320, 10).unwrap();
        assert!(top.iter().all(|c| *c <= 6), "bar is black: {top:?}");
        let band_top = (480 - 360) / 2;
        assert!(f.rgb_at(320, band_top + 1).unwrap()[0] > 150, "the band starts at row {band_top}");
        assert!(f.rgb_at(320, band_top - 2).unwrap()[0] < 10);
    }

    #[test]
    fn averaging_keeps_a_checkerboard_grey_instead_of_aliasing() {
        let (w, h) = (400, 400);
        let mut src = vec![0u8; w * h * 4];
        for y in 0..h {
            for x in 0..w {
                let v = if (x + y) % 2 == 0 { 255 } else { 0 };
                src[(y * w + x) * 4..][..4].copy_from_slice(&[v, v, v, 255]);
            }
        }
        let f = bgra_to_i420_fit(&src, w, h, w * 4, 100, 100).unwrap();
        let [y, _, _] = [f.y_plane()[50 * 100 + 50], 0, 0];
        let rgb = yuv_to_rgb([y, 128, 128]);
        assert!((100..=160).contains(&rgb[0]), "a 4:1 downscale of a checkerboard is mid grey: {rgb:?}");
    }

    #[test]
    fn short_buffers_and_bad_sizes_are_errors() {
        assert!(bgra_to_i420_fit(&[0; 10], 4, 4, 16, 64, 64).is_err());
        assert!(bgra_to_i420_fit(&[0; 64], 4, 4, 8, 64, 64).is_err(), "stride shorter than a row");
        assert!(bgra_to_i420_fit(&[0; 64], 4, 4, 16, 63, 64).is_err(), "odd output size");
        assert!(bgra_to_i420_fit(&[], 0, 0, 0, 64, 64).is_err());
    }

    proptest! {
        #[test]
        fn any_source_size_converts_without_panicking(sw in 1usize..300, sh in 1usize..300, pad in 0usize..16,
                                                      w in 1usize..200, h in 1usize..200, short in 0usize..8) {
            let (w, h) = (w * 2, h * 2);
            let stride = sw * 4 + pad;
            let len = (stride * sh).saturating_sub(short * (pad + 1));
            let src = vec![128u8; len];
            let r = bgra_to_i420_fit(&src, sw, sh, stride, w, h);
            let needed = stride * (sh - 1) + sw * 4;
            prop_assert_eq!(r.is_ok(), len >= needed);
        }
    }
}
