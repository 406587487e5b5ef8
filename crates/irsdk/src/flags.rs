//! Typed bitfields and enums of `irsdk_defines.h`.
//!
//! Bitfields (`SessionFlags`, `EngineWarnings`, `PitSvFlags`, `CarIdxSessionFlags`) are
//! [`bitflags`]; unknown bits are kept. Enums stored in `int` variables (`CarIdxTrackSurface` is
//! `irsdk_TrkLoc`, `CarLeftRight` is `irsdk_CarLeftRight` 0–6, `SessionState`) are Rust enums
//! with an `Unknown(i32)` case, so no value read from a file can fail or panic.

use crate::var::{VarType, VarValue, le};
use serde::Serialize;

bitflags::bitflags! {
    /// `irsdk_Flags` (SessionFlags, CarIdxSessionFlags).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct SessionFlags: u32 {
        // global flags
        const CHECKERED = 0x0000_0001;
        const WHITE = 0x0000_0002;
        const GREEN = 0x0000_0004;
        const YELLOW = 0x0000_0008;
        const RED = 0x0000_0010;
        const BLUE = 0x0000_0020;
        const DEBRIS = 0x0000_0040;
        const CROSSED = 0x0000_0080;
        const YELLOW_WAVING = 0x0000_0100;
        const ONE_LAP_TO_GREEN = 0x0000_0200;
        const GREEN_HELD = 0x0000_0400;
        const TEN_TO_GO = 0x0000_0800;
        const FIVE_TO_GO = 0x0000_1000;
        const RANDOM_WAVING = 0x0000_2000;
        const CAUTION = 0x0000_4000;
        const CAUTION_WAVING = 0x0000_8000;
        // drivers black flags
        const BLACK = 0x0001_0000;
        const DISQUALIFY = 0x0002_0000;
        const SERVICIBLE = 0x0004_0000;
        const FURLED = 0x0008_0000;
        const REPAIR = 0x0010_0000;
        const DQ_SCORING_INVALID = 0x0020_0000;
        // start lights
        const START_HIDDEN = 0x1000_0000;
        const START_READY = 0x2000_0000;
        const START_SET = 0x4000_0000;
        const START_GO = 0x8000_0000;
        const _ = !0;
    }
}

bitflags::bitflags! {
    /// `irsdk_EngineWarnings`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct EngineWarnings: u32 {
        const WATER_TEMP = 0x0001;
        const FUEL_PRESSURE = 0x0002;
        const OIL_PRESSURE = 0x0004;
        const ENGINE_STALLED = 0x0008;
        const PIT_SPEED_LIMITER = 0x0010;
        const REV_LIMITER_ACTIVE = 0x0020;
        const OIL_TEMP = 0x0040;
        const MANDATORY_REPAIR_NEEDED = 0x0080;
        const OPTIONAL_REPAIR_NEEDED = 0x0100;
        const _ = !0;
    }
}

bitflags::bitflags! {
    /// `irsdk_PitSvFlags` (PitSvFlags).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct PitSvFlags: u32 {
        const LF_TIRE_CHANGE = 0x0001;
        const RF_TIRE_CHANGE = 0x0002;
        const LR_TIRE_CHANGE = 0x0004;
        const RR_TIRE_CHANGE = 0x0008;
        const FUEL_FILL = 0x0010;
        const WINDSHIELD_TEAROFF = 0x0020;
        const FAST_REPAIR = 0x0040;
        const _ = !0;
    }
}

macro_rules! bitfield_value {
    ($t:ty) => {
        impl VarValue for $t {
            const SIZE: usize = 4;
            const DESCRIPTION: &'static str = concat!(stringify!($t), " (bitfield)");
            fn accepts(ty: VarType) -> bool {
                ty == VarType::BitField
            }
            #[inline(always)]
            fn read(row: &[u8], off: usize) -> Option<Self> {
                le::<4>(row, off).map(|b| <$t>::from_bits_retain(u32::from_le_bytes(b)))
            }
            fn to_le(self) -> [u8; 8] {
                VarValue::to_le(self.bits())
            }
        }
    };
}
bitfield_value!(SessionFlags);
macro_rules! bitfield_serde {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_u32(self.bits())
            }
        }
    };
}
bitfield_serde!(SessionFlags);
bitfield_serde!(EngineWarnings);
bitfield_serde!(PitSvFlags);
bitfield_value!(EngineWarnings);
bitfield_value!(PitSvFlags);

