//! Helpers shared by the agent's integration tests (each test file uses some of them).
#![allow(dead_code)]

use pitbox_driver::{AgentHandle, AgentSettings, start};
use pitbox_model::rest::{CloudConfig, DriverAppConfig, RelayAgentConfig, VoiceConfig};
use pitbox_sources::live::LiveOptions;
use pitbox_sources::sim::output::LivePace;
use pitbox_sources::sim::source::SimSource;
use pitbox_sources::sim::{SimConfig, track};
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The pit wall's next stop for this car: 42 litres and four tyres.
pub fn pit_command() -> pitbox_model::strategy::PitCommand {
    pitbox_model::strategy::PitCommand {
        id: "pit-1".into(),
        driver_id: "driver-1".into(),
        sender_id: "eng-1".into(),
        sender_name: "Sam".into(),
        timestamp: chrono::Utc::now(),
        clear_all: false,
        fuel_l: Some(42.0),
        tyres: Some(pitbox_model::strategy::TyreChange { lf: true, rf: true, lr: true, rr: true, pressure_kpa: None }),
        fast_repair: None,
        windscreen: None,
    }
}

pub fn app() -> DriverAppConfig {
    DriverAppConfig {
        relay_agent: RelayAgentConfig { url: "ws://127.0.0.1".into(), port: 1 },
        cloud: CloudConfig { endpoint: "http://127.0.0.1:8080".into(), enabled: false },
        voice: VoiceConfig { enabled: false, sensitivity: 0.5, voice_id: "default".into() },
    }
}

/// An agent on the simulator listening on `listen`, its callouts in `data`, and the outcome of
/// starting it.
pub async fn start_agent(
    data: &std::path::Path,
    listen: SocketAddr,
    edit: impl FnOnce(&mut AgentSettings),
) -> Result<AgentHandle, pitbox_driver::agent::AgentError> {
    let source = SimSource::start(
        SimConfig::new(3, &track::RED_BULL_RING),
        LivePace { speed: 1.0 },
        LiveOptions::new("driver-1"),
    )
    .unwrap();
    let mut settings = AgentSettings::new("driver-1", app());
    settings.listen = listen;
    settings.voice = pitbox_driver::VoiceSettings::wav_dir(data.join("callouts"));
    edit(&mut settings);
    start(settings, Box::new(source)).await
}

/// Status, the headers (lower-case names) and the body of one raw HTTP/1.1 request.
pub async fn raw(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Vec<(String, String)>, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!(
        "Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let mut lines = head.lines();
    let code = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|c| c.parse().ok()).unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (code, headers, body.to_string())
}

pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// 0.1 s of tone per word: speech without an engine installed.
pub struct ToneVoice;

impl pitbox_voice::tts::TtsProvider for ToneVoice {
    fn id(&self) -> &'static str {
        "tone"
    }
    fn synthesize<'a>(
        &'a self,
        req: &'a pitbox_voice::tts::SpeechRequest,
    ) -> pitbox_voice::tts::BoxFuture<'a, Result<pitbox_voice::Audio, pitbox_voice::tts::TtsError>> {
        Box::pin(async move {
            let n = 2_205 * req.text.split_whitespace().count();
            Ok(pitbox_voice::Audio::new(
                22_050,
                (0..n).map(|i| pitbox_voice::audio::clamp16(5_000.0 * (i as f64 * 0.1).sin())).collect(),
            ))
        })
    }
}
