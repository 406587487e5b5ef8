//! Hub counters, rendered as Prometheus text by the server that embeds the hub.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters of a hub. All relaxed atomics: cheap on the hot path, read for `/metrics`.
#[derive(Debug, Default)]
pub struct HubMetrics {
    /// Open WebSocket connections.
    pub connections: AtomicU64,
    /// Connections accepted since start.
    pub connections_total: AtomicU64,
    /// Authenticated connections now.
    pub authenticated: AtomicU64,
    /// Frames received from clients.
    pub messages_in: AtomicU64,
    /// Frames written to clients.
    pub messages_out: AtomicU64,
    /// Telemetry samples accepted and fanned out.
    pub telemetry_in: AtomicU64,
    /// `error` messages sent.
    pub errors_sent: AtomicU64,
    /// Failed authentications.
    pub auth_failures: AtomicU64,
    /// Telemetry frames replaced before a slow subscriber could take them (dropped-to-latest).
    pub dropped_slow: AtomicU64,
    /// Telemetry samples merged into a newer one by a subscriber's rate (throttling, expected).
    pub coalesced: AtomicU64,
    /// Connections closed for refused frames, rate limits, oversize frames or slowness.
    pub closed_policy: AtomicU64,
    /// Messages refused by the rate limit.
    pub rate_limited: AtomicU64,
    /// Bus publish failures.
    pub bus_errors: AtomicU64,
    /// Video frames accepted from publishers.
    pub video_frames_in: AtomicU64,
}

impl HubMetrics {
    fn get(a: &AtomicU64) -> u64 {
        a.load(Ordering::Relaxed)
    }

    /// Appends the counters as Prometheus text, every name prefixed with `prefix` (e.g.
    /// `pitbox_relay`).
    pub fn render(&self, prefix: &str, out: &mut String) {
        let rows: [(&str, &str, &str, u64); 14] = [
            ("connections", "gauge", "Open WebSocket connections.", Self::get(&self.connections)),
            ("connections_total", "counter", "WebSocket connections accepted.", Self::get(&self.connections_total)),
            ("authenticated_connections", "gauge", "Authenticated connections.", Self::get(&self.authenticated)),
            ("messages_in_total", "counter", "Frames received from clients.", Self::get(&self.messages_in)),
            ("messages_out_total", "counter", "Frames sent to clients.", Self::get(&self.messages_out)),
            ("telemetry_in_total", "counter", "Telemetry samples accepted.", Self::get(&self.telemetry_in)),
            ("errors_sent_total", "counter", "Error messages sent to clients.", Self::get(&self.errors_sent)),
            ("auth_failures_total", "counter", "Failed authentications.", Self::get(&self.auth_failures)),
            (
                "dropped_total",
                "counter",
                "Telemetry frames dropped for slow subscribers (replaced by a newer one).",
                Self::get(&self.dropped_slow),
            ),
            (
                "coalesced_total",
                "counter",
                "Telemetry samples merged by subscriber rate limits.",
                Self::get(&self.coalesced),
            ),
            ("closed_policy_total", "counter", "Connections closed by policy.", Self::get(&self.closed_policy)),
            ("rate_limited_total", "counter", "Messages refused by rate limits.", Self::get(&self.rate_limited)),
            ("bus_errors_total", "counter", "Bus publish failures.", Self::get(&self.bus_errors)),
            (
                "video_frames_in_total",
                "counter",
                "Video frames accepted from publishers.",
                Self::get(&self.video_frames_in),
            ),
        ];
        for (name, kind, help, value) in rows {
            let _ =
                writeln!(out, "# HELP {prefix}_{name} {help}\n# TYPE {prefix}_{name} {kind}\n{prefix}_{name} {value}");
        }
    }
}

/// CPU time (user + system) this process has used, seconds: from `/proc/self/stat` on Linux,
/// `GetProcessTimes` on Windows; `None` elsewhere or when it cannot be read.
#[cfg(not(windows))]
pub fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start at field 3: utime is field 14
    // and stime 15, so indices 11 and 12 here. Ticks are USER_HZ, 100 on every Linux ABI.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Resident memory now and at its peak, bytes: `/proc/self/status` (`VmRSS`, `VmHWM`) on Linux,
