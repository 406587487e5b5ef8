//! From findings to words: the spec's `telemetryAnalysis` lists, the feedback text, priority and
//! the `ai_coaching` message. Skill level changes how much is said and how, never the facts.

use pitbox_model::Priority;
use pitbox_model::coaching::{AiCoaching, MAX_FEEDBACK_LEN, MAX_FINDING_LEN, MAX_FINDINGS, TelemetryAnalysis};

use crate::findings::{Finding, FindingKind, FocusArea};

/// How experienced the driver is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkillLevel {
    Beginner,
    Intermediate,
    Advanced,
    Pro,
}

impl SkillLevel {
    /// Parses the spec's spelling (`pitbox_model::coaching::SKILL_LEVELS`).
    pub fn parse(s: &str) -> Option<SkillLevel> {
        match s {
            "beginner" => Some(SkillLevel::Beginner),
            "intermediate" => Some(SkillLevel::Intermediate),
            "advanced" => Some(SkillLevel::Advanced),
            "pro" => Some(SkillLevel::Pro),
            _ => None,
        }
    }

    /// How many findings a driver of this level is given at once.
    pub fn depth(self) -> usize {
        match self {
            SkillLevel::Beginner => 2,
            SkillLevel::Intermediate => 3,
            SkillLevel::Advanced => 5,
            SkillLevel::Pro => 10,
        }
    }
}

/// Priority of a lap's coaching by the time at stake: ≥ 0.5 s high, ≥ 0.2 s normal, else low;
/// urgent when fuel will not last two more laps.
pub fn priority(time_at_stake_s: f64, fuel_laps_left: Option<f64>) -> Priority {
    if fuel_laps_left.is_some_and(|l| l < 2.0) {
        Priority::Urgent
    } else if time_at_stake_s >= 0.5 {
        Priority::High
    } else if time_at_stake_s >= 0.2 {
        Priority::Normal
    } else {
        Priority::Low
    }
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Keeps the findings in `areas` (all when empty).
pub fn filter_areas(findings: &[Finding], areas: &[FocusArea]) -> Vec<Finding> {
    findings.iter().filter(|f| areas.is_empty() || areas.contains(&f.area)).cloned().collect()
}

/// The spec's three lists: weaknesses (what cost time, with evidence), strengths (where time
/// was gained or the driver was consistent), improvement areas (what to do).
pub fn telemetry_analysis(findings: &[Finding], skill: SkillLevel) -> TelemetryAnalysis {
    let depth = skill.depth().min(MAX_FINDINGS);
    let losses: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.kind != FindingKind::Gain && f.kind != FindingKind::Fuel && f.time_s > 0.0)
        .collect();
    let gains: Vec<&Finding> = findings.iter().filter(|f| f.kind == FindingKind::Gain).collect();
    let weaknesses = losses.iter().take(depth).map(|f| clip(&f.text, MAX_FINDING_LEN)).collect();
    let strengths = gains.iter().take(depth).map(|f| clip(&f.text, MAX_FINDING_LEN)).collect();
    let mut improvement_areas: Vec<String> =
        losses.iter().take(depth).map(|f| clip(&phrase_advice(f, skill), MAX_FINDING_LEN)).collect();
    if let Some(fuel) = findings.iter().find(|f| f.kind == FindingKind::Fuel) {
        improvement_areas.push(clip(&fuel.text, MAX_FINDING_LEN));
    }
    TelemetryAnalysis { strengths, weaknesses, improvement_areas }
}

fn phrase_advice(f: &Finding, skill: SkillLevel) -> String {
    match skill {
        // Beginners get the action and what it is worth, without the telemetry detail.
        SkillLevel::Beginner => format!("{} (worth about {:.1} s)", f.advice, f.time_s),
        SkillLevel::Intermediate => format!("{} ({:.2} s)", f.advice, f.time_s),
        SkillLevel::Advanced | SkillLevel::Pro => format!("{}: {:.2} s", f.advice, f.time_s),
    }
}

/// The feedback paragraph: the headline and the top findings.
pub fn feedback(headline: &str, findings: &[Finding], skill: SkillLevel) -> String {
    let mut s = headline.to_string();
    let top: Vec<&Finding> = findings.iter().filter(|f| f.time_s > 0.0).take(skill.depth()).collect();
    if top.is_empty() {
        s.push_str(" Nothing stands out against the reference: keep it up.");
    }
    for f in top {
        s.push(' ');
        match skill {
            SkillLevel::Beginner => s.push_str(&format!("{}.", f.advice)),
            _ => s.push_str(&format!("{}.", f.text)),
        }
    }
    clip(&s, MAX_FEEDBACK_LEN)
}

/// An `ai_coaching` message.
pub fn ai_coaching(
    feedback: String,
    analysis: TelemetryAnalysis,
    confidence: f64,
    priority: Priority,
    driver_id: Option<String>,
    lap: Option<u32>,
) -> AiCoaching {
    AiCoaching {
        feedback: clip(&feedback, MAX_FEEDBACK_LEN),
        confidence: confidence.clamp(0.0, 1.0),
        telemetry_analysis: analysis,
        timestamp: chrono::Utc::now(),
        priority,
        driver_id,
        lap,
    }
}

/// Formats a lap time as `m:ss.mmm`.
pub fn lap_time(s: f64) -> String {
    if !s.is_finite() || s < 0.0 {
        return "-".into();
    }
    let ms = (s * 1000.0).round() as u64;
    format!("{}:{:02}.{:03}", ms / 60_000, (ms / 1000) % 60, ms % 1000)
}
