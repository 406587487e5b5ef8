//! Push-to-talk buttons: where a [`PttEvent`] comes from when it is not the local API.
//!
//! - [`PttButton::Joystick`]: a wheel, button box or gamepad button. On Linux the kernel's
//!   joystick interface (`/dev/input/js0` …, 8-byte `js_event` records, parsed by
//!   [`JsEvent::parse`]); on Windows the multimedia joystick API (`joyGetPosEx`, device 0–15),
//!   polled every 10 ms.
//! - [`PttButton::Key`] (Windows): a keyboard key by virtual-key code (`F13`, `0x7C` …), polled
//!   with `GetAsyncKeyState`, so it works while the sim has the focus.
//! - [`PttButton::Signal`] (Unix): `SIGUSR1` presses, `SIGUSR2` releases — for key binders such as
//!   xbindkeys or sxhkd; the driver agent installs the handlers.
//!
//! A device that goes away (the wheel unplugged) is reopened every second; a button that was held
//! when the device was opened is not a press.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::ptt::PttEvent;

/// Size of one Linux `struct js_event` (u32 time, i16 value, u8 type, u8 number).
pub const JS_EVENT_SIZE: usize = 8;
const JS_EVENT_BUTTON: u8 = 0x01;
const JS_EVENT_AXIS: u8 = 0x02;
const JS_EVENT_INIT: u8 = 0x80;
/// Highest button number the joystick interfaces report (Linux KEY_MAX_LARGE is 0x2ff; Windows 32).
pub const MAX_BUTTON: u16 = 0x2ff;

/// Why a push-to-talk setting or device record was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ButtonError {
    #[error("push-to-talk {0:?}: expected api, signal, joystick:DEVICE:BUTTON or key:KEY")]
    Syntax(String),
    #[error("push-to-talk button {0}: buttons are numbered 0–{MAX_BUTTON}")]
    ButtonRange(String),
    #[error(
        "push-to-talk button {0}: Windows' joystick interface (joyGetPosEx) reports buttons 0–31 only \
         (1–32 in Windows' game-controller settings); map push-to-talk to one of those"
    )]
    WindowsButtonRange(u16),
    #[error("push-to-talk key {0:?}: give F1–F24, A–Z, 0–9 or a virtual-key code such as 0x7C")]
    Key(String),
    #[error("push-to-talk {0} is not available on this system ({1})")]
    Unsupported(&'static str, &'static str),
    #[error("joystick record of {0} bytes: a js_event is {JS_EVENT_SIZE}")]
    ShortRecord(usize),
    #[error("joystick record type 0x{0:02x} is neither button nor axis")]
    RecordType(u8),
}

/// A push-to-talk source besides the local API (which is always on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PttButton {
    /// `signal`: SIGUSR1 press, SIGUSR2 release (Unix).
    Signal,
    /// `joystick:DEVICE:BUTTON`: a device path (`/dev/input/js0`) on Linux, an index (0–15) on
    /// Windows; button numbers as the system reports them, from 0.
    Joystick { device: String, button: u16 },
    /// `key:KEY` (Windows): a virtual-key code.
    Key { vk: u16, name: String },
}

impl PttButton {
    /// Parses the driver's `--ptt` value (`api` is handled by the caller: it is no button).
    pub fn parse(s: &str) -> Result<PttButton, ButtonError> {
        let s = s.trim();
        if s == "signal" {
            if cfg!(unix) {
                return Ok(PttButton::Signal);
            }
            return Err(ButtonError::Unsupported("signal", "Unix signals only"));
        }
        if let Some(rest) = s.strip_prefix("joystick:") {
            let (device, button) = rest.rsplit_once(':').ok_or_else(|| ButtonError::Syntax(s.to_string()))?;
            if device.is_empty() {
                return Err(ButtonError::Syntax(s.to_string()));
            }
            let button: u16 = button.trim().parse().map_err(|_| ButtonError::ButtonRange(button.to_string()))?;
            if button > MAX_BUTTON {
                return Err(ButtonError::ButtonRange(button.to_string()));
            }
            if cfg!(windows) && device.parse::<u8>().map_or(true, |i| i > 15) {
                return Err(ButtonError::Syntax(format!("{s} (on Windows the device is an index 0–15)")));
            }
            // Refused at start-up rather than polled as a device that never answers.
            if cfg!(windows) && button > 31 {
                return Err(ButtonError::WindowsButtonRange(button));
            }
            if !cfg!(any(windows, target_os = "linux")) {
                return Err(ButtonError::Unsupported("joystick", "Linux and Windows only"));
            }
            return Ok(PttButton::Joystick { device: device.to_string(), button });
        }
        if let Some(key) = s.strip_prefix("key:") {
            let vk = virtual_key(key.trim()).ok_or_else(|| ButtonError::Key(key.to_string()))?;
            if !cfg!(windows) {
                return Err(ButtonError::Unsupported(
                    "key",
                    "Windows only; elsewhere bind the key to `kill -USR1`/`-USR2` and use --ptt signal",
                ));
            }
            return Ok(PttButton::Key { vk, name: key.trim().to_string() });
        }
        Err(ButtonError::Syntax(s.to_string()))
    }
}

