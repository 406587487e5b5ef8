//! Raw pictures: I420 (planar YUV 4:2:0, what the encoder takes) and the BT.709 limited-range
//! colour conversion the stream signals in its VUI, so a browser converts back the same way.

/// Largest picture accepted, in either dimension: openh264 refuses more than 3840×2160.
pub const MAX_DIMENSION: usize = 3840;

/// A picture that cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("picture size {width}x{height} must be even, non-zero and at most {MAX_DIMENSION}")]
    BadSize { width: usize, height: usize },
    #[error("picture buffer is {got} bytes, {width}x{height} I420 needs {needed}")]
    BadLength { width: usize, height: usize, needed: usize, got: usize },
}

/// One I420 picture, tightly packed: the Y plane (`width × height`), then U, then V (each
/// `width/2 × height/2`).
#[derive(Clone, PartialEq, Eq)]
pub struct I420Frame {
    width: usize,
    height: usize,
    data: Vec<u8>,
}

impl std::fmt::Debug for I420Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The pixels would drown any test failure.
        f.debug_struct("I420Frame").field("width", &self.width).field("height", &self.height).finish_non_exhaustive()
    }
}

pub(crate) fn check_size(width: usize, height: usize) -> Result<(), FrameError> {
    let ok = width > 0
        && height > 0
        && width.is_multiple_of(2)
        && height.is_multiple_of(2)
        && width <= MAX_DIMENSION
        && height <= MAX_DIMENSION;
    if ok { Ok(()) } else { Err(FrameError::BadSize { width, height }) }
}

impl I420Frame {
    /// A black picture.
    pub fn black(width: usize, height: usize) -> Result<Self, FrameError> {
        check_size(width, height)?;
        let luma = width * height;
        let mut data = vec![16u8; luma + luma / 2];
        data[luma..].fill(128);
        Ok(Self { width, height, data })
    }

    /// Wraps packed I420 bytes.
    pub fn from_vec(width: usize, height: usize, data: Vec<u8>) -> Result<Self, FrameError> {
        check_size(width, height)?;
        let needed = width * height * 3 / 2;
        if data.len() != needed {
            return Err(FrameError::BadLength { width, height, needed, got: data.len() });
        }
        Ok(Self { width, height, data })
    }

    /// Copies planes with strides (as a decoder hands them out) into a packed picture.
    pub fn from_planes(
        width: usize,
        height: usize,
        planes: (&[u8], &[u8], &[u8]),
        strides: (usize, usize, usize),
    ) -> Result<Self, FrameError> {
        let mut frame = Self::black(width, height)?;
        let (cw, ch) = (width / 2, height / 2);
        // Saturating: strides come from a decoder, and an overflow must not panic.
        let too_short = |plane: &[u8], stride: usize, w: usize, h: usize| {
            stride < w || plane.len() < stride.saturating_mul(h - 1).saturating_add(w)
        };
        if too_short(planes.0, strides.0, width, height)
            || too_short(planes.1, strides.1, cw, ch)
            || too_short(planes.2, strides.2, cw, ch)
        {
            return Err(FrameError::BadLength {
                width,
                height,
                needed: width * height * 3 / 2,
                got: planes.0.len() + planes.1.len() + planes.2.len(),
            });
        }
        let (y, rest) = frame.data.split_at_mut(width * height);
        let (u, v) = rest.split_at_mut(cw * ch);
        for (dst, src, stride, w) in
            [(y, planes.0, strides.0, width), (u, planes.1, strides.1, cw), (v, planes.2, strides.2, cw)]
        {
            for (row, out) in dst.chunks_exact_mut(w).enumerate() {
                out.copy_from_slice(&src[row * stride..row * stride + w]);
            }
        }
        Ok(frame)
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    /// The packed bytes (Y, U, V).
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    pub fn y_plane(&self) -> &[u8] {
        &self.data[..self.width * self.height]
    }

    pub fn u_plane(&self) -> &[u8] {
        let luma = self.width * self.height;
        &self.data[luma..luma + luma / 4]
    }

    pub fn v_plane(&self) -> &[u8] {
        let luma = self.width * self.height;
        &self.data[luma + luma / 4..]
    }

    /// Mutable Y, U and V planes at once, for painting.
    pub fn planes_mut(&mut self) -> (&mut [u8], &mut [u8], &mut [u8]) {
        let luma = self.width * self.height;
        let (y, rest) = self.data.split_at_mut(luma);
        let (u, v) = rest.split_at_mut(luma / 4);
        (y, u, v)
    }

    /// Paints the rectangle `[x0, x1) × [y0, y1)` (clipped) in one colour. Chroma is written
    /// for every 2×2 block the rectangle touches, so rectangles should sit on even coordinates.
    pub fn fill_rect(&mut self, x0: usize, y0: usize, x1: usize, y1: usize, rgb: [u8; 3]) {
        let (w, h) = (self.width, self.height);
        let (x1, y1) = (x1.min(w), y1.min(h));
        if x0 >= x1 || y0 >= y1 {
            return;
        }
        let [yv, uv, vv] = rgb_to_yuv(rgb);
        let (y, u, v) = self.planes_mut();
        for row in y0..y1 {
            y[row * w + x0..row * w + x1].fill(yv);
        }
        let cw = w / 2;
        for row in y0 / 2..y1.div_ceil(2) {
            u[row * cw + x0 / 2..row * cw + x1.div_ceil(2)].fill(uv);
            v[row * cw + x0 / 2..row * cw + x1.div_ceil(2)].fill(vv);
        }
    }

    /// RGBA (what a browser canvas gives back), converted as BT.709 limited range.
    pub fn to_rgba(&self) -> Vec<u8> {
        let (w, h) = (self.width, self.height);
        let (y, u, v) = (self.y_plane(), self.u_plane(), self.v_plane());
        let mut out = vec![255u8; w * h * 4];
        for row in 0..h {
            for col in 0..w {
                let c = (row / 2) * (w / 2) + col / 2;
                let [r, g, b] = yuv_to_rgb([y[row * w + col], u[c], v[c]]);
                let o = (row * w + col) * 4;
                out[o..o + 3].copy_from_slice(&[r, g, b]);
            }
        }
        out
    }

    /// The RGB colour at one pixel (for checks after a decode).
    pub fn rgb_at(&self, x: usize, y: usize) -> Option<[u8; 3]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let c = (y / 2) * (self.width / 2) + x / 2;
        Some(yuv_to_rgb([self.y_plane()[y * self.width + x], self.u_plane()[c], self.v_plane()[c]]))
    }
}

