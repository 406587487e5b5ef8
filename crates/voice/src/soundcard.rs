//! The sound card through cpal (cargo feature `sound-card`; on Linux it needs ALSA's
//! `libasound2-dev` to build): [`CpalSink`] plays radio clips, [`CpalMicrophone`] captures the
//! driver's voice for push-to-talk. Either is the system's default device or one the driver
//! names ([`crate::devices::pick_device`]); [`output_devices`] and [`input_devices`] list them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, Sample, SizedSample};

use crate::audio::{Audio, clamp16};
use crate::ptt::Microphone;
use crate::radio::{AudioSink, SinkError};

fn dev(e: impl std::fmt::Display) -> SinkError {
    SinkError::Device(e.to_string())
}

/// The output devices' names, as `--voice-out sound-card:NAME` takes them.
pub fn output_devices() -> Result<Vec<String>, SinkError> {
    let host = cpal::default_host();
    Ok(host.output_devices().map_err(dev)?.map(|d| d.name().unwrap_or_else(|e| format!("(unnamed: {e})"))).collect())
}

/// The input devices' names, as `--voice-in mic:NAME` takes them.
pub fn input_devices() -> Result<Vec<String>, SinkError> {
    let host = cpal::default_host();
    Ok(host.input_devices().map_err(dev)?.map(|d| d.name().unwrap_or_else(|e| format!("(unnamed: {e})"))).collect())
}

/// The device `wanted` names among `devices` (see [`crate::devices::pick_device`]).
fn named(devices: impl Iterator<Item = cpal::Device>, wanted: &str, what: &str) -> Result<cpal::Device, SinkError> {
    let mut devices: Vec<cpal::Device> = devices.collect();
    let names: Vec<String> = devices.iter().map(|d| d.name().unwrap_or_default()).collect();
    let i = crate::devices::pick_device(&names, wanted, what).map_err(SinkError::Device)?;
    Ok(devices.swap_remove(i))
}

/// Plays on the default output device or a named one.
pub struct CpalSink {
    device: cpal::Device,
    config: cpal::SupportedStreamConfig,
}

impl std::fmt::Debug for CpalSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CpalSink").field("config", &self.config).finish()
    }
}

impl CpalSink {
    /// The default output device in its default format.
    pub fn open() -> Result<Self, SinkError> {
        Self::open_device(None)
    }

    /// The output device `wanted` names (None: the default one), in its default format.
    pub fn open_device(wanted: Option<&str>) -> Result<Self, SinkError> {
        let host = cpal::default_host();
        let device = match wanted {
            None => host.default_output_device().ok_or_else(|| dev("no default output device"))?,
            Some(w) => named(host.output_devices().map_err(dev)?, w, "output")?,
        };
        let config = device.default_output_config().map_err(dev)?;
        Ok(Self { device, config })
    }

    /// The device's name, for the status.
    pub fn device_name(&self) -> String {
        self.device.name().unwrap_or_else(|_| "unnamed output device".into())
    }

    fn play_as<T>(&self, samples: Arc<Vec<f32>>, stop: &AtomicBool) -> Result<usize, SinkError>
    where
        T: SizedSample + FromSample<f32>,
    {
        let config: cpal::StreamConfig = self.config.clone().into();
        let channels = usize::from(config.channels.max(1));
        let pos = Arc::new(AtomicUsize::new(0));
        let (p, s) = (pos.clone(), samples.clone());
        let stream = self
            .device
            .build_output_stream(
                &config,
                move |data: &mut [T], _: &cpal::OutputCallbackInfo| {
                    let mut at = p.load(Ordering::Acquire);
                    for frame in data.chunks_mut(channels) {
                        let v = s.get(at).copied().unwrap_or(0.0);
                        for out in frame.iter_mut() {
                            *out = T::from_sample(v);
                        }
                        at += 1;
                    }
                    p.store(at, Ordering::Release);
                },
                |e| tracing::warn!("sound card: {e}"),
                None,
            )
            .map_err(dev)?;
        stream.play().map_err(dev)?;
        while pos.load(Ordering::Acquire) < samples.len() && !stop.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(stream);
        Ok(pos.load(Ordering::Acquire).min(samples.len()))
    }
}

