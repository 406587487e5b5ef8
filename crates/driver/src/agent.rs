//! Starting the agent: the source thread, the relay task and the local API.

use crate::state::Shared;
use crate::voice::{VoiceHandle, VoiceSettings};
use pitbox_model::rest::DriverAppConfig;
use pitbox_sources::{ConnectionState, SourceEvent, TelemetrySource};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Why the agent could not start.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The io error is in the message, not chained as a source: `{:#}` would print it twice.
    #[error("cannot listen on {addr} for the local API: {error}{}", bind_hint(error))]
    Bind { addr: SocketAddr, error: std::io::Error },
    #[error("invalid setting: {0}")]
    Invalid(String),
    #[error("cannot start a thread (source or voice): {0}")]
    Thread(std::io::Error),
    #[error("cannot open the spool {path}: {error} (is another agent running on the same data folder?)")]
    Spool { path: std::path::PathBuf, error: pitbox_uplink::SpoolError },
}

/// What to do about a local API address that cannot be bound.
fn bind_hint(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::AddrInUse => {
            "; another program (another agent?) uses it: stop that one, or give this one another address with --listen"
        }
        std::io::ErrorKind::AddrNotAvailable => "; it is not an address of this machine: give another with --listen",
        std::io::ErrorKind::PermissionDenied => "; not allowed here: give another address with --listen",
        _ => "",
    }
}

/// Everything the agent runs with.
#[derive(Debug, Clone)]
pub struct AgentSettings {
    pub driver_id: String,
    /// A fixed token for the relay (an offline set-up); wins over `login`.
    pub token: Option<String>,
    /// The sign-in's renewal (`pitbox driver login`): the relay link connects with its newest
    /// token. Without it and without `token`: no relay connection (local API only).
    pub login: Option<pitbox_auth::login::Renewal>,
    /// The spec's driver app configuration (relay, cloud, voice).
    pub app: DriverAppConfig,
    /// Local API address (the spec's `127.0.0.1:8766`).
    pub listen: SocketAddr,
    /// The local API key tools send to change the agent's state (`pitbox driver api-key`);
    /// `None`: a fresh one for this run ([`AgentHandle::api_key`]).
    pub api_key: Option<crate::api_guard::ApiKey>,
    /// The local API may listen on an address other machines reach; every request from another
    /// machine then needs the key. Without it, only loopback addresses are taken.
    pub api_allow_remote: bool,
    /// `telemetry_update`s per second to the relay.
    pub telemetry_hz: f64,
    /// `standings_update`s per second to the relay.
    pub standings_hz: f64,
    /// Reconnect backoff: the first wait, and the wait after the relay refused the token (a
    /// relay that is only away is tried again within [`crate::relay::RECONNECT_CAP`]).
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// Callouts and voice commands (on while `app.voice.enabled`, which `PUT /api/config` can
    /// change while running).
    pub voice: VoiceSettings,
    /// The durable spool (`DATA_DIR/spool.redb`): every sample is kept until the next hop
    /// acknowledges it. `None`: samples are sent live only (the relay spools what it gets).
    pub spool: Option<crate::spool::SpoolSettings>,
    /// Direct mode: the cloud's WebSocket (`https://HOST`, `wss://HOST/ws` …) instead of the
    /// relay; the spool's batches go to the cloud's uplink with the driver's own token.
    pub cloud_url: Option<String>,
    /// The agent's data folder: where signing in from the driver's window writes `login.json`,
    /// as `pitbox driver login` does. `None`: the window cannot sign in or out (503).
    pub data_dir: Option<std::path::PathBuf>,
    /// The `pitbox.toml` the settings screen writes to (the file `pitbox driver` loaded);
    /// `None`: `pitbox.toml` in `data_dir`.
    pub config_file: Option<std::path::PathBuf>,
    /// Linux: the folder whose `js*` devices "press your wheel button now" reads
    /// (`/dev/input`); `None`: joysticks are not offered (signals and, on Windows, joysticks
    /// 0–15 still are).
    pub joystick_dir: Option<std::path::PathBuf>,
    /// Live video to the pit wall: sent from the start, or set up for the driver to turn on in
    /// the window (or on the pit wall's request). `None`: no video in this agent.
    pub video: Option<crate::video::VideoPlan>,
}

