//! The deterministic test source: colour bars, a moving box, and the frame number and capture
//! time written as 16×16-pixel black/white cells that survive H.264 and can be read back from a
//! decoded picture (here by tests, later by the browser test from a canvas).
//!
//! Layout (all in pixels from the top-left corner; `docs/video.md` has the same table):
//!
//! | rows | what |
//! |---|---|
//! | 0–63 | the marks: 4 rows × 32 cells of 16×16 px from x = 0 (512 × 64 px); grey right of them |
//! | 64 – h−65 | eight 75 % colour bars, each `w/8` wide (the last takes the remainder) |
//! | h−64 – h−1 | dark grey strip with a 64×64 white box at x = `(n·16) mod (w−64 rounded down to 16)` |
//!
//! Mark cells: white = 1, black = 0, most significant bit in the left-most cell. Row 0 is the
//! frame number (u32), row 1 the high 32 bits of the capture time (unix ms), row 2 the low 32
//! bits, row 3 the check word `frame ^ high ^ low ^ 0x5A5A5A5A`, so a picture without marks
//! (all black, all white, or a misread cell) reads as `None`.

use crate::frame::{FrameError, I420Frame};

/// Side of one mark cell in pixels: one H.264 macroblock, so each cell is coded on its own.
pub const CELL: usize = 16;
/// Cells per mark row (bits per word).
pub const MARK_COLUMNS: usize = 32;
/// Mark rows: frame, capture-time high, capture-time low, check.
pub const MARK_ROWS: usize = 4;
/// XORed into the check word so that an all-black picture does not read as frame 0.
pub const CHECK_SALT: u32 = 0x5A5A_5A5A;
/// Height of the mark strip and of the moving-box strip.
pub const STRIP: usize = 64;
/// Smallest picture that holds the marks, the bars and the box strip.
pub const MIN_WIDTH: usize = CELL * MARK_COLUMNS;
pub const MIN_HEIGHT: usize = 3 * STRIP;

/// The eight bars, left to right: 75 % white, yellow, cyan, green, magenta, red, blue, black.
pub const BARS: [[u8; 3]; 8] =
    [[191, 191, 191], [191, 191, 0], [0, 191, 191], [0, 191, 0], [191, 0, 191], [191, 0, 0], [0, 0, 191], [0, 0, 0]];

const GREY: [u8; 3] = [128, 128, 128];
const DARK: [u8; 3] = [48, 48, 48];
const WHITE: [u8; 3] = [255, 255, 255];
const BLACK: [u8; 3] = [0, 0, 0];

/// A pattern of a chosen size and rate.
#[derive(Debug, Clone)]
pub struct TestPattern {
    width: usize,
    height: usize,
    fps: u32,
    /// The static part (bars, grey), painted once; each frame copies it and adds marks and box.
    background: I420Frame,
}

