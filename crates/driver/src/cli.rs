//! `pitbox driver` and `pitbox driver init` as library code, for the binary to wire:
//! `Command::Driver(args) => pitbox_driver::cli::run(args)`.
//!
//! Every setting is a flag with a `PITBOX_DRIVER_*` variable, so the binary's config file
//! (`[driver] source = "sim:7"` sets `PITBOX_DRIVER_SOURCE`) works for all of them.

use crate::agent::{AgentSettings, start};
use crate::voice::{CalloutEngine, CalloutOutput, HandoffTarget, VoiceInput, VoiceSettings};
use anyhow::{Context, Result, bail};
use pitbox_model::rest::{CloudConfig, DriverAppConfig, RelayAgentConfig, VoiceConfig};
use pitbox_sources::replay::Pace;
use pitbox_sources::{SourceOptions, SourceSpec, open_source};
use pitbox_voice::{ElevenLabs, ElevenLabsConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Run the driver agent: read the sim, serve the local API, stream to the relay.
#[derive(Debug, Clone, clap::Args)]
pub struct DriverArgs {
    #[command(subcommand)]
    pub command: Option<DriverCommand>,
    /// Telemetry source: iracing, ibt:FILE, dump:FILE, sim or sim:SEED.
    #[arg(long, env = "PITBOX_DRIVER_SOURCE", default_value = "iracing")]
    pub source: String,
    /// This driver's id (in every message). Signed in (`pitbox driver login`) or with a token it
    /// comes from the token (its user id) and is left out; one that differs is refused at start.
    /// Without either: `driver-1`.
    #[arg(long, env = "PITBOX_DRIVER_ID")]
    pub driver_id: Option<String>,
    /// A fixed token for the relay (`pitbox token` for an offline relay). Without one the agent
    /// uses the sign-in of `pitbox driver login` in DATA_DIR/login.json, renewing its token
    /// before it expires; without either it serves the local API only.
    #[arg(long, env = "PITBOX_DRIVER_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// File holding the token (instead of --token, which shows in the process list).
    #[arg(long, value_name = "FILE", env = "PITBOX_DRIVER_TOKEN_FILE")]
    pub token_file: Option<std::path::PathBuf>,
    /// Relay address (the spec's relayAgent.url).
    #[arg(long, env = "PITBOX_DRIVER_RELAY_URL", default_value = "ws://127.0.0.1")]
    pub relay_url: String,
    /// Relay port (the spec's relayAgent.port).
    #[arg(long, env = "PITBOX_DRIVER_RELAY_PORT", default_value_t = 8765)]
    pub relay_port: u16,
    /// Cloud endpoint (the spec's cloud.endpoint).
    #[arg(long, env = "PITBOX_DRIVER_CLOUD_ENDPOINT", default_value = "http://127.0.0.1:8080")]
    pub cloud_endpoint: String,
    /// Whether the agent may reach the cloud directly (the spec's cloud.enabled).
    #[arg(long, env = "PITBOX_DRIVER_CLOUD_ENABLED", default_value_t = false)]
    pub cloud_enabled: bool,
    /// Direct mode, no relay: stream to the cloud at this address (`https://HOST`, or its
    /// WebSocket `wss://HOST/ws`) over the same numbered, compressed, acknowledged uplink a relay
    /// uses, with the driver's own token. The relay address is then not used.
    #[arg(long, env = "PITBOX_DRIVER_CLOUD_URL", value_name = "URL")]
    pub cloud_url: Option<String>,
    /// Bound of the spool (DATA_DIR/spool.redb), where every sample waits until the relay or the
    /// cloud has it: bytes, or with a unit (`512MiB`, `2GiB`). The agent warns at 90 %; when it
    /// is full new samples are still shown live but not kept.
    #[arg(long, env = "PITBOX_DRIVER_SPOOL_MAX", default_value = "1GiB", value_parser = pitbox_uplink::parse_bytes)]
    pub spool_max: u64,
    /// Live video to the pit wall (off by default): `test-pattern` (the deterministic test
    /// source, anywhere), `window:TITLE` or `monitor:N` (screen capture, Windows only).
    #[arg(long, env = "PITBOX_DRIVER_VIDEO", value_name = "SOURCE", value_parser = parse_video_source)]
    pub video: Option<crate::video::VideoSource>,
    /// What the screen capture takes when video is turned on in the driver's window or on the
    /// pit wall's request, without `--video`: `window:TITLE`, `monitor:N` (Windows) or
    /// `test-pattern`. Default: the iRacing window on Windows, the test pattern elsewhere. The
    /// window's Settings screen chooses it.
    #[arg(long, env = "PITBOX_DRIVER_VIDEO_CAPTURE", value_name = "SOURCE", value_parser = parse_video_source)]
    pub video_capture: Option<crate::video::VideoSource>,
    /// Video picture size, WIDTHxHEIGHT (even sides).
    #[arg(long, env = "PITBOX_DRIVER_VIDEO_SIZE", default_value = "1280x720", value_parser = crate::video::parse_size)]
    pub video_size: (usize, usize),
    /// Video frames per second (1–60).
    #[arg(long, env = "PITBOX_DRIVER_VIDEO_FPS", default_value_t = 30)]
    pub video_fps: u32,
    /// Video bitrate (constant), bit/s, or with a unit: `3M`, `1500k`. Lowered by itself while
    /// the link is short (telemetry always goes first), raised back when it clears.
    #[arg(long, env = "PITBOX_DRIVER_VIDEO_BITRATE", default_value = "3M", value_parser = crate::video::parse_bitrate)]
    pub video_bitrate: u32,
    /// Video encoder: `auto` (the PC's hardware H.264 encoder through Media Foundation on
    /// Windows when there is one that works, else openh264), `hardware` or `software` (openh264).
    #[arg(long, env = "PITBOX_DRIVER_VIDEO_ENCODER", default_value = "auto", value_parser = parse_video_encoder)]
    pub video_encoder: pitbox_video::EncoderChoice,
    /// Spoken callouts on (the spec's voice.enabled).
    #[arg(long, env = "PITBOX_DRIVER_VOICE_ENABLED", default_value_t = true, action = clap::ArgAction::Set)]
    pub voice_enabled: bool,
    /// The spotter: "car left", "car right", "three wide", "clear", "still there", closing cars
    /// and faster classes, spoken from the sim's spotter channels (live sources: iRacing and the
    /// simulator), interrupting other callouts.
    #[arg(long, env = "PITBOX_DRIVER_SPOTTER", default_value_t = true, action = clap::ArgAction::Set)]
    pub spotter: bool,
    /// Cues before the corner: after a lap that lost time at a corner against the driver's best
    /// valid lap of the session, a short cue before that corner on the next lap ("T1: brake 20
    /// metres later"); none in traffic, on pit road, on in or out laps or under a caution.
    #[arg(long, env = "PITBOX_DRIVER_CUES", default_value_t = true, action = clap::ArgAction::Set)]
    pub cues: bool,
    /// Voice-command sensitivity, 0–1.
    #[arg(long, env = "PITBOX_DRIVER_VOICE_SENSITIVITY", default_value_t = 0.5)]
    pub voice_sensitivity: f64,
    /// Voice id for callouts.
    #[arg(long, env = "PITBOX_DRIVER_VOICE_ID", default_value = "default")]
    pub voice_id: String,
    /// Local API address. Only this PC can reach 127.0.0.1; another address needs
    /// --api-allow-remote.
    #[arg(long, env = "PITBOX_DRIVER_LISTEN", default_value = "127.0.0.1:8766")]
    pub listen: SocketAddr,
    /// Let --listen be an address other machines reach (a tablet beside the rig): every request
    /// from another machine then needs the local API key (`pitbox driver api-key`).
    #[arg(long, env = "PITBOX_DRIVER_API_ALLOW_REMOTE", default_value_t = false)]
    pub api_allow_remote: bool,
    /// Do not open the driver's window (http://127.0.0.1:8766/) in the default browser at start.
    /// It opens only when started from a terminal on a desktop, so services and scripts need
    /// not pass this.
    #[arg(long, env = "PITBOX_DRIVER_NO_WINDOW", default_value_t = false)]
    pub no_window: bool,
    /// telemetry_update messages per second to the relay.
    #[arg(long, env = "PITBOX_DRIVER_TELEMETRY_HZ", default_value_t = 60.0)]
    pub telemetry_hz: f64,
    /// standings_update messages per second to the relay.
    #[arg(long, env = "PITBOX_DRIVER_STANDINGS_HZ", default_value_t = 2.0)]
    pub standings_hz: f64,
    /// Replay and simulator pace: realtime, fast, or a factor such as 4x.
    #[arg(long, env = "PITBOX_DRIVER_PACE", default_value = "realtime")]
    pub pace: String,
    /// Replays start again at the end.
    #[arg(long = "loop", env = "PITBOX_DRIVER_LOOP", default_value_t = false)]
    pub looping: bool,
    /// Simulator track: redbullring, monza, brandsindy.
    #[arg(long, env = "PITBOX_DRIVER_SIM_TRACK", default_value = "redbullring")]
    pub sim_track: String,
    /// Simulator race length in laps (unlimited when absent).
    #[arg(long, env = "PITBOX_DRIVER_SIM_LAPS")]
    pub sim_laps: Option<u32>,
    /// Simulator: a practice session of this many laps before the race (0: none).
    #[arg(long, env = "PITBOX_DRIVER_SIM_PRACTICE_LAPS", default_value_t = 0)]
    pub sim_practice_laps: u32,
    /// Simulator: a qualifying session of this many laps before the race, setting its grid (0: none).
    #[arg(long, env = "PITBOX_DRIVER_SIM_QUALIFY_LAPS", default_value_t = 0)]
    pub sim_qualify_laps: u32,
    /// Plant coaching mistakes on the simulator's team car.
    #[arg(long, env = "PITBOX_DRIVER_SIM_MISTAKES", default_value_t = false)]
    pub sim_mistakes: bool,
    /// The agent's data folder (callouts go to its `callouts` folder by default). Default:
    /// %LOCALAPPDATA%\PitBox\driver on Windows, ~/.local/share/pitbox/driver elsewhere.
    // Global: `pitbox driver login --data-dir D` and `pitbox driver --data-dir D login` both work.
    #[arg(long, env = "PITBOX_DRIVER_DATA_DIR", value_name = "DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Where callouts are heard: a folder for one WAV file per callout, `sound-card` (the default
    /// output device) or `sound-card:NAME` (the output device whose name contains NAME, e.g. your
    /// headset: `pitbox voice devices` lists them). Default: the sound card when built with the
    /// sound-card feature, else DATA_DIR/callouts.
    #[arg(long, env = "PITBOX_DRIVER_VOICE_OUT", value_name = "DIR|sound-card[:NAME]")]
    pub voice_out: Option<String>,
    /// Voice commands from a WAV file (heard once the first sample is in), a folder (every .wav
    /// put there is one utterance), `mic` (the default microphone with push-to-talk through
    /// POST /api/voice/ptt; needs the sound-card feature) or `mic:NAME` (the input device whose
    /// name contains NAME).
    #[arg(long, env = "PITBOX_DRIVER_VOICE_IN", value_name = "WAV|DIR|mic[:NAME]")]
    pub voice_in: Option<String>,
    /// Push-to-talk buttons for `--voice-in mic`, besides POST /api/voice/ptt: `signal` (Unix:
    /// SIGUSR1 presses, SIGUSR2 releases — for key binders), `joystick:DEVICE:BUTTON` (a wheel or
    /// button-box button: /dev/input/js0 on Linux, device index 0–15 on Windows), `key:KEY`
    /// (Windows: F13, A, 0x7C …). Several may be given, comma-separated.
    #[arg(
        long,
        env = "PITBOX_DRIVER_PTT",
        value_delimiter = ',',
        value_name = "signal|joystick:DEVICE:BUTTON|key:KEY"
    )]
    pub ptt: Vec<String>,
    /// Speech engine for callouts: auto (Windows' own speech on Windows, espeak-ng elsewhere),
    /// windows, espeak-ng, cloud (the team cloud's voice via POST /api/voice/synthesize, with
    /// --token and --cloud-enabled; the local engine speaks when the cloud cannot) or elevenlabs
    /// (voice_id is then the ElevenLabs voice id; key from PITBOX_DRIVER_ELEVENLABS_KEY).
    #[arg(long, env = "PITBOX_DRIVER_VOICE_ENGINE", default_value = "auto")]
    pub voice_engine: String,
    /// ElevenLabs API key (only with --voice-engine elevenlabs).
    #[arg(long, env = "PITBOX_DRIVER_ELEVENLABS_KEY", hide_env_values = true)]
    pub elevenlabs_key: Option<String>,
    /// Callout speaking rate, 0.5–2.0.
    #[arg(long, env = "PITBOX_DRIVER_VOICE_SPEED", default_value_t = 1.1)]
    pub voice_speed: f64,
    /// Fuel burnt per lap from the strategy, litres (used until the agent has measured a lap).
    #[arg(long, env = "PITBOX_DRIVER_FUEL_PER_LAP", value_name = "LITRES")]
    pub fuel_per_lap: Option<f64>,
    /// Callout WAV files kept in the --voice-out folder (older ones are deleted); 0 keeps all.
    #[arg(long, env = "PITBOX_DRIVER_KEEP_CALLOUTS", default_value_t = crate::voice::DEFAULT_KEEP_CALLOUT_FILES)]
    pub keep_callouts: usize,
    /// The teammate "request handoff" asks, as ID or ID:NAME (without one the team is asked by
    /// team message).
    #[arg(long, env = "PITBOX_DRIVER_HANDOFF_TO", value_name = "ID[:NAME]")]
    pub handoff_to: Option<String>,
    /// The config file `pitbox` loaded (set by the binary, not a flag): the driver's window saves
    /// its settings there.
    #[arg(skip)]
    pub config_file: Option<PathBuf>,
}

