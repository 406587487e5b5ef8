//! `pitbox voice …` and `pitbox bench voice`, as library code the `pitbox` binary wires in.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use pitbox_model::Priority;
use serde::Serialize;

use crate::audio::{Audio, RECOGNITION_RATE};
use crate::commands::VoiceCommand;
use crate::radio::{Radio, RadioConfig, WavDirSink, radio_clip};
use crate::service::{DEFAULT_VOICE, espeak_voices};
use crate::sphinx::{CommandRecognizer, RecognizerConfig};
use crate::tts::{EspeakNg, SpeechRequest, TtsProvider};

/// `pitbox voice`: the race engineer's voice, offline.
#[derive(Debug, Clone, Args)]
pub struct VoiceArgs {
    #[command(subcommand)]
    pub command: VoiceSubcommand,
}

/// The `pitbox voice` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum VoiceSubcommand {
    /// Speak TEXT offline (Windows' own speech on Windows, espeak-ng elsewhere) on the sound card,
    /// into a WAV file or, through the radio, a folder.
    Say(SayArgs),
    /// Recognise the voice command in a WAV file (PocketSphinx, offline).
    Listen(ListenArgs),
    /// List the voices (and, on Windows, the installed Windows voices and which speaks each).
    Voices,
    /// List the sound card's output and input devices, as `--voice-out sound-card:NAME` and
    /// `--voice-in mic:NAME` take them.
    Devices,
    /// Measure recognition on a matrix of synthetic speakers × rates × noise levels (espeak-ng)
    /// and print it.
    Eval(EvalArgs),
}

