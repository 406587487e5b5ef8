//! The car model: grip (a lateral g limit that grows with downforce), braking and traction
//! limits on a friction ellipse, a power limit, drag, gears — and the quasi-steady-state speed
//! profile a driver follows over one lap: as fast as the corners allow, braking before them as
//! late as the brakes allow, accelerating out of them as hard as power and traction allow.

use super::track::Track;

/// Gravity, m/s².
pub const G: f64 = 9.81;

/// A car's physical limits.
#[derive(Debug, Clone, PartialEq)]
pub struct CarDef {
    pub screen_name: &'static str,
    pub short_name: &'static str,
    pub path: &'static str,
    pub id: i64,
    pub class_short_name: &'static str,
    pub class_id: i64,
    /// Kilograms with driver, without fuel.
    pub mass_kg: f64,
    /// Peak power at the wheels, watts.
    pub power_w: f64,
    /// Drag force per (m/s)², N (½ ρ C_d A).
    pub drag_k: f64,
    /// Rolling resistance coefficient.
    pub rolling: f64,
    /// Tyre friction coefficient, lateral and braking.
    pub mu: f64,
    pub mu_brake: f64,
    /// Downforce as extra normal acceleration per (m/s)², 1/m.
    pub downforce_k: f64,
    /// Share of the normal load on the driven (rear) wheels.
    pub traction_share: f64,
    /// Top speed of each gear at the rev limit, m/s.
    pub gear_top: &'static [f64],
    pub redline_rpm: f64,
    pub idle_rpm: f64,
    pub tank_l: f64,
    /// Fuel flow at full throttle, litres per second.
    pub full_flow_lps: f64,
    pub wheelbase_m: f64,
    pub steering_ratio: f64,
    /// Highest speed the driver aims for, m/s.
    pub vmax: f64,
}

/// A GT3 car.
pub const GT3: CarDef = CarDef {
    screen_name: "PitBox GT3",
    short_name: "GT3",
    path: "pitboxgt3",
    id: 9001,
    class_short_name: "GT3",
    class_id: 4074,
    mass_kg: 1_320.0,
    power_w: 365_000.0,
    drag_k: 0.66,
    rolling: 0.015,
    mu: 1.58,
    mu_brake: 1.55,
    downforce_k: 0.0011,
    traction_share: 0.58,
    gear_top: &[33.0, 44.0, 54.0, 63.0, 72.0, 81.0],
    redline_rpm: 8_000.0,
    idle_rpm: 1_300.0,
    tank_l: 110.0,
    full_flow_lps: 0.058,
    wheelbase_m: 2.65,
    steering_ratio: 13.0,
    vmax: 95.0,
};

/// Fuel density, kg per litre.
pub const FUEL_KG_PER_L: f64 = 0.75;

impl CarDef {
    /// Lateral acceleration limit at speed `v` with grip factor `grip`.
    pub fn lat_limit(&self, v: f64, grip: f64) -> f64 {
        self.mu * grip * (G + self.downforce_k * v * v)
    }

    /// Highest speed through curvature `k` with grip factor `grip`.
    pub fn corner_speed(&self, k: f64, grip: f64) -> f64 {
        let k = k.abs();
        let mg = self.mu * grip;
        let den = k - mg * self.downforce_k;
        if den <= 0.0 { self.vmax } else { (mg * G / den).sqrt().min(self.vmax) }
    }

    /// Drag plus rolling resistance, N, at `v` for mass `m`.
    pub fn resistance(&self, v: f64, m: f64) -> f64 {
        self.drag_k * v * v + self.rolling * m * G
    }

    /// Gear (1-based) for speed `v`, with hysteresis against the current gear.
    pub fn gear_for(&self, v: f64, current: i32) -> i32 {
        let n = self.gear_top.len() as i32;
        let mut g = current.clamp(1, n);
        let rpm = |g: i32| self.redline_rpm * v / self.gear_top[(g - 1) as usize];
        while g < n && rpm(g) > 0.975 * self.redline_rpm {
            g += 1;
        }
        while g > 1 && rpm(g - 1) < 0.86 * self.redline_rpm {
            g -= 1;
        }
        g
    }

    /// Engine speed in gear `g` at `v`.
    pub fn rpm(&self, v: f64, g: i32) -> f64 {
        if g < 1 {
            return self.idle_rpm;
        }
        let top = self.gear_top[((g - 1) as usize).min(self.gear_top.len() - 1)];
        (self.redline_rpm * v / top).max(self.idle_rpm)
    }
}

