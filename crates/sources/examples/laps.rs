use pitbox_sources::sim::{Sim, SimConfig, track};
fn main() {
    for t in track::TRACKS {
        let mut cfg = SimConfig::new(1, t);
        cfg.cars = 24;
        let mut sim = Sim::new(cfg).unwrap();
        let start = std::time::Instant::now();
        while sim.player_laps_completed() < 6 {
            sim.step();
        }
        let el = start.elapsed();
        let laps: Vec<String> =
            sim.player_laps().iter().map(|l| format!("{:.2}{}", l.time_s, if l.pit { "P" } else { "" })).collect();
        let all: Vec<f64> = sim.laps().iter().filter(|l| !l.pit).map(|l| l.time_s).collect();
        let min = all.iter().cloned().fold(f64::MAX, f64::min);
        let max = all.iter().cloned().fold(0.0, f64::max);
        println!(
            "{} ref {:.1}: player {:?} field {:.2}..{:.2} ({:?} for {:.0}s sim)",
            t.key,
            t.reference_lap_s,
            laps,
            min,
            max,
            el,
            sim.time()
        );
    }
}