/// Windows virtual-key code of a key name: F1–F24, A–Z, 0–9, or a code `0x01`–`0xFE`.
pub fn virtual_key(name: &str) -> Option<u16> {
    let upper = name.to_ascii_uppercase();
    if let Some(hex) = upper.strip_prefix("0X") {
        return u16::from_str_radix(hex, 16).ok().filter(|v| (0x01..=0xFE).contains(v));
    }
    if let Some(n) = upper.strip_prefix('F').and_then(|n| n.parse::<u16>().ok()) {
        // VK_F1 = 0x70 … VK_F24 = 0x87
        return (1..=24).contains(&n).then(|| 0x70 + n - 1);
    }
    let mut chars = upper.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii_uppercase() || c.is_ascii_digit() => Some(c as u16),
        _ => None,
    }
}

/// One Linux joystick event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsEvent {
    /// Milliseconds, the driver's clock.
    pub time_ms: u32,
    /// Button: 1 pressed, 0 released; axis: position.
    pub value: i16,
    /// Whether this is a button (else an axis).
    pub button: bool,
    /// Synthetic event reporting the state when the device was opened.
    pub init: bool,
    /// Button or axis number.
    pub number: u8,
}

impl JsEvent {
    /// Parses one record (native-endian, as the kernel writes it).
    pub fn parse(b: &[u8]) -> Result<JsEvent, ButtonError> {
        let b: &[u8; JS_EVENT_SIZE] = b.try_into().map_err(|_| ButtonError::ShortRecord(b.len()))?;
        let kind = b[6];
        let base = kind & !JS_EVENT_INIT;
        if base != JS_EVENT_BUTTON && base != JS_EVENT_AXIS {
            return Err(ButtonError::RecordType(kind));
        }
        Ok(JsEvent {
            time_ms: u32::from_ne_bytes([b[0], b[1], b[2], b[3]]),
            value: i16::from_ne_bytes([b[4], b[5]]),
            button: base == JS_EVENT_BUTTON,
            init: kind & JS_EVENT_INIT != 0,
            number: b[7],
        })
    }

    /// The record the kernel would write for this event.
    pub fn to_bytes(&self) -> [u8; JS_EVENT_SIZE] {
        let mut out = [0u8; JS_EVENT_SIZE];
        out[..4].copy_from_slice(&self.time_ms.to_ne_bytes());
        out[4..6].copy_from_slice(&self.value.to_ne_bytes());
        out[6] = if self.button { JS_EVENT_BUTTON } else { JS_EVENT_AXIS } | if self.init { JS_EVENT_INIT } else { 0 };
        out[7] = self.number;
        out
    }
}

/// Turns a button's states into press/release edges. The state found at open is not an edge,
/// and a release is only reported after a reported press, so edges always alternate.
#[derive(Debug, Clone, Default)]
pub struct EdgeDetector {
    down: Option<bool>,
    pressed: bool,
}

impl EdgeDetector {
    /// Feeds the current state (or, with `initial`, the state found at open).
    pub fn update(&mut self, down: bool, initial: bool) -> Option<PttEvent> {
        let before = self.down.replace(down).unwrap_or(false);
        if initial {
            return None;
        }
        match (before, down) {
            (false, true) if !self.pressed => {
                self.pressed = true;
                Some(PttEvent::Pressed)
            }
            (true, false) if self.pressed => {
                self.pressed = false;
                Some(PttEvent::Released)
            }
            _ => None,
        }
    }

