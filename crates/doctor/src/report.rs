//! Building `ValidationResult`s and printing them for people.

use pitbox_model::CheckStatus;
use pitbox_model::rest::ValidationResult;
use serde_json::{Map, Value};

/// A result for `component`; `details` is `null` when empty.
pub(crate) fn result(
    component: &str,
    status: CheckStatus,
    message: impl Into<String>,
    details: Map<String, Value>,
) -> ValidationResult {
    let mut message = message.into();
    if message.is_empty() {
        message = "(no message)".into();
    }
    // The model caps messages at 2,000 characters; an error from a server could be longer.
    if message.chars().count() > 2_000 {
        message = message.chars().take(1_990).collect::<String>() + " …";
    }
    ValidationResult {
        component_name: component.to_string(),
        status,
        message,
        timestamp: chrono::Utc::now(),
        details: (!details.is_empty()).then_some(details),
    }
}

/// A component that was not checked because nothing configures it.
pub(crate) fn not_configured(component: &str, why: &str) -> ValidationResult {
    let mut d = Map::new();
    d.insert("configured".into(), Value::Bool(false));
    result(component, CheckStatus::Warning, format!("not configured: {why}"), d)
}

/// Whether `r` is a not-configured report.
pub fn is_not_configured(r: &ValidationResult) -> bool {
    r.details.as_ref().and_then(|d| d.get("configured")) == Some(&Value::Bool(false))
}

/// Counts of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    pub ok: usize,
    pub warnings: usize,
    /// Of the warnings, how many are components that are not configured.
    pub not_configured: usize,
    pub errors: usize,
}

/// Counts results by status.
pub fn summarize(results: &[ValidationResult]) -> Summary {
    let mut s = Summary::default();
    for r in results {
        match r.status {
            CheckStatus::Success => s.ok += 1,
            CheckStatus::Warning => {
                s.warnings += 1;
                if is_not_configured(r) {
                    s.not_configured += 1;
                }
            }
            CheckStatus::Error => s.errors += 1,
        }
    }
    s
}

/// One line per check (`ok`, `warn` or `ERROR`, the component, the message) and a summary
/// line; no colour, so it reads the same in a log file.
pub fn render_human(results: &[ValidationResult]) -> String {
    let width = results.iter().map(|r| r.component_name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for r in results {
        let tag = match r.status {
            CheckStatus::Success => "ok",
            CheckStatus::Warning => "warn",
            CheckStatus::Error => "ERROR",
        };
        // Messages are one line; a multi-line server error is folded so each check stays one line.
        let message = r.message.split_whitespace().collect::<Vec<_>>().join(" ");
        out.push_str(&format!("{tag:<5} {:<width$}  {message}\n", r.component_name));
    }
    let s = summarize(results);
    out.push_str(&format!(
        "pitbox doctor: {} ok, {} warning{} ({} not configured), {} error{}\n",
        s.ok,
        s.warnings,
        if s.warnings == 1 { "" } else { "s" },
        s.not_configured,
        s.errors,
        if s.errors == 1 { "" } else { "s" },
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_output_has_one_line_per_check_and_a_summary() {
        let rs = vec![
            result("relay", CheckStatus::Success, "fine", Map::new()),
            not_configured("redis", "no --redis-url"),
            result("cloud", CheckStatus::Error, "cannot connect:\n  refused", Map::new()),
        ];
        let text = render_human(&rs);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert_eq!(lines[0], "ok    relay  fine");
        assert_eq!(lines[1], "warn  redis  not configured: no --redis-url");
        assert_eq!(lines[2], "ERROR cloud  cannot connect: refused");
        assert_eq!(lines[3], "pitbox doctor: 1 ok, 1 warning (1 not configured), 1 error");
        assert_eq!(summarize(&rs), Summary { ok: 1, warnings: 1, not_configured: 1, errors: 1 });
    }

    #[test]
    fn long_messages_are_capped_to_what_the_model_accepts() {
        let r = result("cloud", CheckStatus::Error, "x".repeat(5_000), Map::new());
        assert!(pitbox_model::validate::validate(&r, "").is_ok());
        let r = result("cloud", CheckStatus::Error, "", Map::new());
        assert!(pitbox_model::validate::validate(&r, "").is_ok());
        assert!(r.details.is_none());
    }
}
