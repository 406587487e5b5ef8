//! iRacing's pit commands: a `pit_command` from the pit wall as the broadcast messages iRacing
//! takes (`irsdk_BroadcastPitCommand` of `irsdk_defines.h`), and, on Windows, sending them.
//!
//! iRacing listens for the window message registered as `IRSDK_BROADCASTMSG`, sent to every
//! top-level window (`HWND_BROADCAST`) with `wParam = MAKELONG(irsdk_BroadcastPitCommand,
//! command)` and `lParam = value` (litres of fuel, a tyre pressure in kPa, or 0). iRacing applies
//! pit commands only while the player is in the car; what it accepted shows in `PitSvFlags` and
//! `PitSvFuel`.

use pitbox_model::strategy::PitCommand;

/// The registered window message iRacing listens on.
pub const BROADCAST_MESSAGE: &str = "IRSDK_BROADCASTMSG";
/// `irsdk_BroadcastPitCommand`: the tenth broadcast message (after the camera, replay, texture
/// and chat ones).
pub const BROADCAST_PIT_COMMAND: u16 = 9;

/// `irsdk_PitCommandMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum PitCommandMode {
    /// Untick every pit-service box.
    Clear = 0,
    /// Tear off a windscreen layer.
    Windscreen = 1,
    /// Add fuel: the value is litres (0 keeps the amount already set).
    Fuel = 2,
    /// Change the left front tyre: the value is the pressure in kPa (0 keeps it).
    LeftFront = 3,
    RightFront = 4,
    LeftRear = 5,
    RightRear = 6,
    /// Untick the four tyres.
    ClearTyres = 7,
    /// Request a fast repair.
    FastRepair = 8,
    ClearWindscreen = 9,
    ClearFastRepair = 10,
    ClearFuel = 11,
}

/// One broadcast: a pit command and its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Broadcast {
    pub mode: PitCommandMode,
    pub value: i32,
}

impl Broadcast {
    /// `MAKELONG(irsdk_BroadcastPitCommand, mode)`.
    pub fn wparam(self) -> usize {
        (u32::from(BROADCAST_PIT_COMMAND) | (u32::from(self.mode as u16) << 16)) as usize
    }

    /// The value, as `LPARAM`.
    pub fn lparam(self) -> isize {
        self.value as isize
    }
}

/// The broadcasts that set `cmd` in iRacing, in order: clear everything (when asked), then
/// windscreen, fuel, tyres (untick all four, then tick the chosen ones) and fast repair.
pub fn pit_broadcasts(cmd: &PitCommand) -> Vec<Broadcast> {
    let b = |mode, value| Broadcast { mode, value };
    let mut out = Vec::new();
    if cmd.clear_all {
        out.push(b(PitCommandMode::Clear, 0));
    }
    match cmd.windscreen {
        Some(true) => out.push(b(PitCommandMode::Windscreen, 0)),
        Some(false) => out.push(b(PitCommandMode::ClearWindscreen, 0)),
        None => {}
    }
    match cmd.fuel_l {
        // 0 would mean "the amount already set": a small positive request is at least a litre.
        Some(l) if l > 0.0 => out.push(b(PitCommandMode::Fuel, (l.round() as i32).max(1))),
        Some(_) => out.push(b(PitCommandMode::ClearFuel, 0)),
        None => {}
    }
    if let Some(t) = &cmd.tyres {
        out.push(b(PitCommandMode::ClearTyres, 0));
        let pressure = t.pressure_kpa.map_or(0, |p| p.round() as i32);
        for (on, mode) in [
            (t.lf, PitCommandMode::LeftFront),
            (t.rf, PitCommandMode::RightFront),
            (t.lr, PitCommandMode::LeftRear),
            (t.rr, PitCommandMode::RightRear),
        ] {
            if on {
                out.push(b(mode, pressure));
            }
        }
    }
    match cmd.fast_repair {
        Some(true) => out.push(b(PitCommandMode::FastRepair, 0)),
        Some(false) => out.push(b(PitCommandMode::ClearFastRepair, 0)),
        None => {}
    }
    out
}

/// Why the broadcasts were not sent.
#[derive(Debug, thiserror::Error)]
pub enum BroadcastError {
    #[error("iRacing's pit commands are Windows messages: this is not Windows")]
    NotWindows,
    #[error("RegisterWindowMessage(\"{BROADCAST_MESSAGE}\") failed: {0}")]
    Register(std::io::Error),
    #[error("sending broadcast {index} of {total} failed: {source}")]
    Send { index: usize, total: usize, source: std::io::Error },
}

