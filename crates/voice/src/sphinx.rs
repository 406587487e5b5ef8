//! Offline command recognition with PocketSphinx 5.1.1 in JSGF grammar mode.
//!
//! Non-commands are turned away twice: by the grammar's garbage branch (a free phone loop that
//! competes with the commands inside the search), and, when the grammar did give a command, by a
//! likelihood ratio: a second decoder runs an unconstrained phone loop (`allphone` search) on the
//! same audio as it arrives, and the command is kept only if its acoustic score is close enough
//! to the phone loop's and the phones the loop heard are close to the command's
//! ([`RecognizerConfig::min_likelihood_ratio`]).
//!
//! Both decoders hear the audio with a faint white noise added ([`RecognizerConfig::noise_floor`]),
//! so that digitally silent stretches look like a quiet room to the model.
//!
//! The vendored PocketSphinx carries one change (marked `PitBox:` in `fsg_search.c`): when no
//! word exit of the last frame reaches the grammar's final state, the search takes the latest
//! frame where one does, instead of giving no result ("Final result does not match the
//! grammar"). The grammar decoder reads its result from that search, not from the word lattice
//! (`bestpath no`), whose end node ignores the final state.
//!
//! PocketSphinx is compiled from vendored C source and linked statically (crate
//! `pitbox-sphinx-sys`), and its en-us acoustic model and the command words' dictionary are
//! inside the binary: recognition needs nothing installed, on Linux and on Windows. The model is
//! written once into [`default_model_dir`] (PocketSphinx reads files) and reused after.
//! Nothing is downloaded at run time.

use std::collections::HashMap;
use std::ffi::{CStr, CString, c_char};
use std::path::PathBuf;
use std::sync::Once;
use std::time::Instant;

use pitbox_sphinx_sys as ffi;
use serde::Serialize;

use crate::audio::{Audio, RECOGNITION_RATE, XorShift};
use crate::commands::{GARBAGE_PHONES, GARBAGE_PREFIX, VoiceCommand, jsgf_grammar, parse_command};
use crate::dictionary::{DictError, command_dictionary, variant_name};

