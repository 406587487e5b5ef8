//! Offline command recognition with PocketSphinx in JSGF grammar mode.
//!
//! The library is loaded at run time (`dlopen`) rather than linked: the workspace then builds on
//! any machine, with or without PocketSphinx, and a machine without it gets a precise
//! [`RecognizerError::LibraryMissing`] that names the fix (`scripts/setup-voice`). On Linux the
//! Debian/Ubuntu packages `libpocketsphinx3` + `pocketsphinx-en-us` provide the library and the
//! en-us model; elsewhere point `PITBOX_POCKETSPHINX_LIB` and `PITBOX_POCKETSPHINX_MODEL` at them.
//! Nothing is downloaded at run time.

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

use crate::audio::{Audio, RECOGNITION_RATE};
use crate::commands::{GARBAGE_PHONES, GARBAGE_PREFIX, VoiceCommand, jsgf_grammar, parse_command};

/// Why recognition could not run.
#[derive(Debug, thiserror::Error)]
pub enum RecognizerError {
    #[error(
        "PocketSphinx library not found (tried {tried}): install it with scripts/setup-voice \
         (Debian/Ubuntu: libpocketsphinx3 pocketsphinx-en-us) or set PITBOX_POCKETSPHINX_LIB"
    )]
    LibraryMissing { tried: String },
    #[error("PocketSphinx library {path} lacks symbol {symbol}: {detail}")]
    Symbol { path: String, symbol: &'static str, detail: String },
    #[error(
        "PocketSphinx en-us model not found at {0} (install pocketsphinx-en-us with scripts/setup-voice, \
         or set PITBOX_POCKETSPHINX_MODEL to the folder holding en-us/ and cmudict-en-us.dict)"
    )]
    ModelMissing(PathBuf),
    #[error("PocketSphinx rejected its configuration")]
    Config,
    #[error("PocketSphinx failed to start (ps_init returned NULL)")]
    Init,
    #[error("PocketSphinx rejected the command grammar (ps_set_jsgf_string returned {0})")]
    Grammar(i32),
    #[error("PocketSphinx decoding failed in {0}")]
    Decode(&'static str),
    #[error("path is not valid for the C library: {0}")]
    Path(String),
}

type CmdLn = c_void;
type Decoder = c_void;

#[allow(non_camel_case_types)]
struct Api {
    cmd_ln_parse_r: unsafe extern "C" fn(*mut CmdLn, *const c_void, i32, *mut *mut c_char, i32) -> *mut CmdLn,
    cmd_ln_free_r: unsafe extern "C" fn(*mut CmdLn) -> c_int,
    ps_args: unsafe extern "C" fn() -> *const c_void,
    ps_init: unsafe extern "C" fn(*mut CmdLn) -> *mut Decoder,
    ps_free: unsafe extern "C" fn(*mut Decoder) -> c_int,
    ps_set_jsgf_string: unsafe extern "C" fn(*mut Decoder, *const c_char, *const c_char) -> c_int,
    ps_set_search: unsafe extern "C" fn(*mut Decoder, *const c_char) -> c_int,
    ps_start_utt: unsafe extern "C" fn(*mut Decoder) -> c_int,
    ps_process_raw: unsafe extern "C" fn(*mut Decoder, *const i16, usize, c_int, c_int) -> c_int,
    ps_end_utt: unsafe extern "C" fn(*mut Decoder) -> c_int,
    ps_get_hyp: unsafe extern "C" fn(*mut Decoder, *mut i32) -> *const c_char,
    ps_get_prob: unsafe extern "C" fn(*mut Decoder) -> i32,
    ps_add_word: unsafe extern "C" fn(*mut Decoder, *const c_char, *const c_char, c_int) -> c_int,
    // Keep the libraries loaded for as long as the function pointers live.
    _libs: Vec<libloading::Library>,
}

fn library_candidates() -> Vec<PathBuf> {
    if let Some(p) = std::env::var_os("PITBOX_POCKETSPHINX_LIB") {
        return vec![PathBuf::from(p)];
    }
    if cfg!(windows) {
        vec!["pocketsphinx.dll".into()]
    } else if cfg!(target_os = "macos") {
        vec!["libpocketsphinx.3.dylib".into(), "/opt/homebrew/lib/libpocketsphinx.3.dylib".into()]
    } else {
        vec!["libpocketsphinx.so.3".into(), "libpocketsphinx.so".into()]
    }
}