fn parse_video_source(s: &str) -> Result<crate::video::VideoSource, String> {
    s.parse()
}

fn parse_video_encoder(s: &str) -> Result<pitbox_video::EncoderChoice, String> {
    s.parse()
}

/// The video plan of the flags, checked: `--video` sends from the start; without it the
/// capture of `--video-capture` (or the platform's default) waits for the driver to turn it on.
pub fn video_plan(args: &DriverArgs) -> Result<crate::video::VideoPlan> {
    let source = args
        .video
        .clone()
        .or_else(|| args.video_capture.clone())
        .unwrap_or_else(crate::video::VideoSource::on_request_default);
    let (width, height) = args.video_size;
    let settings = crate::video::VideoSettings {
        source,
        width,
        height,
        fps: args.video_fps,
        bitrate_bps: args.video_bitrate,
        encoder: args.video_encoder,
    };
    let at_start = args.video.is_some();
    if at_start {
        crate::video::check(&settings)?;
    } else if let Err(e) = crate::video::check(&settings) {
        // Not fatal: the telemetry runs; the window says why video cannot start when asked.
        eprintln!("pitbox driver: video cannot be turned on: {e}");
    }
    Ok(crate::video::VideoPlan { settings, at_start })
}

/// Subcommands of `pitbox driver`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum DriverCommand {
    /// Sign in at the team's cloud with your username and password and keep the sign-in in
    /// DATA_DIR/login.json (readable by you only): the agent then renews its token by itself,
    /// for a race of any length. Run it again to sign in anew.
    Login {
        /// The cloud address (default: the one signed in at before, else asked).
        #[arg(long, value_name = "URL")]
        cloud: Option<String>,
        /// The username (asked when absent).
        #[arg(long)]
        username: Option<String>,
        /// Read the password from the first line of standard input instead of a prompt (there
        /// is no --password: it would show in the process list).
        #[arg(long)]
        password_stdin: bool,
    },
    /// First run: asks for the team's cloud (and relay) address and your username and password,
    /// signs in, and writes pitbox.toml (the addresses) and login.json (the sign-in the agent
    /// renews its token with) in the data folder.
    Init {
        /// Where to write it (default: pitbox.toml in the data folder, which `pitbox driver` reads
        /// when no --config is given).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
        /// Only write the commented template with every setting; no questions, no login.
        #[arg(long)]
        template: bool,
        /// The cloud address (asked when absent).
        #[arg(long, value_name = "URL")]
        cloud: Option<String>,
        /// The relay address (asked when absent; default: the cloud's own WebSocket).
        #[arg(long, value_name = "URL")]
        relay: Option<String>,
        /// The username (asked when absent). The password is always asked, never a flag.
        #[arg(long)]
        username: Option<String>,
    },
    /// Prints the local API key (made in DATA_DIR/api-key, readable by you only, on first use):
    /// tools on this PC (SimHub, AutoHotkey, stream decks) send it in the X-PitBox-Key header to
    /// change the agent's state. Reading telemetry needs no key.
    ApiKey {
        /// Make a new key, replacing the old one (tools with the old key are refused; a running
        /// agent takes the new key when restarted).
        #[arg(long)]
        new: bool,
    },
}

