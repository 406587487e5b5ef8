//! What speaks the callouts: espeak-ng, Windows' own speech ([`super::windows_speech`]), any
//! provider, or the team cloud's voice with the local engine speaking whenever the cloud cannot.

use super::CalloutEngine;
use super::radio::espeak_voice;
use pitbox_voice::cloud::{CloudVoice, Fallback};
use pitbox_voice::{EspeakNg, TtsProvider};
use std::sync::Arc;
use std::time::Duration;

/// How long a callout waits for the cloud's clip before the local engine speaks it.
pub const CLOUD_TIMEOUT: Duration = Duration::from_secs(4);

/// An engine ready for the radio.
pub(super) struct Engine {
    pub tts: Arc<dyn TtsProvider>,
    /// The voice the radio asks `tts` for.
    pub voice: String,
    /// For the status: `espeak-ng`, `windows`, `cloud (local: windows)` …
    pub id: String,
    /// With the cloud's voice: the wrapper that knows when and why the local engine spoke.
    pub fallback: Option<Arc<Fallback>>,
    /// Something the driver should know (e.g. Windows speech had no voice, espeak-ng speaks).
    pub note: Option<String>,
}

/// Opens `engine` for the config's `voiceId`, or says why it cannot speak.
pub(super) fn open_engine(engine: &CalloutEngine, config_voice: &str) -> Result<Engine, String> {
    let plain = |tts: Arc<dyn TtsProvider>, voice: String| Engine {
        id: tts.id().to_string(),
        tts,
        voice,
        fallback: None,
        note: None,
    };
    match engine {
        CalloutEngine::EspeakNg { program } => {
            let e = program.as_ref().map_or_else(EspeakNg::new, EspeakNg::with_program);
            e.available().map_err(|e| e.to_string())?;
            Ok(plain(Arc::new(e), espeak_voice(config_voice)))
        }
        CalloutEngine::Provider { provider, voice } => Ok(plain(provider.clone(), voice.clone())),
        CalloutEngine::Windows => match super::windows_speech::open(config_voice) {
            Ok((tts, voice)) => Ok(plain(tts, voice)),
            Err(why) => {
                // Windows speech cannot speak here (no voice installed, or not Windows):
                // espeak-ng when it is installed.
                let e = EspeakNg::new();
                match e.available() {
                    Ok(_) => {
                        let mut out = plain(Arc::new(e), espeak_voice(config_voice));
                        out.note = Some(format!("{why}; speaking with espeak-ng instead"));
                        Ok(out)
                    }
                    Err(e) => Err(format!("{why}; and {e}")),
                }
            }
        },
        CalloutEngine::Cloud { endpoint, token, local, renewed } => {
            let mut cloud =
                CloudVoice::new(endpoint, token, CLOUD_TIMEOUT).map_err(|e| format!("the cloud's voice: {e}"))?;
            if let Some(tokens) = renewed {
                cloud = cloud.follow(tokens.clone());
            }
            // The local engine for the times the cloud cannot answer; without one the cloud
            // alone speaks (and a callout it cannot make stays text, with the reason).
            let (secondary, note) = match open_engine(local, config_voice) {
                Ok(l) => (Some((l.tts, l.voice)), l.note),
                Err(why) => (None, Some(format!("no local engine behind the cloud's voice: {why}"))),
            };
            let local_id = secondary.as_ref().map_or("none", |(t, _)| t.id());
            let f = Arc::new(Fallback::new(Arc::new(cloud), secondary));
            Ok(Engine {
                tts: f.clone(),
                voice: cloud_voice_id(config_voice),
                id: format!("cloud (local: {local_id})"),
                fallback: Some(f),
                note,
            })
        }
    }
}

/// The cloud's `voiceId` for the config's: `default` (or empty) is the team's default voice.
pub fn cloud_voice_id(config_voice: &str) -> String {
    let v = config_voice.trim();
    if v.is_empty() || v == "default" { pitbox_voice::service::DEFAULT_VOICE.to_string() } else { v.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(not(windows))]
    #[test]
    fn windows_speech_elsewhere_falls_back_to_espeak_ng_or_says_why() {
        match (open_engine(&CalloutEngine::Windows, "default"), EspeakNg::new().available()) {
            (Ok(e), Ok(_)) => {
                assert_eq!(e.id, "espeak-ng");
                assert_eq!(e.voice, "en-us");
                assert_eq!(
                    e.note.as_deref(),
                    Some("Windows speech is only on Windows; speaking with espeak-ng instead")
                );
            }
            (Err(why), Err(_)) => assert!(why.starts_with("Windows speech is only on Windows; and espeak-ng"), "{why}"),
            (got, espeak) => panic!("engine {:?} but espeak-ng {espeak:?}", got.map(|e| e.id)),
        }
    }

    #[test]
    fn the_cloud_engine_names_its_local_fallback_and_asks_for_the_teams_voice() {
        let local = CalloutEngine::Provider { provider: Arc::new(EspeakNg::new()), voice: "en-gb".into() };
        let cloud = CalloutEngine::Cloud {
            endpoint: "http://127.0.0.1:9".into(),
            token: "t".into(),
            local: Box::new(local),
            renewed: None,
        };
        let e = open_engine(&cloud, "default").expect("opens without reaching the cloud");
        assert_eq!(e.id, "cloud (local: espeak-ng)");
        assert_eq!(e.voice, "engineer");
        assert!(e.fallback.is_some());
        assert_eq!(cloud_voice_id("engineer-uk"), "engineer-uk");
        let bad = CalloutEngine::Cloud {
            endpoint: "nope".into(),
            token: "t".into(),
            local: Box::new(CalloutEngine::Windows),
            renewed: None,
        };
        assert!(open_engine(&bad, "default").err().is_some_and(|e| e.contains("not http(s)")));
    }
}