/// `pitbox voice eval`.
#[derive(Debug, Clone, Args)]
pub struct EvalArgs {
    /// Which set: `held-out` (never tuned on; the figure to quote) or `tuning`.
    #[arg(long, default_value = "held-out", value_parser = ["held-out", "tuning"])]
    pub set: String,
    /// Print the matrix and every miss as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `pitbox voice say`.
#[derive(Debug, Clone, Args)]
pub struct SayArgs {
    /// What to say (at most 1,000 characters).
    pub text: String,
    /// Write the speech to this WAV file.
    #[arg(short = 'o', long = "output", value_name = "OUT.wav")]
    pub output: Option<PathBuf>,
    /// Play through the radio (chime + radio filter) into WAV files in DIR, as on a machine
    /// without a sound card.
    #[arg(long, value_name = "DIR", conflicts_with = "output")]
    pub audio_out: Option<PathBuf>,
    /// Voice id (see `pitbox voice voices`); with Windows speech also a language tag (`en-GB`)
    /// or part of an installed voice's name (`Zira`).
    #[arg(long, default_value = DEFAULT_VOICE)]
    pub voice: String,
    /// The engine: auto (Windows' own speech on Windows when it can speak, else espeak-ng),
    /// windows or espeak-ng.
    #[arg(long, default_value = "auto", value_parser = ["auto", "windows", "espeak-ng"])]
    pub engine: String,
    /// Play on this output device (part of its name, see `pitbox voice devices`) instead of the
    /// default one.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["output", "audio_out"])]
    pub device: Option<String>,
    /// Speaking rate, 0.5–2.0.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Add the radio chime and filter to `-o` output too.
    #[arg(long)]
    pub radio: bool,
}

/// `pitbox voice listen`.
#[derive(Debug, Clone, Args)]
pub struct ListenArgs {
    /// A WAV file (PCM 8/16/24/32-bit or float, any rate, mono or stereo).
    pub file: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ListenOutput {
    command: Option<VoiceCommand>,
    phrase: Option<String>,
    words: String,
    confidence: f64,
    audio_seconds: f64,
    decode_seconds: f64,
}

fn engine_voice(id: &str) -> anyhow::Result<String> {
    let voices = espeak_voices();
    match voices.iter().find(|v| v.id == id) {
        Some(v) => Ok(v.engine_voice.clone()),
        None => bail!(
            "unknown voice `{id}`, expected one of: {}",
            voices.iter().map(|v| v.id.as_str()).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Runs `pitbox voice …`.
pub fn run(args: VoiceArgs) -> anyhow::Result<()> {
    match args.command {
        VoiceSubcommand::Say(a) => say(a),
        VoiceSubcommand::Listen(a) => listen(a),
        VoiceSubcommand::Eval(a) => eval(a),
        VoiceSubcommand::Voices => voices(),
        VoiceSubcommand::Devices => devices(),
    }
}

fn voices() -> anyhow::Result<()> {
    println!("{:<16} {:<16} name", "id", "espeak-ng");
    for v in espeak_voices() {
        println!("{:<16} {:<16} {}", v.id, v.engine_voice, v.name);
    }
    windows_voices()
}

#[cfg(windows)]
fn windows_voices() -> anyhow::Result<()> {
    let w = crate::sapi::WindowsSpeech::new();
    let installed = match w.installed() {
        Ok(v) => v,
        Err(e) => {
            println!("\nWindows speech: {e}");
            return Ok(());
        }
    };
    println!("\nWindows speech voices (language LCIDs, gender):");
    for v in &installed {
        let langs: Vec<String> = v.languages.iter().map(|l| format!("{l:x}")).collect();
        println!("  {} ({}, {})", v.description, langs.join(";"), v.gender.map_or("gender unknown", |g| g.word()));
    }
    println!("\nWhich Windows voice speaks each id:");
    for v in espeak_voices() {
        match w.voice_for(&v.id) {
            Ok((name, note)) => {
                println!("  {:<16} {name}{}", v.id, note.map(|n| format!(" — {n}")).unwrap_or_default())
            }
            Err(e) => println!("  {:<16} {e}", v.id),
        }
    }
    Ok(())
}

#[cfg(not(windows))]
fn windows_voices() -> anyhow::Result<()> {
    Ok(())
}

#[cfg(sound_card)]
fn devices() -> anyhow::Result<()> {
    let list = |what: &str, names: Result<Vec<String>, crate::radio::SinkError>| match names {
        Ok(n) if n.is_empty() => println!("{what} devices: none"),
        Ok(n) => {
            println!("{what} devices:");
            for d in n {
                println!("  {d}");
            }
        }
        Err(e) => println!("{what} devices: cannot list them: {e}"),
    };
    list("output", crate::soundcard::output_devices());
    list("input", crate::soundcard::input_devices());
    Ok(())
}

#[cfg(not(sound_card))]
fn devices() -> anyhow::Result<()> {
    bail!("this build has no sound card (pitbox-voice's cargo feature `sound-card` is off): it lists no devices")
}

/// The engine `voice say` speaks with and the voice to ask it for; a note when auto fell back.
fn say_engine(engine: &str, voice_id: &str) -> anyhow::Result<(Arc<dyn TtsProvider>, String)> {
    let espeak = || -> anyhow::Result<(Arc<dyn TtsProvider>, String)> {
        Ok((Arc::new(EspeakNg::new()), engine_voice(voice_id)?))
    };
    match engine {
        "espeak-ng" => espeak(),
        "windows" => windows_engine(voice_id),
        _ if cfg!(windows) => match windows_engine(voice_id) {
            Ok(e) => Ok(e),
            Err(why) => {
                eprintln!("note: {why:#}; speaking with espeak-ng instead");
                espeak()
            }
        },
        _ => espeak(),
    }
}

#[cfg(windows)]
fn windows_engine(voice_id: &str) -> anyhow::Result<(Arc<dyn TtsProvider>, String)> {
    let w = crate::sapi::WindowsSpeech::new();
    w.available().context("Windows speech cannot speak here")?;
    let (name, note) = w.voice_for(voice_id)?;
    match note {
        Some(n) => eprintln!("note: {n}"),
        None => eprintln!("voice: {name}"),
    }
    Ok((Arc::new(w), voice_id.to_string()))
}

#[cfg(not(windows))]
fn windows_engine(_voice_id: &str) -> anyhow::Result<(Arc<dyn TtsProvider>, String)> {
    bail!("Windows speech is only on Windows: use --engine espeak-ng")
}

fn say(a: SayArgs) -> anyhow::Result<()> {
    let text = a.text.trim();
    if text.is_empty() {
        bail!("TEXT must not be empty");
    }
    let n = text.chars().count();
    if n > crate::service::MAX_TEXT_CHARS {
        bail!("TEXT must be at most {} characters, got {n}", crate::service::MAX_TEXT_CHARS);
    }
    if !a.speed.is_finite() || !(0.5..=2.0).contains(&a.speed) {
        bail!("--speed must be between 0.5 and 2.0, got {}", a.speed);
    }
    let (tts, voice) = say_engine(&a.engine, &a.voice)?;
    if let Some(dir) = a.audio_out {
        let sink = WavDirSink::new(&dir).with_context(|| format!("cannot use {}", dir.display()))?;
        let radio = Radio::start(tts, Box::new(sink), RadioConfig { voice, speed: a.speed, ..RadioConfig::default() })?;
        radio.say_text(text, Priority::Normal);
        if !radio.wait_idle(Duration::from_secs(120)) {
            bail!("the radio did not finish within 120 s");
        }
        for e in radio.events() {
            if let crate::radio::RadioEvent::Failed { error, .. } = e {
                bail!("{error}");
            }
        }
        println!("wrote {}", dir.display());
        return Ok(());
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let speech =
        rt.block_on(tts.synthesize(&SpeechRequest { text: text.into(), voice, speed: a.speed, pitch: None }))?;
    let clip = if a.radio { radio_clip(&speech) } else { speech };
    match a.output {
        Some(path) => {
            std::fs::write(&path, clip.to_wav()).with_context(|| format!("cannot write {}", path.display()))?;
            println!("wrote {} ({:.2} s)", path.display(), clip.duration());
            Ok(())
        }
        None => play_on_sound_card(&clip, a.device.as_deref()),
    }
}

#[cfg(sound_card)]
fn play_on_sound_card(clip: &Audio, device: Option<&str>) -> anyhow::Result<()> {
    use crate::radio::AudioSink;
    let mut sink = crate::soundcard::CpalSink::open_device(device)?;
    sink.play(clip, "say", &std::sync::atomic::AtomicBool::new(false))?;
    Ok(())
}

#[cfg(not(sound_card))]
fn play_on_sound_card(_clip: &Audio, _device: Option<&str>) -> anyhow::Result<()> {
    bail!(
        "this build has no sound-card playback (pitbox-voice's cargo feature `sound-card` is off): \
         use -o OUT.wav or --audio-out DIR"
    )
}

fn listen(a: ListenArgs) -> anyhow::Result<()> {
    let bytes = std::fs::read(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?;
    let audio = Audio::from_wav(&bytes).with_context(|| format!("{}", a.file.display()))?;
    let mut rec = CommandRecognizer::new(RecognizerConfig::default())?;
    let r = rec.recognize(&audio)?;
    if a.json {
        let out = ListenOutput {
            command: r.command,
            phrase: r.command.map(|c| c.phrase()),
            words: r.words.clone(),
            confidence: r.confidence,
            audio_seconds: r.audio_seconds,
            decode_seconds: r.decode_seconds,
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        match r.command {
            Some(c) => println!("{} (confidence {:.2})", c.phrase(), r.confidence),
            None => println!("no command"),
        }
    }
    Ok(())
}

fn eval(a: EvalArgs) -> anyhow::Result<()> {
    let set = if a.set == "tuning" { crate::eval::EvalSet::tuning() } else { crate::eval::EvalSet::held_out() };
    let tts = EspeakNg::new();
    tts.available().context("the evaluation synthesises its test speech with espeak-ng")?;
    let mut rec = CommandRecognizer::new(RecognizerConfig::default())?;
    let report = crate::eval::evaluate(&set, &tts, &mut rec)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.table());
        for m in &report.misses {
            let noise = m.noise_snr_db.map(|d| format!("{d} dB")).unwrap_or_else(|| "clean".into());
            let got = m.got.map(|c| c.phrase()).unwrap_or_else(|| "no command".into());
            println!("  miss: {} {} wpm {noise}: \"{}\" -> {got} (heard \"{}\")", m.voice, m.rate_wpm, m.text, m.words);
        }
    }
    Ok(())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() { 0.0 } else { v[v.len() / 2] }
}

/// `pitbox bench voice`: synthesis latency of a 10-word callout (espeak-ng), and recognition
/// latency after the end of an utterance plus real-time factor (PocketSphinx), printed.
pub fn bench() -> anyhow::Result<()> {
    let tts = EspeakNg::new();
    tts.available()?;
    let callout = "Box this lap, fuel for three laps, gap two seconds.";
    let words = callout.split_whitespace().count();
    let req = SpeechRequest::new(callout, "en-us");
    let mut synth = Vec::new();
    let mut audio_len = 0.0;
    for _ in 0..10 {
        let t = Instant::now();
        let a = tts.synthesize_blocking(&req)?;
        synth.push(t.elapsed().as_secs_f64());
        audio_len = a.duration();
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut synth_async = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        rt.block_on(tts.synthesize(&req))?;
        synth_async.push(t.elapsed().as_secs_f64());
    }
    println!(
        "synthesis ({words}-word callout, {audio_len:.2} s of audio): median {:.1} ms, async median {:.1} ms (goal < 150 ms)",
        median(&mut synth) * 1e3,
        median(&mut synth_async) * 1e3
    );

    let mut rec = CommandRecognizer::new(RecognizerConfig::default())?;
    let mut after_end = Vec::new();
    let mut batch = Vec::new();
    let (mut decode_total, mut audio_total) = (0.0, 0.0);
    let mut correct = 0;
    let commands = VoiceCommand::all();
    for c in &commands {
        let a = tts.synthesize_blocking(&SpeechRequest::new(c.phrase(), "en-us"))?.resample(RECOGNITION_RATE);
        let t0 = Instant::now();
        rec.start()?;
        // Feed as a microphone would: 100 ms at a time (the decoder keeps up while the driver talks).
        for chunk in a.samples.chunks(1_600) {
            rec.feed(chunk)?;
        }
        let t_end = Instant::now();
        let r = rec.finish(a.duration())?;
        after_end.push(t_end.elapsed().as_secs_f64());
        decode_total += t0.elapsed().as_secs_f64();
        audio_total += a.duration();
        if r.command == Some(*c) {
            correct += 1;
        }
        // The same utterance decoded at once after it ended (a file, or no streaming).
        let t = Instant::now();
        rec.recognize(&a)?;
        batch.push(t.elapsed().as_secs_f64());
    }
    println!(
        "recognition ({} commands, {audio_total:.1} s of audio): latency after end of utterance median {:.1} ms, max {:.1} ms (goal < 100 ms); real-time factor {:.3}; {correct}/{} right",
        commands.len(),
        median(&mut after_end.clone()) * 1e3,
        after_end.iter().cloned().fold(0.0, f64::max) * 1e3,
        decode_total / audio_total.max(1e-9),
        commands.len()
    );
    println!(
        "recognition of a whole recorded utterance at once (e.g. `pitbox voice listen`): median {:.1} ms, max {:.1} ms",
        median(&mut batch.clone()) * 1e3,
        batch.iter().cloned().fold(0.0, f64::max) * 1e3
    );
    Ok(())
}
