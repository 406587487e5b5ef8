//! Tracks: centre lines built from straights and constant-radius corners, with lengths close to
//! the real circuits, sampled every ~2 m into curvature, heading and a lat/lon outline.
//!
//! The corner list of each track follows the real circuit's sequence of corners (direction,
//! rough angle and radius, straights between them). The angles are scaled so that they add up to
//! exactly one full turn and the straights so that the lap has the real length; the outline is
//! then closed by spreading the small remaining position error along the lap. The outline is
//! "like" the real track (same corners in the same order), not a survey of it.

use std::f64::consts::PI;

/// One piece of a centre line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Seg {
    /// A straight, metres (scaled to fit the lap length).
    Straight(f64),
    /// A corner: radius in metres, angle in degrees (positive = left, negative = right).
    Turn { radius: f64, angle: f64 },
}

/// The definition of a track.
#[derive(Debug, Clone)]
pub struct TrackDef {
    /// Key used on the command line, e.g. `redbullring`.
    pub key: &'static str,
    /// iRacing-style internal name, e.g. `spielberg gp`.
    pub name: &'static str,
    pub display_name: &'static str,
    pub config_name: &'static str,
    pub id: i64,
    pub city: &'static str,
    pub country: &'static str,
    /// Lap length, metres.
    pub length_m: f64,
    /// Latitude/longitude of the start/finish line, degrees.
    pub origin: (f64, f64),
    /// Heading at the start/finish line, degrees clockwise from north.
    pub heading_deg: f64,
    /// Corners and straights from the start/finish line round.
    pub segments: &'static [Seg],
    /// Sector starts, fractions of the lap (the first 0).
    pub sectors: &'static [f64],
    /// Pit lane: entry before the line and exit after it, fractions of the lap.
    pub pit_entry: f64,
    pub pit_exit: f64,
    /// A real GT3 lap time for this track, seconds, and where it comes from.
    pub reference_lap_s: f64,
    pub reference_note: &'static str,
}

const fn s(m: f64) -> Seg {
    Seg::Straight(m)
}
const fn l(radius: f64, angle: f64) -> Seg {
    Seg::Turn { radius, angle }
}
const fn r(radius: f64, angle: f64) -> Seg {
    Seg::Turn { radius, angle: -angle }
}

/// A 4.318 km Red Bull Ring (Spielberg GP) -like track, clockwise.
pub const RED_BULL_RING: TrackDef = TrackDef {
    key: "redbullring",
    name: "spielberg gp",
    display_name: "Red Bull Ring",
    config_name: "Grand Prix",
    id: 403,
    city: "Spielberg",
    country: "Austria",
    length_m: 4318.0,
    origin: (47.2197, 14.7647),
    heading_deg: 60.0,
    segments: &[
        s(280.0),
        r(55.0, 95.0), // T1 Niki Lauda
        s(330.0),
        l(180.0, 20.0), // T2 kink
        s(420.0),
        r(22.0, 140.0), // T3 Remus
        s(620.0),
        r(36.0, 105.0), // T4 Schlossgold
        s(160.0),
        l(75.0, 55.0), // T5
        s(120.0),
        l(62.0, 95.0), // T6 Rauch
        s(110.0),
        r(58.0, 85.0), // T7 Würth
        s(230.0),
        r(110.0, 45.0), // T8
        s(120.0),
        r(80.0, 95.0), // T9 Rindt
        s(230.0),
        r(72.0, 85.0), // T10
        s(250.0),
    ],
    sectors: &[0.0, 0.34, 0.67],
    pit_entry: 0.955,
    pit_exit: 0.07,
    reference_lap_s: 89.5,
    reference_note: "GT3 race pace at the Red Bull Ring GP circuit, about 1:29.5 (ADAC GT Masters / DTM)",
};

/// A 5.793 km Monza (Grand Prix) -like track, clockwise.
pub const MONZA: TrackDef = TrackDef {
    key: "monza",
    name: "monza full",
    display_name: "Autodromo Nazionale Monza",
    config_name: "Grand Prix",
    id: 239,
    city: "Monza",
    country: "Italy",
    length_m: 5793.0,
    origin: (45.6156, 9.2811),
    heading_deg: 190.0,
    segments: &[
        s(620.0),
        r(18.0, 85.0), // Rettifilo
        l(18.0, 85.0),
        s(120.0),
        r(330.0, 100.0), // Curva Grande
        s(450.0),
        l(26.0, 60.0), // Roggia
        r(26.0, 60.0),
        s(330.0),
        r(62.0, 90.0), // Lesmo 1
        s(180.0),
        r(50.0, 70.0), // Lesmo 2
        s(950.0),
        l(75.0, 40.0), // Ascari
        r(95.0, 70.0),
        l(120.0, 40.0),
        s(1050.0),
        r(95.0, 185.0), // Parabolica
        s(560.0),
    ],
    sectors: &[0.0, 0.36, 0.70],
    pit_entry: 0.95,
    pit_exit: 0.09,
    reference_lap_s: 107.5,
    reference_note: "GT3 race pace at Monza, about 1:47.5 (GT World Challenge Europe Endurance)",
};

