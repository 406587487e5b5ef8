//! Pit commands reach a window that listens as iRacing does (Windows only; under wine in CI):
//! a stand-in registers `IRSDK_BROADCASTMSG`, owns a top-level window and records every
//! broadcast it receives; `broadcast::send` must deliver every command and value exactly as
//! encoded, in order.
#![cfg(windows)]

use std::sync::Mutex;
use std::sync::mpsc;
use std::time::Duration;

use pitbox_irsdk::broadcast::{self, Broadcast};
use pitbox_model::strategy::{PitCommand, TyreChange};
use windows_sys::Win32::Foundation::{HWND, LPARAM, LRESULT, WPARAM};
use windows_sys::Win32::System::LibraryLoader::GetModuleHandleA;
use windows_sys::Win32::UI::WindowsAndMessaging::{
    CreateWindowExA, DefWindowProcA, DispatchMessageA, GetMessageA, MSG, PostQuitMessage, RegisterClassA,
    RegisterWindowMessageA, SetTimer, WM_TIMER, WNDCLASSA, WS_OVERLAPPED,
};

/// What the stand-in received: (message id, wParam, lParam).
static RECEIVED: Mutex<Vec<(u32, usize, isize)>> = Mutex::new(Vec::new());
static EXPECTED: Mutex<usize> = Mutex::new(0);
static LISTEN_ID: Mutex<u32> = Mutex::new(0);

unsafe extern "system" fn stand_in(hwnd: HWND, msg: u32, wparam: WPARAM, lparam: LPARAM) -> LRESULT {
    let id = *LISTEN_ID.lock().unwrap_or_else(|p| p.into_inner());
    if msg == id && id != 0 {
        let mut got = RECEIVED.lock().unwrap_or_else(|p| p.into_inner());
        got.push((msg, wparam, lparam));
        if got.len() >= *EXPECTED.lock().unwrap_or_else(|p| p.into_inner()) {
            // SAFETY: called on the window's own thread.
            unsafe { PostQuitMessage(0) };
        }
        return 0;
    }
    // SAFETY: the arguments are the ones the system passed in.
    unsafe { DefWindowProcA(hwnd, msg, wparam, lparam) }
}

/// Runs the stand-in window on its own thread until `expected` broadcasts arrived or 10 s
/// passed; `ready` is told once the window exists.
fn run_stand_in(expected: usize, ready: mpsc::Sender<bool>) -> bool {
    *EXPECTED.lock().unwrap_or_else(|p| p.into_inner()) = expected;
    // SAFETY: plain Win32 calls with valid, NUL-terminated strings and a zeroed class.
    unsafe {
        let id = RegisterWindowMessageA(c"IRSDK_BROADCASTMSG".as_ptr().cast());
        *LISTEN_ID.lock().unwrap_or_else(|p| p.into_inner()) = id;
        let instance = GetModuleHandleA(std::ptr::null());
        let mut class: WNDCLASSA = std::mem::zeroed();
        class.lpfnWndProc = Some(stand_in);
        class.hInstance = instance;
        class.lpszClassName = c"PitBoxIracingStandIn".as_ptr().cast();
        if RegisterClassA(&class) == 0 {
            let _ = ready.send(false);
            return false;
        }
        let hwnd = CreateWindowExA(
            0,
            c"PitBoxIracingStandIn".as_ptr().cast(),
            c"iRacing stand-in".as_ptr().cast(),
            WS_OVERLAPPED,
            0,
            0,
            10,
            10,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            instance,
            std::ptr::null(),
        );
        if hwnd.is_null() {
            let _ = ready.send(false);
            return false;
        }
        SetTimer(hwnd, 1, 10_000, None);
        let _ = ready.send(true);
        let mut msg: MSG = std::mem::zeroed();
        while GetMessageA(&mut msg, std::ptr::null_mut(), 0, 0) > 0 {
            if msg.message == WM_TIMER {
                return false;
            }
            DispatchMessageA(&msg);
        }
        true
    }
}

#[test]
fn every_pit_command_reaches_a_window_listening_as_iracing_does() {
    let cmd = PitCommand {
        id: "pit-1".into(),
        driver_id: "d1".into(),
        sender_id: "e1".into(),
        sender_name: "Sam".into(),
        timestamp: chrono::Utc::now(),
        clear_all: true,
        fuel_l: Some(42.0),
        tyres: Some(TyreChange { lf: true, rf: true, lr: true, rr: true, pressure_kpa: Some(165.0) }),
        fast_repair: Some(true),
        windscreen: Some(true),
    };
    let broadcasts: Vec<Broadcast> = broadcast::pit_broadcasts(&cmd);
    assert_eq!(broadcasts.len(), 9, "clear, windscreen, fuel, clear tyres, four tyres, fast repair");
    let (ready_tx, ready_rx) = mpsc::channel();
    let expected = broadcasts.len();
    let stand_in = std::thread::spawn(move || run_stand_in(expected, ready_tx));
    let ready = ready_rx.recv_timeout(Duration::from_secs(10)).unwrap_or(false);
    assert!(ready, "the stand-in window could not be created (under wine: the null graphics driver is needed)");
    broadcast::send(&broadcasts).expect("broadcast");
    let finished = stand_in.join().unwrap_or(false);
    let got = RECEIVED.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert!(finished, "the stand-in got {} of {} broadcasts: {got:?}", got.len(), broadcasts.len());
    let want: Vec<(usize, isize)> = broadcasts.iter().map(|b| (b.wparam(), b.lparam())).collect();
    let seen: Vec<(usize, isize)> = got.iter().map(|&(_, w, l)| (w, l)).collect();
    assert_eq!(seen, want);
    // Spot-check the encoding against irsdk_defines.h: fuel (2) with 42 litres, right rear (6)
    // at 165 kPa, both under irsdk_BroadcastPitCommand (9).
    assert!(seen.contains(&(0x0002_0009, 42)), "{seen:?}");
    assert!(seen.contains(&(0x0006_0009, 165)), "{seen:?}");
}
