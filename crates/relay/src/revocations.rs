//! Tokens the cloud revoked (logout, password or role change, a disabled or deleted account)
//! are refused here too. With a cloud link the relay reads the cloud's
//! `GET /api/auth/revocations` with its own credential every [`REFRESH`]: the token check
//! (the `KeySet` of the JWKS module) refuses what the list names, and a list that revokes something new
//! closes the open connections whose token it names (close code 4009). The last good list is
//! kept while the cloud is away.

use std::sync::Arc;
use std::time::Duration;

use pitbox_auth::DenyList;
use pitbox_hub::Hub;
use tokio::sync::watch;

use crate::ingest::RelayHooks;
use crate::jwks::KeySet;

/// Time between two reads of the list.
pub const REFRESH: Duration = Duration::from_secs(3);

/// The list's URL on the cloud of `ws_url` (`ws://host:port/ws` → `http://host:port/api/auth/revocations`).
pub fn url_of(ws_url: &str) -> Option<String> {
    let (scheme, rest) = if let Some(r) = ws_url.strip_prefix("ws://") {
        ("http", r)
    } else if let Some(r) = ws_url.strip_prefix("wss://") {
        ("https", r)
    } else {
        return None;
    };
    let base = rest
        .strip_suffix("/ws")
        .or_else(|| rest.strip_suffix("/ws/"))
        .unwrap_or_else(|| rest.split('/').next().unwrap_or(rest));
    Some(format!("{scheme}://{}/api/auth/revocations", base.trim_end_matches('/')))
}

async fn fetch(client: &reqwest::Client, url: &str, token: &str) -> Result<DenyList, String> {
    let resp = client.get(url).bearer_auth(token).send().await.map_err(|e| e.to_string())?;
    let status = resp.status();
    if !status.is_success() {
        let body = resp.text().await.unwrap_or_default();
        return Err(format!("HTTP {status}: {}", body.chars().take(200).collect::<String>()));
    }
    let body = resp.text().await.map_err(|e| e.to_string())?;
    serde_json::from_str::<DenyList>(&body).map_err(|e| format!("not a revocation list: {e}"))
}

/// Reads the list from the first of `urls` that answers, installs it and closes what it
/// revokes, until shutdown.
pub(crate) async fn run(
    keys: Arc<KeySet>,
    hub: Hub<RelayHooks>,
    urls: Vec<String>,
    tokens: watch::Receiver<Option<String>>,
    client: reqwest::Client,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut failing = false;
    loop {
        let mut last_error = String::from("no credential yet (the sign-in's first renewal is under way)");
        let mut got = None;
        // The relay's newest credential (a signed-in relay renews it).
        let token = tokens.borrow().clone();
        for url in urls.iter().filter(|_| token.is_some()) {
            match fetch(&client, url, token.as_deref().unwrap_or_default()).await {
                Ok(list) => {
                    got = Some(list);
                    break;
                }
                Err(e) => last_error = format!("{url}: {e}"),
            }
        }
        match got {
            Some(list) => {
                if failing {
                    tracing::info!("token revocations read from the cloud again");
                    failing = false;
                }
                if keys.install_deny(list) {
                    let closed = hub.close_revoked(
                        |u, iat, jti| keys.refusal(u, iat, jti).is_some(),
                        "token revoked: sign in again",
                    );
                    if closed > 0 {
                        tracing::info!(closed, "closed connections whose token the cloud revoked");
                    }
                }
            }
            None => {
                if !failing {
                    tracing::warn!(error = %last_error, "cannot read the cloud's token revocations; keeping the last list");
                }
                failing = true;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(REFRESH) => {}
            _ = shutdown.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_lives_beside_the_clouds_websocket() {
        assert_eq!(url_of("ws://10.0.0.2:8080/ws").as_deref(), Some("http://10.0.0.2:8080/api/auth/revocations"));
        assert_eq!(url_of("wss://cloud.example/ws").as_deref(), Some("https://cloud.example/api/auth/revocations"));
        assert_eq!(
            url_of("wss://cloud.example/pitbox/ws").as_deref(),
            Some("https://cloud.example/pitbox/api/auth/revocations")
        );
        assert_eq!(url_of("ws://h:1").as_deref(), Some("http://h:1/api/auth/revocations"));
        assert_eq!(url_of("http://h/ws"), None);
    }
}
