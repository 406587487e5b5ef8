//! Push-to-talk: buttons (keyboard, joystick, …) and, on Unix, the signals SIGUSR1/SIGUSR2.

use pitbox_voice::buttons::PttButton;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Starts one push-to-talk button: its press and release go to `on_edge` (true = pressed) until
/// `shutdown`. Signals are installed before this returns, so one sent right after is not fatal.
pub(crate) fn start_ptt_button(
    button: PttButton,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
    on_edge: impl Fn(bool) + Send + Sync + 'static,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    match button {
        #[cfg(unix)]
        PttButton::Signal => {
            use tokio::signal::unix::{SignalKind, signal};
            let mut press = signal(SignalKind::user_defined1())?;
            let mut release = signal(SignalKind::user_defined2())?;
            tracing::info!(pid = std::process::id(), "push-to-talk on signals: SIGUSR1 presses, SIGUSR2 releases");
            Ok(tokio::spawn(async move {
                loop {
                    tokio::select! {
                        Some(()) = press.recv() => on_edge(true),
                        Some(()) = release.recv() => on_edge(false),
                        _ = shutdown.wait_for(|v| *v) => return,
                    }
                }
            }))
        }
        other => {
            let stop = Arc::new(AtomicBool::new(false));
            // The device thread blocks on the device between events: it is told to stop and left
            // to end at its next event (or with the process).
            pitbox_voice::buttons::spawn(other, stop.clone(), move |e| {
                on_edge(e == pitbox_voice::ptt::PttEvent::Pressed)
            })?;
            Ok(tokio::spawn(async move {
                let _ = shutdown.wait_for(|v| *v).await;
                stop.store(true, Ordering::Relaxed);
            }))
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn signals_press_and_release_push_to_talk() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let task = start_ptt_button(PttButton::Signal, stop_rx, move |down| {
            let _ = tx.send(down);
        })
        .unwrap();
        let kill = |sig: &str| {
            let ok = std::process::Command::new("kill").args([sig, &std::process::id().to_string()]).status().unwrap();
            assert!(ok.success());
        };
        kill("-USR1");
        assert_eq!(tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.unwrap(), Some(true));
        kill("-USR2");
        assert_eq!(tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.unwrap(), Some(false));
        let _ = stop_tx.send(true);
        tokio::time::timeout(Duration::from_secs(5), task).await.unwrap().unwrap();
    }
}
