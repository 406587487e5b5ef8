//! PocketSphinx 5.1.1 for PitBox (crate `pitbox-sphinx-sys`): the C library built from vendored
//! source (`pocketsphinx/`, BSD licence in `pocketsphinx/LICENSE`) and linked statically, the raw
//! declarations of the functions PitBox calls, and the en-us acoustic model carried inside the
//! binary.
//!
//! One change to the vendored model: `feat.params` says `-remove_noise no` (upstream: `yes`).
//! The model's feature parameters are read after the caller's settings and override them, and
//! the noise-removal stage misjudged padded push-to-talk audio: on PitBox's recognition subset it
//! lifted commands right from 55/72 to 60/72, wrong commands from 3 to 0 and false accepts from
//! 6/14 to 4/14.
//!
//! One change to the vendored source, marked `PitBox:` in `src/fsg_search.c`
//! (`fsg_search_find_exit`): at the end of an utterance, when no word exit of the last frame
//! with exits reaches the grammar's final state, the search goes back to the latest frame where
//! one does, instead of returning no result ("Final result does not match the grammar"). Clean
//! commands such as "laps remaining" gave empty results because of it.
//!
//! PocketSphinx reads its acoustic model from files, so [`install_en_us_model`] writes the
//! embedded copy once into a folder named after its content hash (atomically: a temporary folder
//! renamed into place), and later runs reuse it. Nothing is downloaded and nothing outside the
//! binary is needed.

#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_double, c_int, c_long, c_void};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

/// `ps_config_t` (opaque).
pub type ps_config_t = c_void;
/// `ps_decoder_t` (opaque).
pub type ps_decoder_t = c_void;
/// `ps_seg_t` (opaque).
pub type ps_seg_t = c_void;

