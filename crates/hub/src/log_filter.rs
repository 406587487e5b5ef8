//! Log filters that never print secrets: at `trace`, the WebSocket library logs whole frames,
//! and an `authenticate` frame carries a JWT. Its level is capped unless the operator names it.

/// Targets whose `trace` output holds whole WebSocket frames.
pub const FRAME_LOGGING_TARGETS: [&str; 2] = ["tungstenite", "tokio_tungstenite"];

/// `spec` (an `EnvFilter` directive list such as `trace` or `info,pitbox_hub=debug`) with the
/// frame-logging targets capped at `debug`, unless `spec` names them itself (then the operator
/// asked for frames, tokens included, on purpose).
pub fn cap_frame_logging(spec: &str) -> String {
    let mut out = spec.trim().to_string();
    for target in FRAME_LOGGING_TARGETS {
        let named = out.split(',').any(|d| d.trim().split(['=', '[']).next() == Some(target));
        if !named {
            if !out.is_empty() {
                out.push(',');
            }
            out.push_str(target);
            out.push_str("=debug");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 23: at `--log trace` the library logged whole `authenticate` frames.
    #[test]
    fn frames_are_capped_unless_named() {
        assert_eq!(cap_frame_logging("trace"), "trace,tungstenite=debug,tokio_tungstenite=debug");
        assert_eq!(cap_frame_logging(""), "tungstenite=debug,tokio_tungstenite=debug");
        assert_eq!(cap_frame_logging("info,tungstenite=trace"), "info,tungstenite=trace,tokio_tungstenite=debug");
    }
}
