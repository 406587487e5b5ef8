//! Recognition quality measured on a matrix of synthetic speakers × speaking rates × noise levels
//! (espeak-ng voices), with two disjoint sets: [`EvalSet::tuning`], which the recogniser's
//! settings were tuned on, and [`EvalSet::held_out`], which they were not (other voices, other
//! unrelated sentences, the commands said the other accepted ways). `pitbox voice eval` prints it.

use serde::Serialize;

use crate::audio::{Audio, RECOGNITION_RATE};
use crate::commands::VoiceCommand;
use crate::sphinx::{CommandRecognizer, RecognizerError};
use crate::tts::{EspeakNg, SpeechRequest, TtsError};

/// One synthetic speaker: an espeak-ng voice and pitch.
#[derive(Debug, Clone, Serialize)]
pub struct Speaker {
    /// espeak-ng voice (`en-us+m4` = en-us with variant m4).
    pub voice: &'static str,
    /// espeak-ng pitch 0–99 (None = the voice's own).
    pub pitch: Option<u8>,
}

/// What is said in one utterance and what should come of it.
#[derive(Debug, Clone, Serialize)]
pub struct Utterance {
    /// The words.
    pub text: String,
    /// The command they say, or None for speech that is no command.
    pub expected: Option<VoiceCommand>,
}

/// A measurement set.
#[derive(Debug, Clone, Serialize)]
pub struct EvalSet {
    /// Its name (`tuning` or `held-out`).
    pub name: &'static str,
    /// The speakers.
    pub speakers: Vec<Speaker>,
    /// Speaking rates, words per minute.
    pub rates_wpm: Vec<u32>,
    /// Noise: None = clean, Some(dB) = white noise at that signal-to-noise ratio.
    pub noise_snr_db: Vec<Option<f64>>,
    /// The utterances said by every speaker at every rate and noise level.
    pub utterances: Vec<Utterance>,
}

/// Silence added before and after each utterance, seconds (as a push-to-talk press has).
pub const PADDING_SECONDS: f64 = 0.3;

fn commands_with(phrase: impl Fn(VoiceCommand) -> Option<String>) -> Vec<Utterance> {
    VoiceCommand::all()
        .into_iter()
        .filter_map(|c| phrase(c).map(|text| Utterance { text, expected: Some(c) }))
        .collect()
}

fn unrelated(sentences: &[&str]) -> Vec<Utterance> {
    sentences.iter().map(|s| Utterance { text: (*s).into(), expected: None }).collect()
}

impl EvalSet {
    /// The set the recogniser's settings were tuned on.
    pub fn tuning() -> EvalSet {
        let mut utterances = commands_with(|c| Some(c.phrase()));
        utterances.extend(unrelated(&[
            "the weather is nice today",
            "i had pasta for lunch",
            "where did you leave the keys",
            "my brother plays the guitar",
            "can you open the window please",
            "the meeting starts at nine",
            "she bought a new bicycle",
            "we are going to the beach",
            "it is raining again",
            "the car in front is slow",
            "i think the brakes are fine",
            "how was your weekend",
        ]));
        EvalSet {
            name: "tuning",
            speakers: vec![
                Speaker { voice: "en-us", pitch: None },
                Speaker { voice: "en-gb+f3", pitch: None },
                Speaker { voice: "en-us+m7", pitch: Some(35) },
                Speaker { voice: "en-gb-x-rp+m1", pitch: None },
                Speaker { voice: "en-us+f4", pitch: None },
            ],
            rates_wpm: vec![160, 190],
            noise_snr_db: vec![None, Some(15.0)],
            utterances,
        }
    }

    /// The held-out set: voices, rates, noise and sentences not used in tuning; every command
    /// said in its canonical form and in each other accepted form.
    pub fn held_out() -> EvalSet {
        let mut utterances = commands_with(|c| Some(c.phrase()));
        for c in VoiceCommand::all() {
            utterances.extend(c.alternatives().iter().map(|a| Utterance { text: (*a).into(), expected: Some(c) }));
        }
        utterances.extend(unrelated(&[
            "turn left at the next corner",
            "the train leaves at six",
            "please pass the salt",
            "my phone battery is almost empty",
            "the dog is sleeping on the sofa",
            "we should paint the kitchen",
            "there is a box on the table",
            "the team played well yesterday",
            "i need to buy some bread",
            "the radio was too loud",
            "what time is it",
            "the garden needs water",
        ]));
        EvalSet {
            name: "held-out",
            speakers: vec![
                Speaker { voice: "en-us+m4", pitch: None },
                Speaker { voice: "en-gb-scotland", pitch: None },
                Speaker { voice: "en-us+f2", pitch: Some(60) },
                Speaker { voice: "en-gb+m3", pitch: None },
            ],
            rates_wpm: vec![150, 185],
            noise_snr_db: vec![None, Some(20.0), Some(10.0)],
            utterances,
        }
    }
}

/// Counts in one cell of the matrix (one speaker, rate and noise level).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cell {
    pub voice: String,
    pub rate_wpm: u32,
    pub noise_snr_db: Option<f64>,
    /// Command utterances.
    pub commands: usize,
    /// … recognised as the right command.
    pub right: usize,
    /// … recognised as another command.
    pub wrong: usize,
    /// Non-command utterances.
    pub unrelated: usize,
    /// … taken as a command.
    pub false_accepts: usize,
}