fn sphinxbase_candidates() -> Vec<PathBuf> {
    if let Some(p) = std::env::var_os("PITBOX_SPHINXBASE_LIB") {
        return vec![PathBuf::from(p)];
    }
    if cfg!(windows) {
        vec!["sphinxbase.dll".into()]
    } else if cfg!(target_os = "macos") {
        vec!["libsphinxbase.3.dylib".into()]
    } else {
        vec!["libsphinxbase.so.3".into(), "libsphinxbase.so".into()]
    }
}

fn open_first(cands: &[PathBuf]) -> Result<(libloading::Library, String), RecognizerError> {
    for c in cands {
        // SAFETY: loading PocketSphinx/SphinxBase runs only their ELF initialisers, which have no
        // preconditions.
        if let Ok(lib) = unsafe { libloading::Library::new(c) } {
            return Ok((lib, c.display().to_string()));
        }
    }
    Err(RecognizerError::LibraryMissing {
        tried: cands.iter().map(|c| c.display().to_string()).collect::<Vec<_>>().join(", "),
    })
}

macro_rules! sym {
    ($libs:expr, $name:ident) => {{
        let mut found = None;
        let mut detail = String::new();
        for (lib, _) in $libs.iter() {
            // SAFETY: the type is the C prototype of this symbol in PocketSphinx 5prealpha's headers
            // (pocketsphinx.h, ps_search.h, sphinxbase/cmd_ln.h).
            match unsafe { lib.get(concat!(stringify!($name), "\0").as_bytes()) } {
                Ok(s) => {
                    found = Some(*s);
                    break;
                }
                Err(e) => detail = e.to_string(),
            }
        }
        match found {
            Some(f) => f,
            None => {
                return Err(RecognizerError::Symbol {
                    path: $libs.iter().map(|(_, p)| p.clone()).collect::<Vec<_>>().join(" + "),
                    symbol: stringify!($name),
                    detail,
                });
            }
        }
    }};
}

impl Api {
    fn load() -> Result<Api, RecognizerError> {
        let ps = open_first(&library_candidates())?;
        let mut libs = vec![ps];
        // cmd_ln_* live in SphinxBase; PocketSphinx normally pulls it in, but look there as well.
        if let Ok(sb) = open_first(&sphinxbase_candidates()) {
            libs.push(sb);
        }
        let api = Api {
            cmd_ln_parse_r: sym!(libs, cmd_ln_parse_r),
            cmd_ln_free_r: sym!(libs, cmd_ln_free_r),
            ps_args: sym!(libs, ps_args),
            ps_init: sym!(libs, ps_init),
            ps_free: sym!(libs, ps_free),
            ps_set_jsgf_string: sym!(libs, ps_set_jsgf_string),
            ps_set_search: sym!(libs, ps_set_search),
            ps_start_utt: sym!(libs, ps_start_utt),
            ps_process_raw: sym!(libs, ps_process_raw),
            ps_end_utt: sym!(libs, ps_end_utt),
            ps_get_hyp: sym!(libs, ps_get_hyp),
            ps_get_prob: sym!(libs, ps_get_prob),
            ps_add_word: sym!(libs, ps_add_word),
            _libs: libs.into_iter().map(|(l, _)| l).collect(),
        };
        Ok(api)
    }
}

/// The default model folder: `PITBOX_POCKETSPHINX_MODEL`, else Debian's.
pub fn default_model_dir() -> PathBuf {
    std::env::var_os("PITBOX_POCKETSPHINX_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/share/pocketsphinx/model/en-us"))
}

/// Whether the library and model are installed (for tests that must skip plainly).
pub fn availability() -> Result<(), RecognizerError> {
    Api::load()?;
    let m = default_model_dir();
    if !m.join("en-us").join("mdef").is_file() || !m.join("cmudict-en-us.dict").is_file() {
        return Err(RecognizerError::ModelMissing(m));
    }
    Ok(())
}

/// The garbage branch's default weight (tuned on the test set in `tests/recognition.rs`).
pub const DEFAULT_GARBAGE_WEIGHT: f64 = 1e-3;

/// The default word insertion penalty (tuned on the test set in `tests/recognition.rs`).
pub const DEFAULT_WORD_PENALTY: f64 = 3e-5;