impl AgentSettings {
    /// Defaults around `driver_id` and `app`: local API on `127.0.0.1:8766`, 60 Hz telemetry,
    /// 2 Hz standings, reconnects within 0.5–2 s (30 s after a refused token), no token, [`VoiceSettings::default`].
    pub fn new(driver_id: impl Into<String>, app: DriverAppConfig) -> Self {
        Self {
            driver_id: driver_id.into(),
            token: None,
            login: None,
            app,
            listen: SocketAddr::from(([127, 0, 0, 1], 8766)),
            api_key: None,
            api_allow_remote: false,
            telemetry_hz: 60.0,
            standings_hz: 2.0,
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            voice: VoiceSettings::default(),
            spool: None,
            cloud_url: None,
            data_dir: None,
            config_file: None,
            joystick_dir: default_joystick_dir(),
            video: None,
        }
    }
}

/// Where Linux puts joysticks.
pub fn default_joystick_dir() -> Option<std::path::PathBuf> {
    cfg!(target_os = "linux").then(|| "/dev/input".into())
}

impl AgentSettings {
    /// Checks the rates and the configuration.
    pub fn validate(&self) -> Result<(), AgentError> {
        if !(self.telemetry_hz.is_finite() && self.telemetry_hz > 0.0 && self.telemetry_hz <= 360.0) {
            return Err(AgentError::Invalid(format!(
                "telemetry rate must be in (0, 360] Hz, got {}",
                self.telemetry_hz
            )));
        }
        if !(self.standings_hz.is_finite() && self.standings_hz > 0.0 && self.standings_hz <= 60.0) {
            return Err(AgentError::Invalid(format!(
                "standings rate must be in (0, 60] Hz, got {}",
                self.standings_hz
            )));
        }
        if !self.listen.ip().is_loopback() && !self.api_allow_remote {
            return Err(AgentError::Invalid(format!(
                "the local API would listen on {}, which other machines can reach: pass --api-allow-remote to \
                 mean it (every request from another machine then needs the local API key), or listen on 127.0.0.1",
                self.listen
            )));
        }
        pitbox_model::validate::validate(&self.app, "").map_err(|e| AgentError::Invalid(e.to_string()))
    }
}

/// Numbers this agent's samples (docs/protocol.md, "Sample identity"): microseconds since the
/// Unix epoch when the sample left the source, strictly increasing within the process. A
/// restarted agent, or one switched to another source, carries on above every number it used
/// before (unless the clock was set back by more than the restart took; the relay then takes the
/// restarted numbering after a second of duplicates), so the relay never takes its samples for
/// ones it has seen.
#[derive(Debug, Default)]
pub struct SampleNumbering {
    last: u64,
}

impl SampleNumbering {
    /// The next number: now in microseconds since the epoch, or one above the last if the clock
    /// has not moved on (or went back).
    pub fn next_sequence(&mut self) -> u64 {
        let now = u64::try_from(chrono::Utc::now().timestamp_micros()).unwrap_or(0);
        self.last = now.max(self.last.saturating_add(1));
        self.last
    }
}

/// A running agent.
pub struct AgentHandle {
    /// Where the local API listens.
    pub api_addr: SocketAddr,
    /// The key that lets tools change the agent's state through the local API.
    pub api_key: crate::api_guard::ApiKey,
    pub shared: Arc<Shared>,
    /// The voice (callouts, commands, `GET /api/voice/log`).
    pub voice: Arc<VoiceHandle>,
    shutdown: watch::Sender<bool>,
    source_stop: Arc<AtomicBool>,
    tasks: Vec<JoinHandle<()>>,
}

impl AgentHandle {
    /// Waits until the source is finished (a replay that does not loop) or `stop` resolves.
    pub async fn run_until(&self, stop: impl std::future::Future<Output = ()>) {
        let mut st = self.shared.source_state.subscribe();
        tokio::select! {
            _ = stop => {}
            _ = async {
                loop {
                    if *st.borrow_and_update() == ConnectionState::Finished {
                        // Give the relay task a moment to send the last samples.
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        return;
                    }
                    if st.changed().await.is_err() {
                        return;
                    }
                }
            } => {}
        }
    }