    /// The device went away: a press in progress ends with a release.
    pub fn lost(&mut self) -> Option<PttEvent> {
        self.down = None;
        std::mem::take(&mut self.pressed).then_some(PttEvent::Released)
    }
}

/// Reads `js_event` records from `input` until it ends, calling `on_edge` for every press and
/// release of `button`. Returns how many records were read; a malformed record is skipped.
pub fn read_joystick(
    mut input: impl Read,
    button: u16,
    edges: &mut EdgeDetector,
    stop: &AtomicBool,
    mut on_edge: impl FnMut(PttEvent),
) -> std::io::Result<u64> {
    let mut buf = [0u8; JS_EVENT_SIZE];
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        match input.read_exact(&mut buf) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        n += 1;
        let Ok(ev) = JsEvent::parse(&buf) else { continue };
        if !ev.button || u16::from(ev.number) != button {
            continue;
        }
        if let Some(edge) = edges.update(ev.value != 0, ev.init) {
            on_edge(edge);
        }
    }
    Ok(n)
}

/// Runs a push-to-talk button on a thread of its own until `stop`, calling `on_edge` for every
/// press and release. [`PttButton::Signal`] is the async runtime's job and is refused here.
pub fn spawn(
    button: PttButton,
    stop: Arc<AtomicBool>,
    on_edge: impl FnMut(PttEvent) + Send + 'static,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    if button == PttButton::Signal {
        return Err(std::io::Error::new(std::io::ErrorKind::Unsupported, "signals are handled by the agent"));
    }
    std::thread::Builder::new().name("pitbox-ptt".into()).spawn(move || run(button, &stop, on_edge))
}