/// Why recognition could not run.
#[derive(Debug, thiserror::Error)]
pub enum RecognizerError {
    #[error(transparent)]
    Model(#[from] ffi::ModelError),
    #[error("the command dictionary is invalid: {0}")]
    Dictionary(#[from] DictError),
    #[error("PocketSphinx rejected option {name} = {value}")]
    Config { name: String, value: String },
    #[error("PocketSphinx failed to start (ps_init returned NULL)")]
    Init,
    #[error("PocketSphinx refused the word `{word}` ({phones})")]
    Word { word: String, phones: String },
    #[error("PocketSphinx rejected the command grammar ({0} returned an error)")]
    Grammar(&'static str),
    #[error("PocketSphinx decoding failed in {0}")]
    Decode(&'static str),
    #[error("text is not valid for the C library (holds a NUL byte): {0}")]
    Nul(String),
}

/// Where the embedded acoustic model is written: `PITBOX_POCKETSPHINX_MODEL` when set, else
/// `pitbox-voice` in the system's temporary folder (the driver passes its data folder instead).
pub fn default_model_dir() -> PathBuf {
    std::env::var_os("PITBOX_POCKETSPHINX_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("pitbox-voice"))
}

/// Whether recognition can start: the embedded model can be written out and the embedded
/// dictionary is valid. (The library itself is linked in, so it is always there.)
pub fn availability() -> Result<(), RecognizerError> {
    ffi::install_en_us_model(&default_model_dir())?;
    command_dictionary()?;
    Ok(())
}

fn cstring(s: &str) -> Result<CString, RecognizerError> {
    CString::new(s).map_err(|_| RecognizerError::Nul(s.to_string()))
}

/// Whether PocketSphinx's own log (stderr) is wanted: `PITBOX_POCKETSPHINX_LOG=1`, to find out
/// why it refuses to start.
fn verbose() -> bool {
    std::env::var_os("PITBOX_POCKETSPHINX_LOG").is_some_and(|v| !v.is_empty() && v != "0")
}

/// PocketSphinx logs to stderr through a process-wide setting; silence it once (unless
/// [`verbose`]).
fn quiet_logs() {
    static QUIET: Once = Once::new();
    if verbose() {
        return;
    }
    // SAFETY: sets a global log level; no pointers involved.
    QUIET.call_once(|| unsafe {
        ffi::err_set_logfp(std::ptr::null_mut());
    });
}

/// A PocketSphinx configuration being filled; freed on drop.
struct Config(*mut ffi::ps_config_t);

impl Config {
    fn new() -> Result<Self, RecognizerError> {
        // SAFETY: NULL asks for the decoder's own option table.
        let c = unsafe { ffi::ps_config_init(std::ptr::null()) };
        if c.is_null() {
            return Err(RecognizerError::Init);
        }
        Ok(Config(c))
    }

    fn set(&mut self, name: &str, value: &str) -> Result<(), RecognizerError> {
        let n = cstring(name)?;
        let v = cstring(value)?;
        // SAFETY: self.0 is a live configuration; both strings outlive the call (it copies them).
        let r = unsafe { ffi::ps_config_set_str(self.0, n.as_ptr(), v.as_ptr()) };
        if r.is_null() {
            return Err(RecognizerError::Config { name: name.into(), value: value.into() });
        }
        Ok(())
    }
}

impl Drop for Config {
    fn drop(&mut self) {
        // SAFETY: releases our reference exactly once (ps_init keeps its own).
        unsafe {
            ffi::ps_config_free(self.0);
        }
    }
}

/// The garbage branch's default weight (tuned on the test set in `tests/recognition.rs`).
pub const DEFAULT_GARBAGE_WEIGHT: f64 = 1e-3;

/// The default word insertion penalty (tuned on the test set in `tests/recognition.rs`).
pub const DEFAULT_WORD_PENALTY: f64 = 3e-5;

/// The default phone insertion "penalty" (`-pip`; above 1 it favours more phones per word, i.e. the
/// commands' longer words over one-phone garbage words). Tuned with [`DEFAULT_WORD_PENALTY`].
pub const DEFAULT_PHONE_PENALTY: f64 = 20.0;

/// The default [`RecognizerConfig::min_likelihood_ratio`] (tuned on the tuning set of
/// [`crate::eval`] with [`DEFAULT_PHONE_DISTANCE_WEIGHT`] and [`DEFAULT_NOISE_FLOOR`]: there no
/// unrelated sentence and no wrong command passed, and 341 of 360 commands did; the first false
/// accept comes at −32; docs/voice.md has the held-out figures).
pub const DEFAULT_MIN_LIKELIHOOD_RATIO: f64 = -30.0;

/// The default [`RecognizerConfig::phone_distance_weight`] (tuned with
/// [`DEFAULT_MIN_LIKELIHOOD_RATIO`]).
pub const DEFAULT_PHONE_DISTANCE_WEIGHT: f64 = 15.0;

/// The default [`RecognizerConfig::noise_floor`]: white noise at 120 (RMS, 16-bit units, about
/// −49 dBFS), some 30 dB under the synthetic voices' speech. Tuned on the tuning set (30, 60, 90,
/// 120, 150, 200 and 300 were tried: from 200 up, unrelated sentences pass).
pub const DEFAULT_NOISE_FLOOR: f64 = 120.0;

/// Recogniser settings.
#[derive(Debug, Clone)]
pub struct RecognizerConfig {
    /// Folder the embedded acoustic model is written into (once) and read from.
    pub model_dir: PathBuf,
    /// Add the garbage branch (a free phone loop) so unrelated speech gives no command (default on).
    pub garbage: bool,
    /// Prior weight of the garbage branch against the command branch (lower = fewer rejections).
    pub garbage_weight: f64,
    /// Word insertion penalty (`-wip`): a probability per word. The garbage branch spends one
    /// "word" per phone, a command a few words, so a small value makes garbage pay for its length.
    pub word_penalty: f64,
    /// Phone insertion penalty (`-pip`).
    pub phone_penalty: f64,
    /// More PocketSphinx options as (name, value) pairs (e.g. `lw`, or `-lw` as in 0.8's
    /// command line); later pairs override PitBox's own settings.
    pub extra_args: Vec<(String, String)>,
    /// Lowest accepted confidence, 0–1 (see [`Recognition::confidence`]; 0 accepts all).
    pub min_confidence: f64,
    /// Lowest accepted verification score of a command against a free phone loop. When the
    /// grammar gives a command, a second decoder has run an unconstrained phone loop on the same
    /// audio as it arrived; the score is the likelihood ratio (grammar acoustic score − phone-loop
    /// acoustic score, per 10 ms frame, in PocketSphinx's log units: base 1.0001, shifted by 10
    /// bits) minus [`RecognizerConfig::phone_distance_weight`] × the phone distance (the edit
    /// distance between the command's phones and the phones the loop heard, over the command's
    /// phone count). Speech that is not a command fits the phone loop much better than any
    /// command, and the loop's phones differ from the command's. Not finite (e.g.
    /// `f64::NEG_INFINITY`) turns the check and the second decoder off.
    pub min_likelihood_ratio: f64,
    /// Weight of the phone distance in the verification score (see
    /// [`RecognizerConfig::min_likelihood_ratio`]; 0 = the likelihood ratio alone).
    pub phone_distance_weight: f64,
    /// PocketSphinx options for the phone-loop decoder only, applied after PitBox's own and
    /// [`RecognizerConfig::extra_args`] (its phone and word penalties shape the phone string the
    /// command is checked against).
    pub phone_loop_args: Vec<(String, String)>,
    /// RMS (in 16-bit sample units) of a seeded white noise added to the audio before both
    /// decoders hear it (0 = none). Digitally silent stretches (gated or synthetic audio) then
    /// look like a quiet room: PocketSphinx's live mean normalisation skips frames whose energy
    /// term is negative, so digital silence reaches the model unnormalised and fits it poorly.
    /// The level is absolute, not relative to the speech: with a microphone set very quiet
    /// (speech far under −20 dBFS RMS) lower it.
    pub noise_floor: f64,
}

impl RecognizerConfig {
    /// Settings for the driver config's `voice.sensitivity` (0–1, 0.5 = the tuned defaults):
    /// higher accepts more (fewer missed commands, more false accepts). It scales the phone
    /// insertion setting from 10 (at 0) through 20 (at 0.5) to 40 (at 1), the knob that moved the
    /// false-accept/false-reject balance most in tuning.
    pub fn with_sensitivity(mut self, sensitivity: f64) -> Self {
        let s = if sensitivity.is_finite() { sensitivity.clamp(0.0, 1.0) } else { 0.5 };
        self.phone_penalty = DEFAULT_PHONE_PENALTY * 2f64.powf((s - 0.5) * 2.0);
        self
    }
}

impl Default for RecognizerConfig {
    fn default() -> Self {
        Self {
            model_dir: default_model_dir(),
            garbage: true,
            garbage_weight: DEFAULT_GARBAGE_WEIGHT,
            word_penalty: DEFAULT_WORD_PENALTY,
            phone_penalty: DEFAULT_PHONE_PENALTY,
            extra_args: Vec::new(),
            min_confidence: 0.0,
            min_likelihood_ratio: DEFAULT_MIN_LIKELIHOOD_RATIO,
            phone_distance_weight: DEFAULT_PHONE_DISTANCE_WEIGHT,
            // The commands' `pip` (10) floods the phone loop with one-frame phones; at 1 its phone
            // string is close to what was said.
            phone_loop_args: vec![("pip".into(), "1".into())],
            noise_floor: DEFAULT_NOISE_FLOOR,
        }
    }
}

/// What the recogniser made of one utterance.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Recognition {
    /// The command, or `None` for "no command".
    pub command: Option<VoiceCommand>,
    /// The words PocketSphinx heard (garbage words included).
    pub words: String,
    /// 0–1 (0 when there is no command): with the phone-loop check on (the default), how far the
    /// check's score is above its threshold, through a logistic curve: 0.5 at the threshold, 0.73
    /// at 10 above, 0.88 at 20 (the scale of [`RecognizerConfig::min_likelihood_ratio`]). With
    /// the check off, the posterior probability in the word lattice when the grammar decoder
    /// builds one (`bestpath` set in [`RecognizerConfig::extra_args`]), else 1.
    pub confidence: f64,
    /// Audio length, seconds.
    pub audio_seconds: f64,
    /// Time spent in the decoder for the final pass, seconds.
    pub decode_seconds: f64,
}

/// A PocketSphinx decoder loaded with the command grammar. Not `Sync`: use one per thread.
pub struct CommandRecognizer {
    ps: *mut ffi::ps_decoder_t,
    config: RecognizerConfig,
    /// A second decoder running the free phone loop on the same audio, as it arrives (None when
    /// the likelihood-ratio check is off).
    phones: Option<*mut ffi::ps_decoder_t>,
    /// Scores of the last utterance (for tuning).
    last: Detail,
    /// The command words' phones by dictionary name (`word` or `word(n)`).
    pron: HashMap<String, Vec<String>>,
    /// The noise floor's generator (reseeded at every utterance, so results repeat).
    rng: XorShift,
    /// The fed samples with the noise floor added (reused buffer).
    noisy: Vec<i16>,
}

/// One segment of a decoder's best path.
#[derive(Debug, Clone, Default)]
struct Segment {
    word: String,
    ascr: i64,
}

/// How the last utterance scored, for tuning (`examples/scores.rs`).
#[doc(hidden)]
#[derive(Debug, Clone, Default)]
pub struct Detail {
    /// The grammar pass's words.
    pub hyp: String,
    /// Frames (10 ms) in the utterance (0 when the phone-loop pass did not run).
    pub frames: i32,
    /// The likelihood ratio (see [`RecognizerConfig::min_likelihood_ratio`]); None when the
    /// phone-loop pass did not run (no command, or the check is off).
    pub likelihood_ratio: Option<f64>,
    /// The phone distance (see [`RecognizerConfig::min_likelihood_ratio`]); None as above.
    pub phone_distance: Option<f64>,
    /// The phones of the command words on the grammar's best path (when there is a command).
    pub command_phones: Vec<String>,
    /// The phone loop's phones, silence left out (when the phone-loop pass ran).
    pub loop_phones: Vec<String>,
}

// SAFETY: the decoders are owned exclusively by this value and PocketSphinx's only global state
// is the log level (set once) and a thread-local random generator, so it may move to another
// thread (it is not shared: no Sync).
unsafe impl Send for CommandRecognizer {}

impl Drop for CommandRecognizer {
    fn drop(&mut self) {
        // SAFETY: both decoders came from ps_init and are freed once.
        unsafe {
            ffi::ps_free(self.ps);
            if let Some(phones) = self.phones {
                ffi::ps_free(phones);
            }
        }
    }
}

impl CommandRecognizer {
    /// Starts PocketSphinx with the embedded en-us model and command dictionary, and sets the
    /// command grammar.
    pub fn new(config: RecognizerConfig) -> Result<Self, RecognizerError> {
        quiet_logs();
        let hmm = ffi::install_en_us_model(&config.model_dir)?;
        let dictionary = command_dictionary()?;
        let wip = format!("{:e}", config.word_penalty.clamp(1e-60, 1.0));
        let pip = format!("{}", config.phone_penalty.clamp(1e-6, 1e6));
        let hmm = hmm.to_string_lossy().into_owned();
        let own: [(&str, &str); 7] = [
            ("hmm", &hmm),
            ("samprate", "16000"),
            ("wip", &wip),
            ("pip", &pip),
            // Synthetic and gated audio has runs of digital silence; dither keeps the features sane.
            ("dither", "yes"),
            // A fixed seed makes the dither, and so every result, repeatable.
            ("seed", "1"),
            ("loglevel", if verbose() { "INFO" } else { "FATAL" }),
        ];
        let decoder = |bestpath: &str, more: &[(String, String)]| -> Result<*mut ffi::ps_decoder_t, RecognizerError> {
            let mut cfg = Config::new()?;
            for (k, v) in own {
                cfg.set(k, v)?;
            }
            cfg.set("bestpath", bestpath)?;
            for (k, v) in config.extra_args.iter().chain(more) {
                cfg.set(k.trim_start_matches('-'), v)?;
            }
            // SAFETY: cfg is a live configuration; ps_init keeps its own reference.
            let ps = unsafe { ffi::ps_init(cfg.0) };
            if ps.is_null() {
                return Err(RecognizerError::Init);
            }
            Ok(ps)
        };
        let ps = decoder(GRAMMAR_BESTPATH, &[])?;
        let pron = dictionary.iter().map(|p| (variant_name(p), p.phones.clone())).collect();
        let mut rec = CommandRecognizer {
            ps,
            config: config.clone(),
            phones: None,
            last: Detail::default(),
            pron,
            rng: XorShift(NOISE_SEED),
            noisy: Vec::new(),
        };
        if config.min_likelihood_ratio.is_finite() {
            let phones = decoder("yes", &config.phone_loop_args)?;
            rec.phones = Some(phones);
            // SAFETY: phones is live; NULL asks for an unconstrained phone loop; the name is a
            // NUL-terminated static.
            unsafe {
                if ffi::ps_add_allphone(phones, PHONES_SEARCH.as_ptr(), std::ptr::null_mut()) < 0 {
                    return Err(RecognizerError::Grammar("ps_add_allphone"));
                }
                if ffi::ps_activate_search(phones, PHONES_SEARCH.as_ptr()) < 0 {
                    return Err(RecognizerError::Grammar("ps_activate_search"));
                }
            }
        }
        let mut words: Vec<(String, String)> =
            dictionary.iter().map(|p| (variant_name(p), p.phones.join(" "))).collect();
        if rec.config.garbage {
            words.extend(
                GARBAGE_PHONES
                    .iter()
                    .map(|ph| (format!("{GARBAGE_PREFIX}{}", ph.to_ascii_lowercase()), ph.to_string())),
            );
        }
        let n = words.len();
        for (i, (word, phones)) in words.iter().enumerate() {
            let w = cstring(word)?;
            let p = cstring(phones)?;
            // Rebuild the search structures only after the last word.
            let update = i32::from(i + 1 == n);
            // SAFETY: ps is live; both strings are NUL-terminated and outlive the call.
            if unsafe { ffi::ps_add_word(rec.ps, w.as_ptr(), p.as_ptr(), update) } < 0 {
                return Err(RecognizerError::Word { word: word.clone(), phones: phones.clone() });
            }
        }
        let weight = if rec.config.garbage { Some(rec.config.garbage_weight) } else { None };
        let grammar = cstring(&jsgf_grammar(weight))?;
        let name = COMMANDS_SEARCH;
        // SAFETY: ps is live; both strings are NUL-terminated and outlive the calls.
        if unsafe { ffi::ps_add_jsgf_string(rec.ps, name.as_ptr(), grammar.as_ptr()) } < 0 {
            return Err(RecognizerError::Grammar("ps_add_jsgf_string"));
        }
        // SAFETY: as above.
        if unsafe { ffi::ps_activate_search(rec.ps, name.as_ptr()) } < 0 {
            return Err(RecognizerError::Grammar("ps_activate_search"));
        }
        Ok(rec)
    }

    /// The settings in use.
    pub fn config(&self) -> &RecognizerConfig {
        &self.config
    }

    /// The last utterance's scores (for tuning).
    #[doc(hidden)]
    pub fn last_detail(&self) -> &Detail {
        &self.last
    }

    /// Starts an utterance (push-to-talk pressed).
    pub fn start(&mut self) -> Result<(), RecognizerError> {
        self.rng = XorShift(NOISE_SEED);
        if let Some(phones) = self.phones {
            // SAFETY: phones is live.
            if unsafe { ffi::ps_start_utt(phones) } < 0 {
                return Err(RecognizerError::Decode("ps_start_utt (phone loop)"));
            }
        }
        // SAFETY: ps is live.
        if unsafe { ffi::ps_start_utt(self.ps) } < 0 {
            return Err(RecognizerError::Decode("ps_start_utt"));
        }
        Ok(())
    }

    /// Feeds 16 kHz samples while the driver speaks (decoding runs as the audio arrives, so little
    /// is left to do when the utterance ends).
    pub fn feed(&mut self, samples: &[i16]) -> Result<(), RecognizerError> {
        if samples.is_empty() {
            return Ok(());
        }
        let floor = self.config.noise_floor;
        let mut noisy = std::mem::take(&mut self.noisy);
        let samples = if floor > 0.0 && floor.is_finite() {
            noisy.clear();
            noisy.extend(samples.iter().map(|&s| {
                // Sum of 4 uniforms ≈ Gaussian; each U(-1,1) has variance 1/3.
                let g: f64 = (0..4).map(|_| self.rng.uniform()).sum::<f64>() / (4.0f64 / 3.0).sqrt();
                (f64::from(s) + g * floor).round().clamp(-32768.0, 32767.0) as i16
            }));
            &noisy[..]
        } else {
            samples
        };
        let r = self.feed_both(samples);
        self.noisy = noisy;
        r
    }

    fn feed_both(&mut self, samples: &[i16]) -> Result<(), RecognizerError> {
        // SAFETY: ps is live; the slice is valid for samples.len() samples.
        if unsafe { ffi::ps_process_raw(self.ps, samples.as_ptr(), samples.len(), 0, 0) } < 0 {
            return Err(RecognizerError::Decode("ps_process_raw"));
        }
        if let Some(phones) = self.phones {
            // SAFETY: as above, for the phone-loop decoder.
            if unsafe { ffi::ps_process_raw(phones, samples.as_ptr(), samples.len(), 0, 0) } < 0 {
                return Err(RecognizerError::Decode("ps_process_raw (phone loop)"));
            }
        }
        Ok(())
    }

    /// The best path's segments of the search that just ended.
    fn segments(ps: *mut ffi::ps_decoder_t) -> Vec<Segment> {
        let mut out = Vec::new();
        // SAFETY: ps is a live decoder of this recogniser; the iterator is walked to its end,
        // which frees it.
        unsafe {
            let mut it = ffi::ps_seg_iter(ps);
            while !it.is_null() {
                let (mut ascr, mut lscr, mut lback) = (0, 0, 0);
                ffi::ps_seg_prob(it, &mut ascr, &mut lscr, &mut lback);
                let w = ffi::ps_seg_word(it);
                let word = if w.is_null() { String::new() } else { CStr::from_ptr(w).to_string_lossy().into_owned() };
                out.push(Segment { word, ascr: i64::from(ascr) });
                it = ffi::ps_seg_next(it);
            }
        }
        out
    }

    /// Ends the utterance (push-to-talk released) and returns what was said.
    pub fn finish(&mut self, audio_seconds: f64) -> Result<Recognition, RecognizerError> {
        let t0 = Instant::now();
        // SAFETY: ps is live.
        if unsafe { ffi::ps_end_utt(self.ps) } < 0 {
            return Err(RecognizerError::Decode("ps_end_utt"));
        }
        if let Some(phones) = self.phones {
            // SAFETY: phones is live.
            if unsafe { ffi::ps_end_utt(phones) } < 0 {
                return Err(RecognizerError::Decode("ps_end_utt (phone loop)"));
            }
        }
        let mut score = 0i32;
        // SAFETY: ps is live; the returned string is owned by the decoder and copied at once.
        let hyp = unsafe {
            let p: *const c_char = ffi::ps_get_hyp(self.ps, &mut score);
            if p.is_null() { String::new() } else { CStr::from_ptr(p).to_string_lossy().into_owned() }
        };
        // SAFETY: ps is live.
        let prob = unsafe { ffi::ps_get_prob(self.ps) };
        let mut command = parse_command(&hyp);
        let mut confidence = if command.is_some() { posterior(prob) } else { 0.0 };
        self.last = Detail { hyp: hyp.clone(), ..Detail::default() };
        if let (Some(phones), Some(_)) = (self.phones, command) {
            // SAFETY: ps is live.
            let frames = unsafe { ffi::ps_get_n_frames(self.ps) };
            let gsegs = Self::segments(self.ps);
            let psegs = Self::segments(phones);
            let grammar: i64 = gsegs.iter().map(|s| s.ascr).sum();
            let loop_score: i64 = psegs.iter().map(|s| s.ascr).sum();
            let ratio = (grammar - loop_score) as f64 / f64::from(frames.max(1));
            let command_phones: Vec<String> =
                gsegs.iter().filter_map(|s| self.pron.get(&s.word)).flat_map(|p| p.iter().cloned()).collect();
            let loop_phones: Vec<String> =
                psegs.iter().map(|s| s.word.clone()).filter(|w| GARBAGE_PHONES.contains(&w.as_str())).collect();
            let distance = phone_distance(&command_phones, &loop_phones);
            self.last = Detail {
                hyp: hyp.clone(),
                likelihood_ratio: Some(ratio),
                phone_distance: Some(distance),
                frames,
                command_phones,
                loop_phones,
            };
            let margin = ratio - self.config.phone_distance_weight * distance - self.config.min_likelihood_ratio;
            confidence = 1.0 / (1.0 + (-margin / CONFIDENCE_SCALE).exp());
            if margin < 0.0 {
                command = None;
            }
        }
        command = command.filter(|_| confidence >= self.config.min_confidence);
        if command.is_none() {
            confidence = 0.0;
        }
        let decode_seconds = t0.elapsed().as_secs_f64();
        Ok(Recognition { command, words: hyp, confidence, audio_seconds, decode_seconds })
    }

    /// Recognises one whole utterance (any sample rate: it is resampled to 16 kHz).
    pub fn recognize(&mut self, audio: &Audio) -> Result<Recognition, RecognizerError> {
        let a = if audio.sample_rate == RECOGNITION_RATE { audio.clone() } else { audio.resample(RECOGNITION_RATE) };
        self.start()?;
        for chunk in a.samples.chunks(1_600) {
            self.feed(chunk)?;
        }
        self.finish(a.duration())
    }
}

/// Whether the grammar decoder takes its result from the word lattice (`bestpath`): no, the
/// lattice's end node may be a word the grammar cannot end on.
const GRAMMAR_BESTPATH: &str = "no";

/// The noise floor generator's seed.
const NOISE_SEED: u64 = 0x9E37_79B9_7F4A_7C15;

/// The check's score margin at which [`Recognition::confidence`] is 1/(1 + e⁻¹) ≈ 0.73.
const CONFIDENCE_SCALE: f64 = 10.0;

/// Names of the two searches.
const COMMANDS_SEARCH: &CStr = c"commands";
const PHONES_SEARCH: &CStr = c"phones";

/// The edit distance (insertions, deletions and substitutions all cost 1) between the command's
/// phones and the phones the loop heard, over the command's phone count (1 when the command
/// has no phones).
fn phone_distance(command: &[String], heard: &[String]) -> f64 {
    if command.is_empty() {
        return 1.0;
    }
    let mut row: Vec<usize> = (0..=heard.len()).collect();
    for (i, c) in command.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, h) in heard.iter().enumerate() {
            let substitute = diagonal + usize::from(c != h);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j + 1] + 1).min(row[j] + 1);
        }
    }
    row[heard.len()] as f64 / command.len() as f64
}