/// the working set and its peak (`GetProcessMemoryInfo`) on Windows.
#[cfg(not(windows))]
pub fn process_memory_bytes() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib = |key: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(key))?;
        line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|k| k * 1024)
    };
    Some((kib("VmRSS:")?, kib("VmHWM:")?))
}

/// CPU time (user + system) this process has used, seconds (`GetProcessTimes`).
#[cfg(windows)]
pub fn process_cpu_seconds() -> Option<f64> {
    use windows_sys::Win32::Foundation::FILETIME;
    use windows_sys::Win32::System::Threading::{GetCurrentProcess, GetProcessTimes};
    let zero = FILETIME { dwLowDateTime: 0, dwHighDateTime: 0 };
    let (mut created, mut exited, mut kernel, mut user) = (zero, zero, zero, zero);
    // SAFETY: the pseudo-handle of this process and four out-parameters.
    let ok = unsafe { GetProcessTimes(GetCurrentProcess(), &mut created, &mut exited, &mut kernel, &mut user) };
    if ok == 0 {
        return None;
    }
    // FILETIME durations count 100 ns units.
    let units = |t: FILETIME| (u64::from(t.dwHighDateTime) << 32 | u64::from(t.dwLowDateTime)) as f64;
    Some((units(kernel) + units(user)) / 1e7)
}

/// The working set now and at its peak, bytes (`GetProcessMemoryInfo`).
#[cfg(windows)]
pub fn process_memory_bytes() -> Option<(u64, u64)> {
    use windows_sys::Win32::System::ProcessStatus::{K32GetProcessMemoryInfo, PROCESS_MEMORY_COUNTERS};
    use windows_sys::Win32::System::Threading::GetCurrentProcess;
    // SAFETY: a zeroed plain-data struct with its size, for this process.
    unsafe {
        let mut c: PROCESS_MEMORY_COUNTERS = std::mem::zeroed();
        let size = std::mem::size_of::<PROCESS_MEMORY_COUNTERS>() as u32;
        c.cb = size;
        if K32GetProcessMemoryInfo(GetCurrentProcess(), &mut c, size) == 0 {
            return None;
        }
        Some((c.WorkingSetSize as u64, c.PeakWorkingSetSize as u64))
    }
}

/// Appends the process's CPU time and memory under Prometheus's standard names
/// (`process_cpu_seconds_total`, `process_resident_memory_bytes`), plus the peak as
/// `process_resident_memory_peak_bytes`. Nothing where they cannot be read.
pub fn render_process(out: &mut String) {
    if let Some(cpu) = process_cpu_seconds() {
        let _ = writeln!(
            out,
            "# HELP process_cpu_seconds_total User and system CPU time spent, seconds.\n\
             # TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total {cpu}"
        );
    }
    if let Some((rss, peak)) = process_memory_bytes() {
        let _ = writeln!(
            out,
            "# HELP process_resident_memory_bytes Resident memory, bytes.\n\
             # TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes {rss}\n\
             # HELP process_resident_memory_peak_bytes Highest resident memory since start, bytes.\n\
             # TYPE process_resident_memory_peak_bytes gauge\nprocess_resident_memory_peak_bytes {peak}"
        );
    }
}

#[cfg(all(test, any(target_os = "linux", windows)))]
mod tests {
    #[test]
    fn the_process_figures_are_read_and_rendered() {
        // Burn a little CPU so the counter cannot be zero.
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert_ne!(x, 1);
        let cpu = super::process_cpu_seconds().expect("cpu");
        assert!(cpu > 0.0, "{cpu}");
        let (rss, peak) = super::process_memory_bytes().expect("memory");
        assert!(rss > 0 && peak >= rss, "{rss} {peak}");
        let mut out = String::new();
        super::render_process(&mut out);
        assert!(out.contains("\nprocess_cpu_seconds_total "), "{out}");
        assert!(out.contains("\nprocess_resident_memory_bytes "), "{out}");
        assert!(out.contains("\nprocess_resident_memory_peak_bytes "), "{out}");
    }
}
