//! The SVG plot: speed, throttle and brake against distance with the reference overlaid, and the
//! delta trace, corners marked. Plain SVG written by hand: no fonts or system libraries needed.

use std::fmt::Write as _;

use crate::corners::Corner;
use crate::trace::Trace;

const W: f64 = 1400.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const MAX_POINTS: usize = 1400;

struct Panel {
    top: f64,
    height: f64,
    min: f64,
    max: f64,
}

impl Panel {
    fn y(&self, v: f64) -> f64 {
        let span = (self.max - self.min).max(1e-9);
        self.top + self.height * (1.0 - ((v - self.min) / span).clamp(0.0, 1.0))
    }
}

fn x(d: f64, len: f64) -> f64 {
    LEFT + (W - LEFT - RIGHT) * d / len.max(1e-9)
}

fn polyline(out: &mut String, t: &Trace, values: &[f64], p: &Panel, style: &str) {
    let n = values.len().min(t.len());
    if n == 0 {
        return;
    }
    let stride = n.div_ceil(MAX_POINTS).max(1);
    out.push_str("<polyline fill=\"none\" ");
    out.push_str(style);
    out.push_str(" points=\"");
    let mut g = 0;
    while g < n {
        let _ = write!(out, "{:.1},{:.1} ", x(t.dist(g), t.length_m), p.y(values[g]));
        if g == n - 1 {
            break;
        }
        g = (g + stride).min(n - 1);
    }
    out.push_str("\"/>\n");
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn frame(out: &mut String, p: &Panel, label: &str, ticks: &[(f64, String)]) {
    let _ = writeln!(
        out,
        "<rect x=\"{LEFT}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#fafafa\" stroke=\"#ccc\"/>",
        p.top,
        W - LEFT - RIGHT,
        p.height
    );
    let _ = writeln!(
        out,
        "<text x=\"12\" y=\"{:.1}\" font-size=\"13\" transform=\"rotate(-90 12 {:.1})\" text-anchor=\"middle\">{}</text>",
        p.top + p.height / 2.0,
        p.top + p.height / 2.0,
        escape(label)
    );
    for (v, t) in ticks {
        let y = p.y(*v);
        let _ = writeln!(
            out,
            "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#e3e3e3\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">{}</text>",
            W - RIGHT,
            LEFT - 4.0,
            y + 4.0,
            escape(t)
        );
    }
}

/// Renders the plot of `lap` against `reference` (same grid) with the delta trace.
pub fn svg(lap: &Trace, reference: &Trace, delta: &[f64], corners: &[Corner], title: &str) -> String {
    let len = reference.length_m;
    let mut out = String::with_capacity(200_000);
    let h = 900.0;
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{h}\" viewBox=\"0 0 {W} {h}\" font-family=\"sans-serif\">"
    );
    let _ = writeln!(out, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
    let _ = writeln!(out, "<text x=\"{LEFT}\" y=\"24\" font-size=\"16\" font-weight=\"bold\">{}</text>", escape(title));
    let _ = writeln!(
        out,
        "<text x=\"{:.1}\" y=\"24\" font-size=\"12\" text-anchor=\"end\"><tspan fill=\"#d62728\">━ this lap</tspan>  <tspan fill=\"#555\">┅ reference</tspan>  <tspan fill=\"#2ca02c\">━ throttle</tspan>  <tspan fill=\"#d62728\">━ brake</tspan></text>",
        W - RIGHT
    );
    let vmax = lap.speed.iter().chain(&reference.speed).copied().fold(0.0, f64::max) * 3.6;
    let vmax = (vmax / 20.0).ceil() * 20.0;
    let speed = Panel { top: 40.0, height: 360.0, min: 0.0, max: vmax.max(20.0) };
    let pedals = Panel { top: 420.0, height: 200.0, min: 0.0, max: 1.0 };
    let dmax = delta.iter().map(|d| d.abs()).fold(0.05, f64::max) * 1.1;
    let dpan = Panel { top: 640.0, height: 200.0, min: -dmax, max: dmax };
    let sticks: Vec<(f64, String)> =
        (0..=(vmax / 40.0) as usize).map(|i| (i as f64 * 40.0, format!("{}", i * 40))).collect();
    frame(&mut out, &speed, "speed km/h", &sticks);
    frame(&mut out, &pedals, "throttle / brake %", &[(0.0, "0".into()), (0.5, "50".into()), (1.0, "100".into())]);
    frame(
        &mut out,
        &dpan,
        "delta s (+ = behind)",
        &[(-dmax, format!("{:+.2}", -dmax)), (0.0, "0".into()), (dmax, format!("{dmax:+.2}"))],
    );
    // Corners.
    for c in corners {
        let cx = x(c.apex_m, len);
        let _ = writeln!(
            out,
            "<line x1=\"{cx:.1}\" x2=\"{cx:.1}\" y1=\"40\" y2=\"840\" stroke=\"#bbb\" stroke-dasharray=\"3,4\"/><text x=\"{cx:.1}\" y=\"56\" font-size=\"12\" text-anchor=\"middle\" fill=\"#444\">{}</text>",
            escape(&c.id)
        );
    }
    let kmh = |t: &Trace| t.speed.iter().map(|v| v * 3.6).collect::<Vec<f64>>();
    polyline(
        &mut out,
        reference,
        &kmh(reference),
        &speed,
        "stroke=\"#555\" stroke-width=\"1.2\" stroke-dasharray=\"5,3\"",
    );
    polyline(&mut out, lap, &kmh(lap), &speed, "stroke=\"#d62728\" stroke-width=\"1.6\"");
    polyline(
        &mut out,
        reference,
        &reference.throttle,
        &pedals,
        "stroke=\"#2ca02c\" stroke-opacity=\"0.5\" stroke-dasharray=\"5,3\"",
    );
    polyline(
        &mut out,
        reference,
        &reference.brake,
        &pedals,
        "stroke=\"#d62728\" stroke-opacity=\"0.5\" stroke-dasharray=\"5,3\"",
    );
    polyline(&mut out, lap, &lap.throttle, &pedals, "stroke=\"#2ca02c\" stroke-width=\"1.4\"");
    polyline(&mut out, lap, &lap.brake, &pedals, "stroke=\"#d62728\" stroke-width=\"1.4\"");
    polyline(&mut out, reference, delta, &dpan, "stroke=\"#1f77b4\" stroke-width=\"1.6\"");
    // Distance axis.
    let step = if len > 4000.0 {
        500.0
    } else if len > 1500.0 {
        250.0
    } else {
        100.0
    };
    let mut d = 0.0;
    while d <= len {
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"858\" font-size=\"11\" text-anchor=\"middle\">{d:.0}</text>",
            x(d, len)
        );
        d += step;
    }
    let _ = writeln!(
        out,
        "<text x=\"{:.1}\" y=\"880\" font-size=\"12\" text-anchor=\"middle\">distance from the line, m</text>",
        W / 2.0
    );
    out.push_str("</svg>\n");
    out
}
