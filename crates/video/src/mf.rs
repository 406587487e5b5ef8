//! The hardware H.264 encoder on Windows: Media Foundation's encoder transform of the GPU's
//! vendor (NVENC, AMF or Quick Sync), found with `MFTEnumEx` for NV12 → H.264, set to what
//! [`crate::encoder::H264Encoder`] makes with openh264 — baseline profile, no B-frames, a
//! keyframe every `keyframe_interval_ms` and on request, constant bitrate, low-latency mode — and
//! giving the same [`EncodedFrame`]s (Annex-B, a keyframe with SPS and PPS before it).
//!
//! When the PC has no hardware encoder, [`MfH264Encoder::new`] says so
//! ([`EncoderError::NoHardwareEncoder`]) and the caller falls back to openh264. Pictures are
//! copied from I420 into an NV12 buffer in memory; feeding the captured D3D11 texture without the
//! copy (`IMFDXGIDeviceManager`) is left for later.
//!
//! **Untested**: neither this machine nor wine has Media Foundation's encoders. It compiles for
//! `x86_64-pc-windows-gnu` in CI; docs/video.md says so. Hardware encoders are asynchronous
//! transforms: they ask for input and hand out output through events, which are read without
//! waiting, so a busy encoder makes the caller drop a picture instead of blocking.

use std::collections::VecDeque;
use std::mem::ManuallyDrop;

use windows::Win32::Media::MediaFoundation::{
    CODECAPI_AVEncCommonMeanBitRate, CODECAPI_AVEncCommonRateControlMode, CODECAPI_AVEncMPVGOPSize,
    CODECAPI_AVEncVideoForceKeyFrame, CODECAPI_AVLowLatencyMode, ICodecAPI, IMFActivate, IMFMediaEventGenerator,
    IMFSample, IMFTransform, METransformHaveOutput, METransformNeedInput, MF_E_NO_EVENTS_AVAILABLE,
    MF_E_TRANSFORM_NEED_MORE_INPUT, MF_E_TRANSFORM_STREAM_CHANGE, MF_EVENT_FLAG_NO_WAIT, MF_MT_AVG_BITRATE,
    MF_MT_DEFAULT_STRIDE, MF_MT_FRAME_RATE, MF_MT_FRAME_SIZE, MF_MT_INTERLACE_MODE, MF_MT_MAJOR_TYPE,
    MF_MT_MPEG_SEQUENCE_HEADER, MF_MT_MPEG2_PROFILE, MF_MT_PIXEL_ASPECT_RATIO, MF_MT_SUBTYPE, MF_TRANSFORM_ASYNC,
    MF_TRANSFORM_ASYNC_UNLOCK, MF_VERSION, MFCreateMediaType, MFCreateMemoryBuffer, MFCreateSample, MFMediaType_Video,
    MFSTARTUP_LITE, MFSampleExtension_CleanPoint, MFShutdown, MFStartup, MFT_CATEGORY_VIDEO_ENCODER,
    MFT_ENUM_FLAG_HARDWARE, MFT_ENUM_FLAG_SORTANDFILTER, MFT_MESSAGE_NOTIFY_BEGIN_STREAMING,
    MFT_MESSAGE_NOTIFY_START_OF_STREAM, MFT_OUTPUT_DATA_BUFFER, MFT_OUTPUT_STREAM_CAN_PROVIDE_SAMPLES,
    MFT_OUTPUT_STREAM_PROVIDES_SAMPLES, MFT_REGISTER_TYPE_INFO, MFTEnumEx, MFVideoFormat_H264, MFVideoFormat_NV12,
    MFVideoInterlace_Progressive, eAVEncCommonRateControlMode_CBR, eAVEncH264VProfile_Base,
};
use windows::Win32::System::Com::{COINIT_MULTITHREADED, CoInitializeEx, CoTaskMemFree};
use windows::Win32::System::Variant::{VARIANT, VT_BOOL, VT_UI4};
use windows::core::Interface;

