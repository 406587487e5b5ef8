//! "Press your wheel button now" (`POST /api/ptt/capture`): waits, bounded, for the next press
//! on the push-to-talk inputs the agent can read, and answers with the binding as `--ptt` takes
//! it: `signal` (Unix: SIGUSR1), `joystick:DEVICE:BUTTON` (Linux: the `js*` devices in the
//! joystick folder, `/dev/input`; Windows: joysticks 0–15, buttons 0–31).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The longest a capture waits.
pub const MAX_CAPTURE: Duration = Duration::from_secs(10);

/// Why no binding was captured.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("no button was pressed within {0:?}: press the button while the window waits")]
    Timeout(Duration),
    #[error("this agent can read no push-to-talk input here: {0}")]
    NoInput(String),
}

/// Where a capture listens.
#[derive(Debug, Clone)]
pub struct CaptureSources {
    /// Linux: the folder whose `js*` files are joysticks (`/dev/input`; a test folder in tests).
    pub joystick_dir: Option<PathBuf>,
}

/// Waits up to `timeout` (at most [`MAX_CAPTURE`]) for the next press; the binding, and what
/// was listened to.
pub async fn capture(sources: &CaptureSources, timeout: Duration) -> Result<(String, Vec<String>), CaptureError> {
    let timeout = timeout.min(MAX_CAPTURE);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let stop = Arc::new(AtomicBool::new(false));
    let mut listening = Vec::new();
    #[cfg(unix)]
    let mut usr1 = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1()) {
        Ok(s) => {
            listening.push("signal (SIGUSR1)".to_string());
            Some(s)
        }
        Err(e) => {
            tracing::warn!(error = %e, "push-to-talk capture: SIGUSR1 not available");
            None
        }
    };
    listening.extend(joysticks(sources, &stop, &tx));
    if listening.is_empty() {
        return Err(CaptureError::NoInput("no signal and no joystick".into()));
    }
    drop(tx);
    let wait = async {
        #[cfg(unix)]
        if let Some(s) = usr1.as_mut() {
            // The joystick readers may all end (none there) while the signal can still come.
            let mut joysticks_open = true;
            loop {
                tokio::select! {
                    Some(()) = s.recv() => return Some("signal".to_string()),
                    b = rx.recv(), if joysticks_open => match b {
                        Some(b) => return Some(b),
                        None => joysticks_open = false,
                    },
                    else => return None,
                }
            }
        }
        rx.recv().await
    };
    let got = tokio::time::timeout(timeout, wait).await;
    stop.store(true, Ordering::Relaxed);
    match got {
        Ok(Some(binding)) => Ok((binding, listening)),
        // Every reader ended without a press: the devices went away.
        Ok(None) => Err(CaptureError::NoInput("every input it listened to went away".into())),
        Err(_) => Err(CaptureError::Timeout(timeout)),
    }
}

/// Starts a reader per joystick; what they listen to.
#[cfg(not(windows))]
fn joysticks(
    sources: &CaptureSources,
    stop: &Arc<AtomicBool>,
    tx: &tokio::sync::mpsc::UnboundedSender<String>,
) -> Vec<String> {
    let Some(dir) = &sources.joystick_dir else { return Vec::new() };
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("js")))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        let (stop, tx, p) = (stop.clone(), tx.clone(), path.clone());
        // A thread per device: the read blocks until the next event, after which a finished
        // capture's reader ends (the same as the push-to-talk button's own reader).
        let spawned = std::thread::Builder::new().name("pitbox-ptt-capture".into()).spawn(move || {
            let Ok(f) = std::fs::File::open(&p) else { return };
            read_first_press(f, &stop, |n| {
                let _ = tx.send(format!("joystick:{}:{n}", p.display()));
            });
        });
        if spawned.is_ok() {
            out.push(format!("joystick {}", path.display()));
        }
    }
    out
}

/// Reads `js_event` records until the first button press (not the state at open) or `stop`.
#[cfg(not(windows))]
fn read_first_press(mut input: impl std::io::Read, stop: &AtomicBool, found: impl FnOnce(u8)) {
    use pitbox_voice::buttons::{JS_EVENT_SIZE, JsEvent};
    let mut buf = [0u8; JS_EVENT_SIZE];
    while !stop.load(Ordering::Relaxed) {
        if input.read_exact(&mut buf).is_err() {
            return;
        }
        if let Ok(ev) = JsEvent::parse(&buf)
            && ev.button
            && !ev.init
            && ev.value != 0
        {
            if !stop.load(Ordering::Relaxed) {
                found(ev.number);
            }
            return;
        }
    }
}

/// Polls joysticks 0–15 every 10 ms; a button that goes down is the binding.
#[cfg(windows)]
fn joysticks(
    _sources: &CaptureSources,
    stop: &Arc<AtomicBool>,
    tx: &tokio::sync::mpsc::UnboundedSender<String>,
) -> Vec<String> {
    let present: Vec<u32> = (0..16).filter(|&id| pitbox_voice::buttons::joystick_buttons(id).is_some()).collect();
    if present.is_empty() {
        return Vec::new();
    }
    let out = present.iter().map(|id| format!("joystick {id}")).collect();
    let (stop, tx) = (stop.clone(), tx.clone());
    let _ = std::thread::Builder::new().name("pitbox-ptt-capture".into()).spawn(move || {
        // Buttons held when the capture starts are not a press.
        let mut before: Vec<u32> =
            present.iter().map(|&id| pitbox_voice::buttons::joystick_buttons(id).unwrap_or(0)).collect();
        while !stop.load(Ordering::Relaxed) {
            for (i, &id) in present.iter().enumerate() {
                let now = pitbox_voice::buttons::joystick_buttons(id).unwrap_or(0);
                let new = now & !before[i];
                if new != 0 {
                    let _ = tx.send(format!("joystick:{id}:{}", new.trailing_zeros()));
                    return;
                }
                before[i] = now;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    out
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use pitbox_voice::buttons::JsEvent;

    #[test]
    fn the_first_press_not_the_state_at_open_is_the_binding() {
        let rec = |number: u8, value: i16, init: bool| {
            JsEvent { time_ms: 0, value, button: true, init, number }.to_bytes().to_vec()
        };
        let bytes = [rec(2, 1, true), rec(4, 0, false), rec(7, 1, false), rec(9, 1, false)].concat();
        let mut got = None;
        read_first_press(&bytes[..], &AtomicBool::new(false), |n| got = Some(n));
        assert_eq!(got, Some(7));
        let mut got = None;
        read_first_press(&bytes[..], &AtomicBool::new(true), |n| got = Some(n));
        assert_eq!(got, None, "a stopped capture reports nothing");
    }
}
