//! Helpers shared by the agent's integration tests.

/// The pit wall's next stop for this car: 42 litres and four tyres.
pub fn pit_command() -> pitbox_model::strategy::PitCommand {
    pitbox_model::strategy::PitCommand {
        id: "pit-1".into(),
        driver_id: "driver-1".into(),
        sender_id: "eng-1".into(),
        sender_name: "Sam".into(),
        timestamp: chrono::Utc::now(),
        clear_all: false,
        fuel_l: Some(42.0),
        tyres: Some(pitbox_model::strategy::TyreChange { lf: true, rf: true, lr: true, rr: true, pressure_kpa: None }),
        fast_repair: None,
        windscreen: None,
    }
}