/// The commented `[driver]` section `init` writes.
pub fn config_template() -> String {
    r#"# PitBox driver agent. Every key can also be set with a flag (pitbox driver --help) or a
# PITBOX_DRIVER_<KEY> variable; flags win over variables, variables over this file.
[driver]
# Where telemetry comes from: "iracing" (Windows, the sim running), "ibt:C:/path/lap.ibt"
# (replay a file), "sim" or "sim:SEED" (the built-in simulator).
source = "iracing"
# This driver's id: the user id of the account the token belongs to, which the agent reads from
# the token. Set it only without a token (an offline test); one that differs from the token's is
# refused at start.
# id = "driver-1"
# Token for the relay. Leave it out when signed in (`pitbox driver init` / `pitbox driver login`
# keep the sign-in in login.json in data_dir and the agent renews its token from it); set it for
# an offline relay (`pitbox token`), preferably with the PITBOX_DRIVER_TOKEN variable.
# token = ""
# The relay (usually on this PC or the pit wall's).
relay_url = "ws://127.0.0.1"
relay_port = 8765
# The team's cloud, for direct access when enabled.
cloud_endpoint = "http://127.0.0.1:8080"
cloud_enabled = false
# Direct mode, without a relay: stream to the cloud itself (its address, e.g.
# "https://pitbox.myteam.com"), with this driver's own sign-in. relay_url is then not used.
# cloud_url = "https://pitbox.myteam.com"
# Every sample waits in DATA_DIR/spool.redb until the relay or the cloud has it, up to this size.
spool_max = "1GiB"
# Spoken callouts and voice commands.
voice_enabled = true
voice_sensitivity = 0.5
# The spotter ("car left", "clear right", "three wide", "car behind, closing fast" ...): spoken
# from iRacing's spotter channels (not from replays), interrupting other callouts.
spotter = true
# Cues before the corner ("T1: brake 20 metres later", "T2: carry 5 km/h more"): from the coach's
# live analysis against your best valid lap of the session, on the lap after one that lost time
# there; never in traffic, on pit road, on in or out laps or under a caution.
cues = true
# espeak-ng voices: default (= engineer), engineer-uk, engineer-f, engineer-uk-f, engineer-scot,
# engineer-deep (Windows speech: these are Windows' default voice; a name such as "Zira" picks
# an installed voice); with voice_engine = "elevenlabs", an ElevenLabs voice id.
voice_id = "default"
# What speaks: "auto" (Windows' own speech on Windows, espeak-ng elsewhere), "windows",
# "espeak-ng", "cloud" (the team cloud's voice; needs the token above and cloud_enabled = true;
# the local engine speaks whenever the cloud cannot) or "elevenlabs".
voice_engine = "auto"
voice_speed = 1.1
# Where callouts are heard: "sound-card" (the default output device), "sound-card:NAME" (the
# device whose name contains NAME, e.g. "sound-card:Headset"; `pitbox voice devices` lists them),
# or a folder for one WAV file per callout (default: the sound card when built with it, else the
# callouts folder in data_dir).
# voice_out = "C:/PitBox/callouts"
# Voice commands from a WAV file or folder (headless runs, tests), "mic" (the default microphone,
# push-to-talk through POST /api/voice/ptt; needs the sound-card build) or "mic:NAME".
# voice_in = "mic"
# Push-to-talk buttons for the microphone besides POST /api/voice/ptt: "signal" (Unix: SIGUSR1
# presses, SIGUSR2 releases), "joystick:DEVICE:BUTTON" (a wheel button: /dev/input/js0 on Linux,
# 0-15 on Windows), "key:KEY" (Windows: F13, A, 0x7C ...); comma-separated for several.
# ptt = "joystick:0:5"
# Fuel per lap from the strategy, litres, until the agent has measured a green lap.
# fuel_per_lap = 2.6
# The teammate "request handoff" asks (ID or ID:NAME); without it the team gets a message.
# handoff_to = "driver-2:Alex"
# data_dir = "C:/PitBox/data"
# Callout WAV files kept in the folder (about 130 kB each); 0 keeps all.
keep_callouts = 1000
# The local API for overlays (GET /api/config, GET /api/telemetry/current, SSE stream).
listen = "127.0.0.1:8766"
# The driver's window (http://127.0.0.1:8766/) opens in the browser at start; true: it does not.
no_window = false
# What is sent to the relay, per second.
telemetry_hz = 60
standings_hz = 2
# Replays and the simulator: "realtime", "fast" or a factor such as "4x"; replays may loop.
pace = "realtime"
loop = false
# The simulator: track (redbullring, monza, brandsindy), race laps, planted coaching mistakes.
sim_track = "redbullring"
# sim_laps = 30
# Practice and qualifying before the race, laps of the team car each (0: none).
sim_practice_laps = 0
sim_qualify_laps = 0
sim_mistakes = false
"#
    .to_string()
}