impl AudioSink for CpalSink {
    fn play(&mut self, audio: &Audio, _label: &str, stop: &AtomicBool) -> Result<f64, SinkError> {
        let rate = self.config.sample_rate().0;
        let a = audio.resample(rate);
        let samples: Arc<Vec<f32>> = Arc::new(a.samples.iter().map(|&s| f32::from(s) / 32_768.0).collect());
        let played = match self.config.sample_format() {
            cpal::SampleFormat::F32 => self.play_as::<f32>(samples, stop)?,
            cpal::SampleFormat::I16 => self.play_as::<i16>(samples, stop)?,
            cpal::SampleFormat::U16 => self.play_as::<u16>(samples, stop)?,
            cpal::SampleFormat::I32 => self.play_as::<i32>(samples, stop)?,
            other => return Err(dev(format!("unsupported output sample format {other}"))),
        };
        Ok(played as f64 / f64::from(rate.max(1)))
    }
}

/// Captures from the default input device or a named one (mono mix), on a thread that owns the
/// stream.
pub struct CpalMicrophone {
    rate: u32,
    device_name: String,
    rx: Receiver<Vec<i16>>,
    stop: Arc<AtomicBool>,
}

impl std::fmt::Debug for CpalMicrophone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CpalMicrophone").field("rate", &self.rate).finish()
    }
}

fn input_stream<T>(
    device: &cpal::Device,
    config: &cpal::StreamConfig,
    tx: mpsc::Sender<Vec<i16>>,
) -> Result<cpal::Stream, SinkError>
where
    T: SizedSample,
    f32: FromSample<T>,
{
    let channels = usize::from(config.channels.max(1));
    device
        .build_input_stream(
            config,
            move |data: &[T], _: &cpal::InputCallbackInfo| {
                let mono: Vec<i16> = data
                    .chunks(channels)
                    .map(|f| {
                        let sum: f32 = f.iter().map(|s| f32::from_sample(*s)).sum();
                        clamp16(f64::from(sum / channels as f32) * 32_767.0)
                    })
                    .collect();
                let _ = tx.send(mono);
            },
            |e| tracing::warn!("microphone: {e}"),
            None,
        )
        .map_err(dev)
}

impl CpalMicrophone {
    /// Opens the default input device and starts capturing.
    pub fn open() -> Result<Self, SinkError> {
        Self::open_device(None)
    }

    /// Opens the input device `wanted` names (None: the default one) and starts capturing.
    pub fn open_device(wanted: Option<&str>) -> Result<Self, SinkError> {
        let wanted = wanted.map(str::to_string);
        let (tx, rx) = mpsc::channel();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(u32, String), SinkError>>();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        std::thread::Builder::new()
            .name("pitbox-mic".into())
            .spawn(move || {
                let run = || -> Result<(cpal::Stream, u32, String), SinkError> {
                    let host = cpal::default_host();
                    let device = match wanted.as_deref() {
                        None => host.default_input_device().ok_or_else(|| dev("no default input device"))?,
                        Some(w) => named(host.input_devices().map_err(dev)?, w, "input")?,
                    };
                    let name = device.name().unwrap_or_else(|_| "unnamed input device".into());
                    let supported = device.default_input_config().map_err(dev)?;
                    let config: cpal::StreamConfig = supported.clone().into();
                    let stream = match supported.sample_format() {
                        cpal::SampleFormat::F32 => input_stream::<f32>(&device, &config, tx)?,
                        cpal::SampleFormat::I16 => input_stream::<i16>(&device, &config, tx)?,
                        cpal::SampleFormat::U16 => input_stream::<u16>(&device, &config, tx)?,
                        cpal::SampleFormat::I32 => input_stream::<i32>(&device, &config, tx)?,
                        other => return Err(dev(format!("unsupported input sample format {other}"))),
                    };
                    stream.play().map_err(dev)?;
                    Ok((stream, config.sample_rate.0, name))
                };
                match run() {
                    Ok((stream, rate, name)) => {
                        let _ = ready_tx.send(Ok((rate, name)));
                        while !stop2.load(Ordering::Acquire) {
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        drop(stream);
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
            })
            .map_err(dev)?;
        let (rate, device_name) =
            ready_rx.recv_timeout(Duration::from_secs(5)).map_err(|_| dev("microphone did not start"))??;
        Ok(Self { rate, device_name, rx, stop })
    }

    /// The device's name, for the status.
    pub fn device_name(&self) -> &str {
        &self.device_name
    }
}

impl Drop for CpalMicrophone {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

impl Microphone for CpalMicrophone {
    fn sample_rate(&self) -> u32 {
        self.rate
    }

    fn read(&mut self, out: &mut Vec<i16>, max_wait: Duration) -> std::io::Result<()> {
        match self.rx.recv_timeout(max_wait) {
            Ok(v) => out.extend(v),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "microphone stopped"));
            }
        }
        while let Ok(v) = self.rx.try_recv() {
            out.extend(v);
        }
        Ok(())
    }
}
