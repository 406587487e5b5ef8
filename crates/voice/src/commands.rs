//! The voice-command grammar: what a driver can say, as a JSGF grammar for PocketSphinx, and the
//! mapping from recognised words to typed [`VoiceCommand`]s.
//!
//! The grammar also holds a *garbage* branch: a free loop over the model's phones, at a low prior
//! weight. Speech that is not a command fits that branch better than any command, instead of being
//! forced onto the nearest command, which is how unrelated talk on the radio gives "no command".

use serde::{Deserialize, Serialize};

/// Which gap the driver asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum GapTarget {
    /// The car one position ahead.
    Ahead,
    /// The car one position behind.
    Behind,
    /// Both (the driver said just "what's my gap").
    Both,
}

/// A preset team message the driver can send by voice ("message the team <preset>").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MessagePreset {
    /// "all good"
    AllGood,
    /// "car is damaged"
    CarDamaged,
    /// "pitting now"
    PittingNow,
    /// "need a break"
    NeedABreak,
    /// "big traffic"
    Traffic,
    /// "call me"
    CallMe,
}

impl MessagePreset {
    /// Every preset.
    pub const ALL: &'static [MessagePreset] = &[
        MessagePreset::AllGood,
        MessagePreset::CarDamaged,
        MessagePreset::PittingNow,
        MessagePreset::NeedABreak,
        MessagePreset::Traffic,
        MessagePreset::CallMe,
    ];

    /// The words the driver says.
    pub fn words(self) -> &'static str {
        match self {
            MessagePreset::AllGood => "all good",
            MessagePreset::CarDamaged => "car is damaged",
            MessagePreset::PittingNow => "pitting now",
            MessagePreset::NeedABreak => "need a break",
            MessagePreset::Traffic => "big traffic",
            MessagePreset::CallMe => "call me",
        }
    }

    /// The team message sent for it.
    pub fn message(self) -> &'static str {
        match self {
            MessagePreset::AllGood => "All good in the car.",
            MessagePreset::CarDamaged => "Car is damaged.",
            MessagePreset::PittingNow => "Pitting now.",
            MessagePreset::NeedABreak => "Driver needs a break: please prepare a driver change.",
            MessagePreset::Traffic => "Heavy traffic around the car.",
            MessagePreset::CallMe => "Driver asks the engineer to get on the radio.",
        }
    }

    fn rule(self) -> &'static str {
        match self {
            MessagePreset::AllGood => "all good",
            MessagePreset::CarDamaged => "car [is] damaged",
            MessagePreset::PittingNow => "pitting now",
            MessagePreset::NeedABreak => "[i] need a break",
            MessagePreset::Traffic => "[big] traffic",
            MessagePreset::CallMe => "call me",
        }
    }
}

/// A recognised voice command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "command", content = "arg")]
pub enum VoiceCommand {
    /// "box this lap" / "box box" / "pit this lap"
    BoxThisLap,
    /// "cancel box" / "stay out"
    CancelBox,
    /// "fuel status" / "how much fuel"
    FuelStatus,
    /// "tyre status" / "how are my tyres"
    TyreStatus,
    /// "what's my gap [ahead|behind]" / "gap ahead" / "gap behind"
    Gap(GapTarget),
    /// "laps remaining" / "how many laps left"
    LapsRemaining,
    /// "request handoff"
    RequestHandoff,
    /// "accept handoff"
    AcceptHandoff,
    /// "repeat that" / "say again"
    RepeatThat,
    /// "radio check"
    RadioCheck,
    /// "message the team <preset>"
    MessageTeam(MessagePreset),
    /// "fuel to the end" / "fuel to finish"
    ///
    /// Not "how much fuel to the end": on the tuning set "how was your weekend" was taken for it
    /// in 7 of 20 cells (docs/voice.md, Recognition matrix).
    FuelToTheEnd,
    /// "cancel pit stop" / "cancel the pit stop": the stop the pit wall set is cleared in the sim
    /// (unlike [`VoiceCommand::CancelBox`], which only takes back the driver's own "box").
    ///
    /// Not "clear [the] pit stop": on the tuning set "where did you leave the keys" was taken for
    /// it in 4 of 20 cells, and a false "cancel pit stop" undoes the pit wall's work.
    CancelPitStop,
}