/// The voice settings the flags ask for.
pub fn voice_settings(args: &DriverArgs) -> Result<VoiceSettings> {
    let data_dir = args.data_dir.clone().unwrap_or_else(crate::voice::default_data_dir);
    let mut v = VoiceSettings::wav_dir(data_dir.join("callouts"));
    match args.voice_out.as_deref().map(str::trim) {
        Some("") => bail!("--voice-out is empty: give a folder or sound-card"),
        Some(out) => match device_choice(out, &["sound-card", "soundcard"], "--voice-out")? {
            Some(device) => v.output = CalloutOutput::SoundCard { device },
            None => v.output = CalloutOutput::WavDir { dir: PathBuf::from(out), time_scale: 1.0 },
        },
        None if cfg!(sound_card) => v.output = CalloutOutput::SoundCard { device: None },
        None => {}
    }
    v.input = match args.voice_in.as_deref().map(str::trim) {
        None => None,
        Some("") => bail!("--voice-in is empty: give a WAV file, a folder or mic"),
        Some(input) => match device_choice(input, &["mic", "microphone"], "--voice-in")? {
            Some(device) => {
                if !cfg!(sound_card) {
                    bail!("--voice-in mic needs PitBox built with the sound-card feature; use a WAV file or folder");
                }
                Some(VoiceInput::Microphone { device })
            }
            None => Some(VoiceInput::Wav(PathBuf::from(input))),
        },
    };
    for p in args.ptt.iter().map(|p| p.trim()).filter(|p| !p.is_empty() && *p != "api") {
        let button = pitbox_voice::buttons::PttButton::parse(p).map_err(|e| anyhow::anyhow!("--ptt: {e}"))?;
        // Without the microphone the buttons are kept (the window may have saved one before the
        // microphone was chosen) and the agent says at start that they are not used.
        v.ptt.push(button);
    }
    v.engine = match args.voice_engine.trim() {
        "auto" | "" => CalloutEngine::platform_default(),
        "windows" | "sapi" => CalloutEngine::Windows,
        "espeak-ng" | "espeak" => CalloutEngine::EspeakNg { program: None },
        "cloud" => {
            if !args.cloud_enabled {
                bail!("--voice-engine cloud reaches the team's cloud: set cloud_enabled = true (--cloud-enabled)");
            }
            let token = match (&args.token, &args.token_file) {
                (Some(t), _) => t.trim().to_string(),
                (None, Some(f)) => std::fs::read_to_string(f)
                    .with_context(|| format!("reading the token file {}", f.display()))?
                    .trim()
                    .to_string(),
                // Signed in: the token saved with the sign-in, until the agent's renewal of it
                // takes over (the agent hands the voice its renewed tokens).
                (None, None) => {
                    let data_dir = args.data_dir.clone().unwrap_or_else(crate::voice::default_data_dir);
                    pitbox_auth::login::StoredLogin::load(&data_dir.join(pitbox_auth::login::LOGIN_FILE))
                        .ok()
                        .flatten()
                        .and_then(|l| l.access_token)
                        .unwrap_or_default()
                }
            };
            if token.is_empty() {
                bail!(
                    "--voice-engine cloud needs the driver's token: sign in with `pitbox driver login` (or `pitbox \
                     driver init`) or set PITBOX_DRIVER_TOKEN"
                );
            }
            crate::init::normalise_cloud(&args.cloud_endpoint)?;
            CalloutEngine::Cloud {
                endpoint: args.cloud_endpoint.clone(),
                token,
                local: Box::new(CalloutEngine::platform_default()),
                renewed: None,
            }
        }
        "elevenlabs" => {
            let key = args
                .elevenlabs_key
                .clone()
                .filter(|k| !k.trim().is_empty())
                .context("--voice-engine elevenlabs needs an API key: set PITBOX_DRIVER_ELEVENLABS_KEY")?;
            let provider = ElevenLabs::new(ElevenLabsConfig::new(key)).context("setting up ElevenLabs")?;
            CalloutEngine::Provider { provider: Arc::new(provider), voice: args.voice_id.clone() }
        }
        other => bail!("unknown --voice-engine `{other}`: expected auto, windows, espeak-ng, cloud or elevenlabs"),
    };
    if !(args.voice_speed.is_finite() && (0.5..=2.0).contains(&args.voice_speed)) {
        bail!("--voice-speed must be between 0.5 and 2.0, got {}", args.voice_speed);
    }
    v.speed = args.voice_speed;
    v.spotter = args.spotter;
    v.cues = args.cues;
    v.keep_callout_files = (args.keep_callouts > 0).then_some(args.keep_callouts);
    if let Some(l) = args.fuel_per_lap
        && !(l.is_finite() && l > 0.0 && l < 100.0)
    {
        bail!("--fuel-per-lap must be more than 0 and under 100 litres, got {l}");
    }
    v.fuel_per_lap_liters = args.fuel_per_lap;
    v.handoff_to = match args.handoff_to.as_deref().map(str::trim) {
        None => None,
        Some(s) => {
            let (id, name) = s.split_once(':').unwrap_or((s, s));
            let (id, name) = (id.trim(), name.trim());
            let mut check = pitbox_model::validate::Validator::new("");
            check.id("--handoff-to", id);
            if let Err(e) = check.finish() {
                bail!("{e}");
            }
            if name.is_empty() || name.chars().count() > pitbox_model::team::MAX_NAME_LEN {
                bail!("--handoff-to: the name after ':' must be 1 to 100 characters");
            }
            Some(HandoffTarget { id: id.into(), name: name.into() })
        }
    };
    Ok(v)
}