/// A 1.929 km Brands Hatch Indy -like track, clockwise.
pub const BRANDS_INDY: TrackDef = TrackDef {
    key: "brandsindy",
    name: "brandshatch indy",
    display_name: "Brands Hatch Circuit",
    config_name: "Indy",
    id: 145,
    city: "West Kingsdown",
    country: "England",
    length_m: 1929.0,
    origin: (51.3569, 0.2617),
    heading_deg: 250.0,
    segments: &[
        s(160.0),
        r(45.0, 100.0), // Paddock Hill Bend
        s(60.0),
        r(16.0, 160.0), // Druids
        s(120.0),
        l(60.0, 50.0), // Graham Hill Bend
        s(330.0),
        r(75.0, 80.0), // Surtees
        s(340.0),
        r(55.0, 140.0), // Clearways
        l(90.0, 40.0),
        r(120.0, 35.0), // Clark Curve
        s(200.0),
    ],
    sectors: &[0.0, 0.33, 0.66],
    pit_entry: 0.93,
    pit_exit: 0.1,
    reference_lap_s: 46.0,
    reference_note: "an estimate, not a measured GT3 time: BTCC cars lap Brands Hatch Indy in about 47.5 s and GT3 cars are a few per cent faster",
};

/// Every built-in track.
pub const TRACKS: &[&TrackDef] = &[&RED_BULL_RING, &MONZA, &BRANDS_INDY];

/// The track called `key` (also accepts the display name, case-insensitive).
pub fn find(key: &str) -> Option<&'static TrackDef> {
    let k = key.trim().to_ascii_lowercase();
    TRACKS.iter().copied().find(|t| t.key == k || t.display_name.to_ascii_lowercase() == k)
}

/// Sampling step, metres.
pub const STEP_M: f64 = 2.0;

/// One corner of the built track, for analysis and planted mistakes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Corner {
    /// 1-based, in lap order.
    pub number: usize,
    /// Where the corner starts and ends along the lap, metres.
    pub start_m: f64,
    pub end_m: f64,
    pub radius_m: f64,
    /// Degrees, positive = left.
    pub angle_deg: f64,
}

/// A built track: curvature and outline sampled every [`STEP_M`] metres.
#[derive(Debug, Clone)]
pub struct Track {
    pub def: &'static TrackDef,
    /// Lap length, metres.
    pub length: f64,
    /// Distance between samples, metres (close to [`STEP_M`]).
    pub ds: f64,
    /// Curvature at each sample, 1/m (positive = turning left).
    pub curvature: Vec<f64>,
    /// Heading at each sample, radians clockwise from north.
    pub heading: Vec<f64>,
    /// Position east and north of the start/finish line, metres.
    pub east: Vec<f64>,
    pub north: Vec<f64>,
    /// Corners with a radius under 400 m.
    pub corners: Vec<Corner>,
}