#[cfg(not(windows))]
fn run(button: PttButton, stop: &AtomicBool, mut on_edge: impl FnMut(PttEvent)) {
    let PttButton::Joystick { device, button } = button else { return };
    let path = std::path::PathBuf::from(&device);
    let mut edges = EdgeDetector::default();
    let mut warned = false;
    while !stop.load(Ordering::Relaxed) {
        match std::fs::File::open(&path) {
            Ok(f) => {
                tracing::info!(device = %path.display(), button, "push-to-talk button ready");
                warned = false;
                if let Err(e) = read_joystick(f, button, &mut edges, stop, &mut on_edge) {
                    tracing::warn!(device = %path.display(), error = %e, "push-to-talk device lost");
                }
                if let Some(edge) = edges.lost() {
                    on_edge(edge);
                }
                edges = EdgeDetector::default();
            }
            Err(e) if !warned => {
                tracing::warn!(device = %path.display(), error = %e, "push-to-talk device not available; retrying every second");
                warned = true;
            }
            Err(_) => {}
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[cfg(windows)]
fn run(button: PttButton, stop: &AtomicBool, mut on_edge: impl FnMut(PttEvent)) {
    let mut edges = EdgeDetector::default();
    let mut initial = true;
    while !stop.load(Ordering::Relaxed) {
        let down = match &button {
            PttButton::Key { vk, .. } => Some(win::key_down(*vk)),
            PttButton::Joystick { device, button } => {
                device.parse::<u32>().ok().and_then(|id| win::joystick_button(id, *button))
            }
            PttButton::Signal => return,
        };
        match down {
            Some(d) => {
                if let Some(edge) = edges.update(d, initial) {
                    on_edge(edge);
                }
                initial = false;
            }
            None => {
                if let Some(edge) = edges.lost() {
                    on_edge(edge);
                }
                initial = true;
                std::thread::sleep(Duration::from_secs(1));
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Windows: the buttons of joystick `id` (0–15) that are down, one bit per button (0–31);
/// `None` when there is no such device. For "press your wheel button now".
#[cfg(windows)]
pub fn joystick_buttons(id: u32) -> Option<u32> {
    win::joystick_mask(id)
}

/// The Windows calls, kept tiny (compiled on Windows only): two documented Win32 functions,
/// declared here rather than through a bindings crate whose module layout changes between
/// releases.
#[cfg(windows)]
mod win {
    /// `JOYINFOEX` (joystickapi.h): thirteen DWORDs.
    #[repr(C)]
    #[derive(Default)]
    #[allow(dead_code)] // filled in by the call; only `buttons` is read
    struct JoyInfoEx {
        size: u32,
        flags: u32,
        x: u32,
        y: u32,
        z: u32,
        r: u32,
        u: u32,
        v: u32,
        buttons: u32,
        button_number: u32,
        pov: u32,
        reserved1: u32,
        reserved2: u32,
    }

    const JOY_RETURNBUTTONS: u32 = 0x80;
    const JOYERR_NOERROR: u32 = 0;

    #[link(name = "winmm")]
    unsafe extern "system" {
        fn joyGetPosEx(id: u32, info: *mut JoyInfoEx) -> u32;
    }

    #[link(name = "user32")]
    unsafe extern "system" {
        fn GetAsyncKeyState(vkey: i32) -> i16;
    }

    pub(super) fn key_down(vk: u16) -> bool {
        // SAFETY: GetAsyncKeyState takes any key code and only reads the global key state.
        let state = unsafe { GetAsyncKeyState(i32::from(vk)) };
        (state as u16) & 0x8000 != 0
    }

    /// Whether `button` (0–31) of joystick `id` is down; `None` when the device is absent.
    pub(super) fn joystick_button(id: u32, button: u16) -> Option<bool> {
        if button > 31 {
            return None;
        }
        joystick_mask(id).map(|m| m & (1u32 << button) != 0)
    }

    /// The buttons of joystick `id` that are down (bit n: button n); `None` when absent.
    pub(super) fn joystick_mask(id: u32) -> Option<u32> {
        let mut info = JoyInfoEx {
            size: std::mem::size_of::<JoyInfoEx>() as u32,
            flags: JOY_RETURNBUTTONS,
            ..JoyInfoEx::default()
        };
        // SAFETY: `info` is a valid, writable JOYINFOEX with dwSize and dwFlags set as the call
        // requires; it lives for the whole call.
        let rc = unsafe { joyGetPosEx(id, &mut info) };
        (rc == JOYERR_NOERROR).then_some(info.buttons)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ev(number: u8, value: i16, init: bool) -> [u8; JS_EVENT_SIZE] {
        JsEvent { time_ms: 1, value, button: true, init, number }.to_bytes()
    }

    #[test]
    fn parses_settings() {
        if cfg!(target_os = "linux") {
            assert!(matches!(PttButton::parse("joystick:/dev/input/js0:5"), Ok(PttButton::Joystick { button: 5, .. })));
        }
        assert_eq!(PttButton::parse("joystick:/dev/input/js0:x"), Err(ButtonError::ButtonRange("x".into())));
        assert_eq!(PttButton::parse("joystick:/dev/input/js0:9999"), Err(ButtonError::ButtonRange("9999".into())));
        assert_eq!(PttButton::parse("joystick::3"), Err(ButtonError::Syntax("joystick::3".into())));
        assert_eq!(PttButton::parse("mouse"), Err(ButtonError::Syntax("mouse".into())));
        assert_eq!(PttButton::parse("key:F99"), Err(ButtonError::Key("F99".into())));
        if cfg!(windows) {
            assert!(matches!(PttButton::parse("joystick:0:31"), Ok(PttButton::Joystick { button: 31, .. })));
            assert_eq!(PttButton::parse("joystick:0:32"), Err(ButtonError::WindowsButtonRange(32)));
            assert!(PttButton::parse("joystick:0:40").unwrap_err().to_string().contains("0–31"));
        }
        if cfg!(unix) {
            assert_eq!(PttButton::parse("signal"), Ok(PttButton::Signal));
            let e = PttButton::parse("key:F13").unwrap_err().to_string();
            assert!(e.contains("Windows only") && e.contains("--ptt signal"), "{e}");
        }
    }

    #[test]
    fn virtual_keys() {
        assert_eq!(virtual_key("F1"), Some(0x70));
        assert_eq!(virtual_key("f13"), Some(0x7C));
        assert_eq!(virtual_key("F24"), Some(0x87));
        assert_eq!(virtual_key("0x7c"), Some(0x7C));
        assert_eq!(virtual_key("a"), Some(0x41));
        assert_eq!(virtual_key("7"), Some(0x37));
        for bad in ["", "F0", "F25", "0x00", "0xFF", "0x", "AB", "!"] {
            assert_eq!(virtual_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn records_round_trip_and_bad_ones_are_refused() {
        let e = JsEvent { time_ms: 123_456, value: -32_000, button: false, init: true, number: 3 };
        assert_eq!(JsEvent::parse(&e.to_bytes()), Ok(e));
        assert_eq!(JsEvent::parse(&[0; 7]), Err(ButtonError::ShortRecord(7)));
        let mut b = e.to_bytes();
        b[6] = 0x04;
        assert_eq!(JsEvent::parse(&b), Err(ButtonError::RecordType(0x04)));
    }

    #[test]
    fn only_the_chosen_button_makes_edges_and_a_held_button_at_open_is_no_press() {
        let mut stream = Vec::new();
        stream.extend(ev(5, 1, true)); // held at open: not a press
        stream.extend(ev(2, 1, true));
        stream.extend(ev(5, 0, false)); // released: no press was reported, so no edge
        stream.extend(JsEvent { time_ms: 2, value: 500, button: false, init: false, number: 5 }.to_bytes()); // axis 5
        stream.extend(ev(2, 1, false)); // another button
        stream.extend(ev(5, 1, false)); // press
        stream.extend(ev(5, 1, false)); // repeat: no edge
        stream.extend([0xff; 8]); // garbage record: skipped
        stream.extend(ev(5, 0, false)); // release
        stream.extend([1, 2, 3]); // a cut record at the end
        let mut got = Vec::new();
        let stop = AtomicBool::new(false);
        let n = read_joystick(&stream[..], 5, &mut EdgeDetector::default(), &stop, |e| got.push(e)).unwrap();
        assert_eq!(n, 9);
        assert_eq!(got, vec![PttEvent::Pressed, PttEvent::Released]);
    }

    #[test]
    fn a_lost_device_releases_a_held_button() {
        let mut d = EdgeDetector::default();
        assert_eq!(d.update(false, true), None);
        assert_eq!(d.update(true, false), Some(PttEvent::Pressed));
        assert_eq!(d.lost(), Some(PttEvent::Released));
        assert_eq!(d.lost(), None);
        // A first state that is "down" after a reconnect is not a press (held while plugging in),
        // so letting go of it is no release either; the next press is.
        assert_eq!(d.update(true, true), None);
        assert_eq!(d.update(false, false), None);
        assert_eq!(d.update(true, false), Some(PttEvent::Pressed));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_device_file_is_read_and_reopened_after_it_goes_away() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("js0");
        let mut first = Vec::new();
        first.extend(ev(1, 0, true));
        first.extend(ev(1, 1, false));
        std::fs::write(&path, &first).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = std::sync::mpsc::channel();
        let button = PttButton::parse(&format!("joystick:{}:1", path.display())).unwrap();
        let handle = spawn(button, stop.clone(), move |e| {
            let _ = tx.send(e);
        })
        .unwrap();
        // Pressed, then the "device" ends while held: released.
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok(PttEvent::Pressed));
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok(PttEvent::Released));
        // Reopened a second later with new events.
        let mut second = Vec::new();
        second.extend(ev(1, 0, true));
        second.extend(ev(1, 1, false));
        second.extend(ev(1, 0, false));
        std::fs::write(&path, &second).unwrap();
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok(PttEvent::Pressed));
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok(PttEvent::Released));
        stop.store(true, Ordering::Relaxed);
        handle.join().unwrap();
    }

    proptest! {
        #[test]
        fn any_record_parses_or_is_refused_and_valid_ones_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..16)) {
            match JsEvent::parse(&bytes) {
                Ok(e) => prop_assert_eq!(e.to_bytes().to_vec(), bytes),
                Err(ButtonError::ShortRecord(n)) => prop_assert!(n != JS_EVENT_SIZE),
                Err(ButtonError::RecordType(t)) => prop_assert!(t & 0x7f != 1 && t & 0x7f != 2),
                Err(other) => prop_assert!(false, "unexpected {other}"),
            }
        }

        #[test]
        fn edges_alternate_whatever_the_stream(events in proptest::collection::vec((0u8..4, any::<bool>(), any::<bool>()), 0..200)) {
            let mut stream = Vec::new();
            for (n, down, init) in &events {
                stream.extend(ev(*n, i16::from(*down), *init));
            }
            let mut got = Vec::new();
            let stop = AtomicBool::new(false);
            read_joystick(&stream[..], 1, &mut EdgeDetector::default(), &stop, |e| got.push(e)).unwrap();
            // Never two presses or two releases in a row.
            prop_assert!(got.windows(2).all(|w| w[0] != w[1]), "{:?}", got);
        }
    }
}