/// Whether `value` names the sound card by one of `words` (`sound-card`, `sound-card:NAME`):
/// `Some(None)` for the default device, `Some(Some(NAME))` for a named one, `None` when it is a
/// path instead. A Windows path such as `C:/callouts` is a path: its prefix is not a word.
fn device_choice(value: &str, words: &[&str], flag: &str) -> Result<Option<Option<String>>> {
    let (head, device) = match value.split_once(':') {
        Some((h, d)) => (h, Some(d.trim())),
        None => (value, None),
    };
    if !words.iter().any(|w| head.eq_ignore_ascii_case(w)) {
        return Ok(None);
    }
    match device {
        Some("") => bail!("{flag} {value}: give the device's name after ':' (`pitbox voice devices` lists them)"),
        Some(d) => Ok(Some(Some(d.to_string()))),
        None => Ok(Some(None)),
    }
}

/// The token from --token, PITBOX_DRIVER_TOKEN or --token-file (`None` when absent or empty).
fn read_token(args: &DriverArgs) -> Result<Option<String>> {
    let token = match (&args.token, &args.token_file) {
        (Some(t), _) => {
            // A flag shows in the process list; the environment and a file do not.
            if std::env::args().any(|a| a == "--token" || a.starts_with("--token=")) {
                eprintln!(
                    "warning: --token on the command line is visible to every user of this machine in the \
                     process list; use --token-file or PITBOX_DRIVER_TOKEN instead"
                );
            }
            Some(t.trim().to_string())
        }
        (None, Some(f)) => Some(
            std::fs::read_to_string(f)
                .with_context(|| format!("reading the token file {}", f.display()))?
                .trim()
                .to_string(),
        ),
        (None, None) => None,
    };
    Ok(token.filter(|t| !t.is_empty()))
}

/// What the agent reads from its token without verifying it (the relay verifies): whose it is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct TokenClaims {
    /// The user id.
    pub sub: String,
    /// `driver`, `engineer` or `admin`.
    #[serde(default)]
    pub role: String,
    /// Expiry, seconds since the Unix epoch.
    #[serde(default)]
    pub exp: u64,
    /// `relay` for a relay's credential.
    #[serde(default)]
    pub scope: Option<String>,
}