/// A mistake, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct Miss {
    pub voice: String,
    pub rate_wpm: u32,
    pub noise_snr_db: Option<f64>,
    pub text: String,
    pub expected: Option<VoiceCommand>,
    pub got: Option<VoiceCommand>,
    pub words: String,
}

/// The whole matrix.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub set: &'static str,
    pub cells: Vec<Cell>,
    pub misses: Vec<Miss>,
}

impl Report {
    /// (commands right, commands, wrong commands, false accepts, unrelated) over all cells.
    pub fn totals(&self) -> (usize, usize, usize, usize, usize) {
        self.cells.iter().fold((0, 0, 0, 0, 0), |t, c| {
            (t.0 + c.right, t.1 + c.commands, t.2 + c.wrong, t.3 + c.false_accepts, t.4 + c.unrelated)
        })
    }

    /// The matrix as a text table with totals.
    pub fn table(&self) -> String {
        let mut s = format!(
            "set {}\n{:<16} {:>5} {:>7} {:>9} {:>7} {:>10}\n",
            self.set, "voice", "wpm", "noise", "right", "wrong", "false acc"
        );
        for c in &self.cells {
            let noise = c.noise_snr_db.map(|d| format!("{d} dB")).unwrap_or_else(|| "clean".into());
            s.push_str(&format!(
                "{:<16} {:>5} {:>7} {:>4}/{:<4} {:>7} {:>5}/{:<4}\n",
                c.voice, c.rate_wpm, noise, c.right, c.commands, c.wrong, c.false_accepts, c.unrelated
            ));
        }
        let (right, n, wrong, fa, un) = self.totals();
        s.push_str(&format!(
            "total: {right}/{n} commands right ({:.1}%), {wrong} wrong commands, {fa}/{un} false accepts ({:.1}%)\n",
            100.0 * right as f64 / n.max(1) as f64,
            100.0 * fa as f64 / un.max(1) as f64
        ));
        s
    }
}

/// Why an evaluation could not run.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error(transparent)]
    Tts(#[from] TtsError),
    #[error(transparent)]
    Recognizer(#[from] RecognizerError),
}

/// The utterance as heard: synthesised, padded, at 16 kHz, with noise seeded by its position.
pub fn render(
    tts: &EspeakNg,
    speaker: &Speaker,
    rate_wpm: u32,
    snr: Option<f64>,
    text: &str,
    seed: u64,
) -> Result<Audio, TtsError> {
    let speed = f64::from(rate_wpm) / crate::tts::ESPEAK_BASE_WPM;
    let a = tts.synthesize_blocking(&SpeechRequest {
        text: text.into(),
        voice: speaker.voice.into(),
        speed,
        pitch: speaker.pitch,
    })?;
    let a = a.resample(RECOGNITION_RATE);
    let pad = Audio::silence(RECOGNITION_RATE, PADDING_SECONDS);
    let mut samples = pad.samples.clone();
    samples.extend_from_slice(&a.samples);
    samples.extend_from_slice(&pad.samples);
    let padded = Audio { sample_rate: RECOGNITION_RATE, samples };
    Ok(match snr {
        // Noise level from the speech's loudness, over the padding too (as a live mic hears it).
        Some(db) => {
            let speech_rms = a.rms().max(1.0);
            let noise = Audio::silence(RECOGNITION_RATE, padded.duration()).with_noise(0.0, seed);
            let gain = speech_rms / 10f64.powf(db / 20.0);
            let samples = padded
                .samples
                .iter()
                .zip(noise.samples.iter())
                .map(|(&s, &n)| (f64::from(s) + f64::from(n) * gain).round().clamp(-32768.0, 32767.0) as i16)
                .collect();
            Audio { sample_rate: RECOGNITION_RATE, samples }
        }
        None => padded,
    })
}

/// Runs the whole matrix.
pub fn evaluate(set: &EvalSet, tts: &EspeakNg, rec: &mut CommandRecognizer) -> Result<Report, EvalError> {
    let mut cells = Vec::new();
    let mut misses = Vec::new();
    for sp in &set.speakers {
        for &wpm in &set.rates_wpm {
            for (ni, &snr) in set.noise_snr_db.iter().enumerate() {
                let mut cell = Cell { voice: sp.voice.into(), rate_wpm: wpm, noise_snr_db: snr, ..Cell::default() };
                for (ui, u) in set.utterances.iter().enumerate() {
                    let seed = (ni as u64 + 1) * 1_000_003 + ui as u64 * 7919 + u64::from(wpm);
                    let audio = render(tts, sp, wpm, snr, &u.text, seed)?;
                    let r = rec.recognize(&audio)?;
                    match u.expected {
                        Some(c) => {
                            cell.commands += 1;
                            if r.command == Some(c) {
                                cell.right += 1;
                            } else if r.command.is_some() {
                                cell.wrong += 1;
                            }
                        }
                        None => {
                            cell.unrelated += 1;
                            cell.false_accepts += usize::from(r.command.is_some());
                        }
                    }
                    if r.command != u.expected {
                        misses.push(Miss {
                            voice: sp.voice.into(),
                            rate_wpm: wpm,
                            noise_snr_db: snr,
                            text: u.text.clone(),
                            expected: u.expected,
                            got: r.command,
                            words: r.words,
                        });
                    }
                }
                cells.push(cell);
            }
        }
    }
    Ok(Report { set: set.name, cells, misses })
}
