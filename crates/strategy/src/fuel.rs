//! Fuel per lap from the last green laps: the one figure the planner's live inputs, the
//! driver's fuel calls and the coach's fuel report should all use.

/// One completed lap's fuel use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LapFuel {
    /// Litres (or tank percent: the unit is the caller's) used over the lap.
    pub used: f64,
    /// A green, representative lap: no pit lane, no refuel, no caution, seen from its start.
    pub green: bool,
}

/// The mean fuel use of the last `window` green laps with a positive, finite use, or `None`
/// when there is none (`window` 0 means every green lap). Laps are oldest first.
pub fn fuel_per_lap(laps: &[LapFuel], window: usize) -> Option<f64> {
    let take = if window == 0 { usize::MAX } else { window };
    let used: Vec<f64> = laps
        .iter()
        .rev()
        .filter(|l| l.green && l.used.is_finite() && l.used > 0.0)
        .take(take)
        .map(|l| l.used)
        .collect();
    (!used.is_empty()).then(|| used.iter().sum::<f64>() / used.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lap(used: f64, green: bool) -> LapFuel {
        LapFuel { used, green }
    }

    #[test]
    fn last_green_laps_only() {
        let laps = [lap(3.4, false), lap(3.0, true), lap(3.2, true), lap(9.0, false), lap(3.1, true), lap(-1.0, true)];
        assert_eq!(fuel_per_lap(&laps, 0), Some((3.0 + 3.2 + 3.1) / 3.0));
        assert_eq!(fuel_per_lap(&laps, 2), Some((3.2 + 3.1) / 2.0));
        assert_eq!(fuel_per_lap(&[lap(2.0, false), lap(f64::NAN, true)], 5), None);
        assert_eq!(fuel_per_lap(&[], 5), None);
    }

    proptest! {
        #[test]
        fn between_the_smallest_and_largest_green_lap(uses in prop::collection::vec((0.01f64..10.0, any::<bool>()), 0..30), window in 0usize..8) {
            let laps: Vec<LapFuel> = uses.iter().map(|&(u, g)| lap(u, g)).collect();
            match fuel_per_lap(&laps, window) {
                Some(m) => {
                    let green: Vec<f64> = laps.iter().filter(|l| l.green).map(|l| l.used).collect();
                    let lo = green.iter().cloned().fold(f64::MAX, f64::min);
                    let hi = green.iter().cloned().fold(0.0, f64::max);
                    prop_assert!(m >= lo - 1e-9 && m <= hi + 1e-9);
                }
                None => prop_assert!(laps.iter().all(|l| !l.green)),
            }
        }
    }
}
