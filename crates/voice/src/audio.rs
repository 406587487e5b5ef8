//! Mono 16-bit PCM audio: the one sample format every part of the crate uses, with a strict WAV
//! reader (untrusted files: every malformed header is a precise [`WavError`], never a panic), a
//! WAV writer, resampling, mixing and noise.

use std::fmt;

/// Mono signed 16-bit PCM audio at `sample_rate` Hz.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Audio {
    /// Samples per second.
    pub sample_rate: u32,
    /// One sample per tick.
    pub samples: Vec<i16>,
}

impl fmt::Debug for Audio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Audio({} Hz, {} samples, {:.3} s)", self.sample_rate, self.samples.len(), self.duration())
    }
}

/// The rate PocketSphinx's en-us model expects.
pub const RECOGNITION_RATE: u32 = 16_000;
/// The rate of everything the radio plays (espeak-ng's native rate).
pub const PLAYBACK_RATE: u32 = 22_050;
/// Largest WAV file accepted (1 hour of 48 kHz stereo 16-bit is ~660 MB; commands are seconds).
pub const MAX_WAV_BYTES: usize = 256 * 1024 * 1024;

/// Why a byte string is not a WAV file this crate reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WavError {
    #[error("not a WAV file: {0}")]
    NotWav(&'static str),
    #[error("truncated WAV file: {0}")]
    Truncated(&'static str),
    #[error("unsupported WAV format: {0}")]
    Unsupported(String),
    #[error("invalid WAV header: {0}")]
    Invalid(String),
    #[error("WAV file too large: {0} bytes (at most {MAX_WAV_BYTES})")]
    TooLarge(usize),
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2).map(|s| u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

const FORMAT_PCM: u16 = 1;
const FORMAT_FLOAT: u16 = 3;
const FORMAT_EXTENSIBLE: u16 = 0xFFFE;

impl Audio {
    /// Audio from samples.
    pub fn new(sample_rate: u32, samples: Vec<i16>) -> Self {
        Self { sample_rate, samples }
    }

    /// `seconds` of silence.
    pub fn silence(sample_rate: u32, seconds: f64) -> Self {
        let n = (seconds.max(0.0) * f64::from(sample_rate)).round() as usize;
        Self { sample_rate, samples: vec![0; n] }
    }

    /// Length in seconds.
    pub fn duration(&self) -> f64 {
        if self.sample_rate == 0 { 0.0 } else { self.samples.len() as f64 / f64::from(self.sample_rate) }
    }

    /// Reads a RIFF/WAVE file: PCM 8/16/24/32-bit or IEEE float 32/64-bit, any channel count
    /// (channels are averaged to mono). A data chunk whose size runs past the end of the file is
    /// cut to the bytes present (streaming writers such as `espeak-ng --stdout` leave the size
    /// unset), but never beyond them.
    pub fn from_wav(bytes: &[u8]) -> Result<Self, WavError> {
        if bytes.len() > MAX_WAV_BYTES {
            return Err(WavError::TooLarge(bytes.len()));
        }
        if bytes.len() < 12 {
            return Err(WavError::Truncated("shorter than the 12-byte RIFF header"));
        }
        if &bytes[0..4] != b"RIFF" {
            return Err(WavError::NotWav("does not start with RIFF"));
        }
        if &bytes[8..12] != b"WAVE" {
            return Err(WavError::NotWav("RIFF type is not WAVE"));
        }
        let mut at = 12usize;
        let mut fmt: Option<(u16, u16, u32, u16, u16)> = None; // format, channels, rate, block align, bits
        loop {
            let Some(id) = bytes.get(at..at + 4) else {
                return Err(WavError::Truncated("no data chunk"));
            };
            let size = u32_at(bytes, at + 4).ok_or(WavError::Truncated("chunk header cut short"))? as usize;
            let body = at + 8;
            if id == b"fmt " {
                if size < 16 {
                    return Err(WavError::Invalid(format!("fmt chunk is {size} bytes, at least 16 expected")));
                }
                let b = bytes.get(body..body + 16).ok_or(WavError::Truncated("fmt chunk cut short"))?;
                let mut format = u16_at(b, 0).unwrap_or(0);
                let channels = u16_at(b, 2).unwrap_or(0);
                let rate = u32_at(b, 4).unwrap_or(0);
                let align = u16_at(b, 12).unwrap_or(0);
                let bits = u16_at(b, 14).unwrap_or(0);
                if format == FORMAT_EXTENSIBLE {
                    // WAVE_FORMAT_EXTENSIBLE: the real format is the first 2 bytes of the sub-format GUID.
                    if size < 40 {
                        return Err(WavError::Invalid(format!("extensible fmt chunk is {size} bytes, 40 expected")));
                    }
                    format = u16_at(bytes, body + 24).ok_or(WavError::Truncated("fmt chunk cut short"))?;
                }
                fmt = Some((format, channels, rate, align, bits));
            } else if id == b"data" {
                let (format, channels, rate, align, bits) =
                    fmt.ok_or(WavError::Invalid("data chunk before the fmt chunk".into()))?;
                let end = body.saturating_add(size).min(bytes.len());
                let data = bytes.get(body..end).unwrap_or(&[]);
                return decode_pcm(data, format, channels, rate, align, bits);
            }
            // Chunks are padded to an even size.
            let next = body.checked_add(size).and_then(|n| n.checked_add(size & 1));
            match next {
                Some(n) if n <= bytes.len() => at = n,
                _ => return Err(WavError::Truncated("a chunk runs past the end of the file before the data chunk")),
            }
        }
    }

    /// This audio as a 16-bit mono PCM WAV file.
    pub fn to_wav(&self) -> Vec<u8> {
        let data_len = (self.samples.len() * 2) as u32;
        let mut out = Vec::with_capacity(44 + self.samples.len() * 2);
        out.extend_from_slice(b"RIFF");
        out.extend_from_slice(&(36 + data_len).to_le_bytes());
        out.extend_from_slice(b"WAVEfmt ");
        out.extend_from_slice(&16u32.to_le_bytes());
        out.extend_from_slice(&FORMAT_PCM.to_le_bytes());
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&self.sample_rate.to_le_bytes());
        out.extend_from_slice(&(self.sample_rate * 2).to_le_bytes());
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(&16u16.to_le_bytes());
        out.extend_from_slice(b"data");
        out.extend_from_slice(&data_len.to_le_bytes());
        for s in &self.samples {
            out.extend_from_slice(&s.to_le_bytes());
        }
        out
    }

    /// Raw little-endian 16-bit PCM (ElevenLabs' `pcm_*` output formats) as audio.
    pub fn from_pcm16le(sample_rate: u32, bytes: &[u8]) -> Self {
        let samples = bytes.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect();
        Self { sample_rate, samples }
    }

    /// This audio at `rate` Hz (windowed-sinc interpolation, low-passed when going down).
    pub fn resample(&self, rate: u32) -> Audio {
        if rate == self.sample_rate || self.sample_rate == 0 || rate == 0 || self.samples.is_empty() {
            return Audio {
                sample_rate: if rate == 0 { self.sample_rate } else { rate },
                samples: self.samples.clone(),
            };
        }
        let ratio = f64::from(rate) / f64::from(self.sample_rate);
        let cutoff = ratio.min(1.0) * 0.95;
        let half = 12i64; // taps either side, in input samples (scaled when low-passing)
        let width = (half as f64 / cutoff).ceil() as i64;
        let n_out = ((self.samples.len() as f64) * ratio).round() as usize;
        let src = &self.samples;
        let mut out = Vec::with_capacity(n_out);
        for i in 0..n_out {
            let t = i as f64 / ratio;
            let center = t.floor() as i64;
            let mut acc = 0.0f64;
            let mut wsum = 0.0f64;
            for k in (center - width + 1)..=(center + width) {
                if k < 0 || k as usize >= src.len() {
                    continue;
                }
                let x = t - k as f64;
                let arg = x * cutoff;
                let sinc = if arg.abs() < 1e-9 {
                    1.0
                } else {
                    (std::f64::consts::PI * arg).sin() / (std::f64::consts::PI * arg)
                };
                // Hann window over ±width.
                let w = 0.5 + 0.5 * (std::f64::consts::PI * x / width as f64).cos();
                let c = sinc * w;
                acc += f64::from(src[k as usize]) * c;
                wsum += c;
            }
            let v = if wsum.abs() > 1e-9 { acc / wsum } else { 0.0 };
            out.push(clamp16(v));
        }
        Audio { sample_rate: rate, samples: out }
    }

    /// Appends `other` (resampled to this rate when it differs).
    pub fn append(&mut self, other: &Audio) {
        if other.sample_rate == self.sample_rate || other.samples.is_empty() {
            self.samples.extend_from_slice(&other.samples);
        } else {
            self.samples.extend_from_slice(&other.resample(self.sample_rate).samples);
        }
    }

    /// Multiplies every sample by `gain`.
    pub fn scaled(&self, gain: f64) -> Audio {
        Audio {
            sample_rate: self.sample_rate,
            samples: self.samples.iter().map(|&s| clamp16(f64::from(s) * gain)).collect(),
        }
    }

    /// Root-mean-square level, 0–32768.
    pub fn rms(&self) -> f64 {
        if self.samples.is_empty() {
            return 0.0;
        }
        let sum: f64 = self.samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
        (sum / self.samples.len() as f64).sqrt()
    }

    /// This audio with white noise added at `snr_db` signal-to-noise ratio (noise level set
    /// from the RMS of the signal), from a seeded generator so tests are repeatable.
    pub fn with_noise(&self, snr_db: f64, seed: u64) -> Audio {
        let signal = self.rms().max(1.0);
        let noise_rms = signal / 10f64.powf(snr_db / 20.0);
        let mut rng = XorShift(seed | 1);
        let samples = self
            .samples
            .iter()
            .map(|&s| {
                // Sum of 4 uniforms ≈ Gaussian; variance of U(-1,1) is 1/3, so 4 of them: 4/3.
                let g: f64 = (0..4).map(|_| rng.uniform()).sum::<f64>() / (4.0f64 / 3.0).sqrt();
                clamp16(f64::from(s) + g * noise_rms)
            })
            .collect();
        Audio { sample_rate: self.sample_rate, samples }
    }

    /// Trims leading and trailing samples quieter than `threshold` (absolute), keeping `pad`
    /// seconds either side.
    pub fn trimmed(&self, threshold: i16, pad: f64) -> Audio {
        let loud = |s: &i16| s.unsigned_abs() > threshold.unsigned_abs();
        let Some(first) = self.samples.iter().position(loud) else {
            return Audio { sample_rate: self.sample_rate, samples: Vec::new() };
        };
        let last = self.samples.iter().rposition(loud).unwrap_or(first);
        let pad = (pad * f64::from(self.sample_rate)) as usize;
        let start = first.saturating_sub(pad);
        let end = (last + 1 + pad).min(self.samples.len());
        Audio { sample_rate: self.sample_rate, samples: self.samples[start..end].to_vec() }
    }
}

/// Rounds and saturates to 16 bits.
pub fn clamp16(v: f64) -> i16 {
    v.round().clamp(f64::from(i16::MIN), f64::from(i16::MAX)) as i16
}

/// A tiny deterministic generator for noise (not for anything secret).
#[derive(Debug, Clone)]
pub struct XorShift(pub u64);

impl XorShift {
    /// Next raw value.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform in [-1, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
}

fn decode_pcm(data: &[u8], format: u16, channels: u16, rate: u32, align: u16, bits: u16) -> Result<Audio, WavError> {
    if channels == 0 {
        return Err(WavError::Invalid("0 channels".into()));
    }
    if !(1_000..=384_000).contains(&rate) {
        return Err(WavError::Invalid(format!("sample rate {rate} Hz is outside 1000–384000")));
    }
    let bytes_per_sample = match (format, bits) {
        (FORMAT_PCM, 8) => 1,
        (FORMAT_PCM, 16) => 2,
        (FORMAT_PCM, 24) => 3,
        (FORMAT_PCM, 32) | (FORMAT_FLOAT, 32) => 4,
        (FORMAT_FLOAT, 64) => 8,
        (FORMAT_PCM | FORMAT_FLOAT, b) => {
            return Err(WavError::Unsupported(format!("{b}-bit samples")));
        }
        (f, _) => return Err(WavError::Unsupported(format!("format code {f:#06x} (PCM or IEEE float expected)"))),
    };
    let frame = usize::from(channels) * bytes_per_sample;
    if usize::from(align) != frame {
        return Err(WavError::Invalid(format!(
            "block align {align} does not match {channels} channel(s) of {bits}-bit samples ({frame})"
        )));
    }
    let mut samples = Vec::with_capacity(data.len() / frame);
    for f in data.chunks_exact(frame) {
        let mut acc = 0.0f64;
        for c in f.chunks_exact(bytes_per_sample) {
            acc += match (format, bytes_per_sample) {
                (FORMAT_PCM, 1) => (f64::from(c[0]) - 128.0) * 256.0,
                (FORMAT_PCM, 2) => f64::from(i16::from_le_bytes([c[0], c[1]])),
                (FORMAT_PCM, 3) => f64::from(i32::from_le_bytes([0, c[0], c[1], c[2]]) >> 8) / 256.0,
                (FORMAT_PCM, 4) => f64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])) / 65_536.0,
                (_, 4) => {
                    let v = f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]]));
                    if v.is_finite() { v * 32_767.0 } else { 0.0 }
                }
                _ => {
                    let v = f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
                    if v.is_finite() { v * 32_767.0 } else { 0.0 }
                }
            };
        }
        samples.push(clamp16(acc / f64::from(channels)));
    }
    Ok(Audio { sample_rate: rate, samples })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, hz: f64, secs: f64) -> Audio {
        let n = (f64::from(rate) * secs) as usize;
        let samples = (0..n)
            .map(|i| clamp16(10_000.0 * (2.0 * std::f64::consts::PI * hz * i as f64 / f64::from(rate)).sin()))
            .collect();
        Audio::new(rate, samples)
    }

    #[test]
    fn wav_round_trip() {
        let a = tone(22_050, 440.0, 0.1);
        let back = Audio::from_wav(&a.to_wav()).unwrap();
        assert_eq!(a, back);
    }

    #[test]
    fn streaming_size_is_cut_to_the_bytes_present() {
        let a = tone(16_000, 300.0, 0.05);
        let mut wav = a.to_wav();
        wav[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
        wav[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(Audio::from_wav(&wav).unwrap(), a);
    }

    #[test]
    fn stereo_and_float_become_mono() {
        // 2 channels of 32-bit float: L = 0.5, R = -0.5 → 0; L = R = 0.5 → 16384.
        let mut wav = Vec::new();
        let frames: [[f32; 2]; 2] = [[0.5, -0.5], [0.5, 0.5]];
        wav.extend_from_slice(b"RIFF\0\0\0\0WAVEfmt ");
        wav.extend_from_slice(&16u32.to_le_bytes());
        wav.extend_from_slice(&3u16.to_le_bytes());
        wav.extend_from_slice(&2u16.to_le_bytes());
        wav.extend_from_slice(&8_000u32.to_le_bytes());
        wav.extend_from_slice(&64_000u32.to_le_bytes());
        wav.extend_from_slice(&8u16.to_le_bytes());
        wav.extend_from_slice(&32u16.to_le_bytes());
        wav.extend_from_slice(b"data");
        wav.extend_from_slice(&16u32.to_le_bytes());
        for f in frames {
            for s in f {
                wav.extend_from_slice(&s.to_le_bytes());
            }
        }
        let a = Audio::from_wav(&wav).unwrap();
        assert_eq!(a.sample_rate, 8_000);
        assert_eq!(a.samples, vec![0, 16_384]);
    }

    #[test]
    fn malformed_headers_get_precise_errors() {
        assert_eq!(Audio::from_wav(b"RIFF").unwrap_err(), WavError::Truncated("shorter than the 12-byte RIFF header"));
        assert_eq!(Audio::from_wav(b"RIFX\0\0\0\0WAVE").unwrap_err(), WavError::NotWav("does not start with RIFF"));
        assert_eq!(Audio::from_wav(b"RIFF\0\0\0\0AVI ").unwrap_err(), WavError::NotWav("RIFF type is not WAVE"));
        let mut wav = tone(16_000, 100.0, 0.01).to_wav();
        wav[22..24].copy_from_slice(&0u16.to_le_bytes());
        assert_eq!(Audio::from_wav(&wav).unwrap_err(), WavError::Invalid("0 channels".into()));
        let mut wav = tone(16_000, 100.0, 0.01).to_wav();
        wav[20..22].copy_from_slice(&2u16.to_le_bytes());
        assert!(matches!(Audio::from_wav(&wav).unwrap_err(), WavError::Unsupported(m) if m.contains("0x0002")));
        let mut wav = tone(16_000, 100.0, 0.01).to_wav();
        wav[16..20].copy_from_slice(&1_000_000u32.to_le_bytes());
        assert!(matches!(Audio::from_wav(&wav).unwrap_err(), WavError::Truncated(_)));
        let mut wav = tone(16_000, 100.0, 0.01).to_wav();
        wav[32..34].copy_from_slice(&3u16.to_le_bytes());
        assert!(matches!(Audio::from_wav(&wav).unwrap_err(), WavError::Invalid(m) if m.contains("block align 3")));
    }

    #[test]
    fn resampling_keeps_pitch_and_length() {
        let a = tone(22_050, 440.0, 0.5);
        let b = a.resample(16_000);
        assert_eq!(b.sample_rate, 16_000);
        assert_eq!(b.samples.len(), 8_000);
        // Same tone: zero crossings ≈ 2 × 440 × 0.5.
        let zc = b.samples.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
        assert!((430..=450).contains(&zc), "{zc} zero crossings");
        assert!((b.rms() - a.rms()).abs() / a.rms() < 0.05);
    }

    #[test]
    fn noise_has_the_requested_level() {
        let a = tone(16_000, 440.0, 1.0);
        let n = a.with_noise(10.0, 7);
        let diff = Audio::new(16_000, n.samples.iter().zip(&a.samples).map(|(x, y)| x - y).collect());
        let snr = 20.0 * (a.rms() / diff.rms()).log10();
        assert!((snr - 10.0).abs() < 0.5, "snr {snr}");
    }
}
