//! Windows' own speech (SAPI 5, `ISpVoice`), the default engine on Windows: nothing to install.
//!
//! SAPI speaks into a memory stream (16-bit mono PCM at [`PLAYBACK_RATE`]), never to the device
//! itself, so its clips go through the same [`crate::radio::Radio`] as espeak-ng's: chime,
//! band-pass, priorities, interruption, and the sound card or WAV folder the driver chose.
//!
//! Each synthesis runs on a thread of its own that joins the COM multithreaded apartment, so the
//! caller's COM state (or none) does not matter. `default` is Windows' default voice (Settings →
//! Time & language → Speech); PitBox's own voice ids and language tags pick an installed voice by
//! language and gender, and any other name the voice whose description contains it
//! ([`crate::windows_voices::choose`]).

use std::sync::mpsc;

use windows::Win32::Media::Audio::{WAVE_FORMAT_PCM, WAVEFORMATEX};
use windows::Win32::Media::Speech::{
    ISpObjectToken, ISpObjectTokenCategory, ISpStream, ISpVoice, SPCAT_VOICES, SPF_IS_NOT_XML, SpObjectTokenCategory,
    SpStream, SpVoice,
};
use windows::Win32::System::Com::StructuredStorage::{CreateStreamOnHGlobal, GetHGlobalFromStream};
use windows::Win32::System::Com::{
    CLSCTX_ALL, COINIT_MULTITHREADED, CoCreateInstance, CoInitializeEx, CoTaskMemFree, CoUninitialize, STREAM_SEEK_CUR,
};
use windows::Win32::System::Memory::{GlobalLock, GlobalUnlock};
use windows::core::{GUID, HSTRING, PCWSTR};

use crate::audio::{Audio, PLAYBACK_RATE};
use crate::tts::{BoxFuture, SpeechRequest, TtsError, TtsProvider};
use crate::windows_voices::{InstalledVoice, choose};

/// SAPI's `SPDFID_WaveFormatEx` (sapi.h): the stream's format is the `WAVEFORMATEX` given.
const SPDFID_WAVE_FORMAT_EX: GUID = GUID::from_u128(0xc31adbae_527f_4ff5_a230_f62bb61ff70c);

/// Windows' own speech engine.
#[derive(Debug, Clone, Default)]
pub struct WindowsSpeech;

impl WindowsSpeech {
    pub fn new() -> Self {
        Self
    }

    /// The installed voices' descriptions (`Microsoft Zira Desktop - English (United States)` …),
    /// or why SAPI cannot be used here.
    pub fn voices(&self) -> Result<Vec<String>, TtsError> {
        Ok(self.installed()?.into_iter().map(|v| v.description).collect())
    }

    /// The installed voices with their languages and genders.
    pub fn installed(&self) -> Result<Vec<InstalledVoice>, TtsError> {
        on_com_thread(|| unsafe { voice_tokens().map(|v| v.into_iter().map(|(v, _)| v).collect()) })
    }

    /// Which voice speaks `voice` here, for the driver's status and log: the voice's description
    /// (or "Windows' default voice") and, when it is not what was asked for, why.
    pub fn voice_for(&self, voice: &str) -> Result<(String, Option<String>), TtsError> {
        let installed = self.installed()?;
        let c = choose(&installed, voice).map_err(|e| TtsError::Invalid(e.0))?;
        let name = c.index.map_or_else(|| "Windows' default voice".to_string(), |i| installed[i].description.clone());
        Ok((name, c.note))
    }

    /// Whether SAPI can speak here: a voice is installed and says a word into memory (wine, for
    /// one, lists a voice but cannot speak into a stream).
    pub fn available(&self) -> Result<String, TtsError> {
        let voices = self.voices()?;
        let Some(first) = voices.first() else {
            return Err(TtsError::WindowsSpeech(
                "no voice installed: add one in Settings → Time & language → Speech".into(),
            ));
        };
        self.synthesize_blocking(&SpeechRequest::new("check", "default"))?;
        Ok(format!("Windows speech (SAPI), {} voice(s), e.g. {first}", voices.len()))
    }

    /// Synthesises on a COM thread of its own, blocking the caller.
    pub fn synthesize_blocking(&self, req: &SpeechRequest) -> Result<Audio, TtsError> {
        if !req.speed.is_finite() || !(0.5..=2.0).contains(&req.speed) {
            return Err(TtsError::Invalid(format!("speed must be between 0.5 and 2.0, got {}", req.speed)));
        }
        let req = req.clone();
        on_com_thread(move || unsafe { speak(&req) })
    }
}

/// SAPI's rate, -10..10, for a speed 0.5–2.0: each step is about 10 % (rate 10 ≈ 3×, -10 ≈ ⅓×),
/// so speed = 1.1^rate.
pub fn sapi_rate(speed: f64) -> i32 {
    (speed.ln() / 1.1f64.ln()).round().clamp(-10.0, 10.0) as i32
}

fn err(what: &str, e: windows::core::Error) -> TtsError {
    TtsError::WindowsSpeech(format!("{what}: {e}"))
}

/// Runs `f` on a new thread in the COM multithreaded apartment.
fn on_com_thread<T: Send + 'static>(f: impl FnOnce() -> Result<T, TtsError> + Send + 'static) -> Result<T, TtsError> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("pitbox-sapi".into())
        .spawn(move || {
            let init = unsafe { CoInitializeEx(None, COINIT_MULTITHREADED) };
            let r = if init.is_err() {
                Err(TtsError::WindowsSpeech(format!("COM did not start: {init:?}")))
            } else {
                let r = f();
                unsafe { CoUninitialize() };
                r
            };
            let _ = tx.send(r);
        })
        .map_err(|e| TtsError::WindowsSpeech(format!("cannot start the speech thread: {e}")))?;
    rx.recv().map_err(|_| TtsError::WindowsSpeech("stopped unexpectedly".into()))?
}