impl TestPattern {
    /// A pattern of `width × height` (even, at least [`MIN_WIDTH`] × [`MIN_HEIGHT`]) at `fps`.
    pub fn new(width: usize, height: usize, fps: u32) -> Result<Self, FrameError> {
        if width < MIN_WIDTH || height < MIN_HEIGHT || fps == 0 {
            return Err(FrameError::BadSize { width, height });
        }
        let mut background = I420Frame::black(width, height)?;
        background.fill_rect(0, 0, width, STRIP, GREY);
        for (i, rgb) in BARS.iter().enumerate() {
            let (x0, x1) = bar_span(width, i);
            background.fill_rect(x0, STRIP, x1, height - STRIP, *rgb);
        }
        background.fill_rect(0, height - STRIP, width, height, DARK);
        Ok(Self { width, height, fps, background })
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    pub fn fps(&self) -> u32 {
        self.fps
    }

    /// The capture time of frame `n` for a stream that started at `start_ms`: frames are evenly
    /// spaced at the pattern's rate.
    pub fn capture_ms(&self, start_ms: u64, frame_no: u32) -> u64 {
        start_ms.saturating_add(u64::from(frame_no) * 1000 / u64::from(self.fps))
    }

    /// Frame `frame_no`, marked with `frame_no` and `capture_ms`.
    pub fn frame(&self, frame_no: u32, capture_ms: u64) -> I420Frame {
        let mut f = self.background.clone();
        let words = mark_words(frame_no, capture_ms);
        for (row, word) in words.iter().enumerate() {
            for col in 0..MARK_COLUMNS {
                let bit = (word >> (MARK_COLUMNS - 1 - col)) & 1 == 1;
                let (x, y) = (col * CELL, row * CELL);
                f.fill_rect(x, y, x + CELL, y + CELL, if bit { WHITE } else { BLACK });
            }
        }
        let x = self.box_x(frame_no);
        f.fill_rect(x, self.height - STRIP, x + STRIP, self.height, WHITE);
        f
    }

    /// Left edge of the moving box in frame `frame_no`.
    pub fn box_x(&self, frame_no: u32) -> usize {
        let travel = (self.width - STRIP) / CELL * CELL;
        if travel == 0 { 0 } else { (frame_no as usize * CELL) % travel }
    }

    /// Where bar `i` (0–7) is: `[x0, x1)` horizontally, `[y0, y1)` vertically.
    pub fn bar_rect(&self, i: usize) -> (usize, usize, usize, usize) {
        let (x0, x1) = bar_span(self.width, i);
        (x0, x1, STRIP, self.height - STRIP)
    }
}

fn bar_span(width: usize, i: usize) -> (usize, usize) {
    // Bars on even pixels so chroma never straddles two bars.
    let bar = width / 8 / 2 * 2;
    let x0 = i * bar;
    let x1 = if i == 7 { width } else { x0 + bar };
    (x0, x1)
}

fn mark_words(frame_no: u32, capture_ms: u64) -> [u32; MARK_ROWS] {
    let hi = (capture_ms >> 32) as u32;
    let lo = capture_ms as u32;
    [frame_no, hi, lo, frame_no ^ hi ^ lo ^ CHECK_SALT]
}

/// Reads the marks given the brightness of cell `(row, col)` in 0–255.
fn read_cells(
    width: usize,
    height: usize,
    mut level: impl FnMut(usize, usize) -> u32,
    threshold: u32,
) -> Option<(u32, u64)> {
    if width < MIN_WIDTH || height < STRIP {
        return None;
    }
    let mut words = [0u32; MARK_ROWS];
    for (row, word) in words.iter_mut().enumerate() {
        for col in 0..MARK_COLUMNS {
            *word = (*word << 1) | u32::from(level(row, col) > threshold);
        }
    }
    let [frame_no, hi, lo, check] = words;
    (check == frame_no ^ hi ^ lo ^ CHECK_SALT).then_some((frame_no, (u64::from(hi) << 32) | u64::from(lo)))
}

/// Averages the centre 8×8 pixels of a cell, so ringing at macroblock edges does not count.
fn cell_mean(row: usize, col: usize, mut px: impl FnMut(usize, usize) -> u32) -> u32 {
    let (x0, y0) = (col * CELL + CELL / 4, row * CELL + CELL / 4);
    let mut sum = 0;
    for y in y0..y0 + CELL / 2 {
        for x in x0..x0 + CELL / 2 {
            sum += px(x, y);
        }
    }
    sum / (CELL / 2 * CELL / 2) as u32
}

/// Reads `(frame_no, capture_ms)` from an RGBA picture (`width × height × 4` bytes, as
/// `getImageData` returns). `None` when the picture is too small or the check word fails.
pub fn read_marks_rgba(rgba: &[u8], width: usize, height: usize) -> Option<(u32, u64)> {
    if rgba.len() < width.checked_mul(height)?.checked_mul(4)? {
        return None;
    }
    read_cells(
        width,
        height,
        |row, col| {
            cell_mean(row, col, |x, y| {
                let o = (y * width + x) * 4;
                // Integer BT.709 luma; black and white are far apart in any matrix.
                (u32::from(rgba[o]) * 54 + u32::from(rgba[o + 1]) * 183 + u32::from(rgba[o + 2]) * 19) >> 8
            })
        },
        127,
    )
}

/// Reads `(frame_no, capture_ms)` from a luma (Y) plane with the given row stride.
pub fn read_marks_luma(y: &[u8], stride: usize, width: usize, height: usize) -> Option<(u32, u64)> {
    if stride < width || y.len() < stride.checked_mul(STRIP)? {
        return None;
    }
    // Limited range: black 16, white 235.
    read_cells(width, height, |row, col| cell_mean(row, col, |x, yy| u32::from(y[yy * stride + x])), 125)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_read_back_from_yuv_and_rgba() {
        let p = TestPattern::new(640, 360, 30).unwrap();
        for (n, ms) in [(0u32, 0u64), (1, 1_765_000_000_123), (u32::MAX, u64::MAX), (77, 5)] {
            let f = p.frame(n, ms);
            assert_eq!(read_marks_luma(f.y_plane(), 640, 640, 360), Some((n, ms)));
            assert_eq!(read_marks_rgba(&f.to_rgba(), 640, 360), Some((n, ms)));
        }
    }

    #[test]
    fn unmarked_pictures_read_as_none() {
        let black = I420Frame::black(640, 360).unwrap();
        assert_eq!(read_marks_luma(black.y_plane(), 640, 640, 360), None);
        let white = vec![255u8; 640 * 360 * 4];
        assert_eq!(read_marks_rgba(&white, 640, 360), None);
        assert_eq!(read_marks_rgba(&white[..100], 640, 360), None);
        assert_eq!(read_marks_luma(&[0; 10], 640, 640, 360), None);
    }

    #[test]
    fn one_flipped_cell_is_caught() {
        let p = TestPattern::new(640, 360, 30).unwrap();
        let mut f = p.frame(1234, 1_765_000_000_000);
        // Flip cell (row 0, col 31): the low bit of the frame number.
        let before = f.y_plane()[8 * 640 + 31 * CELL + 8];
        let colour = if before > 128 { BLACK } else { WHITE };
        f.fill_rect(31 * CELL, 0, 32 * CELL, CELL, colour);
        assert_eq!(read_marks_luma(f.y_plane(), 640, 640, 360), None);
    }

    #[test]
    fn frames_are_deterministic_and_move() {
        let p = TestPattern::new(1280, 720, 30).unwrap();
        assert_eq!(p.frame(5, 10), p.frame(5, 10));
        assert_ne!(p.box_x(1), p.box_x(2));
        assert_eq!(p.capture_ms(1000, 30), 2000);
        assert!(TestPattern::new(256, 720, 30).is_err());
        assert!(TestPattern::new(1280, 720, 0).is_err());
    }

    #[test]
    fn bars_have_their_colours() {
        let p = TestPattern::new(1280, 720, 30).unwrap();
        let f = p.frame(0, 0);
        for (i, want) in BARS.iter().enumerate() {
            let (x0, x1, y0, y1) = p.bar_rect(i);
            let got = f.rgb_at((x0 + x1) / 2, (y0 + y1) / 2).unwrap();
            for c in 0..3 {
                assert!((i32::from(got[c]) - i32::from(want[c])).abs() <= 3, "bar {i}: {got:?}");
            }
        }
    }
}