use crate::encoder::{EncodedFrame, EncoderError, EncoderSettings};
use crate::frame::I420Frame;
use crate::nal;

/// 100-nanosecond units a second: Media Foundation's clock.
const HNS: i64 = 10_000_000;

fn mf(what: &'static str) -> impl Fn(windows::core::Error) -> EncoderError {
    move |e| EncoderError::MediaFoundation(format!("{what}: {e}"))
}

fn variant_u32(v: u32) -> VARIANT {
    let mut var = VARIANT::default();
    // SAFETY: a VARIANT is a tagged union; the tag says which member is set.
    unsafe {
        (*var.Anonymous.Anonymous).vt = VT_UI4;
        (*var.Anonymous.Anonymous).Anonymous.ulVal = v;
    }
    var
}

fn variant_true() -> VARIANT {
    let mut var = VARIANT::default();
    // SAFETY: as above; VARIANT_TRUE is -1.
    unsafe {
        (*var.Anonymous.Anonymous).vt = VT_BOOL;
        (*var.Anonymous.Anonymous).Anonymous.boolVal = windows::Win32::Foundation::VARIANT_TRUE;
    }
    var
}

/// A hardware H.264 encoder (see the module's notes). Made on the thread that uses it: its COM
/// objects stay there.
pub struct MfH264Encoder {
    settings: EncoderSettings,
    transform: IMFTransform,
    events: Option<IMFMediaEventGenerator>,
    codec_api: Option<ICodecAPI>,
    name: String,
    /// Input the asynchronous transform has asked for and not yet been given.
    wanted: u32,
    frames_in: u64,
    /// Capture times of the pictures given, in order, matched to the output as it comes.
    pending: VecDeque<(u64, u64)>,
    ready: VecDeque<EncodedFrame>,
    /// SPS and PPS from the output type, for encoders that do not repeat them in keyframes.
    sequence_header: Vec<u8>,
    codec: Option<String>,
}