/// The hypothesis's posterior probability from the word lattice (`ps_get_prob`, log base
/// 1.0001), 0–1.
fn posterior(prob: i32) -> f64 {
    (f64::from(prob) * 1.0001f64.ln()).exp().clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitivity_maps_to_the_phone_penalty() {
        let at = |s: f64| RecognizerConfig::default().with_sensitivity(s).phone_penalty;
        assert!((at(0.5) - DEFAULT_PHONE_PENALTY).abs() < 1e-9);
        assert!((at(0.0) - 10.0).abs() < 1e-9);
        assert!((at(1.0) - 40.0).abs() < 1e-9);
        assert!((at(7.0) - 40.0).abs() < 1e-9);
        assert!((at(f64::NAN) - DEFAULT_PHONE_PENALTY).abs() < 1e-9);
    }

    #[test]
    fn phone_distance_counts_edits_per_command_phone() {
        let v = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        assert_eq!(phone_distance(&v("B AA K S"), &v("B AA K S")), 0.0);
        assert_eq!(phone_distance(&v("B AA K S"), &v("B AO K S")), 0.25);
        assert_eq!(phone_distance(&v("B AA K S"), &v("B AA AA K S")), 0.25);
        assert_eq!(phone_distance(&v("B AA K S"), &v("")), 1.0);
        assert_eq!(phone_distance(&v("B AA"), &v("K S T R")), 2.0);
        assert_eq!(phone_distance(&[], &v("K")), 1.0);
    }

    #[test]
    fn posterior_is_a_probability() {
        assert_eq!(posterior(0), 1.0);
        assert!(posterior(-100_000) < 0.001);
        assert_eq!(posterior(i32::MIN), 0.0);
    }
}