impl VoiceCommand {
    /// Every command (each gap target and preset once), for tests and docs.
    pub fn all() -> Vec<VoiceCommand> {
        let mut v = vec![
            VoiceCommand::BoxThisLap,
            VoiceCommand::CancelBox,
            VoiceCommand::FuelStatus,
            VoiceCommand::TyreStatus,
            VoiceCommand::Gap(GapTarget::Ahead),
            VoiceCommand::Gap(GapTarget::Behind),
            VoiceCommand::Gap(GapTarget::Both),
            VoiceCommand::LapsRemaining,
            VoiceCommand::RequestHandoff,
            VoiceCommand::AcceptHandoff,
            VoiceCommand::RepeatThat,
            VoiceCommand::RadioCheck,
        ];
        v.extend(MessagePreset::ALL.iter().map(|p| VoiceCommand::MessageTeam(*p)));
        // Last, so the recognition sets say the older commands in the order they were measured in
        // (the decoder's cepstral mean carries from one utterance to the next).
        v.extend([VoiceCommand::FuelToTheEnd, VoiceCommand::CancelPitStop]);
        v
    }

    /// A canonical phrase that says this command (what `pitbox voice listen` prints back).
    pub fn phrase(self) -> String {
        match self {
            VoiceCommand::BoxThisLap => "box this lap".into(),
            VoiceCommand::CancelBox => "cancel box".into(),
            VoiceCommand::FuelStatus => "fuel status".into(),
            VoiceCommand::TyreStatus => "tyre status".into(),
            VoiceCommand::Gap(GapTarget::Ahead) => "what's my gap ahead".into(),
            VoiceCommand::Gap(GapTarget::Behind) => "what's my gap behind".into(),
            VoiceCommand::Gap(GapTarget::Both) => "what's my gap".into(),
            VoiceCommand::LapsRemaining => "laps remaining".into(),
            VoiceCommand::RequestHandoff => "request handoff".into(),
            VoiceCommand::AcceptHandoff => "accept handoff".into(),
            VoiceCommand::RepeatThat => "repeat that".into(),
            VoiceCommand::RadioCheck => "radio check".into(),
            VoiceCommand::MessageTeam(p) => format!("message the team {}", p.words()),
            VoiceCommand::FuelToTheEnd => "fuel to the end".into(),
            VoiceCommand::CancelPitStop => "cancel pit stop".into(),
        }
    }

    /// Other ways of saying it that the grammar accepts (used by the tests).
    pub fn alternatives(self) -> &'static [&'static str] {
        match self {
            VoiceCommand::BoxThisLap => &["box box", "pit this lap"],
            VoiceCommand::CancelBox => &["stay out", "cancel the box"],
            VoiceCommand::FuelStatus => &["how much fuel"],
            VoiceCommand::TyreStatus => &["how are my tyres"],
            VoiceCommand::Gap(GapTarget::Ahead) => &["gap ahead"],
            VoiceCommand::Gap(GapTarget::Behind) => &["gap behind"],
            VoiceCommand::Gap(GapTarget::Both) => &["what is my gap"],
            VoiceCommand::LapsRemaining => &["how many laps left"],
            VoiceCommand::RequestHandoff => &["request driver change"],
            VoiceCommand::AcceptHandoff => &["accept driver change"],
            VoiceCommand::RepeatThat => &["say again"],
            VoiceCommand::RadioCheck => &[],
            VoiceCommand::MessageTeam(_) => &[],
            VoiceCommand::FuelToTheEnd => &["fuel to finish"],
            VoiceCommand::CancelPitStop => &["cancel the pit stop"],
        }
    }

    /// Whether this command is a request the engineer must answer in words.
    pub fn is_question(self) -> bool {
        matches!(
            self,
            VoiceCommand::FuelStatus
                | VoiceCommand::TyreStatus
                | VoiceCommand::Gap(_)
                | VoiceCommand::LapsRemaining
                | VoiceCommand::FuelToTheEnd
        )
    }
}

/// The grammar's public rule names, tagged by the first word of the command branch.
const GRAMMAR_HEAD: &str = "#JSGF V1.0;\ngrammar pitbox;\n";

/// The phones of the en-us model; the garbage branch is a loop over them (each added to the
/// dictionary as a one-phone word named `GARBAGE_PREFIX` + phone).
pub const GARBAGE_PHONES: &[&str] = &[
    "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G", "HH", "IH", "IY", "JH", "K",
    "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH", "UH", "UW", "V", "W", "Y", "Z", "ZH",
];

