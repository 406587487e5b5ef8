//! The spotter's tick → audio-start latency in the agent: the simulator (seed 5, Red Bull Ring,
//! real time) read through live memory with spotter ticks, the calls spoken by espeak-ng (made
//! at start-up) into WAV files written in real time, for SECONDS (default 90). Prints how long
//! making the calls took, then every call with the time from the sim tick that produced it to
//! its clip being handed to the sink. Needs espeak-ng (scripts/setup-voice).
//! `cargo run --release -p pitbox-driver --example spotter_latency [SECONDS]`
use pitbox_driver::voice::CalloutOrigin;
use pitbox_driver::{AgentSettings, CalloutEngine, CalloutOutput, VoiceSettings, start};
use pitbox_model::rest::{CloudConfig, DriverAppConfig, RelayAgentConfig, VoiceConfig};
use pitbox_sources::live::LiveOptions;
use pitbox_sources::sim::output::LivePace;
use pitbox_sources::sim::source::SimSource;
use pitbox_sources::sim::{SimConfig, track};
use std::time::Duration;

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> anyhow::Result<()> {
    let secs: u64 = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(90);
    pitbox_voice::EspeakNg::new().available()?;
    let out = tempfile::tempdir()?;
    let mut opts = LiveOptions::new("driver-1");
    opts.spotter = true;
    let source = SimSource::start(SimConfig::new(5, &track::RED_BULL_RING), LivePace { speed: 1.0 }, opts)?;
    let app = DriverAppConfig {
        relay_agent: RelayAgentConfig { url: "ws://127.0.0.1".into(), port: 9 },
        cloud: CloudConfig { endpoint: "http://127.0.0.1:8080".into(), enabled: false },
        voice: VoiceConfig { enabled: true, sensitivity: 0.5, voice_id: "default".into() },
    };
    let mut settings = AgentSettings::new("driver-1", app);
    settings.listen = "127.0.0.1:0".parse()?;
    let mut v = VoiceSettings::wav_dir(out.path());
    v.output = CalloutOutput::WavDir { dir: out.path().to_path_buf(), time_scale: 1.0 };
    v.engine = CalloutEngine::EspeakNg { program: None };
    settings.voice = v;
    let a = start(settings, Box::new(source)).await?;
    tokio::time::sleep(Duration::from_secs(secs)).await;
    println!("spotter clips: {}", a.voice.status().spotter.clips);
    let mut side = Vec::new();
    let mut all = Vec::new();
    for c in a.voice.log().callouts.iter().filter(|c| c.origin == CalloutOrigin::Spotter) {
        println!(
            "{:>26}  {:?}  {}",
            c.text,
            c.state,
            c.started_after_ms.map_or("-".into(), |ms| format!("{ms:.2} ms"))
        );
        if let Some(ms) = c.started_after_ms {
            all.push(ms);
            if !c.text.contains("behind") {
                side.push(ms);
            }
        }
    }
    for (what, mut v) in [("side calls", side), ("all calls", all)] {
        if v.is_empty() {
            continue;
        }
        v.sort_by(f64::total_cmp);
        println!("{what}: {} played, median {:.2} ms, max {:.2} ms", v.len(), v[v.len() / 2], v[v.len() - 1]);
    }
    a.shutdown().await;
    Ok(())
}
