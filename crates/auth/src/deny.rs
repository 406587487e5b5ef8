//! The revocation list every PitBox server checks after a token's signature: the cloud keeps it
//! (`pitbox_cloud::revocation`) and serves it to relays (`GET /api/auth/revocations`), so a
//! token revoked on the cloud is refused by the relays of its team too.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

/// `users` value of an account whose every token is refused, whenever issued (deleted or
/// disabled).
pub const FOREVER: i64 = i64::MAX / 2;

/// Revoked tokens: by user and issue time, and one by one.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DenyList {
    /// User id → that user's tokens issued before this instant (Unix ms) are refused.
    #[serde(default)]
    pub users: HashMap<String, i64>,
    /// Revoked token ids (`jti`).
    #[serde(default)]
    pub tokens: HashSet<String>,
}

impl DenyList {
    /// Why the token of `user_id` issued at `issued_at_ms` with id `token_id` is refused, or
    /// `None` when it is not revoked.
    pub fn refusal(&self, user_id: &str, issued_at_ms: u64, token_id: &str) -> Option<&'static str> {
        if self.tokens.contains(token_id) {
            return Some("this token was signed out");
        }
        match self.users.get(user_id) {
            Some(&nb) if nb >= FOREVER => Some("the account was deleted or disabled"),
            Some(&nb) if i64::try_from(issued_at_ms).unwrap_or(i64::MAX) < nb => {
                Some("the account's password, role or status changed since this token was issued; sign in again")
            }
            _ => None,
        }
    }

    /// Whether `next` revokes something this list does not (open connections must be checked).
    pub fn revokes_more_than(next: &DenyList, current: &DenyList) -> bool {
        next.tokens.iter().any(|t| !current.tokens.contains(t))
            || next.users.iter().any(|(u, nb)| current.users.get(u).is_none_or(|old| old < nb))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_refused_by_id_by_issue_time_and_forever() {
        let mut l = DenyList::default();
        l.tokens.insert("j1".into());
        l.users.insert("u1".into(), 1_000);
        l.users.insert("u2".into(), FOREVER);
        for ((u, iat, j), refused) in [
            (("u0", 5, "j1"), true),
            (("u0", 5, "j2"), false),
            (("u1", 999, "j2"), true),
            (("u1", 1_000, "j2"), false),
            (("u2", u64::MAX, "j2"), true),
        ] {
            assert_eq!(l.refusal(u, iat, j).is_some(), refused, "{u} {iat} {j}");
        }
        let mut more = l.clone();
        assert!(!DenyList::revokes_more_than(&more, &l));
        more.users.insert("u1".into(), 2_000);
        assert!(DenyList::revokes_more_than(&more, &l));
        assert!(!DenyList::revokes_more_than(&l, &more), "an earlier cut-off revokes nothing new");
        let json = serde_json::to_string(&l).expect("json");
        assert_eq!(serde_json::from_str::<DenyList>(&json).expect("back"), l);
    }
}