/// Prefix of the garbage branch's one-phone words.
pub const GARBAGE_PREFIX: &str = "gbg_";

/// Words that make up commands; they never appear in the garbage branch.
#[cfg(test)]
const COMMAND_WORDS: &[&str] = &[
    "box",
    "this",
    "lap",
    "pit",
    "cancel",
    "the",
    "stay",
    "out",
    "fuel",
    "status",
    "how",
    "much",
    "tyre",
    "are",
    "my",
    "tyres",
    "what's",
    "what",
    "is",
    "gap",
    "ahead",
    "behind",
    "laps",
    "remaining",
    "many",
    "left",
    "request",
    "accept",
    "hand",
    "off",
    "driver",
    "change",
    "repeat",
    "that",
    "say",
    "again",
    "radio",
    "check",
    "message",
    "team",
    "all",
    "good",
    "car",
    "damaged",
    "pitting",
    "now",
    "i",
    "need",
    "a",
    "break",
    "big",
    "traffic",
    "call",
    "me",
    "to",
    "end",
    "finish",
    "stop",
];

/// The JSGF grammar the recogniser uses. With `garbage_weight`, a free phone loop competes
/// with the commands at that prior weight (the command branch has weight 1).
pub fn jsgf_grammar(garbage_weight: Option<f64>) -> String {
    let presets: Vec<&str> = MessagePreset::ALL.iter().map(|p| p.rule()).collect();
    let mut g = String::from(GRAMMAR_HEAD);
    match garbage_weight {
        Some(w) => g.push_str(&format!("public <utterance> = /1/ <command> | /{}/ <garbage>;\n", decimal(w))),
        None => g.push_str("public <utterance> = <command>;\n"),
    }
    g.push_str(
        "<command> = <box> | <cancel> | <fuel> | <tyres> | <gap> | <laps> | <request> | <accept> | <repeat> | <check> | <message> | <fuelend> | <pitclear>;\n\
         <box> = box this lap | box box | pit this lap;\n\
         <cancel> = cancel [the] box | stay out;\n\
         <fuel> = fuel status | how much fuel;\n\
         <tyres> = tyre status | how are my tyres;\n\
         <gap> = (what's | what is) my gap [ahead | behind] | gap (ahead | behind);\n\
         <laps> = laps remaining | how many laps left;\n\
         <request> = request (hand off | driver change);\n\
         <accept> = accept (hand off | driver change);\n\
         <repeat> = repeat that | say again;\n\
         <check> = radio check;\n\
         <fuelend> = fuel to (the end | finish);\n\
         <pitclear> = cancel [the] pit stop;\n",
    );
    g.push_str("<message> = message [the] team (");
    g.push_str(&presets.iter().map(|p| format!("({p})")).collect::<Vec<_>>().join(" | "));
    g.push_str(");\n");
    if garbage_weight.is_some() {
        g.push_str("<garbage> = <phone>+;\n<phone> = ");
        let words: Vec<String> =
            GARBAGE_PHONES.iter().map(|p| format!("{GARBAGE_PREFIX}{}", p.to_ascii_lowercase())).collect();
        g.push_str(&words.join(" | "));
        g.push_str(";\n");
    }
    g
}

/// `w` in plain decimal notation (the JSGF parser reads no exponents), clamped to 1e-60–1.
fn decimal(w: f64) -> String {
    let w = if w.is_finite() { w.clamp(1e-60, 1.0) } else { 1.0 };
    // f64's Display never uses an exponent and prints the shortest exact form.
    format!("{w}")
}