#[cfg(feature = "encoder")]
impl openh264::formats::YUVSource for I420Frame {
    fn dimensions(&self) -> (usize, usize) {
        (self.width, self.height)
    }

    fn strides(&self) -> (usize, usize, usize) {
        (self.width, self.width / 2, self.width / 2)
    }

    fn y(&self) -> &[u8] {
        self.y_plane()
    }

    fn u(&self) -> &[u8] {
        self.u_plane()
    }

    fn v(&self) -> &[u8] {
        self.v_plane()
    }
}

fn clamp_u8(x: f32) -> u8 {
    x.round().clamp(0.0, 255.0) as u8
}

/// RGB → Y'CbCr, BT.709, limited range (Y 16–235, Cb/Cr 16–240).
pub fn rgb_to_yuv([r, g, b]: [u8; 3]) -> [u8; 3] {
    let (r, g, b) = (f32::from(r), f32::from(g), f32::from(b));
    let y = 16.0 + 219.0 * (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255.0;
    let cb = 128.0 + 224.0 * (-0.114_572 * r - 0.385_428 * g + 0.5 * b) / 255.0;
    let cr = 128.0 + 224.0 * (0.5 * r - 0.454_153 * g - 0.045_847 * b) / 255.0;
    [clamp_u8(y), clamp_u8(cb), clamp_u8(cr)]
}

/// Y'CbCr → RGB, BT.709, limited range: the inverse of [`rgb_to_yuv`].
pub fn yuv_to_rgb([y, u, v]: [u8; 3]) -> [u8; 3] {
    let y = 1.164_383 * (f32::from(y) - 16.0);
    let cb = f32::from(u) - 128.0;
    let cr = f32::from(v) - 128.0;
    [clamp_u8(y + 1.792_741 * cr), clamp_u8(y - 0.213_249 * cb - 0.532_909 * cr), clamp_u8(y + 2.112_402 * cb)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_round_trip_is_close() {
        for rgb in [[0, 0, 0], [255, 255, 255], [191, 191, 0], [0, 191, 191], [191, 0, 191], [0, 0, 191], [12, 200, 77]]
        {
            let back = yuv_to_rgb(rgb_to_yuv(rgb));
            for i in 0..3 {
                assert!((i32::from(back[i]) - i32::from(rgb[i])).abs() <= 2, "{rgb:?} → {back:?}");
            }
        }
    }

    #[test]
    fn sizes_are_checked() {
        assert!(I420Frame::black(3, 2).is_err());
        assert!(I420Frame::black(0, 2).is_err());
        assert!(I420Frame::black(4000, 2).is_err());
        assert!(I420Frame::from_vec(4, 2, vec![0; 11]).is_err());
        assert!(I420Frame::from_vec(4, 2, vec![0; 12]).is_ok());
    }

    #[test]
    fn planes_copy_with_strides() {
        let y: Vec<u8> = (0..8 * 2).map(|i| i as u8).collect();
        let u = [1u8, 2, 0, 0];
        let v = [3u8, 4, 0, 0];
        let f = I420Frame::from_planes(4, 2, (&y, &u, &v), (8, 4, 4)).unwrap();
        assert_eq!(f.y_plane(), &[0, 1, 2, 3, 8, 9, 10, 11]);
        assert_eq!(f.u_plane(), &[1, 2]);
        assert_eq!(f.v_plane(), &[3, 4]);
        assert!(I420Frame::from_planes(4, 2, (&y[..10], &u, &v), (8, 4, 4)).is_err());
    }
}
