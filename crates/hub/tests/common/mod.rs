//! What the hub's integration tests share.

use pitbox_auth::{AuthError, Identity};
use pitbox_hub::TokenCheck;
use pitbox_model::UserRole;

/// Every token is accepted as driver `d1` of team `t1`.
pub struct AnyToken;

impl TokenCheck for AnyToken {
    fn check(&self, _token: &str) -> Result<Identity, AuthError> {
        Ok(Identity {
            user_id: "d1".into(),
            role: UserRole::Driver,
            team_id: "t1".into(),
            name: None,
            expires_at: u64::MAX,
            relay: false,
            owner: false,
            issued_at_ms: 0,
            token_id: "t".into(),
        })
    }
}