unsafe extern "C" {
    /// `ps_config_t *ps_config_init(const ps_arg_t *defn)`; NULL = the decoder's own options.
    pub fn ps_config_init(defn: *const c_void) -> *mut ps_config_t;
    /// `int ps_config_free(ps_config_t *config)`.
    pub fn ps_config_free(config: *mut ps_config_t) -> c_int;
    /// `const anytype_t *ps_config_set_str(ps_config_t *, const char *name, const char *val)`;
    /// NULL when the option does not exist.
    pub fn ps_config_set_str(config: *mut ps_config_t, name: *const c_char, val: *const c_char) -> *const c_void;
    /// `const anytype_t *ps_config_set_float(ps_config_t *, const char *name, double val)`.
    pub fn ps_config_set_float(config: *mut ps_config_t, name: *const c_char, val: c_double) -> *const c_void;
    /// `const anytype_t *ps_config_set_int(ps_config_t *, const char *name, long val)`.
    pub fn ps_config_set_int(config: *mut ps_config_t, name: *const c_char, val: c_long) -> *const c_void;
    /// `const anytype_t *ps_config_set_bool(ps_config_t *, const char *name, int val)`.
    pub fn ps_config_set_bool(config: *mut ps_config_t, name: *const c_char, val: c_int) -> *const c_void;
    /// `ps_decoder_t *ps_init(ps_config_t *config)`; retains its own reference to `config`.
    pub fn ps_init(config: *mut ps_config_t) -> *mut ps_decoder_t;
    /// `int ps_free(ps_decoder_t *ps)`.
    pub fn ps_free(ps: *mut ps_decoder_t) -> c_int;
    /// `int ps_add_word(ps_decoder_t *ps, const char *word, const char *phones, int update)`.
    pub fn ps_add_word(ps: *mut ps_decoder_t, word: *const c_char, phones: *const c_char, update: c_int) -> c_int;
    /// `int ps_add_jsgf_string(ps_decoder_t *ps, const char *name, const char *jsgf_string)`.
    pub fn ps_add_jsgf_string(ps: *mut ps_decoder_t, name: *const c_char, jsgf: *const c_char) -> c_int;
    /// `int ps_activate_search(ps_decoder_t *ps, const char *name)`.
    pub fn ps_activate_search(ps: *mut ps_decoder_t, name: *const c_char) -> c_int;
    /// `int ps_start_utt(ps_decoder_t *ps)`.
    pub fn ps_start_utt(ps: *mut ps_decoder_t) -> c_int;
    /// `int ps_process_raw(ps_decoder_t *ps, int16 const *data, size_t n, int no_search, int full_utt)`.
    pub fn ps_process_raw(
        ps: *mut ps_decoder_t,
        data: *const i16,
        n_samples: usize,
        no_search: c_int,
        full_utt: c_int,
    ) -> c_int;
    /// `int ps_end_utt(ps_decoder_t *ps)`.
    pub fn ps_end_utt(ps: *mut ps_decoder_t) -> c_int;
    /// `char const *ps_get_hyp(ps_decoder_t *ps, int32 *out_best_score)`; owned by the decoder.
    pub fn ps_get_hyp(ps: *mut ps_decoder_t, out_best_score: *mut i32) -> *const c_char;
    /// `int32 ps_get_prob(ps_decoder_t *ps)`: log posterior (base 1.0001) of the hypothesis.
    pub fn ps_get_prob(ps: *mut ps_decoder_t) -> i32;
    /// `int ps_add_allphone(ps_decoder_t *ps, const char *name, ngram_model_t *lm)`; a NULL `lm`
    /// gives an unconstrained phone loop.
    pub fn ps_add_allphone(ps: *mut ps_decoder_t, name: *const c_char, lm: *mut c_void) -> c_int;
    /// `int ps_get_n_frames(ps_decoder_t *ps)`: frames decoded in the current or last utterance.
    pub fn ps_get_n_frames(ps: *mut ps_decoder_t) -> c_int;
    /// `const char *ps_get_cmn(ps_decoder_t *ps, int update)`; owned by the decoder.
    pub fn ps_get_cmn(ps: *mut ps_decoder_t, update: c_int) -> *const c_char;
    /// `int ps_set_cmn(ps_decoder_t *ps, const char *cmn)`.
    pub fn ps_set_cmn(ps: *mut ps_decoder_t, cmn: *const c_char) -> c_int;
    /// `ps_seg_t *ps_seg_iter(ps_decoder_t *ps)`: the best hypothesis's segments, or NULL.
    pub fn ps_seg_iter(ps: *mut ps_decoder_t) -> *mut ps_seg_t;
    /// `ps_seg_t *ps_seg_next(ps_seg_t *seg)`: NULL at the end (the iterator is then freed).
    pub fn ps_seg_next(seg: *mut ps_seg_t) -> *mut ps_seg_t;
    /// `char const *ps_seg_word(ps_seg_t *seg)`.
    pub fn ps_seg_word(seg: *mut ps_seg_t) -> *const c_char;
    /// `void ps_seg_frames(ps_seg_t *seg, int *out_sf, int *out_ef)` (inclusive frames).
    pub fn ps_seg_frames(seg: *mut ps_seg_t, out_sf: *mut c_int, out_ef: *mut c_int);
    /// `int32 ps_seg_prob(ps_seg_t *seg, int32 *out_ascr, int32 *out_lscr, int32 *out_lback)`.
    pub fn ps_seg_prob(seg: *mut ps_seg_t, out_ascr: *mut i32, out_lscr: *mut i32, out_lback: *mut i32) -> i32;
    /// `void ps_seg_free(ps_seg_t *seg)`: ends an iteration early.
    pub fn ps_seg_free(seg: *mut ps_seg_t);
    /// `void err_set_logfp(FILE *stream)`: NULL turns the library's log off. (Not
    /// `err_set_loglevel(ERR_MAX)`: `ps_init` then reads past the level-name table and, on
    /// Windows, fails.)
    pub fn err_set_logfp(stream: *mut c_void);
}

/// The en-us acoustic model's files (PocketSphinx 5.1.1 `model/en-us/en-us`), embedded.
pub const EN_US_MODEL: &[(&str, &[u8])] = &[
    ("feat.params", include_bytes!("../pocketsphinx/model/en-us/feat.params")),
    ("mdef", include_bytes!("../pocketsphinx/model/en-us/mdef")),
    ("means", include_bytes!("../pocketsphinx/model/en-us/means")),
    ("noisedict", include_bytes!("../pocketsphinx/model/en-us/noisedict")),
    ("sendump", include_bytes!("../pocketsphinx/model/en-us/sendump")),
    ("transition_matrices", include_bytes!("../pocketsphinx/model/en-us/transition_matrices")),
    ("variances", include_bytes!("../pocketsphinx/model/en-us/variances")),
];

/// Why the embedded model could not be written out.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot write the speech model into {dir}: {source}")]
    Write { dir: PathBuf, source: std::io::Error },
}

/// First 16 hex digits of the SHA-256 over the embedded model (names and contents).
pub fn en_us_model_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        let mut h = Sha256::new();
        for (name, bytes) in EN_US_MODEL {
            h.update(name.as_bytes());
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(bytes);
        }
        h.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect()
    })
}

