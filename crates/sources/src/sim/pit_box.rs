//! The player's pit-service boxes in the simulator, set the way iRacing's are: by the broadcast
//! pit commands of `pitbox_irsdk::broadcast` (the same encoded commands the agent sends iRacing
//! on Windows), so a `pit_command` from the pit wall is tested end to end without iRacing.
//! What is set shows in `PitSvFlags` / `PitSvFuel` and is what the next stop does.

use std::sync::{Arc, Mutex};

use pitbox_irsdk::broadcast::{Broadcast, PitCommandMode};

/// The fuel box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FuelBox {
    /// Ticked, the sim's own amount: refill to the stint's fuel (its state before any command).
    Auto,
    /// Ticked with this many litres.
    Litres(f64),
    /// Unticked: no fuel at the stop.
    Off,
}

/// The pit-service boxes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PitBoxes {
    pub fuel: FuelBox,
    /// Tyres to change: bit 0 LF, 1 RF, 2 LR, 3 RR (as `PitSvFlags`).
    pub tyres: u8,
    pub windscreen: bool,
    pub fast_repair: bool,
}

impl Default for PitBoxes {
    /// Before any command: fuel to the stint's amount and four tyres.
    fn default() -> Self {
        PitBoxes { fuel: FuelBox::Auto, tyres: 0x0F, windscreen: false, fast_repair: false }
    }
}

impl PitBoxes {
    /// Applies one broadcast as iRacing does (a value of 0 keeps the amount or pressure set).
    pub fn apply(&mut self, b: Broadcast) {
        let corner = |bit: u8, boxes: &mut PitBoxes| boxes.tyres |= bit;
        match b.mode {
            PitCommandMode::Clear => {
                *self = PitBoxes { fuel: FuelBox::Off, tyres: 0, windscreen: false, fast_repair: false }
            }
            PitCommandMode::Windscreen => self.windscreen = true,
            PitCommandMode::ClearWindscreen => self.windscreen = false,
            PitCommandMode::Fuel => {
                if b.value > 0 {
                    self.fuel = FuelBox::Litres(f64::from(b.value));
                } else if self.fuel == FuelBox::Off {
                    self.fuel = FuelBox::Auto;
                }
            }
            PitCommandMode::ClearFuel => self.fuel = FuelBox::Off,
            PitCommandMode::LeftFront => corner(0x01, self),
            PitCommandMode::RightFront => corner(0x02, self),
            PitCommandMode::LeftRear => corner(0x04, self),
            PitCommandMode::RightRear => corner(0x08, self),
            PitCommandMode::ClearTyres => self.tyres = 0,
            PitCommandMode::FastRepair => self.fast_repair = true,
            PitCommandMode::ClearFastRepair => self.fast_repair = false,
        }
    }

    /// `PitSvFlags`: 0x01–0x08 tyres, 0x10 fuel, 0x20 windscreen, 0x40 fast repair.
    pub fn flags(&self) -> u32 {
        u32::from(self.tyres)
            | if self.fuel == FuelBox::Off { 0 } else { 0x10 }
            | if self.windscreen { 0x20 } else { 0 }
            | if self.fast_repair { 0x40 } else { 0 }
    }

    /// Litres the stop adds, given what the sim's own refill would be.
    pub fn fuel_l(&self, auto_l: f64) -> f64 {
        match self.fuel {
            FuelBox::Auto => auto_l,
            FuelBox::Litres(l) => l,
            FuelBox::Off => 0.0,
        }
    }
}

/// The boxes shared between the simulation thread and whoever sets them (the driver agent).
#[derive(Debug, Clone, Default)]
pub struct SimPitBox(Arc<Mutex<PitBoxes>>);

impl SimPitBox {
    /// Applies `broadcasts` in order.
    pub fn apply(&self, broadcasts: &[Broadcast]) {
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for b in broadcasts {
            g.apply(*b);
        }
    }

    /// The boxes now.
    pub fn get(&self) -> PitBoxes {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(mode: PitCommandMode, value: i32) -> Broadcast {
        Broadcast { mode, value }
    }

    #[test]
    fn broadcasts_tick_and_untick_the_boxes_as_iracing_does() {
        let mut boxes = PitBoxes::default();
        assert_eq!(boxes.flags(), 0x1F);
        boxes.apply(b(PitCommandMode::Clear, 0));
        assert_eq!((boxes.flags(), boxes.fuel_l(30.0)), (0, 0.0));
        boxes.apply(b(PitCommandMode::Fuel, 42));
        boxes.apply(b(PitCommandMode::ClearTyres, 0));
        boxes.apply(b(PitCommandMode::LeftFront, 0));
        boxes.apply(b(PitCommandMode::RightRear, 165));
        boxes.apply(b(PitCommandMode::FastRepair, 0));
        assert_eq!(boxes.flags(), 0x10 | 0x01 | 0x08 | 0x40);
        assert_eq!(boxes.fuel_l(30.0), 42.0);
        // 0 keeps the amount set; unticking and ticking again with 0 is the sim's own amount.
        boxes.apply(b(PitCommandMode::Fuel, 0));
        assert_eq!(boxes.fuel_l(30.0), 42.0);
        boxes.apply(b(PitCommandMode::ClearFuel, 0));
        boxes.apply(b(PitCommandMode::Fuel, 0));
        assert_eq!(boxes.fuel_l(30.0), 30.0);
        boxes.apply(b(PitCommandMode::Windscreen, 0));
        boxes.apply(b(PitCommandMode::ClearFastRepair, 0));
        assert_eq!(boxes.flags(), 0x10 | 0x01 | 0x08 | 0x20);
    }
}