/// Per-sample limits of one planned lap.
#[derive(Debug, Clone)]
pub struct LapLimits {
    /// Grip factor per sample (driver's use of the limit × tyre state × noise).
    pub grip: Vec<f64>,
    /// Speed cap per sample, m/s (pit limiter, planted mistakes).
    pub vcap: Vec<f64>,
    /// Fraction of power the driver uses per sample.
    pub power: Vec<f64>,
}

impl LapLimits {
    /// No extra limits: full grip use `grip` everywhere, over `n` samples.
    pub fn uniform(n: usize, grip: f64, vmax: f64) -> LapLimits {
        LapLimits { grip: vec![grip; n], vcap: vec![vmax; n], power: vec![1.0; n] }
    }
}

/// The speed profile over `limits.grip.len()` samples (which may run past one lap: sample `i` is
/// at `i * track.ds`), starting at `v0`, for a car of mass `mass` kg.
pub fn speed_profile(car: &CarDef, track: &Track, limits: &LapLimits, v0: f64, mass: f64) -> Vec<f64> {
    let n = limits.grip.len();
    let ds = track.ds;
    let k_at = |i: usize| track.curvature[i % track.len()];
    let cap: Vec<f64> = (0..n).map(|i| car.corner_speed(k_at(i), limits.grip[i]).min(limits.vcap[i])).collect();
    let ellipse = |i: usize, v: f64| {
        let lat = v * v * k_at(i).abs();
        let lim = car.lat_limit(v, limits.grip[i]).max(1e-6);
        (1.0 - (lat / lim).min(1.0).powi(2)).sqrt().max(0.08)
    };
    let mut v = cap.clone();
    // Forward: acceleration limited by power, traction and the ellipse.
    v[0] = v0.min(cap[0]).max(0.0);
    for i in 0..n - 1 {
        let vi = v[i].max(0.5);
        let drive = (car.power_w * limits.power[i] / vi).min(
            car.traction_share * car.mu * limits.grip[i] * mass * (G + car.downforce_k * vi * vi) * ellipse(i, vi),
        );
        let a = (drive - car.resistance(vi, mass)) / mass;
        let next = (v[i] * v[i] + 2.0 * a * ds).max(0.0).sqrt();
        v[i + 1] = v[i + 1].min(next);
    }
    // Backward: braking limited by the brakes, drag helping, and the ellipse.
    for i in (1..n).rev() {
        let vi = v[i];
        let brake = car.mu_brake * limits.grip[i] * (G + car.downforce_k * vi * vi) * ellipse(i, vi)
            + car.resistance(vi, mass) / mass;
        let prev = (vi * vi + 2.0 * brake * ds).sqrt();
        v[i - 1] = v[i - 1].min(prev);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::super::track::{RED_BULL_RING, Track};
    use super::*;

    #[test]
    fn top_speed_and_corner_speeds_are_gt3_like() {
        // Top speed where power meets drag: 270–300 km/h for a GT3.
        let m = GT3.mass_kg + 60.0;
        let mut v: f64 = 10.0;
        for _ in 0..100_000 {
            let a = (GT3.power_w / v - GT3.resistance(v, m)) / m;
            v += a * 0.01;
        }
        assert!((75.0..84.0).contains(&v), "top speed {} km/h", v * 3.6);
        // A 22 m hairpin at 60–85 km/h.
        let hairpin = GT3.corner_speed(1.0 / 22.0, 1.0) * 3.6;
        assert!((60.0..85.0).contains(&hairpin), "{hairpin}");
        assert_eq!(GT3.gear_for(10.0, 4), 1);
        assert_eq!(GT3.gear_for(75.0, 1), 6);
    }

    #[test]
    fn profile_brakes_before_corners() {
        let t = Track::build(&RED_BULL_RING);
        let lim = LapLimits::uniform(t.len(), 1.0, GT3.vmax);
        let v = speed_profile(&GT3, &t, &lim, 40.0, GT3.mass_kg + 50.0);
        // Speed drops into T3 (the hairpin) from far above it.
        let c = t.corners.iter().min_by(|a, b| a.radius_m.total_cmp(&b.radius_m)).unwrap();
        let i_entry = t.index(c.start_m);
        let i_before = t.index(c.start_m - 150.0);
        assert!(v[i_before] > v[i_entry] + 15.0, "{} {}", v[i_before], v[i_entry]);
    }
}