macro_rules! int_enum {
    (
        $(#[$m:meta])*
        $name:ident { $($(#[$vm:meta])* $variant:ident = $val:expr),+ $(,)? }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
        pub enum $name {
            $($(#[$vm])* $variant,)+
            /// A value this version does not know.
            Unknown(i32),
            /// Default for rows that could not be read.
            #[default]
            Invalid,
        }
        impl $name {
            /// From the raw `int` value.
            pub fn from_i32(v: i32) -> Self {
                match v {
                    $($val => $name::$variant,)+
                    other => $name::Unknown(other),
                }
            }
            /// The raw `int` value (`Invalid` maps to `i32::MIN`).
            pub fn to_i32(self) -> i32 {
                match self {
                    $($name::$variant => $val,)+
                    $name::Unknown(v) => v,
                    $name::Invalid => i32::MIN,
                }
            }
        }
        impl VarValue for $name {
            const SIZE: usize = 4;
            const DESCRIPTION: &'static str = concat!(stringify!($name), " (int enum)");
            fn accepts(ty: VarType) -> bool {
                ty == VarType::Int
            }
            #[inline(always)]
            fn read(row: &[u8], off: usize) -> Option<Self> {
                le::<4>(row, off).map(|b| $name::from_i32(i32::from_le_bytes(b)))
            }
            fn to_le(self) -> [u8; 8] {
                VarValue::to_le(self.to_i32())
            }
        }
    };
}

int_enum! {
    /// `irsdk_TrkLoc`: where a car is (CarIdxTrackSurface, PlayerTrackSurface). Not a bitfield.
    TrkLoc {
        NotInWorld = -1,
        OffTrack = 0,
        InPitStall = 1,
        /// Pit lane and its approach ("AproachingPits" in the SDK).
        ApproachingPits = 2,
        OnTrack = 3,
    }
}

int_enum! {
    /// `irsdk_CarLeftRight`: the spotter state (CarLeftRight), an enum 0–6, not a bitfield.
    CarLeftRight {
        Off = 0,
        /// No cars around us.
        Clear = 1,
        CarLeft = 2,
        CarRight = 3,
        CarLeftRight = 4,
        TwoCarsLeft = 5,
        TwoCarsRight = 6,
    }
}

int_enum! {
    /// `irsdk_SessionState` (SessionState).
    SessionState {
        Invalid0 = 0,
        GetInCar = 1,
        Warmup = 2,
        ParadeLaps = 3,
        Racing = 4,
        Checkered = 5,
        CoolDown = 6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_enums() {
        // Real value from the Sebring file: start lights hidden + servicible.
        let f = SessionFlags::from_bits_retain(268_697_600);
        assert_eq!(f, SessionFlags::START_HIDDEN | SessionFlags::SERVICIBLE);
        assert_eq!(TrkLoc::from_i32(-1), TrkLoc::NotInWorld);
        assert_eq!(TrkLoc::from_i32(3), TrkLoc::OnTrack);
        assert_eq!(TrkLoc::from_i32(9), TrkLoc::Unknown(9));
        assert_eq!(CarLeftRight::from_i32(6), CarLeftRight::TwoCarsRight);
        assert_eq!(CarLeftRight::from_i32(4).to_i32(), 4);
        let row = 0x30u32.to_le_bytes();
        let w = EngineWarnings::read(&row, 0).unwrap();
        assert!(w.contains(EngineWarnings::PIT_SPEED_LIMITER | EngineWarnings::REV_LIMITER_ACTIVE));
    }
}
