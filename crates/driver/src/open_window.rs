//! Opens the driver's window in the default browser when `pitbox driver` starts (issue 22 §1) —
//! only for a person at a desktop: started from a terminal or console, its input and error
//! output both on it (a double-clicked `PitBox Driver.cmd` is one; tests, services and scripts
//! that pipe either are not), with a display to show it on, and without `--no-window`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The window's address for the browser on this PC: the local API's port on 127.0.0.1 when it
/// listens on every address (the Host check takes only loopback names from this PC).
pub fn window_url(api: SocketAddr) -> String {
    let ip = if api.ip().is_unspecified() { IpAddr::V4(Ipv4Addr::LOCALHOST) } else { api.ip() };
    format!("http://{}/", SocketAddr::new(ip, api.port()))
}

/// Why the window is not opened, or `None` to open it.
pub fn why_not(no_window: bool, interactive: bool, desktop: bool) -> Option<&'static str> {
    if no_window {
        Some("--no-window")
    } else if !interactive {
        Some("not started from a terminal")
    } else if !desktop {
        Some("no desktop to show it on")
    } else {
        None
    }
}

/// Whether this machine shows windows: always on Windows and macOS; elsewhere when an X11 or
/// Wayland display is set (a server or CI has none).
pub fn has_desktop() -> bool {
    if cfg!(any(windows, target_os = "macos")) {
        return true;
    }
    ["DISPLAY", "WAYLAND_DISPLAY"].iter().any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}

/// Asks the desktop to open `url` in the default browser; does not wait for the browser.
pub fn open(url: &str) -> std::io::Result<()> {
    let mut cmd = if cfg!(windows) {
        // The URL protocol handler opens the default browser without a console window.
        let mut c = std::process::Command::new("rundll32");
        c.arg("url.dll,FileProtocolHandler").arg(url);
        c
    } else if cfg!(target_os = "macos") {
        let mut c = std::process::Command::new("open");
        c.arg(url);
        c
    } else {
        let mut c = std::process::Command::new("xdg-open");
        c.arg(url);
        c
    };
    let mut child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    // Reaped in the background: the opener returns at once or when the browser exits.
    std::thread::spawn(move || child.wait());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_is_one_the_host_check_takes() {
        assert_eq!(window_url("127.0.0.1:8766".parse().unwrap()), "http://127.0.0.1:8766/");
        assert_eq!(window_url("0.0.0.0:9000".parse().unwrap()), "http://127.0.0.1:9000/");
        assert_eq!(window_url("[::1]:8766".parse().unwrap()), "http://[::1]:8766/");
        assert_eq!(window_url("192.168.1.5:8766".parse().unwrap()), "http://192.168.1.5:8766/");
    }

    #[test]
    fn opened_only_for_a_person_at_a_desktop() {
        assert_eq!(why_not(false, true, true), None);
        assert_eq!(why_not(true, true, true), Some("--no-window"));
        assert_eq!(why_not(false, false, true), Some("not started from a terminal"));
        assert_eq!(why_not(false, true, false), Some("no desktop to show it on"));
    }
}