/// Whether `dir` holds every model file at its embedded size (sizes catch truncated copies; the
/// folder name carries the content hash).
fn complete(dir: &Path) -> bool {
    EN_US_MODEL.iter().all(|(name, bytes)| {
        std::fs::metadata(dir.join(name)).is_ok_and(|m| m.is_file() && m.len() == bytes.len() as u64)
    })
}

/// Writes the embedded en-us model under `base` (once; later calls reuse it) and returns the
/// model folder to give PocketSphinx as `hmm`. Safe against concurrent callers: each writes a
/// private temporary folder and renames it into place; the loser's copy is removed.
pub fn install_en_us_model(base: &Path) -> Result<PathBuf, ModelError> {
    let dir = base.join(format!("pocketsphinx-5.1.1-en-us-{}", en_us_model_hash()));
    if complete(&dir) {
        return Ok(dir);
    }
    let err = |source| ModelError::Write { dir: dir.clone(), source };
    std::fs::create_dir_all(base).map_err(err)?;
    let tmp = base.join(format!(".pocketsphinx-tmp-{}-{:x}", std::process::id(), unique()));
    let written = (|| {
        std::fs::create_dir_all(&tmp)?;
        for (name, bytes) in EN_US_MODEL {
            std::fs::write(tmp.join(name), bytes)?;
        }
        Ok(())
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(err(e));
    }
    if dir.exists() && !complete(&dir) {
        // A damaged copy (e.g. an older run killed while a file was replaced by hand): replace it.
        let _ = std::fs::remove_dir_all(&dir);
    }
    match std::fs::rename(&tmp, &dir) {
        Ok(()) => Ok(dir),
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            // Another process renamed its copy first: that one is as good as ours.
            if complete(&dir) { Ok(dir) } else { Err(err(e)) }
        }
    }
}

fn unique() -> u128 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    t ^ u128::from(N.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_is_written_once_and_reused() {
        let base = tempfile::tempdir().unwrap();
        let a = install_en_us_model(base.path()).unwrap();
        assert!(complete(&a));
        let mdef = std::fs::metadata(a.join("mdef")).unwrap().modified().unwrap();
        let b = install_en_us_model(base.path()).unwrap();
        assert_eq!(a, b);
        assert_eq!(std::fs::metadata(b.join("mdef")).unwrap().modified().unwrap(), mdef);
        // No temporary folder is left behind.
        let names: Vec<_> = std::fs::read_dir(base.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn a_truncated_model_is_rewritten() {
        let base = tempfile::tempdir().unwrap();
        let a = install_en_us_model(base.path()).unwrap();
        std::fs::write(a.join("means"), b"short").unwrap();
        let b = install_en_us_model(base.path()).unwrap();
        assert_eq!(std::fs::read(b.join("means")).unwrap().len(), EN_US_MODEL[2].1.len());
    }

    #[test]
    fn decoder_starts_with_the_embedded_model() {
        let base = tempfile::tempdir().unwrap();
        let hmm = install_en_us_model(base.path()).unwrap();
        let hmm = std::ffi::CString::new(hmm.to_str().unwrap()).unwrap();
        // SAFETY: every pointer passed is a valid NUL-terminated string or a decoder/config this
        // test created; each is freed once.
        unsafe {
            if std::env::var_os("PITBOX_POCKETSPHINX_LOG").is_none() {
                err_set_logfp(std::ptr::null_mut());
            }
            let cfg = ps_config_init(std::ptr::null());
            assert!(!cfg.is_null());
            assert!(!ps_config_set_str(cfg, c"hmm".as_ptr(), hmm.as_ptr()).is_null());
            assert!(!ps_config_set_int(cfg, c"samprate".as_ptr(), 16000).is_null());
            let ps = ps_init(cfg);
            ps_config_free(cfg);
            assert!(!ps.is_null());
            assert!(ps_add_word(ps, c"yes".as_ptr(), c"Y EH S".as_ptr(), 1) >= 0);
            assert!(ps_add_word(ps, c"bad".as_ptr(), c"NOTAPHONE".as_ptr(), 1) < 0);
            let g = c"#JSGF V1.0;\ngrammar t;\npublic <s> = yes;\n";
            assert_eq!(ps_add_jsgf_string(ps, c"t".as_ptr(), g.as_ptr()), 0);
            assert_eq!(ps_activate_search(ps, c"t".as_ptr()), 0);
            assert_eq!(ps_start_utt(ps), 0);
            let silence = vec![0i16; 16_000];
            assert!(ps_process_raw(ps, silence.as_ptr(), silence.len(), 0, 0) >= 0);
            assert_eq!(ps_end_utt(ps), 0);
            ps_free(ps);
        }
    }
}