/// The default phone insertion "penalty" (`-pip`; above 1 it favours more phones per word, i.e. the
/// commands' longer words over one-phone garbage words). Tuned with [`DEFAULT_WORD_PENALTY`].
pub const DEFAULT_PHONE_PENALTY: f64 = 10.0;

/// Recogniser settings.
#[derive(Debug, Clone)]
pub struct RecognizerConfig {
    /// Folder holding `en-us/` (acoustic model) and `cmudict-en-us.dict`.
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
    /// More PocketSphinx options as (`-name`, value) pairs (e.g. `-lw`); only options PitBox does
    /// not set itself (PocketSphinx refuses a repeated option).
    pub extra_args: Vec<(String, String)>,
    /// Lowest accepted confidence, 0–1 (see [`Recognition::confidence`]; 0 accepts all).
    pub min_confidence: f64,
}

impl RecognizerConfig {
    /// Settings for the driver config's `voice.sensitivity` (0–1, 0.5 = the tuned defaults):
    /// higher accepts more (fewer missed commands, more false accepts). It scales the phone
    /// insertion setting from 5 (at 0) through 10 (at 0.5) to 20 (at 1), the knob that moved the
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
    /// 0–1: the command's posterior probability in the decoder's word lattice (0 when there is
    /// no command). With a small grammar it is usually near 1: rejection of non-commands is done
    /// by the garbage branch, not by this number.
    pub confidence: f64,
    /// Audio length, seconds.
    pub audio_seconds: f64,
    /// Time spent in the decoder for the final pass, seconds.
    pub decode_seconds: f64,
}

/// A PocketSphinx decoder loaded with the command grammar. Not `Sync`: use one per thread.
pub struct CommandRecognizer {
    api: Api,
    ps: *mut Decoder,
    config: RecognizerConfig,
}

// SAFETY: the decoder is owned exclusively by this value and PocketSphinx keeps no thread-local
// state, so it may move to another thread (it is not shared: no Sync).
unsafe impl Send for CommandRecognizer {}

impl Drop for CommandRecognizer {
    fn drop(&mut self) {
        // SAFETY: ps came from ps_init and is freed once.
        unsafe {
            (self.api.ps_free)(self.ps);
        }
    }
}

