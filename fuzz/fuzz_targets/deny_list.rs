//! The revocation list a relay reads from the cloud (`GET /api/auth/revocations`): any bytes
//! decode to a list or an error, never a panic, and a decoded list answers every check.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pitbox_auth::DenyList;

fuzz_target!(|data: &[u8]| {
    if let Ok(list) = serde_json::from_slice::<DenyList>(data) {
        let iat = data.iter().fold(0u64, |a, b| a.wrapping_mul(31).wrapping_add(u64::from(*b)));
        for user in list.users.keys().take(8) {
            let _ = list.refusal(user, iat, "");
            let _ = list.refusal(user, u64::MAX, "");
        }
        for token in list.tokens.iter().take(8) {
            assert!(list.refusal("nobody", 0, token).is_some());
        }
        assert!(!DenyList::revokes_more_than(&list, &list));
    }
});