/// The claims of a JWT, read without checking its signature; `None` when `token` is not a JWT.
pub fn token_claims(token: &str) -> Option<TokenClaims> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The agent's driver id: the token's user id (a driver publishes only as themself), or
/// `--driver-id` when it agrees with the token or the token is an admin's (admins publish for
/// anyone of their team); `driver-1` without a token.
pub fn driver_id_for(flag: Option<&str>, token: Option<&str>) -> Result<String> {
    let flag = flag.map(str::trim).filter(|f| !f.is_empty());
    let Some(token) = token else {
        return Ok(flag.unwrap_or("driver-1").to_string());
    };
    let Some(claims) = token_claims(token) else {
        // Not a JWT (a stand-in relay's test token): nothing to read an id from.
        return Ok(flag.unwrap_or("driver-1").to_string());
    };
    if claims.scope.as_deref() == Some("relay") {
        bail!("the token is a relay's credential (scope relay), not a driver's: give the agent the driver's own token");
    }
    let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0);
    if claims.exp > 0 && claims.exp <= now {
        eprintln!("warning: the token ran out {} s ago: the relay will refuse it; log in again", now - claims.exp);
    }
    match (claims.role.as_str(), flag) {
        ("admin", Some(f)) => Ok(f.to_string()),
        (_, None) => Ok(claims.sub),
        (_, Some(f)) if f == claims.sub => Ok(claims.sub),
        (role, Some(f)) => bail!(
            "--driver-id {f} does not match the token, which belongs to {role} {sub}: a driver publishes only as \
             themself, so the relay would refuse every sample. Leave --driver-id out (the agent takes {sub} from \
             the token) or use {f}'s own token",
            sub = claims.sub
        ),
    }
}

/// The agent's driver id when signed in: the account's user id; `--driver-id` only when it is
/// the same, or the account is an admin's (admins publish for anyone of their team).
pub fn driver_id_for_login(flag: Option<&str>, login: &pitbox_auth::login::StoredLogin) -> Result<String> {
    match flag.map(str::trim).filter(|f| !f.is_empty()) {
        None => Ok(login.user_id.clone()),
        Some(f) if f == login.user_id || login.role == "admin" => Ok(f.to_string()),
        Some(f) => bail!(
            "--driver-id {f} does not match the sign-in, which is {role} {user} ({sub}): a driver publishes only \
             as themself, so the relay would refuse every sample. Leave --driver-id out (the agent takes {sub} \
             from the sign-in) or sign in as {f} with `pitbox driver login`",
            role = login.role,
            user = login.username,
            sub = login.user_id
        ),
    }
}