impl std::fmt::Debug for MfH264Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfH264Encoder")
            .field("name", &self.name)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl MfH264Encoder {
    /// Finds the first hardware H.264 encoder and sets it up for `settings`.
    pub fn new(settings: EncoderSettings) -> Result<Self, EncoderError> {
        settings.validate()?;
        // SAFETY: plain Media Foundation and COM calls; every pointer handed over lives across
        // the call, and the activation array is freed as MFTEnumEx's contract says.
        unsafe {
            // S_FALSE (already initialised) and a different apartment are both fine here.
            let _ = CoInitializeEx(None, COINIT_MULTITHREADED);
            MFStartup(MF_VERSION, MFSTARTUP_LITE).map_err(mf("MFStartup"))?;
            let input = MFT_REGISTER_TYPE_INFO { guidMajorType: MFMediaType_Video, guidSubtype: MFVideoFormat_NV12 };
            let output = MFT_REGISTER_TYPE_INFO { guidMajorType: MFMediaType_Video, guidSubtype: MFVideoFormat_H264 };
            let mut list: *mut Option<IMFActivate> = std::ptr::null_mut();
            let mut count = 0u32;
            MFTEnumEx(
                MFT_CATEGORY_VIDEO_ENCODER,
                MFT_ENUM_FLAG_HARDWARE | MFT_ENUM_FLAG_SORTANDFILTER,
                Some(&input),
                Some(&output),
                &mut list,
                &mut count,
            )
            .map_err(mf("MFTEnumEx"))?;
            let activates: Vec<IMFActivate> = if list.is_null() {
                Vec::new()
            } else {
                let v =
                    std::slice::from_raw_parts_mut(list, count as usize).iter_mut().filter_map(Option::take).collect();
                CoTaskMemFree(Some(list.cast()));
                v
            };
            let Some(activate) = activates.first() else {
                let _ = MFShutdown();
                return Err(EncoderError::NoHardwareEncoder);
            };
            let name = friendly_name(activate);
            let transform: IMFTransform = activate.ActivateObject().map_err(mf("activating the encoder"))?;
            let mut events = None;
            if let Ok(attrs) = transform.GetAttributes()
                && attrs.GetUINT32(&MF_TRANSFORM_ASYNC).unwrap_or(0) == 1
            {
                attrs.SetUINT32(&MF_TRANSFORM_ASYNC_UNLOCK, 1).map_err(mf("unlocking the asynchronous encoder"))?;
                events = Some(transform.cast::<IMFMediaEventGenerator>().map_err(mf("its event generator"))?);
            }
            let codec_api = transform.cast::<ICodecAPI>().ok();
            let mut enc = MfH264Encoder {
                settings,
                transform,
                events,
                codec_api,
                name,
                wanted: 0,
                frames_in: 0,
                pending: VecDeque::new(),
                ready: VecDeque::new(),
                sequence_header: Vec::new(),
                codec: None,
            };
            enc.configure()?;
            Ok(enc)
        }
    }

    /// The encoder's name as Windows lists it (e.g. "NVIDIA H.264 Encoder MFT").
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn settings(&self) -> &EncoderSettings {
        &self.settings
    }

    /// The WebCodecs codec string, once the first keyframe came out.
    pub fn codec(&self) -> Option<&str> {
        self.codec.as_deref()
    }

    fn configure(&mut self) -> Result<(), EncoderError> {
        let s = self.settings;
        let (w, h) = (s.width as u64, s.height as u64);
        // SAFETY: plain Media Foundation calls on live objects; the types are set before use.
        unsafe {
            if let Some(api) = &self.codec_api {
                // Each is a wish: an encoder that lacks one still encodes.
                let _ = api.SetValue(&CODECAPI_AVLowLatencyMode, &variant_true());
                let _ = api.SetValue(
                    &CODECAPI_AVEncCommonRateControlMode,
                    &variant_u32(eAVEncCommonRateControlMode_CBR.0 as u32),
                );
                let _ = api.SetValue(&CODECAPI_AVEncCommonMeanBitRate, &variant_u32(s.bitrate_bps));
                let gop = u32::try_from(s.keyframe_interval_frames()).unwrap_or(u32::MAX);
                let _ = api.SetValue(&CODECAPI_AVEncMPVGOPSize, &variant_u32(gop));
            }
            let out = MFCreateMediaType().map_err(mf("MFCreateMediaType"))?;
            out.SetGUID(&MF_MT_MAJOR_TYPE, &MFMediaType_Video).map_err(mf("output type"))?;
            out.SetGUID(&MF_MT_SUBTYPE, &MFVideoFormat_H264).map_err(mf("output type"))?;
            out.SetUINT32(&MF_MT_AVG_BITRATE, s.bitrate_bps).map_err(mf("output bitrate"))?;
            out.SetUINT64(&MF_MT_FRAME_SIZE, (w << 32) | h).map_err(mf("output size"))?;
            out.SetUINT64(&MF_MT_FRAME_RATE, (u64::from(s.fps) << 32) | 1).map_err(mf("output rate"))?;
            out.SetUINT64(&MF_MT_PIXEL_ASPECT_RATIO, (1 << 32) | 1).map_err(mf("output aspect"))?;
            out.SetUINT32(&MF_MT_INTERLACE_MODE, MFVideoInterlace_Progressive.0 as u32)
                .map_err(mf("output interlace"))?;
            out.SetUINT32(&MF_MT_MPEG2_PROFILE, eAVEncH264VProfile_Base.0 as u32).map_err(mf("output profile"))?;
            self.transform.SetOutputType(0, &out, 0).map_err(mf("the encoder refused the H.264 output type"))?;
            let input = MFCreateMediaType().map_err(mf("MFCreateMediaType"))?;
            input.SetGUID(&MF_MT_MAJOR_TYPE, &MFMediaType_Video).map_err(mf("input type"))?;
            input.SetGUID(&MF_MT_SUBTYPE, &MFVideoFormat_NV12).map_err(mf("input type"))?;
            input.SetUINT64(&MF_MT_FRAME_SIZE, (w << 32) | h).map_err(mf("input size"))?;
            input.SetUINT64(&MF_MT_FRAME_RATE, (u64::from(s.fps) << 32) | 1).map_err(mf("input rate"))?;
            input.SetUINT32(&MF_MT_DEFAULT_STRIDE, s.width as u32).map_err(mf("input stride"))?;
            input
                .SetUINT32(&MF_MT_INTERLACE_MODE, MFVideoInterlace_Progressive.0 as u32)
                .map_err(mf("input interlace"))?;
            self.transform.SetInputType(0, &input, 0).map_err(mf("the encoder refused the NV12 input type"))?;
            self.read_sequence_header();
            self.transform.ProcessMessage(MFT_MESSAGE_NOTIFY_BEGIN_STREAMING, 0).map_err(mf("begin streaming"))?;
            self.transform.ProcessMessage(MFT_MESSAGE_NOTIFY_START_OF_STREAM, 0).map_err(mf("start of stream"))?;
        }
        Ok(())
    }

    fn read_sequence_header(&mut self) {
        // SAFETY: the blob is copied into a buffer of the size the attribute store reports.
        unsafe {
            if let Ok(t) = self.transform.GetOutputCurrentType(0)
                && let Ok(n) = t.GetBlobSize(&MF_MT_MPEG_SEQUENCE_HEADER)
            {
                let mut buf = vec![0u8; n as usize];
                if t.GetBlob(&MF_MT_MPEG_SEQUENCE_HEADER, &mut buf, None).is_ok() {
                    self.sequence_header = buf;
                }
            }
        }
    }

    /// The next picture is a keyframe.
    pub fn force_keyframe(&mut self) {
        if let Some(api) = &self.codec_api {
            // SAFETY: a plain property set on the encoder.
            let _ = unsafe { api.SetValue(&CODECAPI_AVEncVideoForceKeyFrame, &variant_u32(1)) };
        }
    }

    /// Changes the constant bitrate between pictures.
    pub fn set_bitrate(&mut self, bps: u32) -> Result<(), EncoderError> {
        EncoderSettings { bitrate_bps: bps, ..self.settings }.validate()?;
        if let Some(api) = &self.codec_api {
            // SAFETY: a plain property set on the encoder.
            unsafe { api.SetValue(&CODECAPI_AVEncCommonMeanBitRate, &variant_u32(bps)) }
                .map_err(mf("setting the bitrate"))?;
        }
        self.settings.bitrate_bps = bps;
        Ok(())
    }

    /// Gives the encoder one picture and returns a finished one if there is (hardware encoders
    /// hand their output out a moment later, so it is usually the picture before). `Ok(None)`
    /// also when the encoder was busy and this picture was dropped.
    pub fn encode(&mut self, frame: &I420Frame, capture_ms: u64) -> Result<Option<EncodedFrame>, EncoderError> {
        let s = self.settings;
        if frame.width() != s.width || frame.height() != s.height {
            return Err(EncoderError::FrameSize {
                want_w: s.width,
                want_h: s.height,
                got_w: frame.width(),
                got_h: frame.height(),
            });
        }
        self.poll_events()?;
        if self.events.is_none() || self.wanted > 0 {
            let sample = self.sample_of(frame)?;
            // SAFETY: the sample lives across the call; the transform takes its own reference.
            unsafe { self.transform.ProcessInput(0, &sample, 0) }.map_err(mf("ProcessInput"))?;
            self.pending.push_back((self.frames_in, capture_ms));
            self.frames_in += 1;
            self.wanted = self.wanted.saturating_sub(1);
            if self.events.is_none() {
                while self.take_output()? {}
            } else {
                self.poll_events()?;
            }
        }
        Ok(self.ready.pop_front())
    }

    /// Reads the asynchronous encoder's events without waiting.
    fn poll_events(&mut self) -> Result<(), EncoderError> {
        let Some(events) = self.events.clone() else { return Ok(()) };
        loop {
            // SAFETY: plain COM calls on a live event generator.
            let event = match unsafe { events.GetEvent(MF_EVENT_FLAG_NO_WAIT) } {
                Ok(e) => e,
                Err(e) if e.code() == MF_E_NO_EVENTS_AVAILABLE => return Ok(()),
                Err(e) => return Err(mf("reading the encoder's events")(e)),
            };
            let kind = unsafe { event.GetType() }.map_err(mf("event type"))?;
            if kind == METransformNeedInput.0 as u32 {
                self.wanted += 1;
            } else if kind == METransformHaveOutput.0 as u32 {
                self.take_output()?;
            }
        }
    }

    /// One `ProcessOutput`; `false` when the encoder has nothing more for now.
    fn take_output(&mut self) -> Result<bool, EncoderError> {
        // SAFETY: the output buffer's sample and event collection are COM references handed
        // back by the call; both are taken out of their ManuallyDrop and released here.
        unsafe {
            let info = self.transform.GetOutputStreamInfo(0).map_err(mf("GetOutputStreamInfo"))?;
            let provides = MFT_OUTPUT_STREAM_PROVIDES_SAMPLES.0 as u32 | MFT_OUTPUT_STREAM_CAN_PROVIDE_SAMPLES.0 as u32;
            let sample = if info.dwFlags & provides != 0 {
                None
            } else {
                let size = info.cbSize.max((self.settings.width * self.settings.height) as u32);
                let sample = MFCreateSample().map_err(mf("MFCreateSample"))?;
                sample
                    .AddBuffer(&MFCreateMemoryBuffer(size).map_err(mf("MFCreateMemoryBuffer"))?)
                    .map_err(mf("AddBuffer"))?;
                Some(sample)
            };
            let mut out = [MFT_OUTPUT_DATA_BUFFER {
                dwStreamID: 0,
                pSample: ManuallyDrop::new(sample),
                dwStatus: 0,
                pEvents: ManuallyDrop::new(None),
            }];
            let mut status = 0u32;
            let result = self.transform.ProcessOutput(0, &mut out, &mut status);
            let sample = ManuallyDrop::take(&mut out[0].pSample);
            drop(ManuallyDrop::take(&mut out[0].pEvents));
            match result {
                Err(e) if e.code() == MF_E_TRANSFORM_NEED_MORE_INPUT => Ok(false),
                Err(e) if e.code() == MF_E_TRANSFORM_STREAM_CHANGE => {
                    // The encoder settled its output type: take what it offers, and its headers.
                    let t = self.transform.GetOutputAvailableType(0, 0).map_err(mf("the changed output type"))?;
                    self.transform.SetOutputType(0, &t, 0).map_err(mf("the changed output type"))?;
                    self.read_sequence_header();
                    Ok(true)
                }
                Err(e) => Err(mf("ProcessOutput")(e)),
                Ok(()) => {
                    if let Some(sample) = sample {
                        self.finish(&sample)?;
                    }
                    Ok(true)
                }
            }
        }
    }

    fn finish(&mut self, sample: &IMFSample) -> Result<(), EncoderError> {
        // SAFETY: the buffer is locked while its bytes are copied out, then unlocked.
        let mut data = unsafe {
            let buffer = sample.ConvertToContiguousBuffer().map_err(mf("ConvertToContiguousBuffer"))?;
            let mut p: *mut u8 = std::ptr::null_mut();
            let mut len = 0u32;
            buffer.Lock(&mut p, None, Some(&mut len)).map_err(mf("locking the output"))?;
            let bytes = if p.is_null() { Vec::new() } else { std::slice::from_raw_parts(p, len as usize).to_vec() };
            let _ = buffer.Unlock();
            bytes
        };
        if data.is_empty() {
            return Ok(());
        }
        let clean_point = unsafe { sample.GetUINT32(&MFSampleExtension_CleanPoint) }.unwrap_or(0) == 1;
        let keyframe = clean_point || nal::is_keyframe(&data);
        if keyframe && nal::find_sps(&data).is_none() && !self.sequence_header.is_empty() {
            let mut with_headers = self.sequence_header.clone();
            with_headers.extend_from_slice(&data);
            data = with_headers;
        }
        if self.codec.is_none()
            && let Some(sps) = nal::find_sps(&data)
        {
            self.codec = nal::codec_string(sps);
        }
        let (index, capture_ms) = self.pending.pop_front().unwrap_or((self.frames_in, 0));
        self.ready.push_back(EncodedFrame { data, keyframe, capture_ms, index });
        Ok(())
    }

    /// An NV12 sample (Y, then interleaved U and V) of `frame`, timed by its index.
    fn sample_of(&self, frame: &I420Frame) -> Result<IMFSample, EncoderError> {
        let (w, h) = (frame.width(), frame.height());
        let len = w * h * 3 / 2;
        // SAFETY: the buffer is locked for exactly `len` bytes while it is written, then unlocked.
        unsafe {
            let buffer = MFCreateMemoryBuffer(len as u32).map_err(mf("MFCreateMemoryBuffer"))?;
            let mut p: *mut u8 = std::ptr::null_mut();
            let mut max = 0u32;
            buffer.Lock(&mut p, Some(&mut max), None).map_err(mf("locking the input"))?;
            if p.is_null() || (max as usize) < len {
                let _ = buffer.Unlock();
                return Err(EncoderError::MediaFoundation("the input buffer is too small".into()));
            }
            let dst = std::slice::from_raw_parts_mut(p, len);
            dst[..w * h].copy_from_slice(frame.y_plane());
            for (i, (u, v)) in frame.u_plane().iter().zip(frame.v_plane()).enumerate() {
                dst[w * h + 2 * i] = *u;
                dst[w * h + 2 * i + 1] = *v;
            }
            let _ = buffer.Unlock();
            buffer.SetCurrentLength(len as u32).map_err(mf("SetCurrentLength"))?;
            let sample = MFCreateSample().map_err(mf("MFCreateSample"))?;
            sample.AddBuffer(&buffer).map_err(mf("AddBuffer"))?;
            let fps = i64::from(self.settings.fps.max(1));
            sample.SetSampleTime(self.frames_in as i64 * HNS / fps).map_err(mf("SetSampleTime"))?;
            sample.SetSampleDuration(HNS / fps).map_err(mf("SetSampleDuration"))?;
            Ok(sample)
        }
    }
}

impl Drop for MfH264Encoder {
    fn drop(&mut self) {
        // SAFETY: balances the MFStartup of `new`.
        let _ = unsafe { MFShutdown() };
    }
}

fn friendly_name(activate: &IMFActivate) -> String {
    use windows::Win32::Media::MediaFoundation::MFT_FRIENDLY_NAME_Attribute;
    // SAFETY: the string is allocated by the call and freed with CoTaskMemFree after the copy.
    unsafe {
        let mut p = windows::core::PWSTR::null();
        let mut len = 0u32;
        if activate.GetAllocatedString(&MFT_FRIENDLY_NAME_Attribute, &mut p, &mut len).is_err() || p.is_null() {
            return "hardware H.264 encoder".into();
        }
        let name = p.to_string().unwrap_or_else(|_| "hardware H.264 encoder".into());
        CoTaskMemFree(Some(p.0.cast()));
        name
    }
}
