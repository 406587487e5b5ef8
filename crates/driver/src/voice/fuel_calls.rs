//! The agent's own fuel calls (pit window, low fuel, box now) from [`crate::fuel::FuelWatch`].

use super::{CalloutOrigin, Worker};

impl Worker {
    /// Once a second: the fuel watch on the newest sample; its calls go to the radio.
    pub(super) fn fuel_tick(&mut self) {
        let Some(t) = self.shared.telemetry.borrow().clone() else { return };
        self.refresh_engineer();
        let calls = self.fuel.update(&t, self.engineer.laps_left());
        let per_lap = self.fuel.per_lap();
        self.engineer.set_fuel_per_lap_liters(per_lap);
        let measured = self.fuel.measured_laps();
        self.set_status(|s| {
            s.fuel_per_lap_liters = per_lap;
            s.fuel_laps_measured = measured;
        });
        for c in calls {
            let origin = match c.kind {
                "pitWindow" => CalloutOrigin::PitWindow,
                "boxNow" => CalloutOrigin::BoxNow,
                _ => CalloutOrigin::LowFuel,
            };
            self.callout(origin, c.text, c.priority, Some("fuel"));
        }
    }
}
