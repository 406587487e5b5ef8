//! The car's next pit stop as the pit wall set it (`pit_command`): applied in the sim the agent
//! reads — iRacing on Windows, through its broadcast messages, or the built-in simulator, whose
//! pit boxes take the same encoded commands — and reported in `/api/status` (`pitCommand`)
//! either way, with the reason when it could not be applied, never silently. The sim's own
//! answer (`PitSvFlags`, `PitSvFuel`) comes back in the samples.

use pitbox_irsdk::broadcast::{self, Broadcast};
use pitbox_model::strategy::PitCommand;
use pitbox_sources::TelemetrySource;
use pitbox_sources::sim::pit_box::SimPitBox;
use serde::Serialize;

/// Where pit commands go, decided from the source at start.
#[derive(Debug, Clone)]
pub enum PitTarget {
    /// iRacing, through its broadcast window message.
    Iracing,
    /// The built-in simulator's pit boxes.
    Simulator(SimPitBox),
    /// Nowhere: a file replay or a memory dump has no pit crew. The text says which source.
    None(String),
}

impl PitTarget {
    /// The target of `source`.
    pub fn of(source: &dyn TelemetrySource) -> PitTarget {
        if source.is_iracing() {
            PitTarget::Iracing
        } else if let Some(b) = source.sim_pit_box() {
            PitTarget::Simulator(b)
        } else {
            PitTarget::None(source.describe())
        }
    }

    fn name(&self) -> &'static str {
        match self {
            PitTarget::Iracing => "iRacing",
            PitTarget::Simulator(_) => "the simulator",
            PitTarget::None(_) => "nothing",
        }
    }
}

/// What became of the last pit command.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PitCommandStatus {
    pub id: String,
    pub from: String,
    /// "42 litres, four tyres".
    pub summary: String,
    /// Set in the sim (iRacing applies it while the player is in the car).
    pub applied: bool,
    /// Where it was sent: "iRacing", "the simulator" or "nothing".
    pub target: &'static str,
    /// Why not, when not applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The broadcasts, as `[command, value]` (`irsdk_PitCommandMode`).
    pub broadcasts: Vec<[i32; 2]>,
    pub received_at: chrono::DateTime<chrono::Utc>,
}

/// Applies `cmd` to `target`; returns what happened.
pub fn apply(target: &PitTarget, cmd: &PitCommand) -> PitCommandStatus {
    let list: Vec<Broadcast> = broadcast::pit_broadcasts(cmd);
    let outcome = match target {
        PitTarget::Iracing => broadcast::send(&list).map_err(|e| e.to_string()),
        PitTarget::Simulator(b) => {
            b.apply(&list);
            Ok(())
        }
        PitTarget::None(source) => Err(format!("the source is {source}: no sim to set the stop in")),
    };
    match &outcome {
        Ok(()) => {
            tracing::info!(id = %cmd.id, from = %cmd.sender_name, stop = %cmd.describe(), target = target.name(), "pit stop set")
        }
        Err(why) => tracing::warn!(id = %cmd.id, stop = %cmd.describe(), reason = %why, "pit stop not set in the sim"),
    }
    PitCommandStatus {
        id: cmd.id.clone(),
        from: cmd.sender_name.clone(),
        summary: cmd.describe(),
        applied: outcome.is_ok(),
        target: target.name(),
        reason: outcome.err(),
        broadcasts: list.iter().map(|b| [i32::from(b.mode as u16), b.value]).collect(),
        received_at: chrono::Utc::now(),
    }
}