/// The command that a recognised word string says, or `None` (garbage, empty, or words that do
/// not form a whole command). Case and surrounding spaces do not matter; "tire" and "tyre" are
/// the same word.
pub fn parse_command(words: &str) -> Option<VoiceCommand> {
    let lower = words.to_ascii_lowercase();
    let w: Vec<&str> = lower
        .split_whitespace()
        .map(|w| match w {
            "tire" => "tyre",
            "tires" => "tyres",
            "handoff" => "hand off",
            other => other,
        })
        .collect();
    let s = w.join(" ");
    let s = s.as_str();
    use VoiceCommand::*;
    let c = match s {
        "box this lap" | "box box" | "pit this lap" => BoxThisLap,
        "cancel box" | "cancel the box" | "stay out" => CancelBox,
        "fuel status" | "how much fuel" => FuelStatus,
        "tyre status" | "how are my tyres" => TyreStatus,
        "what's my gap" | "what is my gap" => Gap(GapTarget::Both),
        "what's my gap ahead" | "what is my gap ahead" | "gap ahead" => Gap(GapTarget::Ahead),
        "what's my gap behind" | "what is my gap behind" | "gap behind" => Gap(GapTarget::Behind),
        "laps remaining" | "how many laps left" => LapsRemaining,
        "request hand off" | "request driver change" => RequestHandoff,
        "accept hand off" | "accept driver change" => AcceptHandoff,
        "repeat that" | "say again" => RepeatThat,
        "radio check" => RadioCheck,
        "fuel to the end" | "fuel to finish" => FuelToTheEnd,
        "cancel pit stop" | "cancel the pit stop" => CancelPitStop,
        _ => {
            let rest = s.strip_prefix("message the team ").or_else(|| s.strip_prefix("message team "))?;
            let preset = match rest {
                "all good" => MessagePreset::AllGood,
                "car is damaged" | "car damaged" => MessagePreset::CarDamaged,
                "pitting now" => MessagePreset::PittingNow,
                "i need a break" | "need a break" => MessagePreset::NeedABreak,
                "big traffic" | "traffic" => MessagePreset::Traffic,
                "call me" => MessagePreset::CallMe,
                _ => return None,
            };
            MessageTeam(preset)
        }
    };
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_phrase_and_alternative_parses_to_its_command() {
        for c in VoiceCommand::all() {
            assert_eq!(parse_command(&c.phrase()), Some(c), "{}", c.phrase());
            for alt in c.alternatives() {
                assert_eq!(parse_command(alt), Some(c), "{alt}");
            }
        }
        assert_eq!(parse_command("  TIRE   status "), Some(VoiceCommand::TyreStatus));
        assert_eq!(parse_command("request handoff"), Some(VoiceCommand::RequestHandoff));
    }

    #[test]
    fn garbage_and_partial_commands_are_no_command() {
        for s in [
            "",
            "box",
            "the weather is nice",
            "fuel",
            "message the team",
            "message the team pizza",
            "box this",
            "fuel to the",
            "how much fuel to finish",
            "pit stop",
            "cancel pit",
            "how much fuel to the end",
            "clear pit stop",
            "clear the pit stop",
        ] {
            assert_eq!(parse_command(s), None, "{s}");
        }
    }

    #[test]
    fn grammar_words_are_the_command_words() {
        let grammar = jsgf_grammar(None);
        assert!(!grammar.contains(GARBAGE_PREFIX));
        for line in grammar.lines().skip(3) {
            let body = line.split_once('=').map(|(_, b)| b).unwrap_or("");
            for tok in body.split(|c: char| !(c.is_ascii_alphanumeric() || c == '\'' || c == '<' || c == '>')) {
                if tok.is_empty() || tok.starts_with('<') {
                    continue;
                }
                assert!(COMMAND_WORDS.contains(&tok), "{tok} is in the grammar but not in COMMAND_WORDS");
            }
        }
        let with = jsgf_grammar(Some(1e-3));
        assert!(with.contains("public <utterance> = /1/ <command> | /0.001/ <garbage>;"), "{with}");
        assert!(with.contains("gbg_zh"));
        // A hypothesis that went through the garbage branch is no command.
        assert_eq!(parse_command("gbg_aa gbg_b"), None);
    }

    #[test]
    fn commands_serialise_with_tags() {
        let j = serde_json::to_string(&VoiceCommand::Gap(GapTarget::Ahead)).unwrap();
        assert_eq!(j, r#"{"command":"gap","arg":"ahead"}"#);
        let j = serde_json::to_string(&VoiceCommand::FuelStatus).unwrap();
        assert_eq!(j, r#"{"command":"fuelStatus"}"#);
        let j = serde_json::to_string(&VoiceCommand::FuelToTheEnd).unwrap();
        assert_eq!(j, r#"{"command":"fuelToTheEnd"}"#);
        let j = serde_json::to_string(&VoiceCommand::CancelPitStop).unwrap();
        assert_eq!(j, r#"{"command":"cancelPitStop"}"#);
    }
}