/// A string value of a token's `Attributes` key (`Language`, `Gender`), when it has one.
unsafe fn attribute(token: &ISpObjectToken, name: &str) -> Option<String> {
    unsafe {
        let key = token.OpenKey(&HSTRING::from("Attributes")).ok()?;
        let p = key.GetStringValue(&HSTRING::from(name)).ok()?;
        if p.is_null() {
            return None;
        }
        let s = p.to_string().ok();
        CoTaskMemFree(Some(p.as_ptr() as *const _));
        s
    }
}

/// Every installed voice: its description, attributes and token.
unsafe fn voice_tokens() -> Result<Vec<(InstalledVoice, ISpObjectToken)>, TtsError> {
    unsafe {
        let cat: ISpObjectTokenCategory =
            CoCreateInstance(&SpObjectTokenCategory, None, CLSCTX_ALL).map_err(|e| err("no voice list", e))?;
        cat.SetId(SPCAT_VOICES, false).map_err(|e| err("no voice list", e))?;
        let tokens = cat.EnumTokens(PCWSTR::null(), PCWSTR::null()).map_err(|e| err("no voice list", e))?;
        let mut n = 0u32;
        tokens.GetCount(&mut n).map_err(|e| err("no voice list", e))?;
        let mut out = Vec::new();
        for i in 0..n {
            let Ok(token) = tokens.Item(i) else { continue };
            let name = match token.GetStringValue(PCWSTR::null()) {
                Ok(p) if !p.is_null() => {
                    let s = p.to_string().unwrap_or_default();
                    CoTaskMemFree(Some(p.as_ptr() as *const _));
                    s
                }
                _ => format!("voice {i}"),
            };
            let language = attribute(&token, "Language");
            let gender = attribute(&token, "Gender");
            out.push((InstalledVoice::from_attributes(name, language.as_deref(), gender.as_deref()), token));
        }
        Ok(out)
    }
}

unsafe fn speak(req: &SpeechRequest) -> Result<Audio, TtsError> {
    unsafe {
        let voice: ISpVoice =
            CoCreateInstance(&SpVoice, None, CLSCTX_ALL).map_err(|e| err("cannot create the voice", e))?;
        let wanted = req.voice.trim();
        if !(wanted.is_empty() || wanted.eq_ignore_ascii_case("default")) {
            let mut tokens = voice_tokens()?;
            let installed: Vec<InstalledVoice> = tokens.iter().map(|(v, _)| v.clone()).collect();
            let choice = choose(&installed, wanted).map_err(|e| TtsError::Invalid(e.0))?;
            if let Some(i) = choice.index {
                let (_, token) = tokens.swap_remove(i);
                voice.SetVoice(&token).map_err(|e| err("cannot choose the voice", e))?;
            }
        }
        let memory = CreateStreamOnHGlobal(None, true).map_err(|e| err("no memory stream", e))?;
        let stream: ISpStream =
            CoCreateInstance(&SpStream, None, CLSCTX_ALL).map_err(|e| err("cannot create a stream", e))?;
        let format = WAVEFORMATEX {
            wFormatTag: WAVE_FORMAT_PCM as u16,
            nChannels: 1,
            nSamplesPerSec: PLAYBACK_RATE,
            nAvgBytesPerSec: PLAYBACK_RATE * 2,
            nBlockAlign: 2,
            wBitsPerSample: 16,
            cbSize: 0,
        };
        stream.SetBaseStream(&memory, &SPDFID_WAVE_FORMAT_EX, &format).map_err(|e| err("stream format", e))?;
        voice.SetOutput(&stream, false).map_err(|e| err("cannot speak into memory", e))?;
        voice.SetRate(sapi_rate(req.speed)).map_err(|e| err("speaking rate", e))?;
        // The text is plain: nothing in it is read as SAPI XML.
        let text = HSTRING::from(req.text.as_str());
        voice.Speak(&text, SPF_IS_NOT_XML.0 as u32, None).map_err(|e| err("speaking failed", e))?;
        let mut len = 0u64;
        memory.Seek(0, STREAM_SEEK_CUR, Some(&mut len)).map_err(|e| err("reading the audio", e))?;
        let hglobal = GetHGlobalFromStream(&memory).map_err(|e| err("reading the audio", e))?;
        let ptr = GlobalLock(hglobal) as *const u8;
        if ptr.is_null() {
            return Err(TtsError::WindowsSpeech("cannot read the audio memory".into()));
        }
        let bytes = std::slice::from_raw_parts(ptr, len as usize).to_vec();
        let _ = GlobalUnlock(hglobal);
        if bytes.len() < 2 {
            return Err(TtsError::WindowsSpeech("produced no audio".into()));
        }
        Ok(Audio::from_pcm16le(PLAYBACK_RATE, &bytes))
    }
}

impl TtsProvider for WindowsSpeech {
    fn id(&self) -> &'static str {
        "windows"
    }

    fn synthesize<'a>(&'a self, req: &'a SpeechRequest) -> BoxFuture<'a, Result<Audio, TtsError>> {
        // SAPI blocks; the radio synthesises on its own thread, so blocking here stalls nothing
        // else.
        Box::pin(async move { self.synthesize_blocking(req) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_follow_the_speed() {
        assert_eq!(sapi_rate(1.0), 0);
        assert_eq!(sapi_rate(1.1), 1);
        assert_eq!(sapi_rate(2.0), 7);
        assert_eq!(sapi_rate(0.5), -7);
    }
}