    /// Stops the relay task and the local API; the source thread stops at its next event.
    pub async fn shutdown(self) {
        self.source_stop.store(true, Ordering::Relaxed);
        self.voice.stop();
        let _ = self.shutdown.send(true);
        // The encoder thread ends with its handle.
        let video = self.shared.video_started.lock().ok().and_then(|mut v| v.take());
        drop(video);
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(2), t).await;
        }
        // The run's account, for the driver and for tests that count what was stored.
        let status = self.shared.spool.get().map(|sp| sp.status());
        tracing::info!(
            samples_produced = self.shared.samples_produced.load(Ordering::Relaxed),
            spool = %status.map(|s| s.to_string()).unwrap_or_else(|| "none".into()),
            "agent stopped"
        );
    }
}

/// Starts the agent with `source` (moved to a thread of its own).
pub async fn start(settings: AgentSettings, mut source: Box<dyn TelemetrySource>) -> Result<AgentHandle, AgentError> {
    settings.validate()?;
    let (shared, outbox_rx) = Shared::new(&settings.driver_id, source.describe(), settings.app.clone());
    let _ = shared.pit_target.set(crate::pit::PitTarget::of(source.as_ref()));
    // The token the relay link connects with: fixed, or the sign-in's newest.
    let tokens = match (&settings.token, &settings.login) {
        (Some(t), _) => Some(watch::channel(Some(t.clone())).1),
        (None, Some(l)) => {
            let _ = shared.login.set(l.status.clone());
            Some(l.tokens.clone())
        }
        (None, None) => None,
    };
    shared.has_token.store(tokens.is_some(), Ordering::Relaxed);
    let shared = Arc::new(shared);
    let (shutdown, shutdown_rx) = watch::channel(false);
    let source_stop = Arc::new(AtomicBool::new(false));
    let spotter_link = crate::voice::SpotterLink::default();
    // The spotter judges traffic for the cues too, silently when it is switched off.
    let cues_on = settings.voice.cues;
    let mut spotter = (settings.voice.spotter || cues_on)
        .then(|| crate::voice::SpotterFeed::new(spotter_link.clone(), settings.voice.spotter));
    let mut cues = if cues_on {
        Some(crate::voice::CueFeed::start(spotter_link.clone()).map_err(AgentError::Thread)?)
    } else {
        None
    };
    let cue_pins = cues.as_ref().map(crate::voice::CueFeed::pinner);
    let mut caution = false;
    shared.direct.store(settings.cloud_url.is_some(), Ordering::Relaxed);
    // The spool and the queue that feeds it every sample (the watch channels keep only the newest).
    let mut to_spool = None;
    if let Some(sp) = settings.spool.clone() {
        let path = sp.path.clone();
        let opened = tokio::task::spawn_blocking(move || crate::spool::AgentSpool::open(sp))
            .await
            .map_err(|e| AgentError::Spool { path: path.clone(), error: pitbox_uplink::SpoolError::Db(e.to_string()) })?
            .map_err(|error| AgentError::Spool { path, error })?;
        let (opened, recovered) = opened;
        let opened = Arc::new(opened);
        let _ = shared.spool.set(opened.clone());
        let (tx, rx) = crate::spool::queue();
        to_spool = Some((tx, rx, opened, recovered));
    }
    let spool_tx = to_spool.as_ref().map(|(tx, _, _, _)| tx.clone());
    // The source thread: blocking reads, non-blocking hand-over (watch channels).
    {
        let shared = shared.clone();
        let stop = source_stop.clone();
        std::thread::Builder::new()
            .name("pitbox-driver-source".into())
            .spawn(move || {
                let mut numbering = SampleNumbering::default();
                let mut queue_full_warned = false;
                while !stop.load(Ordering::Relaxed) {
                    match source.next_event() {
                        Ok(Some(ev)) => match ev {
                            SourceEvent::Telemetry(mut t) => {
                                // The source's own counter restarts with the process; the
                                // agent's numbering does not.
                                t.sequence = Some(numbering.next_sequence());
                                if let Some(c) = cues.as_mut() {
                                    let at = t.session_time.unwrap_or(f64::NAN);
                                    let traffic = spotter.as_ref().is_some_and(|s| s.busy(at));
                                    c.sample(&t, traffic, caution);
                                }
                                // Journaled before anything else sees it (a killed agent
                                // keeps it), and queued for the spool in the same step.
                                let queued = match (&spool_tx, shared.spool.get().and_then(|s| s.journal.as_ref())) {
                                    (Some(tx), Some(j)) => j.append_then(&t, || tx.try_send((*t).clone()).is_ok()),
                                    (Some(tx), None) => tx.try_send((*t).clone()).is_ok(),
                                    (None, _) => true,
                                };
                                shared.samples_produced.fetch_add(1, Ordering::Relaxed);
                                if !queued {
                                    // The spool writer is stuck: the sample is shown live only.
                                    if let Some(sp) = shared.spool.get() {
                                        sp.samples_rejected.fetch_add(1, Ordering::Relaxed);
                                    }
                                    if !queue_full_warned {
                                        queue_full_warned = true;
                                        tracing::error!("the spool does not keep up; samples are sent live only");
                                    }
                                }
                                shared.telemetry.send_replace(Some(*t));
                            }
                            SourceEvent::Session(s) => {
                                let prev = shared.session.send_replace(Some((*s).clone()));
                                shared.on_session(prev.as_ref(), &s);
                            }
                            SourceEvent::Standings(s) => {
                                shared.standings.send_replace(Some(*s));
                            }
                            SourceEvent::State(s) => {
                                shared.source_state.send_replace(s);
                            }
                            // The spotter judges the tick here, at once; its calls go to the
                            // voice thread.
                            SourceEvent::Spotter(tick) => {
                                caution = tick.session_flags.is_some_and(crate::voice::is_caution);
                                if let Some(sp) = spotter.as_mut() {
                                    sp.tick(&tick);
                                }
                            }
                        },
                        Ok(None) => {
                            shared.source_state.send_replace(ConnectionState::Finished);
                            break;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "telemetry source error");
                            if source.state() == ConnectionState::Finished {
                                break;
                            }
                            std::thread::sleep(Duration::from_millis(200));
                        }
                    }
                }
            })
            .map_err(AgentError::Thread)?;
    }
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|error| AgentError::Bind { addr: settings.listen, error })?;
    let api_addr = listener.local_addr().map_err(|error| AgentError::Bind { addr: settings.listen, error })?;
    // The cloud's voice follows the sign-in's renewals: the start token expires long before a
    // 24-hour race ends.
    let mut voice_settings = settings.voice.clone();
    if let (crate::voice::CalloutEngine::Cloud { renewed, .. }, Some(login)) =
        (&mut voice_settings.engine, &settings.login)
    {
        *renewed = Some(login.tokens.clone());
    }
    let voice = crate::voice::start(shared.clone(), voice_settings).map_err(|e| {
        if e.kind() == std::io::ErrorKind::Unsupported {
            AgentError::Invalid(e.to_string())
        } else {
            AgentError::Thread(e)
        }
    })?;
    let _ = spotter_link.set(voice.spotter_sender());
    let mut tasks = Vec::new();
    if let Some((tx, rx, opened, recovered)) = to_spool {
        drop(tx);
        let writer = crate::spool::writer(opened, settings.driver_id.clone(), recovered, rx, shutdown_rx.clone());
        tasks.push(tokio::spawn(writer));
    }
    let mic = matches!(settings.voice.input, Some(crate::voice::VoiceInput::Microphone { .. }));
    if !mic && !settings.voice.ptt.is_empty() {
        // Saved from the window before the microphone was chosen: kept, but there is nothing to talk to.
        tracing::warn!(
            "push-to-talk buttons (ptt) are set but the voice input is not the microphone: they are not used"
        );
    }
    for button in settings.voice.ptt.clone().into_iter().filter(|_| mic) {
        let v = voice.clone();
        let task = crate::voice::start_ptt_button(button.clone(), shutdown_rx.clone(), move |pressed| {
            if let Err(e) = v.push_to_talk(pressed) {
                tracing::warn!(error = %e, "push-to-talk");
            }
        })
        .map_err(|e| AgentError::Invalid(format!("push-to-talk {button:?}: {e}")))?;
        tasks.push(task);
    }
    let api_key = match settings.api_key.clone() {
        Some(k) => k,
        None => crate::api_guard::ApiKey::generate().map_err(|e| AgentError::Invalid(e.to_string()))?,
    };
    let guard = crate::api_guard::Guard::new(api_addr.port(), api_key.clone(), settings.api_allow_remote)
        .map_err(|e| AgentError::Invalid(e.to_string()))?;
    let settings_setup = crate::api::SettingsSetup {
        file: settings.config_file.clone().or_else(|| settings.data_dir.as_ref().map(|d| d.join("pitbox.toml"))),
        running: crate::settings::DriverSettings::running(
            &settings.voice,
            &settings.app.voice,
            settings.video.as_ref(),
        ),
        capture: crate::ptt_capture::CaptureSources { joystick_dir: settings.joystick_dir.clone() },
    };
    let router = crate::api::router(
        shared.clone(),
        voice.clone(),
        settings.telemetry_hz,
        settings.data_dir.clone(),
        settings_setup,
    )
    .layer(axum::middleware::from_fn_with_state(Arc::new(guard), crate::api_guard::guard));
    let mut srx = shutdown_rx.clone();
    tasks.push(tokio::spawn(async move {
        let stop = async move {
            let _ = srx.wait_for(|v| *v).await;
        };
        if let Err(e) = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(stop)
            .await
        {
            tracing::error!(error = %e, "local API stopped");
        }
    }));
    // The pit wall's choice of reference lap for the cues, from the cloud.
    let cloud = settings.app.cloud.endpoint.trim().to_string();
    if let (Some(pins), Some(tokens)) = (cue_pins, &tokens)
        && !cloud.is_empty()
    {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let _ = shared.cue_choices.set(tx);
        tasks.push(tokio::spawn(crate::cue_reference::run(
            cloud,
            settings.driver_id.clone(),
            tokens.clone(),
            pins,
            rx,
            shutdown_rx.clone(),
        )));
    }
    match tokens {
        Some(tokens) => {
            tasks.push(tokio::spawn(crate::relay::run(
                shared.clone(),
                settings.clone(),
                tokens,
                outbox_rx,
                shutdown_rx,
            )));
        }
        None => tracing::warn!(
            "no relay token and not signed in (`pitbox driver login`): telemetry stays on this machine (local API only)"
        ),
    }
    match settings.video {
        Some(plan) if plan.at_start => {
            let handle = crate::video::start(&shared, plan.settings).map_err(|e| AgentError::Invalid(e.to_string()))?;
            if let Ok(mut started) = shared.video_started.lock() {
                *started = Some(handle);
            }
        }
        // Waits for the driver; settings that cannot start are left out (the window says so).
        Some(plan) if crate::video::check(&plan.settings).is_ok() => {
            if let Ok(mut on_request) = shared.video_on_request.lock() {
                *on_request = Some(plan.settings);
            }
        }
        _ => {}
    }
    Ok(AgentHandle { api_addr, api_key, shared, voice, shutdown, source_stop, tasks })
}

#[cfg(test)]
mod tests {
    use super::SampleNumbering;

    #[test]
    fn sample_numbers_are_the_clock_in_microseconds_and_strictly_increase() {
        let before = u64::try_from(chrono::Utc::now().timestamp_micros()).unwrap();
        let mut n = SampleNumbering::default();
        let nums: Vec<u64> = (0..1000).map(|_| n.next_sequence()).collect();
        assert!(nums.windows(2).all(|w| w[0] < w[1]), "strictly increasing");
        assert!(nums[0] >= before && nums[0] < before + 60_000_000, "{} vs {before}", nums[0]);
        // A second instance (a restarted agent) starts above the first one's numbers.
        let mut restarted = SampleNumbering::default();
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert!(restarted.next_sequence() > *nums.last().unwrap());
        // Exact in JavaScript (below 2^53).
        assert!(nums[0] < 1 << 53);
    }
}