/// Runs `pitbox driver` (blocking: it starts its own async runtime).
pub fn run(args: DriverArgs) -> Result<ExitCode> {
    let data_dir = args.data_dir.clone().unwrap_or_else(crate::voice::default_data_dir);
    if let Some(DriverCommand::Login { cloud, username, password_stdin }) = &args.command {
        let answers = crate::init::LoginAnswers {
            cloud: cloud.clone(),
            username: username.clone(),
            password_stdin: *password_stdin,
        };
        let stdin = std::io::stdin();
        crate::init::run_login(&data_dir, answers, &mut stdin.lock(), &mut std::io::stdout())?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(DriverCommand::ApiKey { new }) = &args.command {
        let key = if *new {
            crate::api_guard::ApiKey::create(&data_dir)
        } else {
            crate::api_guard::ApiKey::load_or_create(&data_dir)
        }
        .context("the local API key")?;
        println!("{}", key.expose());
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(DriverCommand::Init { out, force, template, cloud, relay, username }) = &args.command {
        let out = out.clone().unwrap_or_else(|| match &args.data_dir {
            Some(d) => d.join("pitbox.toml"),
            None => crate::init::default_config_path(),
        });
        if *template {
            if out.exists() && !force {
                bail!("{} exists; pass --force to overwrite it", out.display());
            }
            if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
            }
            std::fs::write(&out, config_template()).with_context(|| format!("writing {}", out.display()))?;
            println!("wrote {} — edit it, then run `pitbox driver --config {}`", out.display(), out.display());
            return Ok(ExitCode::SUCCESS);
        }
        let answers =
            crate::init::InitAnswers { cloud: cloud.clone(), relay: relay.clone(), username: username.clone() };
        let stdin = std::io::stdin();
        crate::init::run_init(&out, *force, answers, &mut stdin.lock(), &mut std::io::stdout())?;
        return Ok(ExitCode::SUCCESS);
    }
    let token = read_token(&args)?;
    // Without a fixed token: the sign-in of `pitbox driver login`, if there is one.
    let login_path = data_dir.join(pitbox_auth::login::LOGIN_FILE);
    let login = match &token {
        Some(_) => None,
        None => pitbox_auth::login::StoredLogin::load(&login_path)?,
    };
    let driver_id = match &login {
        Some(l) => driver_id_for_login(args.driver_id.as_deref(), l)?,
        None => driver_id_for(args.driver_id.as_deref(), token.as_deref())?,
    };
    if token.is_none() && login.is_none() {
        eprintln!(
            "pitbox driver: not signed in ({} does not exist) and no --token: telemetry stays on this machine; \
             sign in with `pitbox driver login`",
            login_path.display()
        );
    }
    let spec: SourceSpec = args.source.parse()?;
    let mut so = SourceOptions::new(&driver_id);
    so.pace = args.pace.parse::<Pace>()?;
    so.looping = args.looping;
    so.standings_hz = args.standings_hz.max(0.1);
    so.sim_track = args.sim_track.clone();
    so.sim_laps = args.sim_laps;
    so.sim_practice_laps = args.sim_practice_laps;
    so.sim_qualify_laps = args.sim_qualify_laps;
    so.sim_mistakes = args.sim_mistakes;
    // The cues read traffic and cautions from the spotter's ticks.
    so.spotter = args.spotter || args.cues;
    let voice = voice_settings(&args)?;
    let video = video_plan(&args)?;
    let mut settings = AgentSettings {
        driver_id,
        token,
        login: None,
        app: DriverAppConfig {
            relay_agent: RelayAgentConfig { url: args.relay_url.clone(), port: args.relay_port },
            cloud: CloudConfig { endpoint: args.cloud_endpoint.clone(), enabled: args.cloud_enabled },
            voice: VoiceConfig {
                enabled: args.voice_enabled,
                sensitivity: args.voice_sensitivity,
                voice_id: args.voice_id.clone(),
            },
        },
        listen: args.listen,
        api_key: Some(crate::api_guard::ApiKey::load_or_create(&data_dir).context("the local API key")?),
        api_allow_remote: args.api_allow_remote,
        telemetry_hz: args.telemetry_hz,
        standings_hz: args.standings_hz,
        backoff_min: Duration::from_millis(500),
        backoff_max: Duration::from_secs(30),
        voice,
        spool: Some(crate::spool::SpoolSettings {
            max_bytes: args.spool_max,
            ..crate::spool::SpoolSettings::in_dir(&data_dir)
        }),
        cloud_url: args.cloud_url.clone().filter(|u| !u.trim().is_empty()),
        data_dir: Some(data_dir.clone()),
        config_file: args.config_file.clone(),
        joystick_dir: crate::agent::default_joystick_dir(),
        video: Some(video),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        if let Some(login) = login {
            let save: pitbox_auth::login::SaveFn =
                Arc::new(|path, bytes| crate::private::write_private(path, bytes).map_err(std::io::Error::other));
            eprintln!(
                "pitbox driver: signed in as {} ({}); the token is renewed before it expires",
                login.username,
                login_path.display()
            );
            settings.login = Some(pitbox_auth::login::start_renewal(
                login,
                pitbox_auth::login::RenewalConfig {
                    path: login_path,
                    kind: pitbox_auth::login::CredentialKind::User,
                    save,
                    reread_every: Duration::from_secs(5),
                },
            ));
        }
        let source = open_source(&spec, &so)?;
        let video_line = settings.video.as_ref().filter(|v| v.at_start).map(|v| {
            let v = &v.settings;
            format!(
                "pitbox driver: video {} {}x{} at {} fps, {:.1} Mbit/s to the relay (live only, never spooled)",
                v.source,
                v.width,
                v.height,
                v.fps,
                f64::from(v.bitrate_bps) / 1e6
            )
        });
        let agent = start(settings, source).await?;
        if let Some(line) = video_line {
            eprintln!("{line}");
        }
        eprintln!("pitbox driver: source {spec}, local API on http://{}", agent.api_addr);
        open_the_window(&agent, args.no_window);
        agent.run_until(shutdown_requested()).await;
        let finished = *agent.shared.source_state.borrow() == pitbox_sources::ConnectionState::Finished;
        let sent = agent.shared.sent_telemetry.load(std::sync::atomic::Ordering::Relaxed);
        agent.shutdown().await;
        if finished {
            // Said, not silent: a replay that ends stops the agent (the relay was told the
            // driver is inactive and sees the connection close).
            eprintln!(
                "pitbox driver: the source {spec} has ended ({sent} samples sent to the relay); the agent stops \
                 (--loop replays a file again)"
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Opens the driver's window in the browser when a person started the agent at a desktop, and
/// says where it is either way.
fn open_the_window(agent: &crate::AgentHandle, no_window: bool) {
    use std::io::IsTerminal as _;
    let url = crate::open_window::window_url(agent.api_addr);
    // A person at a console: both ends on the terminal (tests and scripts pipe one or both).
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    match crate::open_window::why_not(no_window, interactive, crate::open_window::has_desktop()) {
        Some(why) => eprintln!("pitbox driver: the driver's window is {url} (not opened: {why})"),
        None => match crate::open_window::open(&url) {
            Ok(()) => {
                eprintln!("pitbox driver: the driver's window {url} opens in your browser (--no-window: it does not)")
            }
            Err(e) => eprintln!("pitbox driver: the driver's window is {url} (the browser could not be opened: {e})"),
        },
    }
}

/// Resolves when the agent should stop: Ctrl-C anywhere; on Windows also Ctrl-Break, closing the
/// console window, logging off and shutting down (Windows waits while the agent flushes: the
/// handler keeps the process alive until `main` returns); on Unix also SIGTERM.
pub async fn shutdown_requested() {
    #[cfg(windows)]
    {
        use tokio::signal::windows;
        let (brk, close, logoff, shutdown) =
            (windows::ctrl_break(), windows::ctrl_close(), windows::ctrl_logoff(), windows::ctrl_shutdown());
        match (brk, close, logoff, shutdown) {
            (Ok(mut b), Ok(mut c), Ok(mut l), Ok(mut s)) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = b.recv() => {}
                    _ = c.recv() => tracing::info!("console window closed: shutting down"),
                    _ = l.recv() => tracing::info!("logging off: shutting down"),
                    _ = s.recv() => tracing::info!("Windows shuts down: shutting down"),
                }
            }
            _ => {
                tracing::warn!("cannot watch console close/logoff/shutdown; only Ctrl-C stops the agent cleanly");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        driver: DriverArgs,
    }

    fn voice(args: &[&str]) -> Result<VoiceSettings> {
        let cli = Cli::try_parse_from(std::iter::once("pitbox-driver").chain(args.iter().copied()))?;
        voice_settings(&cli.driver)
    }

    #[test]
    fn voice_flags() {
        let v =
            voice(&["--voice-out", "/tmp/co", "--voice-in", "/tmp/in", "--handoff-to", "driver-2:Alex Smith"]).unwrap();
        assert_eq!(v.output, CalloutOutput::WavDir { dir: "/tmp/co".into(), time_scale: 1.0 });
        assert_eq!(v.input, Some(VoiceInput::Wav("/tmp/in".into())));
        assert_eq!(v.handoff_to, Some(HandoffTarget { id: "driver-2".into(), name: "Alex Smith".into() }));
        let v = voice(&["--data-dir", "/tmp/pb", "--fuel-per-lap", "2.6"]).unwrap();
        if !cfg!(sound_card) {
            assert_eq!(v.output, CalloutOutput::WavDir { dir: "/tmp/pb/callouts".into(), time_scale: 1.0 });
        }
        assert_eq!(v.fuel_per_lap_liters, Some(2.6));
        assert_eq!(voice(&["--voice-out", "sound-card"]).unwrap().output, CalloutOutput::SoundCard { device: None });
        assert_eq!(
            voice(&["--voice-out", "sound-card:Headset (Arctis 7)"]).unwrap().output,
            CalloutOutput::SoundCard { device: Some("Headset (Arctis 7)".into()) }
        );
        assert!(voice(&["--voice-out", "sound-card:"]).unwrap_err().to_string().contains("give the device's name"));
        // A Windows folder is a folder, not a device.
        assert_eq!(
            voice(&["--voice-out", "C:/PitBox/callouts"]).unwrap().output,
            CalloutOutput::WavDir { dir: PathBuf::from("C:/PitBox/callouts"), time_scale: 1.0 }
        );
        let mic = voice(&["--voice-in", "mic:USB Microphone"]);
        if cfg!(sound_card) {
            assert_eq!(mic.unwrap().input, Some(VoiceInput::Microphone { device: Some("USB Microphone".into()) }));
        } else {
            assert!(mic.unwrap_err().to_string().contains("sound-card feature"));
        }
    }

    fn jwt(payload: &str) -> String {
        use base64::Engine;
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!("{}.{}.sig", e.encode("{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}"), e.encode(payload))
    }

    #[test]
    fn the_driver_id_comes_from_the_token() {
        let exp = chrono::Utc::now().timestamp() + 3600;
        let driver = jwt(&format!(r#"{{"sub":"usr-7f3a","role":"driver","team":"t","exp":{exp}}}"#));
        assert_eq!(driver_id_for(None, Some(&driver)).unwrap(), "usr-7f3a");
        assert_eq!(driver_id_for(Some("usr-7f3a"), Some(&driver)).unwrap(), "usr-7f3a");
        let err = driver_id_for(Some("driver-1"), Some(&driver)).unwrap_err().to_string();
        assert!(
            err.starts_with("--driver-id driver-1 does not match the token, which belongs to driver usr-7f3a"),
            "{err}"
        );
        assert!(err.contains("Leave --driver-id out"), "{err}");
        // Admins publish for anyone of their team.
        let admin = jwt(&format!(r#"{{"sub":"adm-1","role":"admin","team":"t","exp":{exp}}}"#));
        assert_eq!(driver_id_for(Some("usr-7f3a"), Some(&admin)).unwrap(), "usr-7f3a");
        assert_eq!(driver_id_for(None, Some(&admin)).unwrap(), "adm-1");
        // A relay's credential is not a driver's.
        let relay = jwt(&format!(r#"{{"sub":"adm-1","role":"admin","team":"t","exp":{exp},"scope":"relay"}}"#));
        assert!(driver_id_for(None, Some(&relay)).unwrap_err().to_string().contains("relay's credential"));
        // Without a token (or with one that is no JWT) the flag or driver-1.
        assert_eq!(driver_id_for(None, None).unwrap(), "driver-1");
        assert_eq!(driver_id_for(Some("d-2"), None).unwrap(), "d-2");
        assert_eq!(driver_id_for(Some("d-2"), Some("opaque")).unwrap(), "d-2");
    }

    #[test]
    fn engines_by_name() {
        let engine = |a: &[&str]| format!("{:?}", voice(a).unwrap().engine);
        let platform = if cfg!(windows) { "Windows" } else { "EspeakNg { program: None }" };
        assert_eq!(engine(&[]), platform, "auto is the platform's own engine");
        assert_eq!(engine(&["--voice-engine", "windows"]), "Windows");
        assert_eq!(engine(&["--voice-engine", "espeak-ng"]), "EspeakNg { program: None }");
        let cloud = engine(&[
            "--voice-engine",
            "cloud",
            "--cloud-enabled",
            "--cloud-endpoint",
            "https://pitbox.example.com",
            "--token",
            "secret-token",
        ]);
        assert_eq!(
            cloud,
            format!("Cloud {{ endpoint: \"https://pitbox.example.com\", token: \"<redacted>\", local: {platform} }}")
        );
    }

    #[test]
    fn bad_voice_flags_say_what_is_wrong() {
        let err = |a: &[&str]| voice(a).unwrap_err().to_string();
        assert_eq!(err(&["--voice-speed", "3"]), "--voice-speed must be between 0.5 and 2.0, got 3");
        assert_eq!(
            err(&["--voice-engine", "sam"]),
            "unknown --voice-engine `sam`: expected auto, windows, espeak-ng, cloud or elevenlabs"
        );
        assert!(err(&["--voice-engine", "cloud", "--token", "t"]).contains("cloud_enabled = true"));
        assert!(err(&["--voice-engine", "cloud", "--cloud-enabled", "--token", " "]).contains("pitbox driver init"));
        assert!(err(&["--voice-engine", "elevenlabs"]).contains("PITBOX_DRIVER_ELEVENLABS_KEY"));
        assert!(err(&["--handoff-to", "bad id!"]).contains("--handoff-to"));
        assert!(err(&["--fuel-per-lap=-1"]).contains("--fuel-per-lap"));
        if !cfg!(sound_card) {
            assert!(err(&["--voice-in", "mic"]).contains("sound-card feature"));
        }
        assert!(
            err(&["--ptt", "mouse:1"]).starts_with("--ptt: push-to-talk \"mouse:1\": expected"),
            "{}",
            err(&["--ptt", "mouse:1"])
        );
        assert!(err(&["--ptt", "joystick:/dev/input/js0:x"]).contains("buttons are numbered"));
        if cfg!(target_os = "linux") {
            // Kept without the microphone (the agent does not use it then, and says so).
            assert_eq!(
                voice(&["--ptt", "joystick:/dev/input/js0:5"]).unwrap().ptt,
                [pitbox_voice::buttons::PttButton::Joystick { device: "/dev/input/js0".into(), button: 5 }]
            );
            assert!(err(&["--ptt", "key:F13"]).contains("Windows only"));
        }
        // `api` is always on and no button.
        assert!(voice(&["--ptt", "api"]).unwrap().ptt.is_empty());
    }
}
