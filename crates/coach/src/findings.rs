//! Findings: what a comparison means, ranked by time at stake, in a race engineer's words.

use serde::{Deserialize, Serialize};

use crate::compare::{Comparison, CornerComparison, Evidence};

/// Corners whose segment delta is smaller than this (seconds) are not findings.
pub const MIN_FINDING_S: f64 = 0.05;

/// The spec's focus areas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FocusArea {
    Braking,
    Cornering,
    Throttle,
    Consistency,
    Fuel,
}

impl FocusArea {
    /// Wire spelling (as `pitbox_model::coaching::FOCUS_AREAS`).
    pub fn as_str(self) -> &'static str {
        match self {
            FocusArea::Braking => "braking",
            FocusArea::Cornering => "cornering",
            FocusArea::Throttle => "throttle",
            FocusArea::Consistency => "consistency",
            FocusArea::Fuel => "fuel",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Option<FocusArea> {
        [FocusArea::Braking, FocusArea::Cornering, FocusArea::Throttle, FocusArea::Consistency, FocusArea::Fuel]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FindingKind {
    OffTrack,
    MinSpeed,
    EarlyBraking,
    LateBraking,
    BrakePressure,
    Coasting,
    LateThrottle,
    Exit,
    Entry,
    /// Time gained against the reference.
    Gain,
    /// Lap-time or corner spread across laps.
    Consistency,
    /// Fuel use and plan.
    Fuel,
}

impl FindingKind {
    /// The focus area a finding of this kind belongs to.
    pub fn area(self) -> FocusArea {
        match self {
            FindingKind::EarlyBraking | FindingKind::LateBraking | FindingKind::BrakePressure => FocusArea::Braking,
            FindingKind::OffTrack | FindingKind::MinSpeed | FindingKind::Entry | FindingKind::Gain => {
                FocusArea::Cornering
            }
            FindingKind::Coasting | FindingKind::LateThrottle | FindingKind::Exit => FocusArea::Throttle,
            FindingKind::Consistency => FocusArea::Consistency,
            FindingKind::Fuel => FocusArea::Fuel,
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// Corner id, when the finding is about one corner.
    pub corner: Option<String>,
    pub kind: FindingKind,
    pub area: FocusArea,
    /// Time at stake, seconds: lost (+) or gained (−) against the reference; for consistency,
    /// the spread.
    pub time_s: f64,
    pub evidence: Vec<Evidence>,
    /// The finding with its evidence, e.g. "T3: braking 14 m earlier than your best lap,
    /// minimum speed 6 km/h lower: 0.21 s".
    pub text: String,
    /// What to do about it.
    pub advice: String,
}

/// Finds what a lap did differently from the reference, worst first. `reference_name` is how
/// the reference is called in the text ("your best lap", "the reference").
pub fn findings(cmp: &Comparison, reference_name: &str) -> Vec<Finding> {
    let mut out: Vec<Finding> = cmp.corners.iter().filter_map(|c| corner_finding(c, reference_name)).collect();
    if let Some(start) = cmp.segments.first()
        && start.delta_s.abs() >= MIN_FINDING_S
        && start.delta_s > 0.0
    {
        out.push(Finding {
            corner: None,
            kind: FindingKind::Exit,
            area: FocusArea::Throttle,
            time_s: start.delta_s,
            evidence: Vec::new(),
            text: format!(
                "Start/finish straight: {:.2} s lost before the first corner (slower over the line than {reference_name})",
                start.delta_s
            ),
            advice: "Carry more speed out of the last corner onto the start/finish straight".into(),
        });
    }
    out.sort_by(|a, b| b.time_s.abs().total_cmp(&a.time_s.abs()));
    out
}

fn has(ev: &[Evidence], f: impl Fn(&Evidence) -> bool) -> Option<Evidence> {
    ev.iter().copied().find(f)
}

fn corner_finding(c: &CornerComparison, refname: &str) -> Option<Finding> {
    if c.delta_s.abs() < MIN_FINDING_S {
        return None;
    }
    let ev = &c.evidence;
    let id = &c.id;
    if c.delta_s < 0.0 {
        let good: Vec<Evidence> = ev
            .iter()
            .copied()
            .filter(|e| {
                matches!(
                    e,
                    Evidence::BrakingLater { .. }
                        | Evidence::MinSpeedHigher { .. }
                        | Evidence::ThrottleEarlier { .. }
                        | Evidence::ExitSpeedHigher { .. }
                )
            })
            .collect();
        let text = sentence(id, &good, refname, -c.delta_s, "gained");
        return Some(Finding {
            corner: Some(id.clone()),
            kind: FindingKind::Gain,
            area: FocusArea::Cornering,
            time_s: c.delta_s,
            evidence: good,
            text,
            advice: format!("{id}: keep doing what you did here"),
        });
    }
    let l = &c.lap;
    let r = &c.reference;
    let entry = c.entry_delta_s >= c.exit_delta_s;
    let (kind, advice) = if let Some(Evidence::OffTrack { metres }) =
        has(ev, |e| matches!(e, Evidence::OffTrack { .. }))
    {
        (FindingKind::OffTrack, format!("{id}: keep it on the track, {metres:.0} m off cost {:.2} s", c.delta_s))
    } else if has(ev, |e| matches!(e, Evidence::MinSpeedLower { .. })).is_some() {
        (
            FindingKind::MinSpeed,
            format!(
                "{id}: carry more speed to the apex, {:.0} km/h on {refname} against {:.0} km/h",
                r.min_speed_kmh, l.min_speed_kmh
            ),
        )
    } else if entry
        && let Some(Evidence::BrakingEarlier { metres }) = has(ev, |e| matches!(e, Evidence::BrakingEarlier { .. }))
    {
        (FindingKind::EarlyBraking, format!("{id}: brake later, {refname} braked {metres:.0} m further on"))
    } else if entry
        && let Some(Evidence::CoastingLonger { seconds }) = has(ev, |e| matches!(e, Evidence::CoastingLonger { .. }))
    {
        (FindingKind::Coasting, format!("{id}: cut the {seconds:.1} s of coasting between brake and throttle"))
    } else if entry && let Some(Evidence::LessBrake { pct }) = has(ev, |e| matches!(e, Evidence::LessBrake { .. })) {
        (
            FindingKind::BrakePressure,
            format!("{id}: brake harder at the start of the zone, peak brake was {pct:.0} % lower"),
        )
    } else if let Some(Evidence::ThrottleLater { seconds, .. }) =
        has(ev, |e| matches!(e, Evidence::ThrottleLater { .. }))
    {
        (
            FindingKind::LateThrottle,
            format!("{id}: pick up the throttle earlier, full throttle came {seconds:.2} s later"),
        )
    } else if let Some(Evidence::BrakingLater { metres }) = has(ev, |e| matches!(e, Evidence::BrakingLater { .. })) {
        (
            FindingKind::LateBraking,
            format!("{id}: braking {metres:.0} m later did not pay off, brake at your usual point"),
        )
    } else if entry {
        (FindingKind::Entry, format!("{id}: the entry costs {:.2} s, look at the line and the turn-in", c.delta_s))
    } else {
        (
            FindingKind::Exit,
            format!("{id}: the exit costs {:.2} s, look at the line and traction out of the corner", c.delta_s),
        )
    };
    // The primary cause first, then the rest.
    let mut sorted: Vec<Evidence> = ev.clone();
    sorted.sort_by_key(|e| match (kind, e) {
        (FindingKind::OffTrack, Evidence::OffTrack { .. }) => 0,
        (FindingKind::MinSpeed, Evidence::MinSpeedLower { .. }) => 0,
        (FindingKind::EarlyBraking, Evidence::BrakingEarlier { .. }) => 0,
        (FindingKind::LateBraking, Evidence::BrakingLater { .. }) => 0,
        (FindingKind::Coasting, Evidence::CoastingLonger { .. }) => 0,
        (FindingKind::BrakePressure, Evidence::LessBrake { .. }) => 0,
        (FindingKind::LateThrottle, Evidence::ThrottleLater { .. }) => 0,
        _ => 1,
    });
    let text = sentence(id, &sorted, refname, c.delta_s, "lost");
    Some(Finding {
        corner: Some(id.clone()),
        kind,
        area: kind.area(),
        time_s: c.delta_s,
        evidence: sorted,
        text,
        advice,
    })
}

fn sentence(id: &str, ev: &[Evidence], refname: &str, seconds: f64, verb: &str) -> String {
    if ev.is_empty() {
        let phase = "no single input explains it (line or grip)";
        return format!("{id}: {seconds:.2} s {verb} against {refname}, {phase}");
    }
    let mut parts: Vec<String> = ev.iter().map(Evidence::text).collect();
    if let Some(i) = ev.iter().position(|e| !matches!(e, Evidence::OffTrack { .. })) {
        parts[i] = format!("{} than {refname}", parts[i]);
    }
    format!("{id}: {}: {seconds:.2} s", parts.join(", "))
}