impl Track {
    /// Builds the track from its definition.
    pub fn build(def: &'static TrackDef) -> Track {
        // Scale the corner angles to exactly one full turn.
        let net: f64 = def
            .segments
            .iter()
            .map(|g| match g {
                Seg::Turn { angle, .. } => *angle,
                Seg::Straight(_) => 0.0,
            })
            .sum();
        let turn_scale = if net.abs() > 1.0 { 360.0 / net.abs() } else { 1.0 };
        let arcs: Vec<(f64, f64)> = def
            .segments
            .iter()
            .map(|g| match *g {
                // (length, curvature)
                Seg::Straight(m) => (m, 0.0),
                Seg::Turn { radius, angle } => {
                    let a = (angle * turn_scale).to_radians();
                    (radius * a.abs(), a.signum() / radius)
                }
            })
            .collect();
        let corner_len: f64 = arcs.iter().filter(|a| a.1 != 0.0).map(|a| a.0).sum();
        let straight_len: f64 = arcs.iter().filter(|a| a.1 == 0.0).map(|a| a.0).sum();
        let straight_scale = ((def.length_m - corner_len) / straight_len.max(1.0)).max(0.1);
        let arcs: Vec<(f64, f64)> =
            arcs.into_iter().map(|(len, k)| if k == 0.0 { (len * straight_scale, 0.0) } else { (len, k) }).collect();
        let length: f64 = arcs.iter().map(|a| a.0).sum();
        let n = (length / STEP_M).round().max(16.0) as usize;
        let ds = length / n as f64;
        // Curvature per sample (exact segment boundaries), then smoothed over ±12 m so that
        // steering and lateral g build up instead of stepping.
        let mut raw = vec![0.0; n];
        let mut corners = Vec::new();
        let mut at = 0.0;
        for &(len, k) in &arcs {
            if k != 0.0 && 1.0 / k.abs() < 400.0 {
                corners.push(Corner {
                    number: corners.len() + 1,
                    start_m: at,
                    end_m: at + len,
                    radius_m: 1.0 / k.abs(),
                    angle_deg: (len * k).to_degrees(),
                });
            }
            at += len;
        }
        // Each sample's curvature is the exact mean over its interval (the heading integral of
        // the piecewise-constant curvature), so the lap turns exactly once.
        let heading_at = |s: f64| {
            let mut h = 0.0;
            let mut at = 0.0;
            for &(len, k) in &arcs {
                if s <= at {
                    break;
                }
                h += k * (s - at).min(len);
                at += len;
            }
            h
        };
        let mut prev = heading_at(0.0);
        for (i, slot) in raw.iter_mut().enumerate() {
            let next = heading_at((i + 1) as f64 * ds);
            *slot = (next - prev) / ds;
            prev = next;
        }
        let half = (12.0 / ds).round() as isize;
        let curvature: Vec<f64> = (0..n as isize)
            .map(|i| {
                let sum: f64 = (-half..=half).map(|d| raw[(i + d).rem_euclid(n as isize) as usize]).sum();
                sum / (2 * half + 1) as f64
            })
            .collect();
        // Integrate the outline; close it by spreading the end error along the lap.
        let h0 = def.heading_deg.to_radians();
        let (mut x, mut y, mut h) = (0.0, 0.0, h0);
        let mut east = Vec::with_capacity(n);
        let mut north = Vec::with_capacity(n);
        let mut heading = Vec::with_capacity(n);
        for k in &curvature {
            east.push(x);
            north.push(y);
            heading.push(h);
            // Heading clockwise from north; a left turn (k > 0) decreases it.
            x += ds * h.sin();
            y += ds * h.cos();
            h -= k * ds;
        }
        let (ex, ey) = (x, y);
        for i in 0..n {
            let f = i as f64 / n as f64;
            east[i] -= ex * f;
            north[i] -= ey * f;
            heading[i] = heading[i].rem_euclid(2.0 * PI);
        }
        Track { def, length, ds, curvature, heading, east, north, corners }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.curvature.len()
    }

    /// Never true for a built track.
    pub fn is_empty(&self) -> bool {
        self.curvature.is_empty()
    }

    /// Sample index at distance `s` metres (wrapped).
    pub fn index(&self, s: f64) -> usize {
        ((s.rem_euclid(self.length) / self.ds) as usize).min(self.len() - 1)
    }

    /// Curvature at `s`, interpolated.
    pub fn curvature_at(&self, s: f64) -> f64 {
        self.interp(&self.curvature, s)
    }

    /// Linear interpolation of a per-sample quantity at `s`.
    pub fn interp(&self, v: &[f64], s: f64) -> f64 {
        let p = s.rem_euclid(self.length) / self.ds;
        let i = (p as usize).min(self.len() - 1);
        let j = (i + 1) % self.len();
        let f = p - i as f64;
        v[i] * (1.0 - f) + v[j] * f
    }

    /// Latitude/longitude at `s`, degrees.
    pub fn lat_lon(&self, s: f64) -> (f64, f64) {
        const EARTH_R: f64 = 6_371_000.0;
        let e = self.interp(&self.east, s);
        let n = self.interp(&self.north, s);
        let (lat0, lon0) = self.def.origin;
        let lat = lat0 + (n / EARTH_R).to_degrees();
        let lon = lon0 + (e / (EARTH_R * lat0.to_radians().cos())).to_degrees();
        (lat, lon)
    }

    /// The corner containing `s`, if any.
    pub fn corner_at(&self, s: f64) -> Option<&Corner> {
        let s = s.rem_euclid(self.length);
        self.corners.iter().find(|c| c.start_m <= s && s < c.end_m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_have_real_lengths_and_close() {
        for def in TRACKS {
            let t = Track::build(def);
            assert!((t.length - def.length_m).abs() < 1.0, "{} {}", def.key, t.length);
            // Net heading change is one full clockwise turn.
            let turn: f64 = t.curvature.iter().map(|k| k * t.ds).sum();
            assert!((turn.abs() - 2.0 * PI).abs() < 1e-6, "{} turn {turn}", def.key);
            // Outline closes.
            let (a, b) = (t.lat_lon(0.0), t.lat_lon(t.length - 1e-6));
            assert!((a.0 - b.0).abs() < 1e-4 && (a.1 - b.1).abs() < 1e-4, "{} {a:?} {b:?}", def.key);
            assert!(t.corners.len() >= 6, "{}", def.key);
        }
        assert!(find("Red Bull Ring").is_some());
        assert!(find("nowhere").is_none());
    }
}
