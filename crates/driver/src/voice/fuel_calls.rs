//! The agent's own fuel calls (pit window, low fuel, box now) from [`crate::fuel::FuelWatch`],
//! and the gate that holds every call about the car while the player is not driving live.

use super::{CalloutOrigin, Worker};
use crate::callout_gate::{Held, car_callouts_held};

impl CalloutOrigin {
    /// Calls about the car, held while the player is not driving live; messages from people
    /// and answers to the driver's own questions are always spoken.
    pub fn is_about_the_car(self) -> bool {
        matches!(
            self,
            CalloutOrigin::AiCoaching
                | CalloutOrigin::PitWindow
                | CalloutOrigin::LowFuel
                | CalloutOrigin::BoxNow
                | CalloutOrigin::Spotter
                | CalloutOrigin::Cue
        )
    }
}

impl Worker {
    /// Once a second: the fuel watch on the newest sample; its calls go to the radio.
    pub(super) fn fuel_tick(&mut self) {
        let held = self.car_callouts_held();
        self.set_status(|s| s.car_callouts_held = held.map(|h| h.describe().to_string()));
        let Some(t) = self.shared.telemetry.borrow().clone() else { return };
        self.refresh_engineer();
        if held.is_some() {
            // A replay's or the garage's fuel is not the tank's: neither measured nor called.
            return;
        }
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

    /// Why car callouts are held now (`None` while the player drives live).
    pub(super) fn car_callouts_held(&self) -> Option<Held> {
        let source = *self.shared.source_state.borrow();
        car_callouts_held(source, self.shared.telemetry.borrow().as_ref())
    }
}