/// Sends `broadcasts` to every top-level window, as iRacing's SDK does. Returns at once:
/// `SendNotifyMessage` does not wait for iRacing (which may not be running).
#[cfg(windows)]
pub fn send(broadcasts: &[Broadcast]) -> Result<(), BroadcastError> {
    use windows_sys::Win32::UI::WindowsAndMessaging::{HWND_BROADCAST, RegisterWindowMessageA, SendNotifyMessageA};
    // SAFETY: a NUL-terminated ASCII string that outlives the call.
    let id = unsafe { RegisterWindowMessageA(c"IRSDK_BROADCASTMSG".as_ptr().cast()) };
    if id == 0 {
        return Err(BroadcastError::Register(std::io::Error::last_os_error()));
    }
    for (index, b) in broadcasts.iter().enumerate() {
        // SAFETY: plain values; HWND_BROADCAST is the documented pseudo-handle.
        let ok = unsafe { SendNotifyMessageA(HWND_BROADCAST, id, b.wparam(), b.lparam()) };
        if ok == 0 {
            return Err(BroadcastError::Send {
                index: index + 1,
                total: broadcasts.len(),
                source: std::io::Error::last_os_error(),
            });
        }
    }
    Ok(())
}

/// Not Windows: nothing can be sent.
#[cfg(not(windows))]
pub fn send(_broadcasts: &[Broadcast]) -> Result<(), BroadcastError> {
    Err(BroadcastError::NotWindows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pitbox_model::strategy::TyreChange;

    fn command() -> PitCommand {
        PitCommand {
            id: "pit-1".into(),
            driver_id: "d1".into(),
            sender_id: "e1".into(),
            sender_name: "Sam".into(),
            timestamp: chrono::Utc::now(),
            clear_all: false,
            fuel_l: None,
            tyres: None,
            fast_repair: None,
            windscreen: None,
        }
    }

    #[test]
    fn each_field_is_its_irsdk_command_in_order() {
        let mut c = command();
        c.clear_all = true;
        c.fuel_l = Some(41.6);
        c.tyres = Some(TyreChange { lf: true, rf: false, lr: true, rr: false, pressure_kpa: Some(165.4) });
        c.fast_repair = Some(true);
        c.windscreen = Some(false);
        let got: Vec<(u16, i32)> = pit_broadcasts(&c).iter().map(|b| (b.mode as u16, b.value)).collect();
        assert_eq!(got, [(0, 0), (9, 0), (2, 42), (7, 0), (3, 165), (5, 165), (8, 0)]);
    }

    #[test]
    fn fuel_zero_unticks_and_a_splash_is_at_least_a_litre() {
        let mut c = command();
        c.fuel_l = Some(0.0);
        assert_eq!(pit_broadcasts(&c), [Broadcast { mode: PitCommandMode::ClearFuel, value: 0 }]);
        c.fuel_l = Some(0.3);
        assert_eq!(pit_broadcasts(&c), [Broadcast { mode: PitCommandMode::Fuel, value: 1 }]);
        c.fuel_l = None;
        c.tyres = Some(TyreChange { lf: false, rf: false, lr: false, rr: false, pressure_kpa: None });
        c.fast_repair = Some(false);
        c.windscreen = Some(true);
        let got: Vec<u16> = pit_broadcasts(&c).iter().map(|b| b.mode as u16).collect();
        assert_eq!(got, [1, 7, 10]);
    }

    /// `MAKELONG(low, high)`: the broadcast type in the low word, the command in the high word.
    #[test]
    fn the_wparam_is_makelong_of_the_broadcast_and_the_command() {
        let fuel = Broadcast { mode: PitCommandMode::Fuel, value: 42 };
        assert_eq!(fuel.wparam(), 0x0002_0009);
        assert_eq!(fuel.lparam(), 42);
        assert_eq!(Broadcast { mode: PitCommandMode::ClearFuel, value: 0 }.wparam(), 0x000B_0009);
    }

    #[cfg(not(windows))]
    #[test]
    fn elsewhere_nothing_is_sent_and_the_reason_says_why() {
        let e = send(&[Broadcast { mode: PitCommandMode::Clear, value: 0 }]).expect_err("not Windows");
        assert!(e.to_string().contains("Windows"), "{e}");
    }
}