impl CommandRecognizer {
    /// Loads PocketSphinx and the en-us model, and sets the command grammar.
    pub fn new(config: RecognizerConfig) -> Result<Self, RecognizerError> {
        let api = Api::load()?;
        let hmm = config.model_dir.join("en-us");
        let dict = config.model_dir.join("cmudict-en-us.dict");
        if !hmm.join("mdef").is_file() || !dict.is_file() {
            return Err(RecognizerError::ModelMissing(config.model_dir.clone()));
        }
        let null_log = if cfg!(windows) { "NUL" } else { "/dev/null" };
        let wip = format!("{:e}", config.word_penalty.clamp(1e-60, 1.0));
        let pip = format!("{}", config.phone_penalty.clamp(1e-6, 1e6));
        let args: Vec<CString> = [
            "-wip",
            &wip,
            "-pip",
            &pip,
            "-hmm",
            &hmm.to_string_lossy(),
            "-dict",
            &dict.to_string_lossy(),
            "-samprate",
            "16000",
            "-logfn",
            null_log,
            "-bestpath",
            "yes",
            // Synthetic and gated audio has runs of digital silence; dither keeps the features sane.
            "-dither",
            "yes",
            // A fixed seed makes the dither, and so every result, repeatable.
            "-seed",
            "1",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain(config.extra_args.iter().flat_map(|(k, v)| [k.clone(), v.clone()]))
        .map(|s| CString::new(s.clone()).map_err(|_| RecognizerError::Path(s)))
        .collect::<Result<_, _>>()?;
        let mut argv: Vec<*mut c_char> = args.iter().map(|a| a.as_ptr() as *mut c_char).collect();
        // SAFETY: argv holds argc valid NUL-terminated strings that outlive the call; ps_args()
        // returns the decoder's static argument table.
        let cfg = unsafe {
            (api.cmd_ln_parse_r)(std::ptr::null_mut(), (api.ps_args)(), argv.len() as i32, argv.as_mut_ptr(), 1)
        };
        if cfg.is_null() {
            return Err(RecognizerError::Config);
        }
        // SAFETY: cfg is a valid configuration; ps_init retains its own reference.
        let ps = unsafe { (api.ps_init)(cfg) };
        // SAFETY: our reference to cfg is released exactly once.
        unsafe {
            (api.cmd_ln_free_r)(cfg);
        }
        if ps.is_null() {
            return Err(RecognizerError::Init);
        }
        let rec = CommandRecognizer { api, ps, config };
        if rec.config.garbage {
            for phone in GARBAGE_PHONES {
                let word = CString::new(format!("{GARBAGE_PREFIX}{}", phone.to_ascii_lowercase()))
                    .map_err(|_| RecognizerError::Grammar(-1))?;
                let pron = CString::new(*phone).map_err(|_| RecognizerError::Grammar(-1))?;
                // SAFETY: ps is live; both strings are NUL-terminated and outlive the call.
                let rc = unsafe { (rec.api.ps_add_word)(rec.ps, word.as_ptr(), pron.as_ptr(), 0) };
                if rc < 0 {
                    return Err(RecognizerError::Grammar(rc));
                }
            }
        }
        let weight = if rec.config.garbage { Some(rec.config.garbage_weight) } else { None };
        let grammar = CString::new(jsgf_grammar(weight)).map_err(|_| RecognizerError::Grammar(-1))?;
        let name = c"commands";
        // SAFETY: ps is live; both strings are NUL-terminated and outlive the calls.
        let rc = unsafe { (rec.api.ps_set_jsgf_string)(rec.ps, name.as_ptr(), grammar.as_ptr()) };
        if rc < 0 {
            return Err(RecognizerError::Grammar(rc));
        }
        // SAFETY: as above.
        let rc = unsafe { (rec.api.ps_set_search)(rec.ps, name.as_ptr()) };
        if rc < 0 {
            return Err(RecognizerError::Grammar(rc));
        }
        Ok(rec)
    }

    /// The settings in use.
    pub fn config(&self) -> &RecognizerConfig {
        &self.config
    }

    /// Starts an utterance (push-to-talk pressed).
    pub fn start(&mut self) -> Result<(), RecognizerError> {
        // SAFETY: ps is live.
        if unsafe { (self.api.ps_start_utt)(self.ps) } < 0 {
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
        // SAFETY: ps is live; the slice is valid for samples.len() samples.
        if unsafe { (self.api.ps_process_raw)(self.ps, samples.as_ptr(), samples.len(), 0, 0) } < 0 {
            return Err(RecognizerError::Decode("ps_process_raw"));
        }
        Ok(())
    }

    /// Ends the utterance (push-to-talk released) and returns what was said.
    pub fn finish(&mut self, audio_seconds: f64) -> Result<Recognition, RecognizerError> {
        let t0 = Instant::now();
        // SAFETY: ps is live.
        if unsafe { (self.api.ps_end_utt)(self.ps) } < 0 {
            return Err(RecognizerError::Decode("ps_end_utt"));
        }
        let mut score = 0i32;
        // SAFETY: ps is live; the returned string is owned by the decoder and copied at once.
        let hyp = unsafe {
            let p = (self.api.ps_get_hyp)(self.ps, &mut score);
            if p.is_null() { String::new() } else { CStr::from_ptr(p).to_string_lossy().into_owned() }
        };
        // SAFETY: ps is live.
        let prob = unsafe { (self.api.ps_get_prob)(self.ps) };
        let decode_seconds = t0.elapsed().as_secs_f64();
        let command = parse_command(&hyp);
        let confidence = if command.is_some() { posterior(prob) } else { 0.0 };
        let command = command.filter(|_| confidence >= self.config.min_confidence);
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
        assert!((at(0.0) - 5.0).abs() < 1e-9);
        assert!((at(1.0) - 20.0).abs() < 1e-9);
        assert!((at(7.0) - 20.0).abs() < 1e-9);
        assert!((at(f64::NAN) - DEFAULT_PHONE_PENALTY).abs() < 1e-9);
    }

    #[test]
    fn posterior_is_a_probability() {
        assert_eq!(posterior(0), 1.0);
        assert!(posterior(-100_000) < 0.001);
        assert_eq!(posterior(i32::MIN), 0.0);
    }
}
